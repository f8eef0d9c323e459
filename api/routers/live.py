"""Live positions and shipments over a websocket, or server-sent events for browsers.

Positions (``/v1/live/positions``): each connection first gets a ``snapshot`` frame (the
newest known position of each device it may see), then ``positions`` frames as pings are
committed, coalesced per tick so a slow client gets the newest position per device rather
than a growing queue, and ``heartbeat`` frames when there is nothing to say. Frames are
JSON objects with a ``type``. Browsers that cannot send headers pass their token as
``?access_token=``.

Shipments (``/v1/live/shipments``, and ``/v1/live/shared/{token}`` for a share link): a
``snapshot`` frame with each watched shipment (state, last position, ETA, ``last_seq``), then
``event`` frames (a log entry of a shipment, with its ``seq``: state changes, geofence
arrivals and departures, ETAs, alerts), ``positions`` frames (newest per shipment, with
the shipment's latest ``seq``), ``heartbeat`` frames, and ``resync`` if the client fell so far
behind that events were dropped. After a reconnect, ``GET /v1/shipments/{id}/events?after=``
with the last ``seq`` held fills the gap.
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
from api.deps import RuntimeDep, public, require_scope
from api.routers.shipments import link_key
from api.routing import TransactionalRoute
from api.runtime import Runtime
from core.errors import FieldError, RuleViolation
from tracking.live.hub import Subscriber, TooManyConnections
from tracking.positions import service as positions
from tracking.shipments import service as shipments
from tracking.shipments.hub import ShipmentSubscriber

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


async def _until_closed(websocket: WebSocket, subscriber: Subscriber | ShipmentSubscriber) -> None:
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


async def _shipments_snapshot(
    runtime: Runtime, principal: Principal, shipment_id: uuid.UUID | None
) -> bytes:
    if principal.role == Role.DRIVER and shipment_id is None:
        raise RuleViolation(
            "a driver watches one of their own shipments: give shipment_id",
            code="shipment_required",
            errors=[FieldError(loc=("query", "shipment_id"), msg="required for drivers")],
        )
    async with runtime.database.session() as session:
        if shipment_id is not None:
            found = [
                await shipments.get_shipment(session, principal=principal, shipment_id=shipment_id)
            ]
        else:
            found = await shipments.active_shipments(session, principal=principal)
    return orjson.dumps(
        {"type": "snapshot", "shipments": [s.model_dump(mode="json") for s in found]}
    )


async def _shared_snapshot(runtime: Runtime, token: str) -> tuple[uuid.UUID, bytes]:
    async with runtime.database.session() as session:
        view = await shipments.shared_view(session, key=link_key(runtime), token=token)
    frame = orjson.dumps({"type": "snapshot", "shipments": [view.model_dump(mode="json")]})
    return view.id, frame


async def _serve_websocket(
    websocket: WebSocket,
    runtime: Runtime,
    snapshot: bytes,
    *,
    organization_id: uuid.UUID | None,
    shipment_id: uuid.UUID | None,
    cap_key: uuid.UUID,
) -> None:
    hub = runtime.tracking.shipments
    await websocket.accept()
    try:
        subscriber = hub.open(
            organization_id=organization_id, shipment_id=shipment_id, cap_key=cap_key
        )
    except TooManyConnections as error:
        await websocket.close(code=CLOSE_TOO_MANY, reason=error.detail[:120])
        return
    listener = asyncio.create_task(_until_closed(websocket, subscriber))
    try:
        await websocket.send_text(snapshot.decode())
        while (frame := await subscriber.next_frame()) is not None:
            await websocket.send_text(frame.decode())
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        hub.release(subscriber)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


def _serve_sse(
    runtime: Runtime,
    snapshot: bytes,
    *,
    organization_id: uuid.UUID | None,
    shipment_id: uuid.UUID | None,
    cap_key: uuid.UUID,
) -> StreamingResponse:
    hub = runtime.tracking.shipments
    subscriber = hub.open(organization_id=organization_id, shipment_id=shipment_id, cap_key=cap_key)

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\ndata: " + snapshot + b"\n\n"
            while (frame := await subscriber.next_frame()) is not None:
                yield b"data: " + frame + b"\n\n"
        finally:
            hub.release(subscriber)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _link_cap_key(token: str) -> uuid.UUID:
    # Links carry no token id: the connection cap counts per link instead.
    return uuid.uuid5(uuid.NAMESPACE_URL, token)


@router.websocket("/shipments")
async def watch_shipments(
    websocket: WebSocket,
    principal: Reader,
    runtime: RuntimeDep,
    shipment_id: uuid.UUID | None = None,
) -> None:
    """Live events and positions of the shipments you are party to (or one) over a websocket."""
    snapshot = await _shipments_snapshot(runtime, principal, shipment_id)
    await _serve_websocket(
        websocket,
        runtime,
        snapshot,
        organization_id=principal.organization_id,
        shipment_id=shipment_id,
        cap_key=principal.token_id,
    )


@router.get(
    "/shipments/sse",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_shipments(
    principal: Reader, runtime: RuntimeDep, shipment_id: uuid.UUID | None = None
) -> StreamingResponse:
    """Live events and positions of the shipments you are party to, as server-sent events."""
    snapshot = await _shipments_snapshot(runtime, principal, shipment_id)
    return _serve_sse(
        runtime,
        snapshot,
        organization_id=principal.organization_id,
        shipment_id=shipment_id,
        cap_key=principal.token_id,
    )


@router.websocket("/shared/{token}")
async def watch_shared(websocket: WebSocket, token: str, runtime: RuntimeDep) -> None:
    """One shared shipment's live view over a websocket; the link is the credential."""
    shipment_id, snapshot = await _shared_snapshot(runtime, token)
    await _serve_websocket(
        websocket,
        runtime,
        snapshot,
        organization_id=None,
        shipment_id=shipment_id,
        cap_key=_link_cap_key(token),
    )


@router.get(
    "/shared/{token}/sse",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
    **public("the share link token in the path is the credential"),
)
async def stream_shared(token: str, runtime: RuntimeDep) -> StreamingResponse:
    """One shared shipment's live view as server-sent events."""
    shipment_id, snapshot = await _shared_snapshot(runtime, token)
    return _serve_sse(
        runtime,
        snapshot,
        organization_id=None,
        shipment_id=shipment_id,
        cap_key=_link_cap_key(token),
    )
