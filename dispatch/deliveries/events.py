"""What deliveries write to the event log, and who may read it.

Subjects: ``delivery:<id>`` for everything that happens to one truckload, and
``booking:<id>`` for the booking's splits (a plan committed, a re-plan). The audience is
the parties of the trade: the seller, the buyer, the carrier and the plant operator.

Kinds on a delivery: ``delivery.planned``, ``delivery.assigned``, ``delivery.authorized``,
``delivery.authorization_withdrawn``, ``delivery.slotted``, ``delivery.arrived``,
``delivery.loaded``, ``delivery.departed``, ``delivery.delivered``, ``delivery.cancelled``,
``delivery.replaced``. On a booking: ``split.committed``.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core import eventlog
from core.eventlog import subject_key
from dispatch.deliveries.models import OutboundDelivery


def delivery_subject(delivery_id: uuid.UUID) -> str:
    """The event-log subject of a delivery."""
    return subject_key("delivery", delivery_id)


def booking_subject(booking_id: uuid.UUID) -> str:
    """The event-log subject of a booking's splits."""
    return subject_key("booking", booking_id)


def parties(delivery: OutboundDelivery) -> list[uuid.UUID]:
    """The organizations that see a delivery."""
    return sorted(
        {delivery.seller_id, delivery.buyer_id, delivery.carrier_id, delivery.plant_operator_id}
    )


def summary(delivery: OutboundDelivery) -> dict[str, Any]:
    """The facts every delivery event carries, so a reader needs no other lookup."""
    return {
        "delivery_id": str(delivery.id),
        "number": delivery.number,
        "booking_id": str(delivery.booking_id),
        "state": delivery.state,
        "quantity": delivery.quantity,
        "unit": delivery.unit,
        "planned_day": delivery.planned_day.isoformat(),
        "vehicle_id": str(delivery.vehicle_id),
        "vehicle_plate": delivery.vehicle_plate,
        "driver_member_id": None
        if delivery.driver_member_id is None
        else str(delivery.driver_member_id),
    }


async def record(
    session: AsyncSession,
    delivery: OutboundDelivery,
    kind: str,
    extra: dict[str, Any] | None = None,
    *,
    actor: str | None,
) -> None:
    """Append a delivery event in the caller's transaction, addressed to its parties."""
    await eventlog.append(
        session,
        subject=delivery_subject(delivery.id),
        kind=kind,
        payload={**summary(delivery), **(extra or {})},
        audience=parties(delivery),
        actor=actor,
    )
