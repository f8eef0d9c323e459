"""Bad pings are refused one by one with a reason; doubtful ones are kept but flagged."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.filtering import (
    DeviceTrack,
    QualityPolicy,
    RejectReason,
    check_ping,
    screen_batch,
)
from tracking.formats import parse_osmand
from tracking.geo import LocalFrame
from tracking.pings import Ping, PingFlag

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
YARD = LocalFrame(52.0, 5.0)


def ping_at(
    seconds: float,
    east_m: float = 0.0,
    north_m: float = 0.0,
    *,
    device: str = "truck",
    accuracy_m: float | None = 8.0,
    ping_id: str | None = None,
) -> Ping:
    lat, lon = YARD.to_latlon(east_m, north_m)
    return Ping(
        device,
        NOW - timedelta(hours=1) + timedelta(seconds=seconds),
        lat,
        lon,
        accuracy_m=accuracy_m,
        client_ping_id=ping_id,
    )


def drive(
    start_s: float, count: int, *, every_s: float = 10.0, speed_mps: float = 15.0
) -> list[Ping]:
    return [
        ping_at(start_s + i * every_s, east_m=(start_s + i * every_s) * speed_mps)
        for i in range(count)
    ]


def flags_of(ping: Ping) -> PingFlag:
    return PingFlag(ping.flags)


class TestRefusals:
    @pytest.mark.parametrize(
        ("lat", "lon", "field", "reason"),
        [
            (95.0, 4.0, "lat", RejectReason.LAT_OUT_OF_RANGE),
            (-90.5, 4.0, "lat", RejectReason.LAT_OUT_OF_RANGE),
            (52.0, 181.0, "lon", RejectReason.LON_OUT_OF_RANGE),
            (math.nan, 4.0, "lat", RejectReason.NOT_FINITE),
            (52.0, math.inf, "lon", RejectReason.NOT_FINITE),
            (0.0, 0.0, "lat", RejectReason.NO_FIX),
        ],
    )
    def test_bad_coordinates(self, lat: float, lon: float, field: str, reason: str) -> None:
        problem = check_ping(Ping("truck", NOW, lat, lon), now=NOW)
        assert problem is not None
        assert problem[:2] == (field, reason)
        assert problem[2]

    def test_nan_from_a_query_string_is_refused_for_that_ping(self) -> None:
        (ping,) = parse_osmand("id=d&lat=nan&lon=4.8&timestamp=1740830400").pings
        result = screen_batch([ping], tracks={}, now=NOW)
        assert result.accepted == []
        (rejection,) = result.rejected
        assert (rejection.field, rejection.reason) == ("lat", RejectReason.NOT_FINITE)

    def test_future_beyond_the_tolerance_is_refused(self) -> None:
        policy = QualityPolicy(max_future_s=120)
        ahead_ok = Ping("truck", NOW + timedelta(seconds=100), 52.0, 5.0)
        ahead_bad = Ping("truck", NOW + timedelta(seconds=200), 52.0, 5.0)
        assert check_ping(ahead_ok, now=NOW, policy=policy) is None
        problem = check_ping(ahead_bad, now=NOW, policy=policy)
        assert problem is not None
        assert problem[:2] == ("recorded_at", RejectReason.IN_FUTURE)
        assert "200 s ahead" in problem[2]

    def test_too_old_is_refused_and_the_limit_is_settable(self) -> None:
        old = Ping("truck", NOW - timedelta(days=2), 52.0, 5.0)
        assert check_ping(old, now=NOW) is None
        problem = check_ping(old, now=NOW, policy=QualityPolicy(max_age_s=86400))
        assert problem is not None
        assert problem[1] == RejectReason.TOO_OLD

    def test_server_time_pings_are_not_judged_on_time(self) -> None:
        ping = Ping("truck", NOW + timedelta(days=1), 52.0, 5.0, flags=int(PingFlag.SERVER_TIME))
        assert check_ping(ping, now=NOW) is None

    def test_a_batch_is_answered_per_ping(self) -> None:
        pings = [
            ping_at(0, ping_id="a"),
            Ping("truck", NOW, 95.0, 5.0, client_ping_id="b"),
            ping_at(10, ping_id="c"),
            Ping("truck", NOW + timedelta(hours=1), 52.0, 5.0, client_ping_id="d"),
        ]
        result = screen_batch(pings, tracks={}, now=NOW, source_indices=[0, 1, 2, 5])
        assert [p.client_ping_id for p in result.accepted] == ["a", "c"]
        assert result.accepted_indices == [0, 2]
        assert [(r.index, r.client_ping_id, r.reason) for r in result.rejected] == [
            (1, "b", RejectReason.LAT_OUT_OF_RANGE),
            (5, "d", RejectReason.IN_FUTURE),
        ]

    def test_rejection_reasons_are_stable_json_strings(self) -> None:
        result = screen_batch([Ping("t", NOW, 95.0, 5.0)], tracks={}, now=NOW)
        assert orjson.dumps(result.rejected[0].reason) == b'"lat_out_of_range"'


class TestQualityFlags:
    def test_poor_accuracy_is_kept_but_flagged(self) -> None:
        result = screen_batch([ping_at(0, accuracy_m=400.0)], tracks={}, now=NOW)
        (ping,) = result.accepted
        assert flags_of(ping) == PingFlag.POOR_ACCURACY
        assert not ping.usable_for_events()

    def test_a_steady_drive_is_clean(self) -> None:
        result = screen_batch(drive(0, 30), tracks={}, now=NOW)
        assert all(p.flags == 0 for p in result.accepted)

    def test_a_wild_fix_is_flagged_and_the_track_carries_on(self) -> None:
        pings = drive(0, 5)
        pings.insert(3, ping_at(25, east_m=25 * 15 + 40_000))
        result = screen_batch(pings, tracks={}, now=NOW)
        flagged = [p for p in result.accepted if p.flags]
        assert len(flagged) == 1
        assert flags_of(flagged[0]) == PingFlag.IMPLAUSIBLE_JUMP
        assert flagged[0].lon == pings[3].lon

    def test_shuffled_batch_is_not_out_of_order(self) -> None:
        pings = drive(0, 10)
        shuffled = [pings[i] for i in (3, 0, 9, 1, 5, 2, 8, 4, 7, 6)]
        result = screen_batch(shuffled, tracks={}, now=NOW)
        assert all(p.flags == 0 for p in result.accepted)
        assert [p.recorded_at for p in result.accepted] == [p.recorded_at for p in shuffled]

    def test_late_ping_is_flagged_out_of_order_and_judged_by_its_time_neighbours(self) -> None:
        tracks: dict[str, DeviceTrack] = {}
        route = drive(0, 10)
        screen_batch(route[:4] + route[5:], tracks=tracks, now=NOW)
        honest_late = route[4]
        wild_late = ping_at(45, east_m=45 * 15 + 30_000)
        result = screen_batch([honest_late, wild_late], tracks=tracks, now=NOW)
        honest, wild = result.accepted
        assert flags_of(honest) == PingFlag.OUT_OF_ORDER
        assert flags_of(wild) == PingFlag.OUT_OF_ORDER | PingFlag.IMPLAUSIBLE_JUMP

    def test_devices_do_not_judge_each_other(self) -> None:
        a = ping_at(0, device="a")
        b = ping_at(5, east_m=50_000, device="b")
        result = screen_batch([a, b], tracks={}, now=NOW)
        assert all(p.flags == 0 for p in result.accepted)

    def test_a_wrong_first_fix_in_a_request_is_the_one_flagged(self) -> None:
        wrong_first = ping_at(0, east_m=80_000)
        result = screen_batch([*drive(10, 6), wrong_first], tracks={}, now=NOW)
        assert [PingFlag(p.flags) for p in result.accepted] == [PingFlag.NONE] * 6 + [
            PingFlag.IMPLAUSIBLE_JUMP
        ]

    def test_a_wrong_anchor_from_an_earlier_request_is_outvoted(self) -> None:
        policy = QualityPolicy(reanchor_after=3)
        tracks: dict[str, DeviceTrack] = {}
        screen_batch([ping_at(0, east_m=80_000)], tracks=tracks, now=NOW, policy=policy)
        result = screen_batch(drive(10, 6), tracks=tracks, now=NOW, policy=policy)
        flags = [PingFlag(p.flags) for p in result.accepted]
        assert flags[:2] == [PingFlag.IMPLAUSIBLE_JUMP] * 2
        assert flags[2:] == [PingFlag.NONE] * 4

    def test_accuracy_radii_are_slack_for_the_jump_test(self) -> None:
        # 300 m apart in 2 s is 150 m/s, but two 200 m accuracy circles overlap: no jump.
        policy = QualityPolicy(max_accuracy_m=250)
        result = screen_batch(
            [ping_at(0, accuracy_m=200), ping_at(2, east_m=300, accuracy_m=200)],
            tracks={},
            now=NOW,
            policy=policy,
        )
        assert all(p.flags == 0 for p in result.accepted)

    def test_track_survives_a_json_round_trip(self) -> None:
        tracks: dict[str, DeviceTrack] = {}
        screen_batch(drive(0, 5), tracks=tracks, now=NOW)
        restored = {
            k: DeviceTrack.from_dict(orjson.loads(orjson.dumps(v.to_dict())))
            for k, v in tracks.items()
        }
        wild = ping_at(50, east_m=50 * 15 + 30_000)
        late = ping_at(5, east_m=5 * 15)
        result = screen_batch([wild, late], tracks=restored, now=NOW)
        assert flags_of(result.accepted[0]) == PingFlag.IMPLAUSIBLE_JUMP
        assert flags_of(result.accepted[1]) == PingFlag.OUT_OF_ORDER

    def test_track_memory_stays_small(self) -> None:
        tracks: dict[str, DeviceTrack] = {}
        screen_batch(drive(0, 500), tracks=tracks, now=NOW)
        assert len(tracks["truck"].fixes) == QualityPolicy().window

    @given(order=st.permutations(list(range(12))))
    def test_any_arrival_order_of_a_clean_drive_raises_no_jump(self, order: list[int]) -> None:
        route = drive(0, 12)
        tracks: dict[str, DeviceTrack] = {}
        for i in order:
            (ping,) = screen_batch([route[i]], tracks=tracks, now=NOW).accepted
            assert not ping.flags & PingFlag.IMPLAUSIBLE_JUMP
