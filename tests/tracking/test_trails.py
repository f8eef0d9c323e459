"""Trails are RFC 7946 LineStrings; simplification keeps endpoints and shape, drops points."""

from __future__ import annotations

import itertools
import math
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tracking.geo import LocalFrame
from tracking.pings import Ping, PingFlag
from tracking.trails import simplify_indices, trail_feature, trail_geometry

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)
ROAD = LocalFrame(48.0, 11.0)


def ping_at(seconds: float, east_m: float, north_m: float, *, flags: int = 0) -> Ping:
    lat, lon = ROAD.to_latlon(east_m, north_m)
    return Ping("truck", T0 + timedelta(seconds=seconds), lat, lon, flags=flags)


def noisy_straight_road(count: int = 200, noise_m: float = 2.0, seed: int = 0) -> list[Ping]:
    rng = random.Random(seed)
    return [ping_at(i * 5.0, i * 50.0, rng.uniform(-noise_m, noise_m)) for i in range(count)]


class TestGeometry:
    def test_positions_are_longitude_first(self) -> None:
        geometry = trail_geometry([ping_at(0, 0, 0), ping_at(10, 500, 0)])
        assert geometry is not None
        assert geometry["type"] == "LineString"
        first = geometry["coordinates"][0]
        assert first == [11.0, 48.0]

    def test_pings_are_put_in_fix_time_order(self) -> None:
        pings = [ping_at(20, 1000, 0), ping_at(0, 0, 0), ping_at(10, 500, 0)]
        geometry = trail_geometry(pings)
        assert geometry is not None
        easts = [ROAD.to_xy(lat, lon)[0] for lon, lat in geometry["coordinates"]]
        assert easts == sorted(easts)

    def test_bad_fixes_are_left_out_and_repeats_dropped(self) -> None:
        pings = [
            ping_at(0, 0, 0),
            ping_at(5, 0, 0),
            ping_at(10, 30_000, 0, flags=int(PingFlag.IMPLAUSIBLE_JUMP)),
            ping_at(15, 100, 0),
        ]
        geometry = trail_geometry(pings)
        assert geometry is not None
        assert len(geometry["coordinates"]) == 2

    def test_fewer_than_two_positions_is_no_line(self) -> None:
        assert trail_geometry([]) is None
        assert trail_geometry([ping_at(0, 0, 0), ping_at(60, 0, 0)]) is None

    def test_coordinates_are_rounded_to_the_precision(self) -> None:
        geometry = trail_geometry(
            [ping_at(0, 0.123, 0.456), ping_at(10, 700.789, 3.21)], precision=5
        )
        assert geometry is not None
        for lon, lat in geometry["coordinates"]:
            assert round(lon, 5) == lon
            assert round(lat, 5) == lat

    def test_feature_says_what_it_covers(self) -> None:
        feature = trail_feature(noisy_straight_road(), tolerance_m=10)
        assert feature is not None
        props = feature["properties"]
        assert props["pings"] == 200
        assert props["positions"] == len(feature["geometry"]["coordinates"])
        assert props["started_at"] == T0.isoformat()


class TestSimplification:
    def test_a_noisy_straight_road_becomes_its_two_ends(self) -> None:
        pings = noisy_straight_road()
        full = trail_geometry(pings)
        simple = trail_geometry(pings, tolerance_m=10)
        assert full is not None
        assert simple is not None
        assert len(full["coordinates"]) == 200
        assert simple["coordinates"] == [full["coordinates"][0], full["coordinates"][-1]]

    def test_a_turn_is_kept(self) -> None:
        out = [ping_at(i * 5.0, i * 50.0, 0.0) for i in range(20)]
        back = [ping_at(100 + i * 5.0, 950.0, i * 50.0) for i in range(1, 20)]
        simple = trail_geometry(out + back, tolerance_m=10)
        assert simple is not None
        corner = [round(v, 6) for v in reversed(ROAD.to_latlon(950.0, 0.0))]
        assert corner in simple["coordinates"]
        assert len(simple["coordinates"]) == 3

    def test_doubling_back_is_kept(self) -> None:
        there = [ping_at(i * 5.0, i * 100.0, 0.0) for i in range(11)]
        back = [ping_at(55 + i * 5.0, 1000.0 - i * 100.0, 0.0) for i in range(1, 6)]
        simple = trail_geometry(there + back, tolerance_m=10)
        assert simple is not None
        assert len(simple["coordinates"]) == 3

    def test_zero_tolerance_keeps_every_point(self) -> None:
        assert simplify_indices([1.0, 2.0, 3.0, 4.0], [1.0, 1.5, 1.0, 1.5], tolerance_m=0) == [
            0,
            1,
            2,
            3,
        ]

    @settings(max_examples=40, deadline=None)
    @given(
        seed=st.integers(0, 10_000),
        tolerance_m=st.floats(1.0, 200.0),
        count=st.integers(3, 120),
    )
    def test_every_dropped_point_stays_within_tolerance(
        self, seed: int, tolerance_m: float, count: int
    ) -> None:
        rng = random.Random(seed)
        heading = rng.uniform(0, 2 * math.pi)
        east = north = 0.0
        lats, lons = [], []
        for _ in range(count):
            heading += rng.gauss(0, 0.4)
            east += 40 * math.cos(heading)
            north += 40 * math.sin(heading)
            lat, lon = ROAD.to_latlon(east, north)
            lats.append(lat)
            lons.append(lon)
        kept = simplify_indices(lats, lons, tolerance_m=tolerance_m)
        assert kept[0] == 0
        assert kept[-1] == count - 1
        assert kept == sorted(set(kept))
        for a, b in itertools.pairwise(kept):
            for i in range(a + 1, b):
                assert _distance_to_segment_m(lats, lons, i, a, b) <= tolerance_m * 1.01 + 0.01


def _distance_to_segment_m(lats: list[float], lons: list[float], i: int, a: int, b: int) -> float:
    """Check distances in one fixed frame at the trail's origin, not the chord's own frame."""
    px, py = ROAD.to_xy(lats[i], lons[i])
    ax, ay = ROAD.to_xy(lats[a], lons[a])
    bx, by = ROAD.to_xy(lats[b], lons[b])
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    f = 0.0 if length2 == 0 else min(max(((px - ax) * dx + (py - ay) * dy) / length2, 0.0), 1.0)
    return math.hypot(px - ax - f * dx, py - ay - f * dy)
