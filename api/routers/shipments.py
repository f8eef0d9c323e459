"""Shipments: outbound deliveries seen from the road, for their parties and share links.

A party lists its shipments, reads one (state, last position, ETA), catches up on its events
after a sequence number, reads its trail and its kept ETAs, and creates share links. A share
link (``/v1/shared/{token}``) shows one shipment read-only, to anyone who holds it, until it
expires. Live streams of both are in :mod:`api.routers.live`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, public, require_scope
from api.json import FastJSONResponse
from api.routing import TransactionalRoute
from api.runtime import Runtime
from core.event_schemas import EventPublic, EventsPublic, event_public
from dispatch.deliveries.enums import DeliveryState
from dispatch.paging import encode_cursor
from tracking.shipments import service, sharing
from tracking.shipments.messages import event_frame_body
from tracking.shipments.schemas import (
    EtaRecordPublic,
    EtasPublic,
    SharedShipmentPublic,
    ShareLinkPublic,
    ShareRequest,
    ShipmentPublic,
    ShipmentsPublic,
)

router = APIRouter(prefix="/v1", tags=["shipments"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.TRACKING_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.TRACKING_WRITE))]
After = Annotated[int, Query(ge=0, description="Return events after this sequence number")]
Limit = Annotated[int, Query(ge=1, le=500)]
Tolerance = Annotated[float, Query(ge=0, le=1000, description="Simplify to within metres")]
Token = Annotated[str, Path(min_length=8, max_length=120, description="The share link token")]
LINK_REASON = "the share link token in the path is the credential"


def link_key(runtime: Runtime) -> bytes:
    """The key share links are signed with."""
    return sharing.link_key(runtime.settings.security.secret_key.get_secret_value().encode())


@router.get("/shipments")
async def list_shipments(
    principal: Reader,
    session: SessionDep,
    state: DeliveryState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ShipmentsPublic:
    """Shipments you are party to (a driver: the ones you drive), newest first."""
    found = await service.list_shipments(
        session, principal=principal, state=state, cursor=cursor, limit=limit
    )
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return ShipmentsPublic(data=found, count=len(found), next_cursor=next_cursor)


@router.get("/shipments/{shipment_id}")
async def get_shipment(
    shipment_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ShipmentPublic:
    """One shipment: its state, last position and ETA, and its latest event's seq."""
    return await service.get_shipment(session, principal=principal, shipment_id=shipment_id)


def _page(found: list[Any], limit: int, *, shared: bool = False) -> EventsPublic:
    page = found[:limit]
    data = [event_public(event) for event in page]
    if shared:
        data = [_for_link(event) for event in data]
    return EventsPublic(
        data=data, count=len(page), next_after=page[-1].seq if len(found) > limit else None
    )


def _for_link(event: EventPublic) -> EventPublic:
    trimmed = event_frame_body(event.model_dump(mode="json"), shared=True)["payload"]
    return event.model_copy(update={"payload": trimmed, "audience": [], "actor": None})


@router.get("/shipments/{shipment_id}/events")
async def shipment_events(
    shipment_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    after: After = 0,
    limit: Limit = 100,
) -> EventsPublic:
    """The shipment's events after a sequence number, oldest first: catch-up after a reconnect."""
    found = await service.events(
        session, principal=principal, shipment_id=shipment_id, after=after, limit=limit + 1
    )
    return _page(found, limit)


@router.get("/shipments/{shipment_id}/trail", response_class=FastJSONResponse)
async def shipment_trail(
    shipment_id: uuid.UUID, principal: Reader, session: SessionDep, tolerance_m: Tolerance = 0
) -> Any:
    """The shipment's road so far as a GeoJSON Feature with a LineString (RFC 7946)."""
    return await service.trail(
        session, principal=principal, shipment_id=shipment_id, tolerance_m=tolerance_m
    )


@router.get("/shipments/{shipment_id}/etas")
async def shipment_etas(
    shipment_id: uuid.UUID, principal: Reader, session: SessionDep, limit: Limit = 500
) -> EtasPublic:
    """Every ETA kept for the shipment, oldest first (to measure their accuracy)."""
    found = await service.eta_history(
        session, principal=principal, shipment_id=shipment_id, limit=limit
    )
    return EtasPublic(
        data=[
            EtaRecordPublic(
                leg=e.leg,
                computed_at=e.computed_at,
                eta_at=e.eta_at,
                remaining_m=e.remaining_m,
                speed_mps=e.speed_mps,
            )
            for e in found
        ],
        count=len(found),
    )


@router.post("/shipments/{shipment_id}/share", status_code=status.HTTP_201_CREATED)
async def share_shipment(
    shipment_id: uuid.UUID,
    body: ShareRequest,
    principal: Writer,
    session: SessionDep,
    runtime: RuntimeDep,
) -> ShareLinkPublic:
    """A read-only, expiring link to this shipment's live view, for someone without an account."""
    token, expires_at = await service.create_share_link(
        session,
        principal=principal,
        shipment_id=shipment_id,
        expires_in_s=body.expires_in_s,
        key=link_key(runtime),
    )
    return ShareLinkPublic(
        token=token,
        path=f"/v1/shared/{token}",
        stream_path=f"/v1/live/shared/{token}",
        expires_at=expires_at,
    )


@router.get("/shared/{token}", tags=["shared"], **public(LINK_REASON))
async def shared_shipment(
    token: Token, session: SessionDep, runtime: RuntimeDep
) -> SharedShipmentPublic:
    """The shipment a share link opens: state, last position, ETA."""
    return await service.shared_view(session, key=link_key(runtime), token=token)


@router.get("/shared/{token}/events", tags=["shared"], **public(LINK_REASON))
async def shared_events(
    token: Token, session: SessionDep, runtime: RuntimeDep, after: After = 0, limit: Limit = 100
) -> EventsPublic:
    """The shared shipment's events after a sequence number."""
    found = await service.shared_events(
        session, key=link_key(runtime), token=token, after=after, limit=limit + 1
    )
    return _page(found, limit, shared=True)


@router.get(
    "/shared/{token}/trail",
    tags=["shared"],
    response_class=FastJSONResponse,
    **public(LINK_REASON),
)
async def shared_trail(
    token: Token, session: SessionDep, runtime: RuntimeDep, tolerance_m: Tolerance = 0
) -> Any:
    """The shared shipment's road so far as GeoJSON."""
    delivery = await service.shared_delivery(session, key=link_key(runtime), token=token)
    return await service.trail_of(session, delivery, tolerance_m=tolerance_m)
