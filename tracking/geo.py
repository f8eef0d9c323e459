"""Distances on the Earth and a local metric frame, in plain floats for the hot path.

Two tools, each used where its error is small against GPS noise:

* :func:`haversine_m`, great-circle distance on a sphere of the mean Earth radius: within
  0.6 % of the WGS84 geodesic (the worst case is north-south near the equator), used for
  speeds between fixes and for remaining distance, where that is far below other errors;
* :class:`LocalFrame`, an equirectangular projection around one origin with the WGS84
  ellipsoid's metres per degree at the origin's latitude: below 0.1 % error within 10 km of
  the origin at mid latitudes, used for geofences (a few km across) and trail simplification.
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

EARTH_RADIUS_M: Final = 6_371_008.8
"""Mean Earth radius (IUGG), the sphere the haversine distance is taken on."""

_WGS84_A: Final = 6_378_137.0
_WGS84_E2: Final = 6.69437999014e-3
_RAD: Final = math.pi / 180.0


class LatLon(NamedTuple):
    """A position in WGS84 degrees."""

    lat: float
    lon: float


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the great-circle distance in metres between two ``(lat, lon)`` points."""
    phi1 = a[0] * _RAD
    phi2 = b[0] * _RAD
    sin_dphi = math.sin((phi2 - phi1) * 0.5)
    sin_dlmb = math.sin((b[1] - a[1]) * _RAD * 0.5)
    h = sin_dphi * sin_dphi + math.cos(phi1) * math.cos(phi2) * sin_dlmb * sin_dlmb
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))


def metres_per_degree(lat_deg: float) -> tuple[float, float]:
    """Return metres per degree of latitude and of longitude at a latitude (WGS84)."""
    sin_phi = math.sin(lat_deg * _RAD)
    w = 1.0 - _WGS84_E2 * sin_phi * sin_phi
    meridional = _WGS84_A * (1.0 - _WGS84_E2) / (w * math.sqrt(w))
    prime_vertical = _WGS84_A / math.sqrt(w)
    return meridional * _RAD, prime_vertical * math.cos(lat_deg * _RAD) * _RAD


class LocalFrame:
    """Equirectangular metres around an origin: x east, y north."""

    __slots__ = ("lat0", "lon0", "m_per_deg_lat", "m_per_deg_lon")

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0 = lat0
        self.lon0 = lon0
        self.m_per_deg_lat, per_deg_lon = metres_per_degree(lat0)
        # A floor keeps a frame at a pole usable; nothing we track sits there.
        self.m_per_deg_lon = max(per_deg_lon, 1e-3)

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        """Project degrees to metres east and north of the origin."""
        dlon = lon - self.lon0
        # Keep the antimeridian from turning a short hop into a trip round the world.
        if dlon > 180.0:
            dlon -= 360.0
        elif dlon < -180.0:
            dlon += 360.0
        return dlon * self.m_per_deg_lon, (lat - self.lat0) * self.m_per_deg_lat

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        """Turn metres east and north of the origin back into degrees."""
        lon = self.lon0 + x / self.m_per_deg_lon
        if lon > 180.0:
            lon -= 360.0
        elif lon < -180.0:
            lon += 360.0
        return self.lat0 + y / self.m_per_deg_lat, lon
