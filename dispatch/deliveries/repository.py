"""Every query of outbound deliveries, their plans, ledgers and numbers.

State changes are conditional UPDATEs on the Core tables (``… WHERE state IN (…)
RETURNING …``): zero rows means another request moved first. Reads that may follow such an
update in the same transaction ask for ``populate_existing`` so they never see a stale object.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, or_, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Membership, Site, User
from core.sql import table_of, upsert
from dispatch.deliveries.enums import ACTIVE_STATES, DeliveryState, PlanState
from dispatch.deliveries.models import (
    BookingLedger,
    DeliveryCounter,
    DeliveryPlan,
    OutboundDelivery,
)
from dispatch.fleet.models import Driver, Vehicle
from dispatch.market.models import Booking, LoadOffer
from dispatch.orders.models import SalesOrder

_FRESH = {"populate_existing": True}


def _values(states: Iterable[Any]) -> list[str]:
    return [str(getattr(s, "value", s)) for s in states]


async def delivery(session: AsyncSession, delivery_id: uuid.UUID) -> OutboundDelivery | None:
    """A delivery by id, read fresh."""
    statement = (
        select(OutboundDelivery)
        .where(col(OutboundDelivery.id) == delivery_id)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def move_delivery(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    *,
    from_states: Iterable[DeliveryState],
    values: dict[str, Any],
    where: Sequence[ColumnElement[bool]] = (),
) -> OutboundDelivery | None:
    """Move a delivery out of one of ``from_states`` in one conditional UPDATE."""
    t = table_of(OutboundDelivery)
    statement = (
        update(t)
        .where(t.c.id == delivery_id, t.c.state.in_(_values(from_states)), *where)
        .values(**values, version=t.c.version + 1)
        .returning(*t.c)
    )
    row = (await session.exec(statement)).first()
    if row is None:
        return None
    # The session may hold the row from an earlier read: hand back the fresh one.
    return await delivery(session, delivery_id)


def delivery_column(name: str) -> Any:
    """A column of the deliveries table, for ``where`` clauses of ``move_delivery``."""
    return table_of(OutboundDelivery).c[name]


def party_filter(organization_id: uuid.UUID) -> ColumnElement[bool]:
    """Deliveries the organization is party to, in any role."""
    return or_(
        col(OutboundDelivery.seller_id) == organization_id,
        col(OutboundDelivery.buyer_id) == organization_id,
        col(OutboundDelivery.carrier_id) == organization_id,
        col(OutboundDelivery.plant_operator_id) == organization_id,
    )


async def deliveries_for(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    driver_member_id: uuid.UUID | None,
    booking_id: uuid.UUID | None,
    state: DeliveryState | None,
    planned_day: date | None,
    before_id: uuid.UUID | None,
    limit: int,
) -> Sequence[OutboundDelivery]:
    """Deliveries an organization is party to (one driver's only, when given), newest first."""
    statement = (
        select(OutboundDelivery)
        .where(party_filter(organization_id))
        .order_by(col(OutboundDelivery.id).desc())
        .limit(limit)
    )
    if driver_member_id is not None:
        statement = statement.where(col(OutboundDelivery.driver_member_id) == driver_member_id)
    if booking_id is not None:
        statement = statement.where(col(OutboundDelivery.booking_id) == booking_id)
    if state is not None:
        statement = statement.where(col(OutboundDelivery.state) == state)
    if planned_day is not None:
        statement = statement.where(col(OutboundDelivery.planned_day) == planned_day)
    if before_id is not None:
        statement = statement.where(col(OutboundDelivery.id) < before_id)
    return (await session.exec(statement)).all()


async def deliveries_of_booking(
    session: AsyncSession, booking_id: uuid.UUID, *, states: Iterable[DeliveryState] = ACTIVE_STATES
) -> Sequence[OutboundDelivery]:
    """A booking's deliveries in some states, by day and trip."""
    statement = (
        select(OutboundDelivery)
        .where(
            col(OutboundDelivery.booking_id) == booking_id,
            col(OutboundDelivery.state).in_(_values(states)),
        )
        .order_by(
            col(OutboundDelivery.planned_day),
            col(OutboundDelivery.vehicle_id),
            col(OutboundDelivery.trip_no),
        )
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def driven_by(
    session: AsyncSession, *, driver_member_id: uuid.UUID, states: Iterable[DeliveryState]
) -> list[tuple[OutboundDelivery, Site]]:
    """A driver's deliveries in some states, each with its plant."""
    statement = (
        select(OutboundDelivery, Site)
        .join(Site, col(Site.id) == col(OutboundDelivery.plant_site_id))
        .where(
            col(OutboundDelivery.driver_member_id) == driver_member_id,
            col(OutboundDelivery.state).in_(_values(states)),
        )
        .order_by(
            col(OutboundDelivery.planned_day),
            col(OutboundDelivery.slot_starts_at),
            col(OutboundDelivery.trip_no),
        )
    )
    return [(row[0], row[1]) for row in (await session.exec(statement)).all()]


async def vehicle_day_use(
    session: AsyncSession,
    *,
    vehicle_ids: Sequence[uuid.UUID],
    days: Sequence[date],
    exclude: Sequence[uuid.UUID] = (),
) -> dict[tuple[uuid.UUID, date], list[OutboundDelivery]]:
    """Active deliveries of some vehicles on some days, by (vehicle, day)."""
    found: dict[tuple[uuid.UUID, date], list[OutboundDelivery]] = defaultdict(list)
    if not vehicle_ids or not days:
        return found
    statement = select(OutboundDelivery).where(
        col(OutboundDelivery.vehicle_id).in_(list(vehicle_ids)),
        col(OutboundDelivery.planned_day).in_(list(days)),
        col(OutboundDelivery.state).in_(_values(ACTIVE_STATES)),
    )
    if exclude:
        statement = statement.where(col(OutboundDelivery.id).not_in(list(exclude)))
    for row in (await session.exec(statement)).all():
        found[(row.vehicle_id, row.planned_day)].append(row)
    return found


async def busy_seconds(
    session: AsyncSession,
    *,
    day: date,
    vehicle_id: uuid.UUID | None = None,
    driver_member_id: uuid.UUID | None = None,
    exclude: uuid.UUID | None = None,
) -> int:
    """How much of a day a vehicle's (or a driver's) other active deliveries take, in s."""
    statement = select(func.coalesce(func.sum(col(OutboundDelivery.trip_duration_s)), 0)).where(
        col(OutboundDelivery.planned_day) == day,
        col(OutboundDelivery.state).in_(_values(ACTIVE_STATES)),
    )
    if vehicle_id is not None:
        statement = statement.where(col(OutboundDelivery.vehicle_id) == vehicle_id)
    if driver_member_id is not None:
        statement = statement.where(col(OutboundDelivery.driver_member_id) == driver_member_id)
    if exclude is not None:
        statement = statement.where(col(OutboundDelivery.id) != exclude)
    return int((await session.exec(statement)).one())


async def lock_vehicles(session: AsyncSession, vehicle_ids: Iterable[uuid.UUID]) -> None:
    """Hold the vehicles' rows until the transaction ends, in id order (no deadlocks).

    PostgreSQL queues other planners and assigners of the same trucks behind this; SQLite
    drops the lock, but its writers are serialized by BEGIN IMMEDIATE anyway.
    """
    ids = sorted(set(vehicle_ids))
    if ids:
        statement = (
            select(col(Vehicle.id)).where(col(Vehicle.id).in_(ids)).order_by(col(Vehicle.id))
        )
        await session.exec(statement.with_for_update())


async def lock_driver(session: AsyncSession, driver_id: uuid.UUID) -> None:
    """Hold a driver's row until the transaction ends (see ``lock_vehicles``)."""
    await session.exec(select(col(Driver.id)).where(col(Driver.id) == driver_id).with_for_update())


async def take_numbers(session: AsyncSession, *, seller_id: uuid.UUID, count: int) -> int:
    """Reserve ``count`` consecutive delivery numbers of a seller; returns the last one.

    One upsert creates the seller's counter or moves it on and takes its row lock, so two
    commits at once get disjoint numbers (PostgreSQL queues the second behind the first;
    SQLite runs one writer at a time).
    """
    table = table_of(DeliveryCounter)
    statement = (
        upsert(session, table)
        .values(seller_id=seller_id, last_no=count)
        .on_conflict_do_update(
            index_elements=[table.c.seller_id], set_={"last_no": table.c.last_no + count}
        )
        .returning(table.c.last_no)
    )
    return int((await session.exec(statement)).one()[0])


async def ledger(session: AsyncSession, booking_id: uuid.UUID) -> BookingLedger | None:
    """A booking's ledger, read fresh."""
    statement = (
        select(BookingLedger)
        .where(col(BookingLedger.booking_id) == booking_id)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def ensure_ledger(session: AsyncSession, booking: Booking) -> None:
    """Open the booking's ledger if it has none (concurrent openers make one row)."""
    table = table_of(BookingLedger)
    await session.exec(
        upsert(session, table)
        .values(
            booking_id=booking.id,
            carrier_id=booking.carrier_id,
            unit=booking.unit.value,
            booked_quantity=booking.quantity,
            open_quantity=0,
            moving_quantity=0,
            delivered_quantity=0,
        )
        .on_conflict_do_nothing(index_elements=[table.c.booking_id])
    )


async def plan_quantity(session: AsyncSession, *, booking_id: uuid.UUID, quantity: int) -> bool:
    """Put ``quantity`` on deliveries if the booking still holds it unplanned.

    One conditional UPDATE: two plans committed at once cannot both take the same units.
    """
    t = table_of(BookingLedger)
    statement = (
        update(t)
        .where(
            t.c.booking_id == booking_id,
            t.c.open_quantity + quantity + t.c.moving_quantity + t.c.delivered_quantity
            <= t.c.booked_quantity,
        )
        .values(open_quantity=t.c.open_quantity + quantity)
        .returning(t.c.booking_id)
    )
    return (await session.exec(statement)).first() is not None


async def shift_ledger(
    session: AsyncSession,
    *,
    booking_id: uuid.UUID,
    open_change: int = 0,
    moving_change: int = 0,
    delivered_change: int = 0,
) -> None:
    """Move quantity between the ledger's columns (a load, a delivery, a cancellation)."""
    t = table_of(BookingLedger)
    await session.exec(
        update(t)
        .where(t.c.booking_id == booking_id)
        .values(
            open_quantity=t.c.open_quantity + open_change,
            moving_quantity=t.c.moving_quantity + moving_change,
            delivered_quantity=t.c.delivered_quantity + delivered_change,
        )
    )


async def plan(session: AsyncSession, plan_id: uuid.UUID) -> DeliveryPlan | None:
    """A plan by id, read fresh."""
    statement = (
        select(DeliveryPlan).where(col(DeliveryPlan.id) == plan_id).execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def move_plan(
    session: AsyncSession,
    plan_id: uuid.UUID,
    *,
    version: int,
    values: dict[str, Any],
    from_states: Iterable[PlanState] = (PlanState.DRAFT,),
) -> DeliveryPlan | None:
    """Change a plan still in one of ``from_states`` at ``version``, in one UPDATE."""
    t = table_of(DeliveryPlan)
    statement = (
        update(t)
        .where(t.c.id == plan_id, t.c.state.in_(_values(from_states)), t.c.version == version)
        .values(**values, version=t.c.version + 1)
        .returning(t.c.id)
    )
    if (await session.exec(statement)).first() is None:
        return None
    return await plan(session, plan_id)


async def plans_of_booking(
    session: AsyncSession, booking_id: uuid.UUID, *, state: PlanState | None
) -> Sequence[DeliveryPlan]:
    """A booking's plans, newest first."""
    statement = (
        select(DeliveryPlan)
        .where(col(DeliveryPlan.booking_id) == booking_id)
        .order_by(col(DeliveryPlan.id).desc())
    )
    if state is not None:
        statement = statement.where(col(DeliveryPlan.state) == state)
    return (await session.exec(statement)).all()


async def booking_terms(
    session: AsyncSession, booking_id: uuid.UUID
) -> tuple[Booking, LoadOffer, SalesOrder] | None:
    """A booking with its load and its order, read fresh."""
    statement = (
        select(Booking, LoadOffer, SalesOrder)
        .join(LoadOffer, col(LoadOffer.id) == col(Booking.offer_id))
        .join(SalesOrder, col(SalesOrder.id) == col(Booking.order_id))
        .where(col(Booking.id) == booking_id)
        .execution_options(**_FRESH)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else (row[0], row[1], row[2])


async def sites_by_id(
    session: AsyncSession, site_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Site]:
    """Sites by id."""
    ids = list(set(site_ids))
    if not ids:
        return {}
    found = (await session.exec(select(Site).where(col(Site.id).in_(ids)))).all()
    return {site.id: site for site in found}


async def carrier_vehicles(session: AsyncSession, carrier_id: uuid.UUID) -> Sequence[Vehicle]:
    """A carrier's vehicles by plate, read fresh (status matters to a plan)."""
    statement = (
        select(Vehicle)
        .where(col(Vehicle.organization_id) == carrier_id)
        .order_by(col(Vehicle.plate_key))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def drivers_by_member(
    session: AsyncSession, member_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[Driver | None, str]]:
    """Each member's driver record (if any) and name."""
    ids = list(set(member_ids))
    if not ids:
        return {}
    statement = (
        select(col(Membership.id), Driver, col(User.name))
        .join(User, col(User.id) == col(Membership.user_id))
        .outerjoin(Driver, col(Driver.membership_id) == col(Membership.id))
        .where(col(Membership.id).in_(ids))
    )
    return {row[0]: (row[1], str(row[2])) for row in (await session.exec(statement)).all()}


async def driver_with_name(
    session: AsyncSession, driver_id: uuid.UUID
) -> tuple[Driver, Membership, str] | None:
    """A driver with its membership and name."""
    statement = (
        select(Driver, Membership, col(User.name))
        .join(Membership, col(Membership.id) == col(Driver.membership_id))
        .join(User, col(User.id) == col(Membership.user_id))
        .where(col(Driver.id) == driver_id)
        .execution_options(**_FRESH)
    )
    row = (await session.exec(statement)).first()
    return None if row is None else (row[0], row[1], str(row[2]))
