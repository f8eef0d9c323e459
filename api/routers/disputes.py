"""Disputes on deliveries: what the parties see, their statements, the outcome, and the
delivery's dispute bundle."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import KeyRingDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from core.bundle import BUNDLE_MEDIA_TYPE
from core.bundle_builder import build_bundle
from dispatch.deliveries.events import delivery_subject
from tracking.evidence import bundle as _evidence_bundle
from tracking.evidence import disputes
from tracking.evidence.enums import DisputeState
from tracking.evidence.schemas import (
    DisputeCreate,
    DisputePublic,
    DisputeResolve,
    DisputesPublic,
    StatementCreate,
)
from tracking.evidence.views import dispute_public

router = APIRouter(prefix="/v1/disputes", tags=["disputes"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_WRITE))]
_ = _evidence_bundle  # importing the module registers the delivery bundle's evidence


@router.get("")
async def list_disputes(
    principal: Reader,
    session: SessionDep,
    state: DisputeState | None = None,
    delivery_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DisputesPublic:
    """Disputes on deliveries you are party to, newest first."""
    found = await disputes.list_disputes(
        session, principal=principal, state=state, delivery_id=delivery_id, limit=limit
    )
    return DisputesPublic(data=[dispute_public(d, s) for d, s in found], count=len(found))


@router.post("", status_code=status.HTTP_201_CREATED)
async def open_dispute(
    body: DisputeCreate, principal: Writer, session: SessionDep
) -> DisputePublic:
    """Open a dispute on a delivery (seller, buyer or carrier), with your first statement."""
    dispute, statements = await disputes.open_by_party(session, principal=principal, data=body)
    return dispute_public(dispute, statements)


@router.get("/{dispute_id}")
async def get_dispute(
    dispute_id: uuid.UUID, principal: Reader, session: SessionDep
) -> DisputePublic:
    """One dispute with every statement."""
    dispute, statements = await disputes.get_dispute(
        session, principal=principal, dispute_id=dispute_id
    )
    return dispute_public(dispute, statements)


@router.post("/{dispute_id}/statements", status_code=status.HTTP_201_CREATED)
async def add_statement(
    dispute_id: uuid.UUID, body: StatementCreate, principal: Writer, session: SessionDep
) -> DisputePublic:
    """Add your side's statement and evidence files (uploaded to the delivery first)."""
    dispute, statements = await disputes.add_statement(
        session, principal=principal, dispute_id=dispute_id, data=body
    )
    return dispute_public(dispute, statements)


@router.post("/{dispute_id}/resolve")
async def resolve_dispute(
    dispute_id: uuid.UUID, body: DisputeResolve, principal: Writer, session: SessionDep
) -> DisputePublic:
    """Close a dispute with its outcome (seller or buyer)."""
    dispute, statements = await disputes.resolve(
        session, principal=principal, dispute_id=dispute_id, data=body
    )
    return dispute_public(dispute, statements)


@router.get(
    "/{dispute_id}/bundle",
    response_class=Response,
    responses={200: {"content": {BUNDLE_MEDIA_TYPE: {}}, "description": "The bundle (zip)"}},
)
async def get_dispute_bundle(
    dispute_id: uuid.UUID, principal: Reader, session: SessionDep, key_ring: KeyRingDep
) -> Response:
    """The disputed delivery's bundle: its log, trail, weighing entries, receipt, disputes and
    file hashes, signed, as one zip `haulpoint verify` checks offline."""
    dispute, _ = await disputes.get_dispute(session, principal=principal, dispute_id=dispute_id)
    bundle = await build_bundle(
        session,
        subject=delivery_subject(dispute.delivery_id),
        organization_id=principal.organization_id,
        key_ring=key_ring,
    )
    return Response(
        bundle,
        media_type=BUNDLE_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="dispute-bundle-{dispute.id}.zip"'},
    )
