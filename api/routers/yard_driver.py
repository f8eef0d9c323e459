"""The driver's phone in the yard: my slots (time, dock, gate instructions, the pass),
reschedule, "on my way" with an ETA, check-in by the code posted at the gate, my place in
the queue, and a live stream that says when the truck is called to a dock."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from accounts.enums import Role, Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from core.errors import Forbidden
from yard import appointments, board, visits
from yard.events import driver_channel
from yard.exceptions import AppointmentNotFound
from yard.schemas import (
    DriverSlotPublic,
    DriverSlotsPublic,
    GateCodeCheckIn,
    OnMyWay,
    QueuePlacePublic,
    RescheduleRequest,
    VisitPublic,
)
from yard.views import driver_slot_public, queue_place_public, visit_public

router = APIRouter(prefix="/v1/yard/mine", tags=["yard driver"], route_class=TransactionalRoute)
live_router = APIRouter(prefix="/v1/live", tags=["live"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.YARD_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.YARD_WRITE))]
KEEPALIVE_S = 15.0


async def _slot(
    session: SessionDep, principal: Principal, delivery_id: uuid.UUID
) -> DriverSlotPublic:
    found = await board.driver_slot(session, principal=principal, delivery_id=delivery_id)
    if found is None:
        raise AppointmentNotFound("no slot of yours for that delivery")
    return driver_slot_public(found)


@router.get("")
async def my_slots(principal: Reader, session: SessionDep) -> DriverSlotsPublic:
    """My open pickup slots, soonest first: time, dock, gate instructions and the pass."""
    found = await board.my_slots(session, principal=principal)
    return DriverSlotsPublic(data=[driver_slot_public(s) for s in found], count=len(found))


@router.get("/{delivery_id}")
async def my_slot(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> DriverSlotPublic:
    """My slot for one delivery."""
    return await _slot(session, principal, delivery_id)


@router.post("/{delivery_id}/reschedule")
async def reschedule(
    delivery_id: uuid.UUID, body: RescheduleRequest, principal: Writer, session: SessionDep
) -> DriverSlotPublic:
    """Move my slot to another start, within the plant's rules."""
    await appointments.book(
        session,
        principal=principal,
        delivery_id=delivery_id,
        starts_at=body.starts_at,
        reason="rescheduled",
    )
    return await _slot(session, principal, delivery_id)


@router.post("/{delivery_id}/on-my-way")
async def on_my_way(
    delivery_id: uuid.UUID, body: OnMyWay, principal: Writer, session: SessionDep
) -> DriverSlotPublic:
    """I set off, arriving at ``eta_at``: if that is past my slot's tolerance, the slot moves."""
    await appointments.on_my_way(
        session, principal=principal, delivery_id=delivery_id, eta_at=body.eta_at
    )
    return await _slot(session, principal, delivery_id)


@router.post("/{delivery_id}/check-in")
async def check_in_with_gate_code(
    delivery_id: uuid.UUID, body: GateCodeCheckIn, principal: Writer, session: SessionDep
) -> VisitPublic:
    """Check in with the code posted at the plant's gate; the truck joins the queue."""
    found = await visits.check_in_by_code(
        session, principal=principal, delivery_id=delivery_id, code=body.code
    )
    return visit_public(found)


@router.get("/{delivery_id}/queue")
async def my_queue_place(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> QueuePlacePublic:
    """My place in the plant's queue and when to expect the call."""
    found = await visits.my_queue_place(session, principal=principal, delivery_id=delivery_id)
    return queue_place_public(found)


@live_router.get(
    "/yard",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def driver_stream(principal: Reader, runtime: RuntimeDep) -> StreamingResponse:
    """My yard calls as server-sent events: ``ready`` first, then ``called`` (dock and the
    time to be there by) whenever a dock calls my truck."""
    if principal.role is not Role.DRIVER or principal.membership_id is None:
        raise Forbidden("the yard stream is a driver's", code="driver_only")
    subscription = await runtime.bus.subscribe(driver_channel(principal.membership_id))

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"retry: 3000\nevent: ready\ndata: " + orjson.dumps({"type": "ready"}) + b"\n\n"
            while True:
                try:
                    _, payload = await asyncio.wait_for(subscription.get(), KEEPALIVE_S)
                except TimeoutError:
                    yield b": keepalive\n\n"
                    continue
                kind = str(orjson.loads(payload).get("type", "message")).encode()
                yield b"event: " + kind + b"\ndata: " + payload + b"\n\n"
        finally:
            with contextlib.suppress(Exception):
                await runtime.bus.unsubscribe(subscription)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
