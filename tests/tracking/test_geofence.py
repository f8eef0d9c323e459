"""Fence enter/exit events with hysteresis, and none from a parked truck's GPS drift."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest
import shapely
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.geo import LocalFrame, haversine_m
from tracking.geofence import (
    DeviceFenceState,
    Fence,
    FenceEvent,
    FenceEventKind,
    FenceIndex,
    FencePolicy,
    GeofenceEngine,
)
from tracking.pings import Ping, PingFlag

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
SITE = LocalFrame(52.0, 5.0)


def plant_geojson() -> dict[str, object]:
    """A 300 m x 200 m plant yard whose south fence runs along y = 0."""
    corners = [(-150.0, 0.0), (150.0, 0.0), (150.0, 200.0), (-150.0, 200.0), (-150.0, 0.0)]
    ring = []
    for east, north in corners:
        lat, lon = SITE.to_latlon(east, north)
        ring.append([lon, lat])
    return {"type": "Polygon", "coordinates": [ring]}


def plant() -> Fence:
    return Fence.from_geojson("plant-7", plant_geojson())


def ping_at(
    seconds: float,
    east_m: float,
    north_m: float,
    *,
    accuracy_m: float | None = 8.0,
    flags: int = 0,
    device: str = "truck",
) -> Ping:
    lat, lon = SITE.to_latlon(east_m, north_m)
    return Ping(
        device,
        T0 + timedelta(seconds=seconds),
        lat,
        lon,
        accuracy_m=accuracy_m,
        flags=flags,
    )


def arrive_and_park(park_north_m: float = 100.0) -> list[Ping]:
    """Drive north at 5 m/s from 300 m south of the gate, then park inside for ten minutes."""
    pings = []
    t = 0.0
    north = -300.0
    while north < park_north_m:
        pings.append(ping_at(t, 0.0, north))
        t += 10.0
        north += 50.0
    for _ in range(60):
        pings.append(ping_at(t, 0.0, park_north_m))
        t += 10.0
    return pings


def leave(start_s: float, from_north_m: float = 100.0) -> list[Ping]:
    pings = []
    t = start_s
    north = from_north_m
    while north > -800.0:
        north -= 50.0
        pings.append(ping_at(t, 0.0, north))
        t += 10.0
    return pings


def drifting(
    *, seed: int, north_m: float, minutes: float = 60, accuracy_m: float = 50.0, tau_s: float = 30.0
) -> list[Ping]:
    """A parked truck whose fixes wander around it: a mean-reverting random walk whose spread
    matches the reported accuracy (68 % of fixes within it); tau_s = 0 is independent noise."""
    rng = random.Random(seed)
    pings = []
    t = 0.0
    sigma = accuracy_m / math.sqrt(2 * math.log(1 / 0.32))
    ex, ey = rng.gauss(0, sigma), rng.gauss(0, sigma)
    while t < minutes * 60:
        dt = rng.uniform(5, 10)
        t += dt
        rho = math.exp(-dt / tau_s) if tau_s > 0 else 0.0
        step = sigma * math.sqrt(1 - rho * rho)
        ex = ex * rho + rng.gauss(0, step)
        ey = ey * rho + rng.gauss(0, step)
        reported = accuracy_m * math.exp(rng.gauss(0, 0.15))
        pings.append(ping_at(t, ex, north_m + ey, accuracy_m=reported))
    return pings


def naive_events(fence: Fence, pings: list[Ping]) -> int:
    """What a bare point-in-polygon rule reports: every change of inside/outside."""
    assert fence.polygon is not None
    inside = False
    changes = 0
    for ping in pings:
        now_inside = fence.polygon.contains(shapely.Point(ping.lon, ping.lat))
        changes += now_inside != inside
        inside = now_inside
    return changes


def run(engine: GeofenceEngine, pings: list[Ping], *, batch: int = 20) -> list[FenceEvent]:
    states: dict[str, DeviceFenceState] = {}
    events = []
    for i in range(0, len(pings), batch):
        events += engine.process(pings[i : i + batch], states)
    return events


class TestEnterAndExit:
    def test_arrival_is_one_enter_dated_at_the_gate(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        pings = arrive_and_park()
        events = run(engine, pings)
        (event,) = events
        assert event.kind is FenceEventKind.ENTER
        assert event.fence_id == "plant-7"
        # The first fix whose 8 m accuracy circle lies wholly inside: 50 m north of the gate.
        assert event.at == T0 + timedelta(seconds=70)
        assert event.confirmed_at - event.at >= timedelta(seconds=120)

    def test_departure_is_one_exit_once_clearly_outside(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        pings = arrive_and_park()
        pings += leave((pings[-1].recorded_at - T0).total_seconds() + 10)
        events = run(engine, pings)
        assert [e.kind for e in events] == [FenceEventKind.ENTER, FenceEventKind.EXIT]
        exit_event = events[1]
        first_clear = next(
            p for p in pings[len(arrive_and_park()) :] if SITE.to_xy(p.lat, p.lon)[1] < -28.0
        )
        assert exit_event.at == first_clear.recorded_at

    def test_circle_fences_work_the_same(self) -> None:
        lat, lon = SITE.to_latlon(0.0, 100.0)
        engine = GeofenceEngine(FenceIndex([Fence.circle("dock", lat=lat, lon=lon, radius_m=80)]))
        events = run(engine, arrive_and_park())
        assert [(e.fence_id, e.kind) for e in events] == [("dock", FenceEventKind.ENTER)]

    def test_driving_through_is_not_an_arrival(self) -> None:
        fence = plant()
        engine = GeofenceEngine(FenceIndex([fence]))
        through = [ping_at(t, -400.0 + 15.0 * t, 100.0) for t in range(0, 60, 5)]
        assert naive_events(fence, through) == 2
        assert run(engine, through) == []

    def test_a_single_ping_call_gives_the_same_events_as_batches(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        pings = arrive_and_park()
        pings += leave((pings[-1].recorded_at - T0).total_seconds() + 10)
        assert run(engine, pings, batch=1) == run(engine, pings, batch=50)


class TestDrift:
    @pytest.mark.parametrize("tau_s", [0.0, 30.0, 120.0])
    @pytest.mark.parametrize("seed", range(5))
    def test_parked_30_m_outside_raises_nothing(self, seed: int, tau_s: float) -> None:
        fence = plant()
        engine = GeofenceEngine(FenceIndex([fence]))
        pings = drifting(seed=seed, north_m=-30.0, tau_s=tau_s)
        assert naive_events(fence, pings) > 10
        assert run(engine, pings) == []

    @pytest.mark.parametrize("tau_s", [0.0, 30.0, 120.0])
    @pytest.mark.parametrize("seed", range(5))
    def test_parked_30_m_inside_never_leaves(self, seed: int, tau_s: float) -> None:
        fence = plant()
        engine = GeofenceEngine(FenceIndex([fence]))
        states: dict[str, DeviceFenceState] = {}
        (entered,) = engine.process(arrive_and_park(park_north_m=30.0), states)
        assert entered.kind is FenceEventKind.ENTER
        wander = [
            p._replace(recorded_at=p.recorded_at + timedelta(hours=1))
            for p in drifting(seed=seed, north_m=30.0, tau_s=tau_s)
        ]
        assert naive_events(fence, wander) > 10
        assert engine.process(wander, states) == []
        assert states["truck"].inside() == ["plant-7"]


class TestWhatDoesNotDriveState:
    def test_flagged_pings_deep_inside_do_not_enter(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        for flag in (PingFlag.POOR_ACCURACY, PingFlag.IMPLAUSIBLE_JUMP, PingFlag.MOCK):
            pings = [ping_at(t, 0.0, 100.0, flags=int(flag)) for t in range(0, 600, 10)]
            assert run(engine, pings) == []

    def test_loose_fixes_inside_do_not_count(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]), policy=FencePolicy(enter_max_accuracy_m=30))
        pings = [ping_at(t, 0.0, 100.0, accuracy_m=40.0) for t in range(0, 600, 10)]
        assert run(engine, pings) == []

    def test_late_pings_do_not_reenter(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        states: dict[str, DeviceFenceState] = {}
        pings = arrive_and_park()
        pings += leave((pings[-1].recorded_at - T0).total_seconds() + 10)
        assert len(engine.process(pings, states)) == 2
        newest = states["truck"].last_s
        late_inside = [ping_at(t, 0.0, 100.0) for t in range(300, 600, 10)]
        assert engine.process(late_inside, states) == []
        assert states["truck"].last_s == newest

    def test_an_exit_needs_consecutive_clear_fixes(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        states: dict[str, DeviceFenceState] = {}
        assert len(engine.process(arrive_and_park(park_north_m=30.0), states)) == 1
        # Clearly outside (70 m beyond the edge, 40 m accuracy) every other fix for two
        # minutes, just outside in between: the edge wander of a parked truck, not a departure.
        wobble = [
            ping_at(700 + 10 * k, 0.0, -70.0 if k % 2 == 0 else -20.0, accuracy_m=40.0)
            for k in range(12)
        ]
        assert engine.process(wobble, states) == []
        assert states["truck"].inside() == ["plant-7"]

    def test_a_broken_run_starts_again(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        pings = [ping_at(t, 0.0, 100.0) for t in range(0, 100, 10)]
        pings.append(ping_at(100, 0.0, -100.0))
        pings += [ping_at(t, 0.0, 100.0) for t in range(110, 200, 10)]
        assert run(engine, pings) == []


class TestState:
    def test_state_survives_json_in_the_middle_of_an_entry(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        pings = arrive_and_park()
        states: dict[str, DeviceFenceState] = {}
        assert engine.process(pings[:10], states) == []
        saved = orjson.dumps({k: v.to_dict() for k, v in states.items()})
        restored = {k: DeviceFenceState.from_dict(v) for k, v in orjson.loads(saved).items()}
        (event,) = engine.process(pings[10:], restored)
        assert event.at == T0 + timedelta(seconds=70)

    def test_a_device_far_from_fences_holds_nothing(self) -> None:
        engine = GeofenceEngine(FenceIndex([plant()]))
        states: dict[str, DeviceFenceState] = {}
        engine.process([ping_at(t, 5000.0, 5000.0) for t in range(0, 100, 10)], states)
        assert states["truck"].fences == {}

    def test_a_removed_fence_takes_its_state_with_it(self) -> None:
        states: dict[str, DeviceFenceState] = {}
        GeofenceEngine(FenceIndex([plant()])).process(arrive_and_park(), states)
        assert states["truck"].inside() == ["plant-7"]
        other = Fence.circle("elsewhere", lat=10.0, lon=10.0, radius_m=50)
        GeofenceEngine(FenceIndex([other])).process([ping_at(700, 0.0, 100.0)], states)
        assert states["truck"].fences == {}


class TestGeometryInMetres:
    def test_circle_radius_is_metres_at_high_latitude(self) -> None:
        north = LocalFrame(60.0, 10.0)
        index = FenceIndex([Fence.circle("c", lat=60.0, lon=10.0, radius_m=100)])
        lat_in, lon_in = north.to_latlon(95.0, 0.0)
        lat_out, lon_out = north.to_latlon(105.0, 0.0)
        inside = index.signed_distance_point_m(0, lat=lat_in, lon=lon_in)
        outside = index.signed_distance_point_m(0, lat=lat_out, lon=lon_out)
        assert inside == pytest.approx(-5.0, abs=0.1)
        assert outside == pytest.approx(5.0, abs=0.1)
        assert geodesic((60.0, 10.0), (lat_out, lon_out)).m == pytest.approx(105.0, abs=0.1)

    def test_polygon_distance_is_metres_on_both_sides(self) -> None:
        index = FenceIndex([plant()])
        outside = SITE.to_latlon(0.0, -50.0)
        inside = SITE.to_latlon(0.0, 40.0)
        scalar_out = index.signed_distance_point_m(0, lat=outside[0], lon=outside[1])
        scalar_in = index.signed_distance_point_m(0, lat=inside[0], lon=inside[1])
        assert scalar_out == pytest.approx(50.0, abs=0.5)
        assert scalar_in == pytest.approx(-40.0, abs=0.5)
        vector = index.signed_distance_m(
            np.array([0, 0]),
            lats=np.array([outside[0], inside[0]]),
            lons=np.array([outside[1], inside[1]]),
        )
        assert vector.tolist() == pytest.approx([50.0, -40.0], abs=0.5)

    @settings(max_examples=20, deadline=None)
    @given(seed=st.integers(0, 10_000))
    def test_index_finds_exactly_the_fences_a_geodesic_scan_finds(self, seed: int) -> None:
        # The reference is the WGS84 geodesic; a spherical haversine would be off by metres.
        rng = random.Random(seed)
        fences = [
            Fence.circle(
                f"c{i}",
                lat=52.0 + rng.uniform(-0.03, 0.03),
                lon=5.0 + rng.uniform(-0.05, 0.05),
                radius_m=rng.uniform(50, 800),
            )
            for i in range(100)
        ]
        index = FenceIndex(fences)
        for _ in range(10):
            lat = 52.0 + rng.uniform(-0.04, 0.04)
            lon = 5.0 + rng.uniform(-0.06, 0.06)
            edge_m = {
                i: geodesic((f.lat, f.lon), (lat, lon)).m - (f.radius_m or 0.0)
                for i, f in enumerate(fences)
            }
            found = {
                i
                for i in index.query_point(lat, lon)
                if index.signed_distance_point_m(i, lat=lat, lon=lon) < 0
            }
            clearly_inside = {i for i, d in edge_m.items() if d < -0.5}
            on_an_edge = {i for i, d in edge_m.items() if abs(d) <= 0.5}
            assert clearly_inside <= found
            assert found - clearly_inside <= on_an_edge

    def test_only_the_right_fence_fires_among_many(self) -> None:
        rng = random.Random(3)
        others = [
            Fence.circle(f"f{i}", lat=rng.uniform(50, 54), lon=rng.uniform(3, 8), radius_m=200)
            for i in range(2000)
        ]
        far_from_plant = [f for f in others if haversine_m((f.lat, f.lon), (52.0, 5.0)) > 2000]
        engine = GeofenceEngine(FenceIndex([*far_from_plant, plant()]))
        events = run(engine, arrive_and_park())
        assert [e.fence_id for e in events] == ["plant-7"]


class TestFenceDefinitions:
    def test_point_with_radius_is_a_circle(self) -> None:
        fence = Fence.from_geojson("g", {"type": "Point", "coordinates": [5.0, 52.0]}, radius_m=75)
        assert (fence.lat, fence.lon, fence.radius_m) == (52.0, 5.0, 75)

    @pytest.mark.parametrize(
        "geometry",
        [
            {"type": "LineString", "coordinates": [[5, 52], [5.1, 52.1]]},
            {
                "type": "Polygon",
                "coordinates": [[[5, 52], [5.1, 52.1], [5.1, 52], [5, 52.1], [5, 52]]],
            },
            {"type": "Polygon", "coordinates": [[[52, 95], [52.1, 95], [52.1, 95.1], [52, 95]]]},
            {"type": "Point", "coordinates": [5.0, 52.0]},
        ],
    )
    def test_bad_geometries_are_refused(self, geometry: dict[str, object]) -> None:
        with pytest.raises(ValueError, match="fence g"):
            Fence.from_geojson("g", geometry)

    def test_bad_circles_and_duplicate_ids_are_refused(self) -> None:
        with pytest.raises(ValueError, match="radius_m"):
            Fence.circle("c", lat=52.0, lon=5.0, radius_m=0)
        with pytest.raises(ValueError, match="twice"):
            FenceIndex([plant(), plant()])
