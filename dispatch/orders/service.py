"""Use cases of sales orders: create (one or a CSV file of them), read, change, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind, SiteKind
from accounts.exceptions import StaleVersion
from accounts.models import Organization, Site
from accounts.principal import Principal
from core import eventlog
from core.errors import FieldError, Forbidden, RuleViolation
from core.eventlog import subject_key
from dispatch.guards import require_dispatcher, require_kind
from dispatch.orders import repository
from dispatch.orders.enums import OrderState
from dispatch.orders.exceptions import (
    InvalidSite,
    OrderHasLoads,
    OrderNotFound,
    OrderNotOpen,
    OrderReferenceTaken,
    QuantityExceedsOrder,
)
from dispatch.orders.models import SalesOrder
from dispatch.orders.schemas import OrderCancel, OrderCreate, OrderUpdate
from dispatch.paging import decode_cursor

ORIGIN_KINDS = frozenset({SiteKind.PLANT, SiteKind.WAREHOUSE})


def order_subject(order_id: uuid.UUID) -> str:
    """The event-log subject of an order."""
    return subject_key("order", order_id)


def order_audience(order: SalesOrder) -> list[uuid.UUID]:
    """Who may read an order's events: its seller and its buyer."""
    return [order.seller_id, order.buyer_id]


async def create_order(
    session: AsyncSession, *, principal: Principal, data: OrderCreate
) -> SalesOrder:
    """A sales order of the caller's organization (the seller)."""
    return (await create_orders(session, principal=principal, rows=[data]))[0]


async def create_orders(
    session: AsyncSession, *, principal: Principal, rows: Sequence[OrderCreate]
) -> list[SalesOrder]:
    """Several orders at once, all or none; each refusal names the row and field."""
    require_kind(principal, OrgKind.SELLER)
    require_dispatcher(principal)
    seller_id = principal.organization_id
    errors: list[FieldError] = []
    single = len(rows) == 1

    def where(index: int, field: str) -> tuple[str | int, ...]:
        # Import errors name the CSV line: the header is line 1, the first order line 2.
        return ("body", field) if single else ("rows", index + 2, field)

    taken = await repository.references_taken(
        session, seller_id=seller_id, references=[row.reference for row in rows]
    )
    seen: set[str] = set()
    for index, row in enumerate(rows):
        if row.reference in taken or row.reference in seen:
            errors.append(FieldError(where(index, "reference"), "reference already used"))
        seen.add(row.reference)
    if single and errors:
        raise OrderReferenceTaken(f"you already have an order {rows[0].reference!r}")

    site_ids = {row.origin_site_id for row in rows}
    site_ids |= {row.destination_site_id for row in rows if row.destination_site_id}
    sites = await repository.sites_by_id(session, site_ids)
    buyers = await repository.organizations_by_id(session, {row.buyer_id for row in rows})
    partners = await repository.partner_ids(session, seller_id)
    operators = await repository.organizations_by_id(
        session, {site.organization_id for site in sites.values()} - {seller_id}
    )

    orders: list[SalesOrder] = []
    for index, row in enumerate(rows):
        buyer = buyers.get(row.buyer_id)
        if buyer is None or buyer.id == seller_id or OrgKind.BUYER not in buyer.kinds:
            errors.append(FieldError(where(index, "buyer_id"), "no such buyer organization"))
        origin = sites.get(row.origin_site_id)
        if origin is None or not _may_ship_from(origin, seller_id, partners, operators):
            errors.append(
                FieldError(
                    where(index, "origin_site_id"),
                    "not a plant or warehouse of yours or of a plant operator you work with",
                )
            )
        destination = sites.get(row.destination_site_id) if row.destination_site_id else None
        if row.destination_site_id is not None and (
            destination is None or destination.organization_id != row.buyer_id
        ):
            errors.append(
                FieldError(where(index, "destination_site_id"), "not a site of the buyer")
            )
        if errors or origin is None:
            continue
        orders.append(_new_order(row, principal, origin, destination))
    if errors:
        raise InvalidSite(
            "some fields name organizations or sites that cannot be used", errors=errors
        )

    for order in orders:
        session.add(order)
    await session.flush()
    for order in orders:
        await eventlog.append(
            session,
            subject=order_subject(order.id),
            kind="order.created",
            payload={
                "reference": order.reference,
                "commodity": order.commodity,
                "quantity": order.quantity,
                "unit": order.unit,
                "transport_by": order.transport_by,
            },
            audience=order_audience(order),
            actor=principal.actor,
        )
    return orders


def _may_ship_from(
    site: Site,
    seller_id: uuid.UUID,
    partners: set[uuid.UUID],
    operators: dict[uuid.UUID, Organization],
) -> bool:
    if not site.active or site.kind not in ORIGIN_KINDS:
        return False
    if site.organization_id == seller_id:
        return True
    operator = operators.get(site.organization_id)
    return (
        operator is not None
        and OrgKind.PLANT_OPERATOR in operator.kinds
        and site.organization_id in partners
    )


