"""Parse, screen, then fences, stops and ETA: the pure half of the ingest path end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from tracking.eta import EtaState, update_eta
from tracking.filtering import DeviceTrack, RejectReason, screen_batch
from tracking.formats import parse_native_batch
from tracking.geo import LatLon, LocalFrame
from tracking.geofence import DeviceFenceState, Fence, FenceEventKind, FenceIndex, GeofenceEngine
from tracking.pings import PingFlag
from tracking.stops import StopEventKind, StopState, update_stop

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
SITE = LocalFrame(52.0, 5.0)
BUYER_GATE = LatLon(*SITE.to_latlon(0.0, 0.0))


def native_item(
    i: int, seconds: float, east_m: float, north_m: float, **extra: object
) -> dict[str, object]:
    lat, lon = SITE.to_latlon(east_m, north_m)
    return {
        "id": f"{i:05d}",
        "recorded_at": (T0 + timedelta(seconds=seconds)).isoformat(),
        "lat": lat,
        "lon": lon,
        "accuracy_m": 6.0,
        "speed_mps": 0.0,
        **extra,
    }


def test_a_delivery_arrives_parks_and_is_seen_once() -> None:
    # Approach from 3 km south at 15 m/s, then park 60 m inside the buyer's site for 40 min.
    items = [native_item(k, 10.0 * k, 0.0, -3000.0 + 150.0 * k, speed_mps=15.0) for k in range(21)]
    items += [native_item(k, 10.0 * k, 0.0, 60.0) for k in range(21, 260)]
    # One wild fix, one fix at latitude 95, and the whole lot sent newest first in two requests:
    # the second is all late fixes, which are stored but drive nothing.
    items.append(native_item(900, 1505.0, 40_000.0, 60.0))
    items.append({**native_item(901, 306.0, 0.0, 60.0), "lat": 95.0})
    items = items[::-1]
    site = Fence.circle("buyer-site", lat=BUYER_GATE.lat, lon=BUYER_GATE.lon, radius_m=150)
    engine = GeofenceEngine(FenceIndex([site]))
    tracks: dict[str, DeviceTrack] = {}
    fence_states: dict[str, DeviceFenceState] = {}
    stop_state = StopState()
    eta_state = EtaState()
    fence_events, stop_events, etas, rejected, jumps = [], [], [], [], 0
    now = T0 + timedelta(hours=1)
    for request in (items[:150], items[150:]):
        parsed = parse_native_batch(orjson.dumps({"device_id": "TRK-9", "pings": request}))
        screened = screen_batch(
            parsed.pings, tracks=tracks, now=now, source_indices=parsed.source_indices
        )
        rejected += screened.rejected
        jumps += sum(bool(p.flags & PingFlag.IMPLAUSIBLE_JUMP) for p in screened.accepted)
        fence_events += engine.process(screened.accepted, fence_states)
        for ping in sorted(screened.accepted, key=lambda p: p.recorded_at):
            if (stop := update_stop(stop_state, ping)) is not None:
                stop_events.append(stop)
            if (eta := update_eta(eta_state, ping, destination=BUYER_GATE)) is not None:
                etas.append(eta)

    assert [r.reason for r in rejected] == [RejectReason.LAT_OUT_OF_RANGE]
    assert jumps == 1
    assert [(e.fence_id, e.kind) for e in fence_events] == [("buyer-site", FenceEventKind.ENTER)]
    assert [e.kind for e in stop_events] == [StopEventKind.STARTED]
    assert etas[-1].remaining_m == 0.0
