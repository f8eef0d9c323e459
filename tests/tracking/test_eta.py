"""ETA follows the truck and its speed; slip alerts fire once and clear once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from geopy.distance import geodesic

from tracking.eta import (
    DEFAULT_ROUTE_FACTOR,
    EtaState,
    GeodesicRouteProvider,
    RouteEstimate,
    SlipEventKind,
    SlipPolicy,
    SlipState,
    SpeedModel,
    check_slip,
    update_eta,
)
from tracking.geo import LatLon, LocalFrame
from tracking.pings import Ping, PingFlag

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
CORRIDOR = LocalFrame(50.0, 8.0)
BUYER = LatLon(*CORRIDOR.to_latlon(100_000.0, 0.0))


def ping_at(
    seconds: float, east_m: float, *, speed_mps: float | None = None, flags: int = 0
) -> Ping:
    lat, lon = CORRIDOR.to_latlon(east_m, 0.0)
    return Ping(
        "truck",
        T0 + timedelta(seconds=seconds),
        lat,
        lon,
        speed_mps=speed_mps,
        accuracy_m=10.0,
        flags=flags,
    )


class TestEta:
    def test_a_steady_drive_gives_a_steady_eta(self) -> None:
        state = EtaState(route_factor=1.0)
        model = SpeedModel(default_speed_mps=20.0)
        etas = [
            update_eta(state, ping_at(t, 20.0 * t, speed_mps=20.0), destination=BUYER, model=model)
            for t in range(0, 3600, 60)
        ]
        remaining = [e.remaining_m for e in etas if e is not None]
        assert remaining == sorted(remaining, reverse=True)
        arrivals = [e.eta_at for e in etas if e is not None]
        assert max(arrivals) - min(arrivals) < timedelta(minutes=1)
        assert arrivals[0] == pytest.approx(T0 + timedelta(seconds=5000), abs=timedelta(seconds=30))

    def test_eta_moves_with_the_truck_speed(self) -> None:
        model = SpeedModel(default_speed_mps=20.0, smoothing_s=120.0)
        slow, fast = EtaState(), EtaState()
        for t in range(0, 1200, 30):
            slow_eta = update_eta(
                slow, ping_at(t, 10.0 * t, speed_mps=10.0), destination=BUYER, model=model
            )
            fast_eta = update_eta(
                fast, ping_at(t, 10.0 * t, speed_mps=25.0), destination=BUYER, model=model
            )
        assert slow_eta is not None
        assert fast_eta is not None
        assert slow_eta.remaining_m == fast_eta.remaining_m
        assert slow_eta.speed_mps < 20.0 < fast_eta.speed_mps
        assert slow_eta.eta_at > fast_eta.eta_at

    def test_speed_is_derived_from_fixes_when_the_phone_sends_none(self) -> None:
        state = EtaState()
        for t in range(0, 600, 30):
            eta = update_eta(state, ping_at(t, 15.0 * t), destination=BUYER)
        assert state.moving_speed_mps == pytest.approx(15.0, rel=0.01)
        assert eta is not None

    def test_a_standing_truck_slips_later_and_does_not_lose_its_moving_speed(self) -> None:
        state = EtaState()
        for t in range(0, 600, 30):
            update_eta(state, ping_at(t, 20.0 * t, speed_mps=20.0), destination=BUYER)
        moving = state.moving_speed_mps
        stood = [
            update_eta(state, ping_at(600 + t, 12_000.0, speed_mps=0.0), destination=BUYER)
            for t in range(0, 1800, 300)
        ]
        arrivals = [e.eta_at for e in stood if e is not None]
        assert arrivals == sorted(arrivals)
        assert arrivals[-1] - arrivals[0] == timedelta(seconds=1500)
        assert state.moving_speed_mps == moving

    def test_inside_the_arrival_radius_nothing_remains(self) -> None:
        state = EtaState()
        lat, lon = CORRIDOR.to_latlon(99_900.0, 0.0)
        eta = update_eta(state, Ping("truck", T0, lat, lon), destination=BUYER)
        assert eta is not None
        assert eta.remaining_m == 0.0
        assert eta.eta_at == T0

    def test_flagged_or_late_pings_change_nothing(self) -> None:
        state = EtaState()
        assert update_eta(state, ping_at(60, 1200.0, speed_mps=20.0), destination=BUYER)
        jump = ping_at(90, 60_000.0, speed_mps=20.0, flags=int(PingFlag.IMPLAUSIBLE_JUMP))
        late = ping_at(30, 600.0, speed_mps=20.0)
        assert update_eta(state, jump, destination=BUYER) is None
        assert update_eta(state, late, destination=BUYER) is None
        assert state.last_s == ping_at(60, 0.0).recorded_at.timestamp()

    def test_road_class_sets_the_typical_speed(self) -> None:
        motorway = update_eta(EtaState(), ping_at(0, 0.0), destination=BUYER, road_class="motorway")
        urban = update_eta(EtaState(), ping_at(0, 0.0), destination=BUYER, road_class="urban")
        assert motorway is not None
        assert urban is not None
        assert motorway.speed_mps == pytest.approx(80 / 3.6)
        assert urban.speed_mps == pytest.approx(30 / 3.6)

    def test_a_route_answer_recalibrates_distance_and_speed(self) -> None:
        origin = LatLon(*CORRIDOR.to_latlon(0.0, 0.0))
        state = EtaState()
        state.calibrate(RouteEstimate(150_000.0, 6000.0, "osrm"), origin=origin, destination=BUYER)
        assert state.route_factor == pytest.approx(1.5, rel=0.01)
        eta = update_eta(state, ping_at(0, 0.0), destination=BUYER)
        assert eta is not None
        assert eta.remaining_m == pytest.approx(150_000.0, rel=0.01)
        assert eta.speed_mps == pytest.approx(25.0)

    def test_state_survives_json(self) -> None:
        state = EtaState()
        for t in range(0, 300, 30):
            update_eta(state, ping_at(t, 20.0 * t, speed_mps=20.0), destination=BUYER)
        restored = EtaState.from_dict(orjson.loads(orjson.dumps(state.to_dict())))
        a = update_eta(state, ping_at(330, 6600.0, speed_mps=20.0), destination=BUYER)
        b = update_eta(restored, ping_at(330, 6600.0, speed_mps=20.0), destination=BUYER)
        assert a == b


class TestGeodesicProvider:
    async def test_distance_is_the_geodesic_times_the_route_factor(self) -> None:
        origin = LatLon(52.0, 5.0)
        destination = LatLon(51.0, 7.0)
        estimate = await GeodesicRouteProvider().route(origin, destination)
        straight = geodesic(origin, destination).m
        assert estimate.distance_m == pytest.approx(straight * DEFAULT_ROUTE_FACTOR, rel=0.005)
        assert estimate.duration_s is None
        assert estimate.source == "geodesic"


class TestSlip:
    DEADLINE = T0 + timedelta(hours=4)

    def run(
        self, offsets_min: Sequence[float], policy: SlipPolicy | None = None
    ) -> list[SlipEventKind]:
        state = SlipState()
        kinds = []
        for i, offset in enumerate(offsets_min):
            event = check_slip(
                state,
                eta_at=self.DEADLINE + timedelta(minutes=offset),
                deadline=self.DEADLINE,
                at=T0 + timedelta(minutes=i),
                policy=policy or SlipPolicy(),
            )
            if event is not None:
                kinds.append(event.kind)
        return kinds

    def test_on_time_raises_nothing(self) -> None:
        assert self.run([-30, -20, 0, 10, 14]) == []

    def test_a_slip_is_raised_once(self) -> None:
        assert self.run([0, 20, 25, 30, 45, 60]) == [SlipEventKind.SLIPPED]

    def test_an_eta_hovering_on_the_line_does_not_flap(self) -> None:
        hover = [14, 16, 14, 16, 17, 13, 16, 18, 12, 16] * 3
        assert self.run(hover) == [SlipEventKind.SLIPPED]

    def test_a_single_late_estimate_is_not_a_slip(self) -> None:
        assert self.run([0, 40, 0, 40, 0]) == []

    def test_recovery_needs_a_margin(self) -> None:
        policy = SlipPolicy(tolerance_s=900, recover_margin_s=600)
        assert self.run([30, 30, 10, 10, 10, 2, 2], policy) == [
            SlipEventKind.SLIPPED,
            SlipEventKind.RECOVERED,
        ]

    def test_slip_event_says_how_late(self) -> None:
        state = SlipState()
        events = [
            check_slip(
                state,
                eta_at=self.DEADLINE + timedelta(minutes=40),
                deadline=self.DEADLINE,
                at=T0,
            )
            for _ in range(2)
        ]
        assert events[0] is None
        assert events[1] is not None
        assert events[1].late_by_s == 2400
        assert SlipState.from_dict(orjson.loads(orjson.dumps(state.to_dict()))).slipped