def _new_order(
    row: OrderCreate, principal: Principal, origin: Site, destination: Site | None
) -> SalesOrder:
    return SalesOrder(
        reference=row.reference,
        seller_id=principal.organization_id,
        buyer_id=row.buyer_id,
        plant_operator_id=origin.organization_id,
        commodity=row.commodity,
        quantity=row.quantity,
        unit=row.unit,
        hazard_class=row.hazard_class,
        un_number=row.un_number,
        food_grade=row.food_grade,
        transport_by=row.transport_by,
        notes=row.notes,
        origin_site_id=origin.id,
        origin_name=origin.name,
        origin_lat=origin.lat,
        origin_lon=origin.lon,
        destination_site_id=destination.id if destination else None,
        destination_address=(
            row.destination_address or destination.address or destination.name
            if destination
            else row.destination_address or ""
        ),
        destination_lat=destination.lat if destination else float(row.destination_lat or 0),
        destination_lon=destination.lon if destination else float(row.destination_lon or 0),
        pickup_from=row.pickup_from,
        pickup_until=row.pickup_until,
        deliver_by=row.deliver_by,
        created_by_id=principal.membership_id,
        manager_id=principal.membership_id,
    )


async def get_order(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID
) -> SalesOrder:
    """An order the caller's organization sold or bought."""
    order = await repository.order_for_party(
        session, order_id=order_id, organization_id=principal.organization_id
    )
    if order is None:
        raise OrderNotFound("no such order for your organization")
    return order


async def list_orders(
    session: AsyncSession,
    *,
    principal: Principal,
    side: str | None,
    state: OrderState | None,
    cursor: str | None,
    limit: int,
) -> list[SalesOrder]:
    """Orders the caller's organization sold (``side=seller``), bought (``buyer``) or both."""
    return list(
        await repository.orders_for_party(
            session,
            organization_id=principal.organization_id,
            as_seller=side in (None, "seller"),
            as_buyer=side in (None, "buyer"),
            state=state,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
    )


async def update_order(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID, data: OrderUpdate
) -> SalesOrder:
    """Change an open order's quantity, window, deadline or notes (the seller)."""
    require_dispatcher(principal)
    order = await _seller_order(session, principal, order_id)
    values = data.model_dump(exclude={"version"}, exclude_none=True)
    pickup_from = values.get("pickup_from", order.pickup_from)
    pickup_until = values.get("pickup_until", order.pickup_until)
    deliver_by = values.get("deliver_by", order.deliver_by)
    if pickup_until <= pickup_from or deliver_by < pickup_from:
        raise RuleViolation(
            "the pickup window must end after it starts, and delivery cannot precede it",
            code="invalid_window",
        )
    if values and not await repository.update_terms(
        session, order_id=order.id, version=data.version, values=values
    ):
        await session.refresh(order)
        if order.state != OrderState.OPEN:
            raise OrderNotOpen(f"the order is {order.state}")
        if order.version != data.version:
            raise _stale(order.version, data.version)
        raise QuantityExceedsOrder(
            f"{order.offered_quantity} {order.unit} are already on the market",
            errors=[FieldError(("body", "quantity"), "below the quantity already offered")],
        )
    await session.refresh(order)
    await eventlog.append(
        session,
        subject=order_subject(order.id),
        kind="order.updated",
        payload={key: str(value) for key, value in values.items()},
        audience=order_audience(order),
        actor=principal.actor,
    )
    return order


async def cancel_order(
    session: AsyncSession, *, principal: Principal, order_id: uuid.UUID, data: OrderCancel
) -> SalesOrder:
    """Cancel an order with nothing on the market (the seller)."""
    require_dispatcher(principal)
    order = await _seller_order(session, principal, order_id)
    if not await repository.cancel(session, order_id=order.id, version=data.version):
        await session.refresh(order)
        if order.state != OrderState.OPEN:
            raise OrderNotOpen(f"the order is {order.state}")
        if order.version != data.version:
            raise _stale(order.version, data.version)
        raise OrderHasLoads(
            f"{order.offered_quantity} {order.unit} are on the market or booked: "
            "cancel those loads and bookings first"
        )
    await session.refresh(order)
    await eventlog.append(
        session,
        subject=order_subject(order.id),
        kind="order.cancelled",
        payload={"reason": data.reason},
        audience=order_audience(order),
        actor=principal.actor,
    )
    return order


async def _seller_order(
    session: AsyncSession, principal: Principal, order_id: uuid.UUID
) -> SalesOrder:
    order = await get_order(session, principal=principal, order_id=order_id)
    if order.seller_id != principal.organization_id:
        raise Forbidden("only the seller changes or cancels an order", code="seller_only")
    return order


def _stale(current: int, given: int) -> StaleVersion:
    return StaleVersion(f"the record is at version {current}, you sent {given}: reload and retry")
