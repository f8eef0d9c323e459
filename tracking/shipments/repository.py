"""Every query of shipment tracking."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.eventlog import EventSubject
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.events import delivery_subject
from dispatch.deliveries.models import OutboundDelivery
from dispatch.orders.models import SalesOrder
from tracking.shipments.models import ShipmentEta, ShipmentTrack


async def track_for_update(session: AsyncSession, delivery_id: uuid.UUID) -> ShipmentTrack | None:
    """A delivery's track, locked for the rest of the transaction (PostgreSQL)."""
    statement = (
        select(ShipmentTrack).where(col(ShipmentTrack.delivery_id) == delivery_id).with_for_update()
    )
    return (await session.exec(statement)).first()


async def tracks(
    session: AsyncSession, delivery_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, ShipmentTrack]:
    """The tracks of some deliveries, by delivery id."""
    ids = list(delivery_ids)
    if not ids:
        return {}
    statement = select(ShipmentTrack).where(col(ShipmentTrack.delivery_id).in_(ids))
    return {track.delivery_id: track for track in (await session.exec(statement)).all()}


async def deliver_by(session: AsyncSession, order_id: uuid.UUID) -> datetime | None:
    """The order's delivery deadline."""
    statement = select(SalesOrder.deliver_by).where(col(SalesOrder.id) == order_id)
    found: datetime | None = (await session.exec(statement)).first()
    return found


async def last_seqs(
    session: AsyncSession, delivery_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """Each delivery's latest event sequence number (deliveries with no event are left out)."""
    by_subject = {delivery_subject(i): i for i in delivery_ids}
    if not by_subject:
        return {}
    statement = select(EventSubject.subject, EventSubject.last_seq).where(
        col(EventSubject.subject).in_(list(by_subject))
    )
    return {by_subject[subject]: seq for subject, seq in (await session.exec(statement)).all()}


async def etas(
    session: AsyncSession, delivery_id: uuid.UUID, *, limit: int
) -> Sequence[ShipmentEta]:
    """A delivery's kept estimates, oldest first."""
    statement = (
        select(ShipmentEta)
        .where(col(ShipmentEta.delivery_id) == delivery_id)
        .order_by(col(ShipmentEta.computed_at), col(ShipmentEta.id))
        .limit(limit)
    )
    return (await session.exec(statement)).all()


async def silent_in_transit(
    session: AsyncSession, *, before: datetime, limit: int = 500
) -> Sequence[tuple[ShipmentTrack, OutboundDelivery]]:
    """Tracks of deliveries in transit whose last ping is older than ``before``, not alerted."""
    statement = (
        select(ShipmentTrack, OutboundDelivery)
        .join(OutboundDelivery, col(OutboundDelivery.id) == col(ShipmentTrack.delivery_id))
        .where(
            col(OutboundDelivery.state) == DeliveryState.IN_TRANSIT,
            col(ShipmentTrack.last_ping_at) < before,
            col(ShipmentTrack.silent_since).is_(None),
        )
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def claim_silence(
    session: AsyncSession, *, delivery_id: uuid.UUID, before: datetime, at: datetime
) -> bool:
    """Mark a track silent unless a ping or another process got there first."""
    statement = (
        update(ShipmentTrack)
        .where(
            col(ShipmentTrack.delivery_id) == delivery_id,
            col(ShipmentTrack.last_ping_at) < before,
            col(ShipmentTrack.silent_since).is_(None),
        )
        .values(silent_since=at)
        .returning(col(ShipmentTrack.delivery_id))
    )
    return (await session.exec(statement)).first() is not None
