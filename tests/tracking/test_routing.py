"""The OSRM client reads a route, and falls back to the geodesic estimate on any failure."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import pytest

from tracking.eta import GeodesicRouteProvider
from tracking.geo import LatLon
from tracking.routing import OsrmRouteProvider

PLANT = LatLon(52.37012, 4.89231)
BUYER = LatLon(51.92250, 4.47917)


def provider(handler: Callable[[httpx.Request], httpx.Response]) -> OsrmRouteProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return OsrmRouteProvider("http://osrm.test/", client=client, timeout_s=0.5)


def answer(body: object, status: int = 200) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=orjson.dumps(body))

    return handler


# Shape of a `route` service answer per the OSRM HTTP API documentation.
OSRM_OK = {
    "code": "Ok",
    "routes": [
        {"distance": 78_412.3, "duration": 3_521.8, "weight": 3_521.8, "legs": []},
    ],
    "waypoints": [],
}


class TestOsrm:
    async def test_asks_with_longitude_first_and_no_overview(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, content=orjson.dumps(OSRM_OK))

        estimate = await provider(handler).route(PLANT, BUYER)
        (request,) = seen
        assert request.url.path == "/route/v1/driving/4.892310,52.370120;4.479170,51.922500"
        assert request.url.params["overview"] == "false"
        assert (estimate.distance_m, estimate.duration_s) == (78_412.3, 3_521.8)
        assert estimate.source == "osrm"
        assert estimate.error is None

    @pytest.mark.parametrize(
        ("handler", "reason"),
        [
            (answer({"code": "NoRoute", "message": "Impossible route"}, 400), "HTTP 400"),
            (answer({"code": "NoRoute", "message": "Impossible route"}), "NoRoute"),
            (answer({"code": "Ok", "routes": []}), "no route"),
            (answer({"code": "Ok", "routes": [{"duration": 5}]}), "distance"),
            (answer([1, 2, 3]), "not a JSON object"),
            (lambda r: httpx.Response(200, content=b"<html>busy</html>"), "not JSON"),
            (answer(OSRM_OK, 503), "HTTP 503"),
        ],
    )
    async def test_bad_answers_fall_back_to_geodesic(
        self, handler: Callable[[httpx.Request], httpx.Response], reason: str
    ) -> None:
        estimate = await provider(handler).route(PLANT, BUYER)
        expected = GeodesicRouteProvider().estimate(PLANT, BUYER)
        assert estimate.source == "geodesic-fallback"
        assert estimate.distance_m == expected.distance_m
        assert estimate.error is not None
        assert reason in estimate.error

    @pytest.mark.parametrize(
        "error",
        [httpx.ReadTimeout("timed out"), httpx.ConnectError("connection refused")],
    )
    async def test_network_failures_fall_back(self, error: httpx.HTTPError) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        estimate = await provider(handler).route(PLANT, BUYER)
        assert estimate.source == "geodesic-fallback"
        assert estimate.error is not None
        assert type(error).__name__ in estimate.error

    async def test_missing_duration_is_none_not_zero(self) -> None:
        body = {"code": "Ok", "routes": [{"distance": 1000.0}]}
        estimate = await provider(answer(body)).route(PLANT, BUYER)
        assert estimate.source == "osrm"
        assert estimate.duration_s is None

    async def test_own_client_is_closed_on_exit(self) -> None:
        async with OsrmRouteProvider("http://127.0.0.1:9") as osrm:
            client = osrm._http()
        assert client.is_closed
