"""Disputes: opened by a receipt's discrepancy (or by a party), argued with statements and
evidence by the seller, the buyer and the carrier, closed with an outcome by the seller or
the buyer. Every step is appended to the delivery's log, addressed to its parties.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import Role
from accounts.principal import Principal
from core.clock import now
from dispatch.deliveries import service as deliveries
from dispatch.deliveries.events import record
from dispatch.deliveries.exceptions import DeliveryNotFound
from dispatch.deliveries.models import OutboundDelivery
from dispatch.guards import check_version
from tracking.evidence import repository
from tracking.evidence.checks import require_files
from tracking.evidence.enums import DisputeReason, DisputeState, PartyRole
from tracking.evidence.exceptions import (
    DisputeClosed,
    DisputeNotFound,
    DisputeOpenAlready,
    ResolverOnly,
)
from tracking.evidence.models import Dispute, DisputeStatement
from tracking.evidence.parties import require_writer, trading_party
from tracking.evidence.schemas import DisputeCreate, DisputeResolve, StatementCreate


async def open_dispute(
    session: AsyncSession,
    *,
    delivery: OutboundDelivery,
    reasons: Sequence[DisputeReason],
    details: dict[str, Any],
    actor: str,
    receipt_id: uuid.UUID | None = None,
) -> Dispute:
    """Open a dispute on a delivery and log it (DisputeOpenAlready if one is open)."""
    if await repository.open_dispute_of(session, delivery.id) is not None:
        raise DisputeOpenAlready("this delivery has an open dispute: add a statement to it")
    dispute = Dispute(
        delivery_id=delivery.id,
        receipt_id=receipt_id,
        reasons=[r.value for r in reasons],
        details=details,
        opened_by=actor,
        updated_at=now(),
    )
    session.add(dispute)
    await session.flush()
    await record(
        session,
        delivery,
        "dispute.opened",
        {
            "dispute_id": str(dispute.id),
            "reasons": dispute.reasons,
            "details": details,
            "receipt_id": None if receipt_id is None else str(receipt_id),
            "opened_by": actor,
        },
        actor=actor,
    )
    return dispute


async def _visible(
    session: AsyncSession, principal: Principal, dispute_id: uuid.UUID
) -> tuple[Dispute, OutboundDelivery]:
    dispute = await repository.dispute(session, dispute_id)
    if dispute is None:
        raise DisputeNotFound("no such dispute")
    try:
        delivery = await deliveries.get_delivery(
            session, principal=principal, delivery_id=dispute.delivery_id
        )
    except DeliveryNotFound as hidden:
        raise DisputeNotFound("no such dispute") from hidden
    return dispute, delivery


async def get_dispute(
    session: AsyncSession, *, principal: Principal, dispute_id: uuid.UUID
) -> tuple[Dispute, list[DisputeStatement]]:
    """A dispute on a delivery the caller is party to, with its statements."""
    dispute, _ = await _visible(session, principal, dispute_id)
    statements = await repository.statements_of(session, [dispute.id])
    return dispute, statements[dispute.id]


async def list_disputes(
    session: AsyncSession,
    *,
    principal: Principal,
    state: DisputeState | None = None,
    delivery_id: uuid.UUID | None = None,
    limit: int = 50,
) -> list[tuple[Dispute, list[DisputeStatement]]]:
    """Disputes on deliveries the caller is party to, newest first."""
    if delivery_id is not None:
        delivery = await deliveries.get_delivery(
            session, principal=principal, delivery_id=delivery_id
        )
        found = [
            d
            for d in reversed(await repository.disputes_of_delivery(session, delivery.id))
            if state is None or d.state == state
        ][:limit]
    elif principal.role == Role.DRIVER and principal.membership_id is None:
        found = []
    else:
        found = await repository.disputes_for(
            session,
            organization_id=principal.organization_id,
            driver_member_id=principal.membership_id if principal.role == Role.DRIVER else None,
            state=state,
            limit=limit,
        )
    statements = await repository.statements_of(session, [d.id for d in found])
    return [(d, statements[d.id]) for d in found]


async def _add_statement(
    session: AsyncSession,
    *,
    principal: Principal,
    delivery: OutboundDelivery,
    dispute: Dispute,
    party: PartyRole,
    data: StatementCreate,
) -> DisputeStatement:
    await require_files(
        session,
        delivery_id=delivery.id,
        named=[(("files", i), sha) for i, sha in enumerate(data.files)],
    )
    statement = DisputeStatement(
        dispute_id=dispute.id,
        organization_id=principal.organization_id,
        party=party,
        author=principal.actor,
        text=data.text,
        files=list(data.files),
    )
    session.add(statement)
    await session.flush()
    await record(
        session,
        delivery,
        "dispute.statement_added",
        {
            "dispute_id": str(dispute.id),
            "statement_id": str(statement.id),
            "party": party.value,
            "organization_id": str(principal.organization_id),
            "text": data.text,
            "files": list(data.files),
        },
        actor=principal.actor,
    )
    return statement


async def open_by_party(
    session: AsyncSession, *, principal: Principal, data: DisputeCreate
) -> tuple[Dispute, list[DisputeStatement]]:
    """A seller, buyer or carrier opens a dispute on a delivery with a first statement."""
    delivery = await deliveries.get_delivery(
        session, principal=principal, delivery_id=data.delivery_id
    )
    require_writer(principal)
    party = trading_party(principal, delivery)
    dispute = await open_dispute(
        session,
        delivery=delivery,
        reasons=data.reasons,
        details={"opened_by_party": party.value},
        actor=principal.actor,
    )
    statement = await _add_statement(
        session,
        principal=principal,
        delivery=delivery,
        dispute=dispute,
        party=party,
        data=data.statement,
    )
    return dispute, [statement]


async def add_statement(
    session: AsyncSession, *, principal: Principal, dispute_id: uuid.UUID, data: StatementCreate
) -> tuple[Dispute, list[DisputeStatement]]:
    """A party adds a statement (and evidence files) to an open dispute."""
    dispute, delivery = await _visible(session, principal, dispute_id)
    require_writer(principal)
    party = trading_party(principal, delivery)
    if dispute.state != DisputeState.OPEN:
        raise DisputeClosed("the dispute is resolved")
    await _add_statement(
        session, principal=principal, delivery=delivery, dispute=dispute, party=party, data=data
    )
    statements = await repository.statements_of(session, [dispute.id])
    return dispute, statements[dispute.id]


async def resolve(
    session: AsyncSession, *, principal: Principal, dispute_id: uuid.UUID, data: DisputeResolve
) -> tuple[Dispute, list[DisputeStatement]]:
    """The seller or the buyer closes an open dispute with an outcome."""
    dispute, delivery = await _visible(session, principal, dispute_id)
    require_writer(principal)
    party = trading_party(principal, delivery)
    if party not in (PartyRole.SELLER, PartyRole.BUYER):
        raise ResolverOnly("only the seller or the buyer resolves a dispute")
    if dispute.state != DisputeState.OPEN:
        raise DisputeClosed("the dispute is resolved already")
    moment = now()
    resolved = await repository.resolve_dispute(
        session,
        dispute_id=dispute.id,
        version=data.version,
        values={
            "outcome": data.outcome,
            "resolution_note": data.note,
            "resolved_by": principal.actor,
            "resolved_at": moment,
            "updated_at": moment,
        },
    )
    if resolved is None:
        current = await repository.dispute(session, dispute.id)
        if current is not None and current.state == DisputeState.OPEN:
            check_version(current.version, data.version)
        raise DisputeClosed("the dispute is resolved already")
    await record(
        session,
        delivery,
        "dispute.resolved",
        {
            "dispute_id": str(resolved.id),
            "outcome": data.outcome.value,
            "note": data.note,
            "party": party.value,
            "resolved_at": moment.isoformat(),
        },
        actor=principal.actor,
    )
    statements = await repository.statements_of(session, [resolved.id])
    return resolved, statements[resolved.id]
