"""The moves the rest of the platform makes on a delivery, for the yard, the pickup pass
service and tracking to call instead of writing the table.

Each is one conditional UPDATE guarded by the states the move may leave (the table in
``enums``), appends its event to ``delivery:<id>`` in the caller's transaction, and keeps the
booking's ledger: loading moves the planned quantity off "open" and the loaded quantity onto
"moving", delivering moves it on to "delivered", cancelling releases it. The callers check
who may ask; these functions check only the state. Pass ``expected_version`` to refuse a
move based on a stale read.

    authorize           assigned -> authorized          (a pass was issued)
    withdraw_authorization  authorized -> assigned      (the pass was revoked)
    slot                authorized | slotted -> slotted (a loading slot was given or moved)
    arrive              slotted -> at_plant             (geofence or gate check-in)
    load                at_plant -> loaded              (the weighbridge's net quantity)
    depart              loaded -> in_transit            (left the plant)
    deliver             in_transit -> delivered         (the buyer received it)
    cancel              any state before loaded -> cancelled
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core.clock import now
from dispatch.deliveries import repository
from dispatch.deliveries.enums import DeliveryState, sources_of
from dispatch.deliveries.events import record
from dispatch.deliveries.exceptions import (
    DeliveryNotFound,
    DeliveryStateConflict,
    LoadedOverPlanned,
)
from dispatch.deliveries.models import OutboundDelivery
from dispatch.guards import check_version


async def advance(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    to_state: DeliveryState,
    kind: str,
    actor: str | None,
    values: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    expected_version: int | None = None,
    from_states: Iterable[DeliveryState] | None = None,
) -> OutboundDelivery:
    """Move a delivery to ``to_state`` if the transitions table allows it from where it is
    (and from one of ``from_states``, when given)."""
    allowed = sources_of(to_state)
    if from_states is not None:
        allowed = allowed & frozenset(from_states)
    where = []
    if expected_version is not None:
        where.append(repository.delivery_column("version") == expected_version)
    moved = await repository.move_delivery(
        session,
        delivery_id,
        from_states=allowed,
        values={"state": to_state.value, "updated_at": now(), **(values or {})},
        where=where,
    )
    if moved is None:
        current = await repository.delivery(session, delivery_id)
        if current is None:
            raise DeliveryNotFound("no such delivery")
        if expected_version is not None:
            check_version(current.version, expected_version)
        raise DeliveryStateConflict(
            f"delivery {current.number} is {current.state.value}; it cannot become "
            f"{to_state.value}",
            extra={"state": current.state.value},
        )
    await record(session, moved, kind, extra, actor=actor)
    return moved


async def authorize(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    actor: str | None,
    pass_id: str | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """A pickup pass was issued for the delivery's driver and vehicle."""
    return await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.AUTHORIZED,
        kind="delivery.authorized",
        actor=actor,
        extra={"pass_id": pass_id},
        expected_version=expected_version,
    )


async def withdraw_authorization(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    actor: str | None,
    reason: str | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """The pass was revoked before use: the delivery waits for a new one."""
    return await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.ASSIGNED,
        kind="delivery.authorization_withdrawn",
        actor=actor,
        extra={"reason": reason},
        from_states=(DeliveryState.AUTHORIZED,),
        expected_version=expected_version,
    )


async def slot(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    slot_starts_at: datetime,
    actor: str | None,
    dock: str | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """The plant gave the delivery a loading slot (or moved it)."""
    return await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.SLOTTED,
        kind="delivery.slotted",
        actor=actor,
        values={"slot_starts_at": slot_starts_at},
        extra={"slot_starts_at": slot_starts_at.isoformat(), "dock": dock},
        expected_version=expected_version,
    )


async def arrive(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    actor: str | None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """The truck arrived at the plant (a geofence or the gate saw it)."""
    moment = at or now()
    return await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.AT_PLANT,
        kind="delivery.arrived",
        actor=actor,
        extra={"at": moment.isoformat()},
        expected_version=expected_version,
    )


async def load(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    loaded_quantity: int,
    actor: str | None,
    at: datetime | None = None,
    ticket: str | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """The weighbridge recorded the net loaded quantity, at most the planned quantity."""
    current = await repository.delivery(session, delivery_id)
    if current is None:
        raise DeliveryNotFound("no such delivery")
    if not 0 < loaded_quantity <= current.quantity:
        raise LoadedOverPlanned(
            f"loaded {loaded_quantity} {current.unit.value}; the delivery allows 1 to "
            f"{current.quantity}",
            extra={"planned_quantity": current.quantity},
        )
    moment = at or now()
    moved = await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.LOADED,
        kind="delivery.loaded",
        actor=actor,
        values={"loaded_quantity": loaded_quantity, "loaded_at": moment},
        extra={"loaded_quantity": loaded_quantity, "at": moment.isoformat(), "ticket": ticket},
        expected_version=expected_version,
    )
    await repository.shift_ledger(
        session,
        booking_id=moved.booking_id,
        open_change=-moved.quantity,
        moving_change=loaded_quantity,
    )
    return moved


async def depart(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    actor: str | None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """The loaded truck left the plant."""
    moment = at or now()
    return await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.IN_TRANSIT,
        kind="delivery.departed",
        actor=actor,
        extra={"at": moment.isoformat()},
        expected_version=expected_version,
    )


async def deliver(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    actor: str | None,
    at: datetime | None = None,
    expected_version: int | None = None,
) -> OutboundDelivery:
    """The buyer received the goods."""
    moment = at or now()
    moved = await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.DELIVERED,
        kind="delivery.delivered",
        actor=actor,
        values={"delivered_at": moment},
        extra={"at": moment.isoformat()},
        expected_version=expected_version,
    )
    carried = moved.loaded_quantity or 0
    await repository.shift_ledger(
        session, booking_id=moved.booking_id, moving_change=-carried, delivered_change=carried
    )
    return moved


async def cancel(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    actor: str | None,
    reason: str,
    kind: str = "delivery.cancelled",
    expected_version: int | None = None,
    from_states: Iterable[DeliveryState] | None = None,
) -> OutboundDelivery:
    """Cancel a delivery not yet loaded; its planned quantity goes back to the booking."""
    moment = now()
    moved = await advance(
        session,
        delivery_id=delivery_id,
        to_state=DeliveryState.CANCELLED,
        kind=kind,
        actor=actor,
        values={"cancelled_at": moment, "cancel_reason": reason},
        extra={"reason": reason},
        expected_version=expected_version,
    )
    await repository.shift_ledger(session, booking_id=moved.booking_id, open_change=-moved.quantity)
    return moved
