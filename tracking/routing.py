"""Road routes from an OSRM-compatible HTTP service, falling back to the geodesic estimate.

The service is asked ``GET {base}/route/v1/{profile}/{lon},{lat};{lon},{lat}?overview=false``
and answers ``{"code": "Ok", "routes": [{"distance": metres, "duration": seconds}, ...]}``.
Any failure (timeout, connection refused, an HTTP error status, a body that is not that
shape, a ``code`` other than ``Ok``) yields the geodesic estimate instead, marked
``geodesic-fallback`` with the reason, so an ETA never waits on a routing outage.
"""

from __future__ import annotations

import math
from types import TracebackType
from typing import Final, TypeGuard

import httpx
import orjson

from tracking.eta import GeodesicRouteProvider, RouteEstimate
from tracking.geo import LatLon

DEFAULT_TIMEOUT_S: Final = 2.0


class OsrmRouteProvider:
    """A :class:`~tracking.eta.RouteProvider` backed by an OSRM ``route`` endpoint."""

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        client: httpx.AsyncClient | None = None,
        fallback: GeodesicRouteProvider | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout = httpx.Timeout(timeout_s)
        self._client = client
        self._owns_client = client is None
        self.fallback = fallback if fallback is not None else GeodesicRouteProvider()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout)
        return self._client

    def url_for(self, origin: LatLon, destination: LatLon) -> str:
        """Return the route URL for two points (OSRM takes longitude first)."""
        return (
            f"{self.base_url}/route/v1/{self.profile}/"
            f"{origin.lon:.6f},{origin.lat:.6f};{destination.lon:.6f},{destination.lat:.6f}"
        )

    async def route(self, origin: LatLon, destination: LatLon) -> RouteEstimate:
        """Return OSRM's route, or the geodesic estimate if the service fails."""
        try:
            response = await self._http().get(
                self.url_for(origin, destination),
                params={"overview": "false"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            return self._fall_back(origin, destination, f"{type(exc).__name__}: {exc}")
        if response.status_code != httpx.codes.OK:
            return self._fall_back(origin, destination, f"HTTP {response.status_code}")
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            return self._fall_back(origin, destination, "response is not JSON")
        estimate = _read_route(body)
        if isinstance(estimate, str):
            return self._fall_back(origin, destination, estimate)
        return estimate

    def _fall_back(self, origin: LatLon, destination: LatLon, reason: str) -> RouteEstimate:
        geodesic = self.fallback.estimate(origin, destination)
        return RouteEstimate(geodesic.distance_m, None, "geodesic-fallback", reason)

    async def aclose(self) -> None:
        """Close the HTTP client if this provider created it."""
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> OsrmRouteProvider:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _read_route(body: object) -> RouteEstimate | str:
    """Return the first route of an OSRM answer, or why there is none."""
    if not isinstance(body, dict):
        return "response is not a JSON object"
    code = body.get("code")
    if code != "Ok":
        message = body.get("message")
        return f"OSRM code {code!r}" + (f": {message}" if isinstance(message, str) else "")
    routes = body.get("routes")
    if not isinstance(routes, list) or not routes or not isinstance(routes[0], dict):
        return "response has no route"
    first = routes[0]
    distance = first.get("distance")
    duration = first.get("duration")
    if not _is_length(distance):
        return "route distance is missing or not a number"
    return RouteEstimate(
        float(distance),
        float(duration) if _is_length(duration) else None,
        "osrm",
    )


def _is_length(value: object) -> TypeGuard[float]:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )
