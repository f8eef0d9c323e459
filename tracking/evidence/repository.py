"""Every query of delivery evidence: files, receipts, disputes and statements."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organization
from dispatch.deliveries.models import OutboundDelivery
from tracking.devices.models import Device
from tracking.evidence.enums import DisputeState
from tracking.evidence.models import Dispute, DisputeStatement, EvidenceFile, Receipt

_FRESH = {"populate_existing": True}


async def evidence_file(
    session: AsyncSession, *, delivery_id: uuid.UUID, sha256: str
) -> EvidenceFile | None:
    """A delivery's file by hash."""
    statement = select(EvidenceFile).where(
        col(EvidenceFile.delivery_id) == delivery_id, col(EvidenceFile.sha256) == sha256
    )
    return (await session.exec(statement)).first()


async def evidence_files(
    session: AsyncSession, *, delivery_id: uuid.UUID, sha256s: Sequence[str] | None = None
) -> list[EvidenceFile]:
    """A delivery's files (those with the given hashes, when given), oldest first."""
    statement = select(EvidenceFile).where(col(EvidenceFile.delivery_id) == delivery_id)
    if sha256s is not None:
        statement = statement.where(col(EvidenceFile.sha256).in_(list(sha256s)))
    statement = statement.order_by(col(EvidenceFile.received_at), col(EvidenceFile.id))
    return list((await session.exec(statement)).all())


async def receipt_of(session: AsyncSession, delivery_id: uuid.UUID) -> Receipt | None:
    """A delivery's receipt."""
    statement = select(Receipt).where(col(Receipt.delivery_id) == delivery_id)
    return (await session.exec(statement)).first()


async def dispute(session: AsyncSession, dispute_id: uuid.UUID) -> Dispute | None:
    """A dispute by id, read fresh."""
    statement = select(Dispute).where(col(Dispute.id) == dispute_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def disputes_of_delivery(session: AsyncSession, delivery_id: uuid.UUID) -> list[Dispute]:
    """A delivery's disputes, oldest first."""
    statement = (
        select(Dispute)
        .where(col(Dispute.delivery_id) == delivery_id)
        .order_by(col(Dispute.created_at), col(Dispute.id))
    )
    return list((await session.exec(statement)).all())


async def open_dispute_of(session: AsyncSession, delivery_id: uuid.UUID) -> Dispute | None:
    """The delivery's open dispute, if it has one."""
    statement = select(Dispute).where(
        col(Dispute.delivery_id) == delivery_id, col(Dispute.state) == DisputeState.OPEN
    )
    return (await session.exec(statement)).first()


async def disputes_for(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    driver_member_id: uuid.UUID | None,
    state: DisputeState | None,
    limit: int,
) -> list[Dispute]:
    """Disputes on deliveries the organization is party to (a driver: the ones it drove)."""
    party = or_(
        col(OutboundDelivery.seller_id) == organization_id,
        col(OutboundDelivery.buyer_id) == organization_id,
        col(OutboundDelivery.carrier_id) == organization_id,
        col(OutboundDelivery.plant_operator_id) == organization_id,
    )
    statement = (
        select(Dispute)
        .join(OutboundDelivery, col(OutboundDelivery.id) == col(Dispute.delivery_id))
        .where(party)
    )
    if driver_member_id is not None:
        statement = statement.where(col(OutboundDelivery.driver_member_id) == driver_member_id)
    if state is not None:
        statement = statement.where(col(Dispute.state) == state)
    statement = statement.order_by(col(Dispute.created_at).desc(), col(Dispute.id).desc())
    return list((await session.exec(statement.limit(limit))).all())


async def statements_of(
    session: AsyncSession, dispute_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[DisputeStatement]]:
    """The statements of some disputes, oldest first, by dispute."""
    found: dict[uuid.UUID, list[DisputeStatement]] = {d: [] for d in dispute_ids}
    if not dispute_ids:
        return found
    statement = (
        select(DisputeStatement)
        .where(col(DisputeStatement.dispute_id).in_(list(dispute_ids)))
        .order_by(col(DisputeStatement.created_at), col(DisputeStatement.id))
    )
    for item in (await session.exec(statement)).all():
        found[item.dispute_id].append(item)
    return found


async def resolve_dispute(
    session: AsyncSession,
    *,
    dispute_id: uuid.UUID,
    version: int,
    values: dict[str, Any],
) -> Dispute | None:
    """Close an open dispute at ``version`` in one conditional UPDATE; None if it moved."""
    statement = (
        update(Dispute)
        .where(
            col(Dispute.id) == dispute_id,
            col(Dispute.state) == DisputeState.OPEN,
            col(Dispute.version) == version,
        )
        .values(state=DisputeState.RESOLVED, version=version + 1, **values)
        .returning(col(Dispute.id))
    )
    moved = (await session.exec(statement)).first()
    if moved is None:
        return None
    return await dispute(session, dispute_id)


async def trail_devices(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    vehicle_id: uuid.UUID,
    driver_member_id: uuid.UUID | None,
) -> list[Device]:
    """The carrier's devices bound to a delivery's vehicle or its driver."""
    bound = [col(Device.vehicle_id) == vehicle_id]
    if driver_member_id is not None:
        bound.append(col(Device.driver_member_id) == driver_member_id)
    statement = (
        select(Device)
        .where(col(Device.organization_id) == organization_id, or_(*bound))
        .order_by(col(Device.number))
    )
    return list((await session.exec(statement)).all())


async def organization_names(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID]
) -> dict[str, str]:
    """Organization names by id (as text), for pages people read."""
    statement = select(Organization.id, Organization.name).where(
        col(Organization.id).in_(list(organization_ids))
    )
    return {str(org_id): name for org_id, name in (await session.exec(statement)).all()}
