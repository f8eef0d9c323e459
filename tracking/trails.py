"""A device's trail as a compact GeoJSON LineString, simplified on request.

Positions follow RFC 7946: ``[longitude, latitude]``, rounded to ``precision`` decimals
(6 decimals is about 0.1 m), with consecutive repeats dropped. Simplification is
Douglas-Peucker with the tolerance in metres: each split measures the distance of the
in-between points to the chord in an equirectangular frame at the chord's mean latitude
(WGS84 metres per degree), to the segment rather than the infinite line so a trail that
doubles back keeps its turn. The endpoints are always kept. Trails across the antimeridian
are not split as RFC 7946 asks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import numpy as np

from tracking.geo import metres_per_degree
from tracking.pings import Ping, PingFlag

DEFAULT_EXCLUDED_FLAGS: Final = int(
    PingFlag.IMPLAUSIBLE_JUMP | PingFlag.POOR_ACCURACY | PingFlag.INVALID_FIX | PingFlag.MOCK
)
"""Pings with these flags would draw spikes; late (out-of-order) pings are kept, in order."""


def simplify_indices(
    lats: Sequence[float], lons: Sequence[float], *, tolerance_m: float
) -> list[int]:
    """Return the indices Douglas-Peucker keeps at ``tolerance_m`` (always first and last)."""
    count = len(lats)
    if count <= 2 or tolerance_m <= 0.0:
        return list(range(count))
    lat = np.asarray(lats, dtype=np.float64)
    lon = np.asarray(lons, dtype=np.float64)
    keep = np.zeros(count, dtype=bool)
    keep[0] = keep[-1] = True
    spans = [(0, count - 1)]
    while spans:
        first, last = spans.pop()
        if last - first < 2:
            continue
        m_per_deg_lat, m_per_deg_lon = metres_per_degree((lat[first] + lat[last]) * 0.5)
        xs = (lon[first + 1 : last] - lon[first]) * m_per_deg_lon
        ys = (lat[first + 1 : last] - lat[first]) * m_per_deg_lat
        bx = (lon[last] - lon[first]) * m_per_deg_lon
        by = (lat[last] - lat[first]) * m_per_deg_lat
        chord2 = bx * bx + by * by
        if chord2 == 0.0:
            dist = np.hypot(xs, ys)
        else:
            along = np.clip((xs * bx + ys * by) / chord2, 0.0, 1.0)
            dist = np.hypot(xs - along * bx, ys - along * by)
        worst = int(np.argmax(dist))
        if dist[worst] > tolerance_m:
            split = first + 1 + worst
            keep[split] = True
            spans.append((first, split))
            spans.append((split, last))
    kept: list[int] = np.flatnonzero(keep).tolist()
    return kept


def _ordered_positions(
    pings: Iterable[Ping], exclude_flags: int
) -> tuple[list[Ping], list[float], list[float]]:
    chosen = sorted((p for p in pings if not p.flags & exclude_flags), key=_fix_time)
    return chosen, [p.lat for p in chosen], [p.lon for p in chosen]


def _fix_time(ping: Ping) -> float:
    return ping.recorded_at.timestamp()


def trail_geometry(
    pings: Iterable[Ping],
    *,
    tolerance_m: float = 0.0,
    precision: int = 6,
    exclude_flags: int = DEFAULT_EXCLUDED_FLAGS,
) -> dict[str, Any] | None:
    """Return the pings' trail as a GeoJSON LineString, or ``None`` under two distinct points.

    Pings are put in fix-time order; ``tolerance_m`` above zero simplifies the line.
    """
    _, lats, lons = _ordered_positions(pings, exclude_flags)
    return _linestring(lats, lons, tolerance_m, precision)


def _linestring(
    lats: list[float], lons: list[float], tolerance_m: float, precision: int
) -> dict[str, Any] | None:
    coordinates: list[list[float]] = []
    previous: list[float] | None = None
    for i in simplify_indices(lats, lons, tolerance_m=tolerance_m):
        position = [round(lons[i], precision), round(lats[i], precision)]
        if position != previous:
            coordinates.append(position)
            previous = position
    if len(coordinates) < 2:
        return None
    return {"type": "LineString", "coordinates": coordinates}


def trail_feature(
    pings: Iterable[Ping],
    *,
    tolerance_m: float = 0.0,
    precision: int = 6,
    exclude_flags: int = DEFAULT_EXCLUDED_FLAGS,
) -> dict[str, Any] | None:
    """Return the trail as a GeoJSON Feature with its time span and point counts."""
    chosen, lats, lons = _ordered_positions(pings, exclude_flags)
    geometry = _linestring(lats, lons, tolerance_m, precision)
    if geometry is None:
        return None
    return {
        "type": "Feature",
        "geometry": geometry,
        "properties": {
            "device_key": chosen[0].device_key,
            "started_at": chosen[0].recorded_at.isoformat(),
            "ended_at": chosen[-1].recorded_at.isoformat(),
            "pings": len(chosen),
            "positions": len(geometry["coordinates"]),
            "tolerance_m": tolerance_m,
        },
    }
