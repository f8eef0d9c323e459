"""The distance helpers are as accurate as their docstrings claim, against WGS84 geodesics."""

from __future__ import annotations

import math

import pytest
from geopy.distance import geodesic
from hypothesis import given
from hypothesis import strategies as st

from tracking.geo import LocalFrame, haversine_m, metres_per_degree

mid_latitudes = st.floats(-65.0, 65.0)
offsets_m = st.floats(-10_000.0, 10_000.0)


@given(lat0=mid_latitudes, lon0=st.floats(-179.0, 179.0), east=offsets_m, north=offsets_m)
def test_local_frame_distances_within_a_tenth_of_a_percent(
    lat0: float, lon0: float, east: float, north: float
) -> None:
    frame = LocalFrame(lat0, lon0)
    lat, lon = frame.to_latlon(east, north)
    flat_m = math.hypot(east, north)
    true_m = geodesic((lat0, lon0), (lat, lon)).m
    assert flat_m == pytest.approx(true_m, rel=1e-3, abs=0.01)


@given(lat0=mid_latitudes, lon0=st.floats(-180.0, 180.0), east=offsets_m, north=offsets_m)
def test_local_frame_round_trips(lat0: float, lon0: float, east: float, north: float) -> None:
    frame = LocalFrame(lat0, lon0)
    x, y = frame.to_xy(*frame.to_latlon(east, north))
    assert x == pytest.approx(east, abs=1e-6)
    assert y == pytest.approx(north, abs=1e-6)


def test_local_frame_does_not_go_round_the_world_at_the_antimeridian() -> None:
    frame = LocalFrame(-17.0, 179.999)
    x, _ = frame.to_xy(-17.0, -179.999)
    assert x == pytest.approx(2 * 0.001 * metres_per_degree(-17.0)[1])


@given(
    a=st.tuples(st.floats(-80, 80), st.floats(-180, 180)),
    b=st.tuples(st.floats(-80, 80), st.floats(-180, 180)),
)
def test_haversine_within_six_tenths_of_a_percent(
    a: tuple[float, float], b: tuple[float, float]
) -> None:
    assert haversine_m(a, b) == pytest.approx(geodesic(a, b).m, rel=6e-3, abs=0.01)


def test_metres_per_degree_matches_known_values() -> None:
    per_lat, per_lon = metres_per_degree(45.0)
    assert per_lat == pytest.approx(111_132.0, abs=2.0)
    assert per_lon == pytest.approx(78_847.0, abs=2.0)
