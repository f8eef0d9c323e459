"""Long stops are reported once, dated at their start, and end when the truck moves on."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson

from tracking.geo import LocalFrame
from tracking.pings import Ping, PingFlag
from tracking.stops import StopEvent, StopEventKind, StopPolicy, StopState, update_stop

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
ROAD = LocalFrame(51.0, 7.0)


def ping_at(
    seconds: float,
    east_m: float,
    north_m: float = 0.0,
    *,
    speed_mps: float | None = 0.0,
    accuracy_m: float = 10.0,
    flags: int = 0,
) -> Ping:
    lat, lon = ROAD.to_latlon(east_m, north_m)
    return Ping(
        "truck",
        T0 + timedelta(seconds=seconds),
        lat,
        lon,
        speed_mps=speed_mps,
        accuracy_m=accuracy_m,
        flags=flags,
    )


def feed(pings: list[Ping], state: StopState | None = None, **kw: object) -> list[StopEvent]:
    state = state if state is not None else StopState()
    policy = StopPolicy(**kw)  # type: ignore[arg-type]
    return [e for p in pings if (e := update_stop(state, p, policy=policy)) is not None]


def drive(start_s: float, seconds: float, *, from_east_m: float = 0.0) -> list[Ping]:
    return [
        ping_at(start_s + t, from_east_m + 20.0 * t, speed_mps=20.0)
        for t in range(0, int(seconds), 10)
    ]


def parked(start_s: float, seconds: float, *, east_m: float, seed: int = 0) -> list[Ping]:
    rng = random.Random(seed)
    return [
        ping_at(
            start_s + t,
            east_m + rng.gauss(0, 25),
            rng.gauss(0, 25),
            speed_mps=abs(rng.gauss(0, 0.2)),
            accuracy_m=40.0,
        )
        for t in range(0, int(seconds), 10)
    ]


class TestLongStops:
    def test_a_long_stop_is_reported_once_and_then_ends(self) -> None:
        pings = drive(0, 600)
        stop_at_m = 20.0 * 590 + 20.0
        pings += parked(600, 1800, east_m=stop_at_m)
        pings += drive(2400, 300, from_east_m=stop_at_m + 100)
        events = feed(pings)
        assert [e.kind for e in events] == [StopEventKind.STARTED, StopEventKind.ENDED]
        started, ended = events
        assert started.started_at == T0 + timedelta(seconds=600)
        assert started.at - started.started_at >= timedelta(minutes=15)
        assert ended.at == T0 + timedelta(seconds=2400)
        assert ended.duration_s == 1800
        east, _ = ROAD.to_xy(started.lat, started.lon)
        assert abs(east - stop_at_m) < 30

    def test_the_stop_starts_at_the_first_still_fix_whatever_came_before(self) -> None:
        for drive_s in (590, 600, 610):
            pings = drive(0, drive_s) + parked(drive_s + 5, 1200, east_m=20.0 * drive_s)
            (started,) = feed(pings)
            assert started.started_at == T0 + timedelta(seconds=drive_s + 5)

    def test_a_short_stop_is_not_reported(self) -> None:
        pings = drive(0, 300) + parked(300, 300, east_m=6000.0) + drive(600, 300, from_east_m=6100)
        assert feed(pings) == []

    def test_moving_traffic_is_not_a_stop(self) -> None:
        crawl = [ping_at(t, 3.0 * t, speed_mps=3.0) for t in range(0, 3600, 10)]
        assert feed(crawl) == []

    def test_one_wild_fix_does_not_cut_a_stop_in_two(self) -> None:
        pings = parked(0, 1200, east_m=0.0)
        pings.insert(60, ping_at(595, 900.0, speed_mps=None))
        pings += parked(1200, 600, east_m=0.0, seed=1)
        events = feed(pings)
        assert [e.kind for e in events] == [StopEventKind.STARTED]

    def test_flagged_and_late_pings_are_skipped(self) -> None:
        state = StopState()
        events = feed(parked(0, 1200, east_m=0.0), state)
        assert [e.kind for e in events] == [StopEventKind.STARTED]
        away = [
            ping_at(1200 + t, 5000.0, speed_mps=20.0, flags=int(PingFlag.IMPLAUSIBLE_JUMP))
            for t in range(0, 100, 10)
        ]
        late = [ping_at(t, 5000.0, speed_mps=20.0) for t in range(0, 100, 10)]
        assert feed(away + late, state) == []

    def test_minimum_duration_is_settable(self) -> None:
        events = feed(parked(0, 400, east_m=0.0), min_duration_s=300)
        assert [e.kind for e in events] == [StopEventKind.STARTED]

    def test_state_survives_json(self) -> None:
        state = StopState()
        feed(parked(0, 600, east_m=0.0), state)
        restored = StopState.from_dict(orjson.loads(orjson.dumps(state.to_dict())))
        events = feed(parked(600, 600, east_m=0.0, seed=4), restored)
        assert [e.kind for e in events] == [StopEventKind.STARTED]
        assert events[0].started_at == T0
