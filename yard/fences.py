"""A plant's gate-area fence: checking its GeoJSON and whether a position lies inside.
Pure: no session."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import Point, shape


def check_fence(geojson: dict[str, Any]) -> str | None:
    """What is wrong with a gate fence, or None: a valid GeoJSON Polygon in lon/lat."""
    if geojson.get("type") != "Polygon":
        return "the gate fence must be a GeoJSON Polygon"
    try:
        polygon = shape(geojson)
    except (ValueError, TypeError, KeyError, AttributeError, IndexError):
        return "the gate fence is not readable GeoJSON"
    if polygon.is_empty or not polygon.is_valid or polygon.area == 0:
        return "the gate fence must be a valid, non-empty polygon"
    minx, miny, maxx, maxy = polygon.bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        return "the gate fence's coordinates must be lon/lat degrees"
    return None


def inside(geojson: dict[str, Any], *, lat: float, lon: float) -> bool:
    """Whether a position lies in (or on the edge of) the fence."""
    if not geojson:
        return False
    polygon = shape(geojson)
    return bool(shapely.intersects(polygon, Point(lon, lat)))
