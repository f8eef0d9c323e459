"""The FastAPI application: routers, error envelope, request ids, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from accounts.tokens import TokenCache
from api import ingest
from api.deps import IdempotentReplay
from api.errors import document_problems, install_error_handlers
from api.ingest import IngestEndpoints
from api.limits import BodyLimitMiddleware, RateLimiter
from api.logs import RequestIdMiddleware, configure_logging
from api.routers import (
    accounts,
    auth,
    deliveries,
    disputes,
    events,
    fleet,
    grants,
    health,
    live,
    market,
    market_feed,
    orders,
    pages,
    passes,
    plans,
    receipts,
    shipments,
    tracking,
    yard,
    yard_driver,
)
from api.runtime import Runtime
from api.sweeper import sweep_forever
from core.bus import Bus, open_bus
from core.database import Database
from core.settings import Settings, get_settings
from core.signing import key_ring_from_settings
from dispatch.deliveries.solver import Solver, SplitSolver
from tracking.runtime import TrackingRuntime
from yard.visits import check_in_by_geofence

DESCRIPTION = """
Dispatch and tracking for bulk B2B freight: a load market carriers grab from, fleet splits,
signed pickup passes, a yard queue and live GPS.

Every route needs a bearer token (`Authorization: Bearer …`) unless it is marked `x-public`
with its reason. Errors are RFC 9457 `application/problem+json` with a stable `code`.
Writes accept an `Idempotency-Key` header: a retried request is applied once and answered
the same.
"""


def _operation_id(route: APIRoute) -> str:
    # Generated mobile clients turn these into method names: keep them short and readable.
    return route.name


class HaulpointAPI(FastAPI):
    """FastAPI, with the device ingest endpoints answered before its per-request machinery."""

    ingest: IngestEndpoints | None = None
    ingest_stack: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoints, stack = self.ingest, self.ingest_stack
        if endpoints is not None and stack is not None and endpoints.handles(scope):
            scope["app"] = self
            await stack(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    bus: Bus | None = None,
    solver: Solver | None = None,
    sweep: bool = False,
) -> FastAPI:
    """Build the app; a database, bus or split solver passed in is used as is and left open
    at shutdown (the app's own solver is a process pool sized by the settings).

    The database's key ring signs the event log; one is loaded from settings if it has none.
    With ``sweep`` the process also fires the market's deadlines (auction closes, award and
    tender timeouts, expiries) in the background; servers do, tests call the sweep directly.
    """
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_database = database is None
        own_bus = bus is None
        db = database or Database(settings.database_url, settings.database)
        if db.key_ring is None:
            db.key_ring = key_ring_from_settings(settings)
        event_bus = bus or open_bus(settings.bus.url)
        if own_bus:
            await event_bus.start()
        own_solver = SplitSolver(
            processes=settings.deliveries.solver_processes,
            time_limit_s=settings.deliveries.solve_time_limit_s,
            threads=settings.deliveries.solver_threads,
        )
        tracking_runtime = TrackingRuntime.build(
            database=db, bus=event_bus, settings=settings.tracking
        )
        app.state.runtime = runtime = Runtime(
            settings=settings,
            database=db,
            bus=event_bus,
            tokens=TokenCache(ttl_s=settings.security.token_cache_s),
            login_limiter=RateLimiter(
                rate_per_s=settings.security.login_attempts_per_min / 60,
                burst=settings.security.login_burst,
            ),
            solver=solver or own_solver,
            tracking=tracking_runtime,
            ingest_limiter=RateLimiter(
                rate_per_s=settings.tracking.ingest_rate_per_s,
                burst=settings.tracking.ingest_burst,
            ),
        )
        # A truck proven at its plant's gate is checked in there, in the arrival's transaction.
        tracking_runtime.tracker.hooks.register_check_in(check_in_by_geofence)
        await tracking_runtime.start()
        sweeper = None
        if sweep:
            sweeper = asyncio.create_task(
                sweep_forever(runtime, interval_s=settings.market.sweep_interval_s),
                name="market-sweeper",
            )
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper
            await tracking_runtime.close()
            # Closing waits for a solve under way: off the loop, so shutdown stays responsive.
            await asyncio.to_thread(own_solver.close)
            if own_bus:
                await event_bus.close()
            if own_database:
                await db.dispose()

    app = HaulpointAPI(
        title="Haulpoint API",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    install_error_handlers(app)

    @app.exception_handler(IdempotentReplay)
    async def _replay(_request: Request, replay: IdempotentReplay) -> Response:
        stored = replay.reply
        return Response(
            stored.body,
            status_code=stored.status_code,
            media_type=stored.media_type,
            headers={"Idempotent-Replayed": "true"},
        )

    app.ingest = IngestEndpoints(noop_endpoint=settings.tracking.noop_endpoint)
    app.ingest_stack = RequestIdMiddleware(
        BodyLimitMiddleware(app.ingest, max_bytes=settings.limits.max_body_bytes)
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.limits.max_body_bytes,
        by_prefix={
            receipts.UPLOAD_PREFIX: max(
                settings.limits.max_body_bytes, settings.files.max_upload_bytes
            )
        },
    )
    app.add_middleware(RequestIdMiddleware)
    for router in (
        health.router,
        auth.router,
        accounts.router,
        events.router,
        orders.router,
        fleet.router,
        market.router,
        market_feed.router,
        plans.router,
        deliveries.router,
        tracking.router,
        live.router,
        shipments.router,
        grants.router,
        passes.router,
        yard.router,
        yard_driver.router,
        yard_driver.live_router,
        receipts.router,
        disputes.router,
        pages.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    _document_ingest(app)
    return app


def _document_ingest(app: FastAPI) -> None:
    # The ingest endpoints are plain ASGI (api/ingest.py); add their description by hand.
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        document["paths"].update(ingest.openapi_paths())
        components = document.setdefault("components", {})
        for section, entries in ingest.openapi_components().items():
            components.setdefault(section, {}).update(entries)
        document_problems(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def serve_app() -> FastAPI:
    """The app as a server process runs it: configured from the environment, logging set up."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings, sweep=True)
