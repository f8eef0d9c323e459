"""Every query of the yard."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Site
from core.sql import table_of
from dispatch.authorizations.models import PickupPass
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.models import OutboundDelivery
from dispatch.fleet.models import Vehicle
from yard.enums import AppointmentState, DockState, VisitState
from yard.models import Appointment, Dock, PlantYard, Sample, Visit, WeightTicket

_FRESH = {"populate_existing": True}


def _values(states: Iterable[Any]) -> list[str]:
    return [str(getattr(s, "value", s)) for s in states]


async def site(session: AsyncSession, site_id: uuid.UUID) -> Site | None:
    """A site by id."""
    return await session.get(Site, site_id)


async def plant_yard(session: AsyncSession, site_id: uuid.UUID) -> PlantYard | None:
    """A plant's yard settings, read fresh."""
    statement = (
        select(PlantYard).where(col(PlantYard.site_id) == site_id).execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def lock_plant(session: AsyncSession, site_id: uuid.UUID) -> None:
    """Hold a plant's yard row while its calendar changes, so two bookings of one slot queue
    up (SQLite writers are serialized already)."""
    statement = select(col(PlantYard.id)).where(col(PlantYard.site_id) == site_id)
    await session.exec(statement.with_for_update())


async def plant_yards(session: AsyncSession) -> Sequence[tuple[PlantYard, Site]]:
    """Every plant with yard settings, with its site."""
    statement = (
        select(PlantYard, Site)
        .join(Site, col(Site.id) == col(PlantYard.site_id))
        .where(col(Site.active))
        .order_by(col(PlantYard.id))
    )
    return list((await session.exec(statement)).all())


async def docks_of(session: AsyncSession, site_id: uuid.UUID) -> Sequence[Dock]:
    """A plant's docks by name."""
    statement = (
        select(Dock)
        .where(col(Dock.site_id) == site_id)
        .order_by(col(Dock.name))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def dock(session: AsyncSession, dock_id: uuid.UUID) -> Dock | None:
    """A dock by id, read fresh."""
    statement = select(Dock).where(col(Dock.id) == dock_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def move_dock(
    session: AsyncSession,
    dock_id: uuid.UUID,
    *,
    from_states: Iterable[DockState],
    values: dict[str, Any],
) -> Dock | None:
    """Move a dock out of one of ``from_states`` in one conditional UPDATE."""
    t = table_of(Dock)
    statement = (
        update(t)
        .where(t.c.id == dock_id, t.c.state.in_(_values(from_states)))
        .values(**values, version=t.c.version + 1)
        .returning(t.c.id)
    )
    if (await session.exec(statement)).first() is None:
        return None
    return await dock(session, dock_id)


async def appointment_of(session: AsyncSession, delivery_id: uuid.UUID) -> Appointment | None:
    """A delivery's appointment, read fresh."""
    statement = (
        select(Appointment)
        .where(col(Appointment.delivery_id) == delivery_id)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def appointments_between(
    session: AsyncSession,
    site_id: uuid.UUID,
    *,
    starts: datetime,
    ends: datetime,
    states: Iterable[AppointmentState],
) -> Sequence[Appointment]:
    """A plant's appointments starting in [starts, ends) in the given states, by start."""
    statement = (
        select(Appointment)
        .where(
            col(Appointment.site_id) == site_id,
            col(Appointment.starts_at) >= starts,
            col(Appointment.starts_at) < ends,
            col(Appointment.state).in_(_values(states)),
        )
        .order_by(col(Appointment.starts_at), col(Appointment.id))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def count_carrier_appointments(
    session: AsyncSession,
    *,
    site_id: uuid.UUID,
    carrier_id: uuid.UUID,
    starts: datetime,
    ends: datetime,
    other_than: uuid.UUID,
    states: Iterable[AppointmentState],
) -> int:
    """How many appointments a carrier holds at a plant in [starts, ends), one delivery aside."""
    statement = select(func.count()).where(
        col(Appointment.site_id) == site_id,
        col(Appointment.carrier_id) == carrier_id,
        col(Appointment.starts_at) >= starts,
        col(Appointment.starts_at) < ends,
        col(Appointment.delivery_id) != other_than,
        col(Appointment.state).in_(_values(states)),
    )
    return int((await session.exec(statement)).one())


async def due_appointments(
    session: AsyncSession, *, started_before: datetime, limit: int = 500
) -> Sequence[Appointment]:
    """Booked appointments that started before a moment (no-show candidates), oldest first."""
    statement = (
        select(Appointment)
        .where(
            col(Appointment.state) == AppointmentState.BOOKED.value,
            col(Appointment.starts_at) < started_before,
        )
        .order_by(col(Appointment.starts_at))
        .limit(limit)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def deliveries_of_day(
    session: AsyncSession,
    *,
    site_id: uuid.UUID,
    day: date,
    states: Iterable[DeliveryState],
) -> Sequence[tuple[OutboundDelivery, str]]:
    """A plant's deliveries planned for a day in the given states, with the vehicle's body."""
    statement = (
        select(OutboundDelivery, Vehicle.body_type)
        .join(Vehicle, col(Vehicle.id) == col(OutboundDelivery.vehicle_id))
        .where(
            col(OutboundDelivery.plant_site_id) == site_id,
            col(OutboundDelivery.planned_day) == day,
            col(OutboundDelivery.state).in_(_values(states)),
        )
        .order_by(col(OutboundDelivery.id))
        .execution_options(**_FRESH)
    )
    return [(d, str(body)) for d, body in (await session.exec(statement)).all()]


async def deliveries_by_id(
    session: AsyncSession, delivery_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, tuple[OutboundDelivery, str]]:
    """Deliveries by id, with the vehicle's body."""
    ids = list(delivery_ids)
    if not ids:
        return {}
    statement = (
        select(OutboundDelivery, Vehicle.body_type)
        .join(Vehicle, col(Vehicle.id) == col(OutboundDelivery.vehicle_id))
        .where(col(OutboundDelivery.id).in_(ids))
        .execution_options(**_FRESH)
    )
    return {d.id: (d, str(body)) for d, body in (await session.exec(statement)).all()}


async def driven_appointments(
    session: AsyncSession, *, driver_member_id: uuid.UUID, carrier_id: uuid.UUID
) -> Sequence[tuple[Appointment, OutboundDelivery]]:
    """A driver's appointments still open, by start."""
    statement = (
        select(Appointment, OutboundDelivery)
        .join(OutboundDelivery, col(OutboundDelivery.id) == col(Appointment.delivery_id))
        .where(
            col(OutboundDelivery.driver_member_id) == driver_member_id,
            col(OutboundDelivery.carrier_id) == carrier_id,
            col(Appointment.state).in_(
                _values([AppointmentState.BOOKED, AppointmentState.ARRIVED])
            ),
        )
        .order_by(col(Appointment.starts_at))
    )
    return list((await session.exec(statement)).all())


async def live_pass_id(session: AsyncSession, delivery_id: uuid.UUID) -> uuid.UUID | None:
    """The id of a delivery's pass still in force (issued or presented), if any."""
    statement = (
        select(col(PickupPass.id))
        .where(
            col(PickupPass.delivery_id) == delivery_id,
            col(PickupPass.state).in_(["issued", "presented"]),
        )
        .order_by(col(PickupPass.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()


async def visit(session: AsyncSession, visit_id: uuid.UUID) -> Visit | None:
    """A visit by id, read fresh."""
    statement = select(Visit).where(col(Visit.id) == visit_id).execution_options(**_FRESH)
    return (await session.exec(statement)).first()


async def visit_of(session: AsyncSession, delivery_id: uuid.UUID) -> Visit | None:
    """A delivery's visit, read fresh."""
    statement = (
        select(Visit).where(col(Visit.delivery_id) == delivery_id).execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def visits_in(
    session: AsyncSession, site_id: uuid.UUID, states: Iterable[VisitState]
) -> Sequence[Visit]:
    """A plant's visits in the given states, by arrival."""
    statement = (
        select(Visit)
        .where(col(Visit.site_id) == site_id, col(Visit.state).in_(_values(states)))
        .order_by(col(Visit.arrived_at), col(Visit.id))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def visits_arrived_between(
    session: AsyncSession, site_id: uuid.UUID, *, starts: datetime, ends: datetime
) -> Sequence[Visit]:
    """A plant's visits that arrived in [starts, ends), by arrival."""
    statement = (
        select(Visit)
        .where(
            col(Visit.site_id) == site_id,
            col(Visit.arrived_at) >= starts,
            col(Visit.arrived_at) < ends,
        )
        .order_by(col(Visit.arrived_at), col(Visit.id))
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def lapsed_calls(
    session: AsyncSession, *, before: datetime, limit: int = 500
) -> Sequence[Visit]:
    """Called visits whose time to reach the dock ran out before a moment."""
    statement = (
        select(Visit)
        .where(col(Visit.state) == VisitState.CALLED.value, col(Visit.respond_by) < before)
        .order_by(col(Visit.respond_by))
        .limit(limit)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).all()


async def move_visit(
    session: AsyncSession,
    visit_id: uuid.UUID,
    *,
    from_states: Iterable[VisitState],
    values: dict[str, Any],
) -> Visit | None:
    """Move a visit out of one of ``from_states`` in one conditional UPDATE."""
    t = table_of(Visit)
    statement = (
        update(t)
        .where(t.c.id == visit_id, t.c.state.in_(_values(from_states)))
        .values(**values, version=t.c.version + 1)
        .returning(t.c.id)
    )
    if (await session.exec(statement)).first() is None:
        return None
    return await visit(session, visit_id)


async def ticket_of(session: AsyncSession, visit_id: uuid.UUID) -> WeightTicket | None:
    """A visit's weight ticket, read fresh."""
    statement = (
        select(WeightTicket)
        .where(col(WeightTicket.visit_id) == visit_id)
        .execution_options(**_FRESH)
    )
    return (await session.exec(statement)).first()


async def samples_of(session: AsyncSession, visit_id: uuid.UUID) -> Sequence[Sample]:
    """A visit's samples, oldest first."""
    statement = (
        select(Sample).where(col(Sample.visit_id) == visit_id).order_by(col(Sample.taken_at))
    )
    return (await session.exec(statement)).all()


async def sample_code_taken(session: AsyncSession, site_id: uuid.UUID, code: str) -> bool:
    """Whether a plant already holds a sample under this code."""
    statement = select(col(Sample.id)).where(
        col(Sample.site_id) == site_id, col(Sample.sample_code) == code
    )
    return (await session.exec(statement)).first() is not None


async def count_tickets(session: AsyncSession, site_id: uuid.UUID) -> int:
    """How many weight tickets a plant has written."""
    statement = select(func.count()).where(col(WeightTicket.site_id) == site_id)
    return int((await session.exec(statement)).one())


async def pass_starts(
    session: AsyncSession, delivery_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """When each delivery's pass in force becomes valid: the truck cannot load before."""
    ids = list(delivery_ids)
    if not ids:
        return {}
    statement = select(col(PickupPass.delivery_id), col(PickupPass.not_before)).where(
        col(PickupPass.delivery_id).in_(ids),
        col(PickupPass.state).in_(["issued", "presented"]),
    )
    rows = (await session.exec(statement)).all()
    return dict(rows)


async def planned_days(
    session: AsyncSession, *, site_id: uuid.UUID, states: Iterable[DeliveryState]
) -> list[date]:
    """The days a plant has deliveries planned for in the given states, soonest first."""
    statement = (
        select(col(OutboundDelivery.planned_day))
        .where(
            col(OutboundDelivery.plant_site_id) == site_id,
            col(OutboundDelivery.state).in_(_values(states)),
        )
        .distinct()
        .order_by(col(OutboundDelivery.planned_day))
    )
    return list((await session.exec(statement)).all())
