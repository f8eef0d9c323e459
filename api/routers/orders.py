"""Sales orders: created by the seller (one by one or from a CSV file), seen by both parties."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import SessionDep, require_scope
from api.routing import TransactionalRoute
from core.errors import RuleViolation
from dispatch.orders import service as orders
from dispatch.orders.csv_import import parse_orders_csv
from dispatch.orders.enums import OrderState
from dispatch.orders.schemas import (
    OrderCancel,
    OrderCreate,
    OrderPublic,
    OrdersImported,
    OrdersPublic,
    OrderUpdate,
    order_public,
)
from dispatch.paging import encode_cursor

router = APIRouter(prefix="/v1/orders", tags=["orders"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.MARKET_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.MARKET_WRITE))]

MAX_IMPORT_BYTES = 2 * 1024 * 1024


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_order(body: OrderCreate, principal: Writer, session: SessionDep) -> OrderPublic:
    """Record a sales order (the seller's owner, admins and dispatchers)."""
    return order_public(await orders.create_order(session, principal=principal, data=body))


@router.post(
    "/import",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One order per line; the header names the fields of OrderCreate.",
        }
    },
)
async def import_orders(request: Request, principal: Writer, session: SessionDep) -> OrdersImported:
    """Import sales orders from a CSV file: all lines or none, each error naming its line."""
    if not request.headers.get("content-type", "").startswith("text/csv"):
        raise RuleViolation("send the file as text/csv", code="csv_expected")
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise RuleViolation("the file is over 2 MB: split it", code="import_too_large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RuleViolation("the file is not UTF-8 text", code="csv_expected") from error
    created = await orders.create_orders(session, principal=principal, rows=parse_orders_csv(text))
    return OrdersImported(data=[order_public(o) for o in created], count=len(created))


@router.get("")
async def list_orders(
    principal: Reader,
    session: SessionDep,
    side: Literal["seller", "buyer"] | None = None,
    state: OrderState | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> OrdersPublic:
    """Orders your organization sold or bought, newest first."""
    found = await orders.list_orders(
        session, principal=principal, side=side, state=state, cursor=cursor, limit=limit
    )
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return OrdersPublic(
        data=[order_public(o) for o in found], count=len(found), next_cursor=next_cursor
    )


@router.get("/{order_id}")
async def get_order(order_id: uuid.UUID, principal: Reader, session: SessionDep) -> OrderPublic:
    """One order your organization sold or bought."""
    return order_public(await orders.get_order(session, principal=principal, order_id=order_id))


@router.patch("/{order_id}")
async def update_order(
    order_id: uuid.UUID, body: OrderUpdate, principal: Writer, session: SessionDep
) -> OrderPublic:
    """Change an open order's quantity, window, deadline or notes (the seller)."""
    order = await orders.update_order(session, principal=principal, order_id=order_id, data=body)
    return order_public(order)


@router.post("/{order_id}/cancel")
async def cancel_order(
    order_id: uuid.UUID, body: OrderCancel, principal: Writer, session: SessionDep
) -> OrderPublic:
    """Cancel an order none of which is on the market (the seller)."""
    order = await orders.cancel_order(session, principal=principal, order_id=order_id, data=body)
    return order_public(order)
