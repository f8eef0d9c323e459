"""The app's contract: every route authenticated or public with a reason, clean OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, APIWebSocketRoute, iter_route_contexts

from api.app import create_app
from api.deps import current_principal
from api.routing import TransactionalRoute


def _depends_on(dependant: Dependant, call: Any) -> bool:
    return dependant.call is call or any(_depends_on(d, call) for d in dependant.dependencies)


SELF_AUTHENTICATING_SOCKETS = {
    # Reads the token after accepting and closes with 4401 or 4403 (tests/api/test_market_feed.py).
    "/v1/market/feed",
    # A share link's token is its credential: read-only, one shipment, until it expires.
    "/v1/live/shared/{token}",
}


def _routes() -> list[object]:
    # Included routers stay wrapped in app.routes: unwrap them, or the checks see nothing.
    return [context.original_route for context in iter_route_contexts(create_app().routes)]


def _api_routes() -> list[APIRoute]:
    routes = [route for route in _routes() if isinstance(route, APIRoute)]
    assert len(routes) > 50
    return routes


class TestRouteContract:
    def test_every_route_needs_a_token_or_says_why_not(self) -> None:
        unguarded = [
            route.path
            for route in _api_routes()
            if not _depends_on(route.dependant, current_principal)
            and not (route.openapi_extra or {}).get("x-public")
        ]
        assert unguarded == []

    def test_every_websocket_needs_a_token_or_says_why_not(self) -> None:
        sockets = [route for route in _routes() if isinstance(route, APIWebSocketRoute)]
        assert sockets
        for route in sockets:
            if route.path in SELF_AUTHENTICATING_SOCKETS:
                continue
            assert _depends_on(route.dependant, current_principal), route.path

    def test_every_route_commits_before_it_answers(self) -> None:
        assert all(isinstance(route, TransactionalRoute) for route in _api_routes())

    def test_operation_ids_are_unique_and_readable(self) -> None:
        names = [route.name for route in _api_routes()]
        assert len(names) == len(set(names))
        assert all(name.isidentifier() and name.islower() for name in names)

    def test_every_route_has_a_summary_docstring(self) -> None:
        assert [r.path for r in _api_routes() if not (r.endpoint.__doc__ or "").strip()] == []


class TestProbes:
    async def test_health_and_readiness(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "ready"

    async def test_request_id_is_echoed_or_made(self, client: httpx.AsyncClient) -> None:
        given = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        assert given.headers["x-request-id"] == "abc-123"
        made = await client.get("/healthz", headers={"X-Request-ID": "bad id\n"})
        assert made.headers["x-request-id"] != "bad id\n"
        assert len(made.headers["x-request-id"]) == 32

    async def test_unknown_path_is_a_problem_document(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/nowhere")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


class TestOpenApi:
    async def test_document_has_bearer_auth_and_tags(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        assert "HTTPBearer" in document["components"]["securitySchemes"]
        operations = [op for path in document["paths"].values() for op in path.values()]
        assert all(op.get("tags") for op in operations)
        login = document["paths"]["/v1/auth/login"]["post"]
        assert login["operationId"] == "login"
        assert login["x-public"]

    async def test_every_operation_id_is_unique(self, client: httpx.AsyncClient) -> None:
        document = (await client.get("/openapi.json")).json()
        ids = [op["operationId"] for path in document["paths"].values() for op in path.values()]
        assert [i for i in set(ids) if ids.count(i) > 1] == []
