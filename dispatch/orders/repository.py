"""Every query of sales orders."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Organization, Partnership, Site
from core.sql import table_of
from dispatch.orders.enums import OrderState
from dispatch.orders.models import SalesOrder


async def order_for_party(
    session: AsyncSession, *, order_id: uuid.UUID, organization_id: uuid.UUID
) -> SalesOrder | None:
    """An order the organization is seller or buyer of, or None."""
    statement = select(SalesOrder).where(
        col(SalesOrder.id) == order_id,
        or_(
            col(SalesOrder.seller_id) == organization_id,
            col(SalesOrder.buyer_id) == organization_id,
        ),
    )
    return (await session.exec(statement)).first()


async def orders_for_party(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    as_seller: bool,
    as_buyer: bool,
    state: OrderState | None,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[SalesOrder]:
    """Orders the organization sold or bought, newest first, before a cursor."""
    sides = []
    if as_seller:
        sides.append(col(SalesOrder.seller_id) == organization_id)
    if as_buyer:
        sides.append(col(SalesOrder.buyer_id) == organization_id)
    statement = select(SalesOrder).where(or_(*sides)).order_by(col(SalesOrder.id).desc())
    if state is not None:
        statement = statement.where(col(SalesOrder.state) == state)
    if before_id is not None:
        statement = statement.where(col(SalesOrder.id) < before_id)
    return (await session.exec(statement.limit(limit))).all()


async def references_taken(
    session: AsyncSession, *, seller_id: uuid.UUID, references: Sequence[str]
) -> set[str]:
    """Which of these references the seller already used."""
    if not references:
        return set()
    statement = select(col(SalesOrder.reference)).where(
        col(SalesOrder.seller_id) == seller_id, col(SalesOrder.reference).in_(references)
    )
    return set((await session.exec(statement)).all())


async def sites_by_id(session: AsyncSession, site_ids: set[uuid.UUID]) -> dict[uuid.UUID, Site]:
    """Sites by id (any organization's: the caller checks ownership)."""
    if not site_ids:
        return {}
    statement = select(Site).where(col(Site.id).in_(site_ids))
    return {site.id: site for site in (await session.exec(statement)).all()}


async def organizations_by_id(
    session: AsyncSession, organization_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Organization]:
    """Organizations by id."""
    if not organization_ids:
        return {}
    statement = select(Organization).where(col(Organization.id).in_(organization_ids))
    return {org.id: org for org in (await session.exec(statement)).all()}


async def partner_ids(session: AsyncSession, organization_id: uuid.UUID) -> set[uuid.UUID]:
    """Organizations this one recorded as partners."""
    statement = select(col(Partnership.partner_id)).where(
        col(Partnership.organization_id) == organization_id
    )
    return set((await session.exec(statement)).all())


async def reserve_quantity(
    session: AsyncSession, *, order_id: uuid.UUID, quantity: int
) -> int | None:
    """Put quantity of an open order on the market; the new offered total, or None if it
    would exceed the order (or the order is not open).

    The counter is the market's bookkeeping, not an edit, so it leaves ``version`` alone.
    """
    table = table_of(SalesOrder)
    statement = (
        update(table)
        .where(
            table.c.id == order_id,
            table.c.state == OrderState.OPEN.value,
            table.c.offered_quantity + quantity <= table.c.quantity,
        )
        .values(offered_quantity=table.c.offered_quantity + quantity)
        .returning(table.c.offered_quantity)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else int(row[0])


async def release_quantity(session: AsyncSession, *, order_id: uuid.UUID, quantity: int) -> None:
    """Take quantity of an order off the market (an offer ended, a booking was cancelled)."""
    if quantity <= 0:
        return
    table = table_of(SalesOrder)
    await session.exec(
        update(table)
        .where(table.c.id == order_id)
        .values(offered_quantity=table.c.offered_quantity - quantity)
    )


async def update_terms(
    session: AsyncSession, *, order_id: uuid.UUID, version: int, values: dict[str, object]
) -> bool:
    """Change an open order's terms if it is still at ``version`` and keeps at least the
    quantity already offered; False when either no longer holds."""
    table = table_of(SalesOrder)
    statement = (
        update(table)
        .where(
            table.c.id == order_id,
            table.c.version == version,
            table.c.state == OrderState.OPEN.value,
        )
        .values(**values, version=table.c.version + 1)
        .returning(table.c.id)
    )
    if "quantity" in values:
        statement = statement.where(table.c.offered_quantity <= values["quantity"])
    return (await session.exec(statement)).first() is not None


async def cancel(session: AsyncSession, *, order_id: uuid.UUID, version: int) -> bool:
    """Cancel an open order at ``version`` with nothing on the market; False otherwise."""
    table = table_of(SalesOrder)
    statement = (
        update(table)
        .where(
            table.c.id == order_id,
            table.c.version == version,
            table.c.state == OrderState.OPEN.value,
            table.c.offered_quantity == 0,
        )
        .values(state=OrderState.CANCELLED.value, version=table.c.version + 1)
        .returning(table.c.id)
    )
    return (await session.exec(statement)).first() is not None
