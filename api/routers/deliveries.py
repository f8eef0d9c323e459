"""Outbound deliveries: the list and one delivery, the driver's day, the booking's ledger,
assignment of a driver and a vehicle, cancellation."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import SessionDep, require_scope
from api.routing import TransactionalRoute
from dispatch.deliveries import assignment, driver, service
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.schemas import (
    AssignRequest,
    CancelRequest,
    DeliveriesPublic,
    DeliveryPublic,
    DriverDayPublic,
    LedgerPublic,
)
from dispatch.deliveries.views import delivery_public, driver_delivery_public, ledger_public
from dispatch.paging import encode_cursor

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_WRITE))]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.get("")
async def list_deliveries(
    principal: Reader,
    session: SessionDep,
    booking_id: uuid.UUID | None = None,
    state: DeliveryState | None = None,
    planned_day: date | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> DeliveriesPublic:
    """Deliveries you are party to (a driver: the ones you drive), newest first."""
    found = await service.list_deliveries(
        session,
        principal=principal,
        booking_id=booking_id,
        state=state,
        planned_day=planned_day,
        cursor=cursor,
        limit=limit,
    )
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return DeliveriesPublic(
        data=[delivery_public(d) for d in found], count=len(found), next_cursor=next_cursor
    )


@router.get("/mine")
async def my_deliveries(principal: Reader, session: SessionDep) -> DriverDayPublic:
    """The deliveries you drive: today's (and any still under way) and the upcoming ones."""
    today, upcoming = await driver.my_deliveries(session, principal=principal)
    return DriverDayPublic(
        today=[driver_delivery_public(d, plant) for d, plant in today],
        upcoming=[driver_delivery_public(d, plant) for d, plant in upcoming],
    )


@router.get("/ledgers/{booking_id}")
async def get_ledger(booking_id: uuid.UUID, principal: Reader, session: SessionDep) -> LedgerPublic:
    """Where a booking's quantity is: planned, on the road, delivered, unplanned."""
    return ledger_public(
        await service.booking_ledger(session, principal=principal, booking_id=booking_id)
    )


@router.get("/{delivery_id}")
async def get_delivery(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> DeliveryPublic:
    """One delivery you are party to."""
    return delivery_public(
        await service.get_delivery(session, principal=principal, delivery_id=delivery_id)
    )


@router.post("/{delivery_id}/assign")
async def assign_delivery(
    delivery_id: uuid.UUID, body: AssignRequest, principal: Writer, session: SessionDep
) -> DeliveryPublic:
    """Put a driver and a vehicle on a delivery; refused with a reason code if either may
    not take it."""
    return delivery_public(
        await assignment.assign(session, principal=principal, delivery_id=delivery_id, data=body)
    )


@router.post("/{delivery_id}/cancel")
async def cancel_delivery(
    delivery_id: uuid.UUID, body: CancelRequest, principal: Writer, session: SessionDep
) -> DeliveryPublic:
    """Cancel a delivery before it is loaded (carrier or seller); re-plan to carry its
    quantity."""
    return delivery_public(
        await service.cancel_delivery(
            session, principal=principal, delivery_id=delivery_id, data=body
        )
    )
