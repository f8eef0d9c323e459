"""Live positions over a websocket, or server-sent events for browsers.

Each connection first gets a ``snapshot`` frame (the newest known position of each device it
may see), then ``positions`` frames as pings are committed, coalesced per tick so a slow
client gets the newest position per device rather than a growing queue, and ``heartbeat``
frames when there is nothing to say. Frames are JSON objects with a ``type``. Browsers that
cannot send headers pass their token as ``?access_token=``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse

from accounts.enums import Role, Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, require_scope
from api.routing import TransactionalRoute
from api.runtime import Runtime
from core.errors import FieldError, RuleViolation
from tracking.live.hub import Subscriber, TooManyConnections
from tracking.positions import service as positions

router = APIRouter(prefix="/v1/live", tags=["live"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.TRACKING_READ))]

# A close code in the private range, so a client can tell "over the cap" from a failure.
CLOSE_TOO_MANY = 4429


async def _snapshot(
    runtime: Runtime, principal: Principal, device_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    if principal.role == Role.DRIVER and device_id is None:
        raise RuleViolation(
            "a driver watches one of their own devices: give device_id",
            code="device_required",
            errors=[FieldError(loc=("query", "device_id"), msg="required for drivers")],
        )
    async with runtime.database.session() as session:
        return await positions.latest_positions(session, principal=principal, device_id=device_id)


def _frame(kind: str, items: list[dict[str, Any]]) -> bytes:
    return orjson.dumps({"type": kind, "positions": items})


@router.websocket("/positions")
async def watch_positions(
    websocket: WebSocket,
    principal: Reader,
    runtime: RuntimeDep,
    device_id: uuid.UUID | None = None,
) -> None:
    """Live positions of your organization's devices (or one of them) over a websocket."""
    snapshot = await _snapshot(runtime, principal, device_id)
    hub = runtime.tracking.hub
    await websocket.accept()
    try:
        subscriber = hub.open(
            organization_id=principal.organization_id,
            device_id=device_id,
            token_id=principal.token_id,
        )
    except TooManyConnections as error:
        await websocket.close(code=CLOSE_TOO_MANY, reason=error.detail[:120])
        return
    listener = asyncio.create_task(_until_closed(websocket, subscriber))
    try:
        await websocket.send_text(_frame("snapshot", snapshot).decode())
        while (frame := await subscriber.next_frame()) is not None:
            await websocket.send_text(frame.decode())
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        hub.release(subscriber)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def _until_closed(websocket: WebSocket, subscriber: Subscriber) -> None:
    # Clients say nothing; reading is how a hang-up is noticed while no frames go out.
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        subscriber.close()


@router.get(
    "/positions/sse",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_positions(
    principal: Reader, runtime: RuntimeDep, device_id: uuid.UUID | None = None
) -> StreamingResponse:
    """Live positions of your organization's devices as server-sent events."""
    snapshot = await _snapshot(runtime, principal, device_id)
    hub = runtime.tracking.hub
    subscriber = hub.open(
        organization_id=principal.organization_id, device_id=device_id, token_id=principal.token_id
    )

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\ndata: " + _frame("snapshot", snapshot) + b"\n\n"
            while (frame := await subscriber.next_frame()) is not None:
                yield b"data: " + frame + b"\n\n"
        finally:
            hub.release(subscriber)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
