"""The pickup grant chain: the arranger authorizes a carrier, the carrier accepts, passes
shares on to other carriers or to its drivers per delivery; every hop revocable until used."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from core.clock import now
from dispatch.authorizations import grants, issuing
from dispatch.authorizations.enums import GrantStatus
from dispatch.authorizations.schemas import (
    DeliveryAuthorized,
    DeliveryGrant,
    GrantCreate,
    GrantDecision,
    GrantDecline,
    GrantPublic,
    GrantRevoke,
    GrantsPublic,
    SubgrantCreate,
)
from dispatch.authorizations.views import grant_public, pass_public
from dispatch.paging import encode_cursor

router = APIRouter(prefix="/v1/grants", tags=["authorizations"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_WRITE))]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_grant(body: GrantCreate, principal: Writer, session: SessionDep) -> GrantPublic:
    """Authorize a carrier to collect goods of your order (you arrange its transport)."""
    return grant_public(await grants.offer_grant(session, principal=principal, data=body))


@router.get("")
async def list_grants(
    principal: Reader,
    session: SessionDep,
    order_id: uuid.UUID | None = None,
    delivery_id: uuid.UUID | None = None,
    grant_status: Annotated[GrantStatus | None, Query(alias="status")] = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> GrantsPublic:
    """Grants you gave, received, or that concern your orders, newest first."""
    found = await grants.list_grants(
        session,
        principal=principal,
        order_id=order_id,
        delivery_id=delivery_id,
        status=grant_status,
        cursor=cursor,
        limit=limit,
    )
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return GrantsPublic(
        data=[grant_public(g) for g in found], count=len(found), next_cursor=next_cursor
    )


@router.get("/{grant_id}")
async def get_grant(grant_id: uuid.UUID, principal: Reader, session: SessionDep) -> GrantPublic:
    """One grant: its terms, what it passed on, what was loaded and what remains."""
    return grant_public(await grants.get_grant(session, principal=principal, grant_id=grant_id))


@router.post("/{grant_id}/accept")
async def accept_grant(
    grant_id: uuid.UUID, body: GrantDecision, principal: Writer, session: SessionDep
) -> GrantPublic:
    """Accept a grant offered to your carrier."""
    return grant_public(
        await grants.accept_grant(
            session, principal=principal, grant_id=grant_id, version=body.version
        )
    )


@router.post("/{grant_id}/decline")
async def decline_grant(
    grant_id: uuid.UUID, body: GrantDecline, principal: Writer, session: SessionDep
) -> GrantPublic:
    """Decline a grant offered to your carrier."""
    return grant_public(
        await grants.decline_grant(
            session,
            principal=principal,
            grant_id=grant_id,
            version=body.version,
            reason=body.reason,
        )
    )


@router.post("/{grant_id}/revoke")
async def revoke_grant(
    grant_id: uuid.UUID, body: GrantRevoke, principal: Writer, session: SessionDep
) -> GrantPublic:
    """Revoke a grant you gave, and everything passed on from it, before it is used."""
    return grant_public(
        await grants.revoke_grant(
            session,
            principal=principal,
            grant_id=grant_id,
            reason=body.reason,
            version=body.version,
        )
    )


@router.post("/{grant_id}/grants", status_code=status.HTTP_201_CREATED)
async def subcontract_grant(
    grant_id: uuid.UUID, body: SubgrantCreate, principal: Writer, session: SessionDep
) -> GrantPublic:
    """Pass a share of a grant you hold on to another carrier (if the grant allows it)."""
    return grant_public(
        await grants.subcontract(session, principal=principal, grant_id=grant_id, data=body)
    )


@router.post("/{grant_id}/deliveries", status_code=status.HTTP_201_CREATED)
async def grant_delivery(
    grant_id: uuid.UUID,
    body: DeliveryGrant,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
) -> DeliveryAuthorized:
    """Pass a share of a grant you hold to a delivery's driver and vehicle: the pass is
    issued and the delivery authorized."""
    leaf, issued = await issuing.grant_delivery(
        session,
        principal=principal,
        grant_id=grant_id,
        data=body,
        policy=runtime.settings.passes,
    )
    return DeliveryAuthorized(
        grant=grant_public(leaf), pickup_pass=pass_public(issued, moment=now())
    )
