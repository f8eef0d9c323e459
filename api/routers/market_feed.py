"""The carriers' live feed of loads: a websocket, and server-sent events for simpler clients.

Both authenticate with the bearer token (the websocket also takes ``?token=`` because
browsers cannot set headers on it), serve carriers only, and take the market list's filters.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from accounts import service as accounts
from accounts.enums import OrgKind, Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, require_scope
from api.routers.market import MarketFilterDep
from api.routing import TransactionalRoute
from api.runtime import Runtime
from core.errors import DomainError
from dispatch.fleet import service as fleet
from dispatch.fleet.capability import CarrierCapability
from dispatch.guards import KindRequired
from dispatch.market.events import MARKET_CHANNEL
from dispatch.market.feed import FEED_QUEUE_SIZE, carrier_feed
from dispatch.market.offers import MarketFilter, origins_for

router = APIRouter(prefix="/v1/market", tags=["market"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.MARKET_READ))]

SEND_TIMEOUT_S = 10.0
"""A client that cannot take one message in this long is disconnected."""

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


async def _feed(
    runtime: Runtime, principal: Principal, where: MarketFilter
) -> AsyncGenerator[dict[str, Any]]:
    if not principal.plays(OrgKind.CARRIER):
        raise KindRequired("the live feed is for carriers")
    async with runtime.database.session() as session:
        origins = await origins_for(session, principal=principal, where=where)

    async def load_capability() -> CarrierCapability:
        async with runtime.database.session() as session:
            return await fleet.capability(session, principal.organization_id)

    subscription = await runtime.bus.subscribe(MARKET_CHANNEL, maxsize=FEED_QUEUE_SIZE)
    try:
        async for message in carrier_feed(
            subscription,
            carrier_id=principal.organization_id,
            where=where,
            origins=origins,
            load_capability=load_capability,
        ):
            yield message
    finally:
        await runtime.bus.unsubscribe(subscription)


def _event(message: dict[str, Any]) -> bytes:
    if message["type"] == "keepalive":
        return b": keepalive\n\n"
    kind = str(message["type"]).encode()
    return b"event: " + kind + b"\ndata: " + orjson.dumps(message) + b"\n\n"


@router.get(
    "/feed/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def feed_events(
    principal: Reader, where: MarketFilterDep, runtime: RuntimeDep
) -> StreamingResponse:
    """Live loads for your carrier as server-sent events (``ready``, ``offer``, ``gap``)."""
    stream = _feed(runtime, principal, where)
    # The first message comes before the response starts, so a refusal is a plain problem.
    first = await anext(stream)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield _event(first)
            async for message in stream:
                yield _event(message)
        finally:
            await stream.aclose()

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/feed")
async def feed_socket(
    websocket: WebSocket, where: MarketFilterDep, token: str | None = None
) -> None:
    """Live loads for your carrier over a websocket: one JSON message per load change."""
    runtime: Runtime = websocket.app.state.runtime
    await websocket.accept()
    header = websocket.headers.get("authorization", "")
    raw = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else token
    if not raw:
        await websocket.close(CLOSE_UNAUTHENTICATED, "send a bearer token")
        return
    try:
        async with runtime.database.session() as session:
            principal = await accounts.authenticate(session, token=raw, cache=runtime.tokens)
        if not principal.has_scope(Scope.MARKET_READ):
            raise KindRequired("this token lacks the market:read scope", code="scope_required")
        stream = _feed(runtime, principal, where)
        first = await anext(stream)
    except DomainError as error:
        code = CLOSE_UNAUTHENTICATED if error.status == 401 else CLOSE_FORBIDDEN
        await websocket.close(code, error.code)
        return

    async def pump() -> None:
        await asyncio.wait_for(websocket.send_text(orjson.dumps(first).decode()), SEND_TIMEOUT_S)
        async for message in stream:
            await asyncio.wait_for(
                websocket.send_text(orjson.dumps(message).decode()), SEND_TIMEOUT_S
            )

    # Watch the socket while the feed waits for the bus, so a client that leaves is let go
    # at once rather than at the next keepalive.
    sender = asyncio.create_task(pump())
    watcher = asyncio.create_task(_until_disconnect(websocket))
    try:
        await asyncio.wait({sender, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, watcher):
            task.cancel()
        for task in (sender, watcher):
            with contextlib.suppress(
                asyncio.CancelledError, WebSocketDisconnect, TimeoutError, RuntimeError
            ):
                await task
        await stream.aclose()
        with contextlib.suppress(RuntimeError):
            await websocket.close()


async def _until_disconnect(websocket: WebSocket) -> None:
    # Clients have nothing to say on the feed; anything they send is read and ignored.
    while (await websocket.receive())["type"] != "websocket.disconnect":
        continue
