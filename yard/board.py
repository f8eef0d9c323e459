"""The gate and yard board (today's arrivals by state) and the driver's slots."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Site
from accounts.principal import Principal
from dispatch.deliveries.models import OutboundDelivery
from yard import repository
from yard.appointments import SCHEDULABLE
from yard.calendar import origin_of, zone_of
from yard.enums import AppointmentState, BoardColumn, VisitState
from yard.models import Appointment, Dock, PlantYard, Visit
from yard.plants import own_plant, require_operator


@dataclass
class Board:
    """A plant's day: appointments not arrived yet, and visits, by column."""

    site_id: uuid.UUID
    day: date
    expected: list[Appointment] = field(default_factory=list)
    en_route: list[Appointment] = field(default_factory=list)
    visits: dict[BoardColumn, list[Visit]] = field(default_factory=dict)
    docks: list[Dock] = field(default_factory=list)


_VISIT_COLUMNS = {
    VisitState.CALLED: BoardColumn.CALLED,
    VisitState.AT_DOCK: BoardColumn.AT_DOCK,
    VisitState.LOADED: BoardColumn.LOADED,
    VisitState.LEFT: BoardColumn.LEFT,
    VisitState.REFUSED: BoardColumn.REFUSED,
}


def column_of(visit: Visit) -> BoardColumn:
    """Where a visit stands on the board."""
    if visit.state is VisitState.WAITING:
        return BoardColumn.ARRIVED if visit.pass_verified_at is None else BoardColumn.WAITING
    return _VISIT_COLUMNS[visit.state]


async def board(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID, day: date
) -> Board:
    """A plant's arrivals of a day by state, for its own gate staff."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    zone = zone_of(plant.site.timezone)
    start = origin_of(day, zone)
    end = origin_of(day + timedelta(days=1), zone)
    found = Board(site_id=plant.site.id, day=day)
    booked = await repository.appointments_between(
        session, plant.site.id, starts=start, ends=end, states=(AppointmentState.BOOKED,)
    )
    coming = await repository.deliveries_by_id(session, [a.delivery_id for a in booked])
    for a in booked:
        if a.delivery_id not in coming or coming[a.delivery_id][0].state not in SCHEDULABLE:
            continue  # cancelled, or its pass withdrawn: not coming on this slot
        (found.en_route if a.on_the_way_at is not None else found.expected).append(a)
    visits = await repository.visits_arrived_between(session, plant.site.id, starts=start, ends=end)
    # trucks still at the plant from an earlier day stay on today's board
    visits = list(visits) + [
        v
        for v in await repository.visits_in(
            session, plant.site.id, (VisitState.WAITING, VisitState.CALLED, VisitState.AT_DOCK)
        )
        if v.arrived_at < start
    ]
    for v in visits:
        found.visits.setdefault(column_of(v), []).append(v)
    found.docks = list(await repository.docks_of(session, plant.site.id))
    return found


@dataclass(frozen=True)
class DriverSlot:
    """What the driver's phone shows for one pickup slot."""

    appointment: Appointment
    delivery: OutboundDelivery
    dock: Dock | None
    plant: Site
    yard: PlantYard | None
    pass_id: uuid.UUID | None
    visit: Visit | None


async def my_slots(session: AsyncSession, *, principal: Principal) -> list[DriverSlot]:
    """The calling driver's open slots (only deliveries they drive), soonest first."""
    if principal.membership_id is None:
        return []
    found = []
    for a, dv in await repository.driven_appointments(
        session, driver_member_id=principal.membership_id, carrier_id=principal.organization_id
    ):
        plant = await repository.site(session, dv.plant_site_id)
        assert plant is not None
        found.append(
            DriverSlot(
                appointment=a,
                delivery=dv,
                dock=await repository.dock(session, a.dock_id),
                plant=plant,
                yard=await repository.plant_yard(session, plant.id),
                pass_id=await repository.live_pass_id(session, dv.id),
                visit=await repository.visit_of(session, dv.id),
            )
        )
    return found


async def driver_slot(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID
) -> DriverSlot | None:
    """One of the driver's slots, or None when the delivery is not theirs or has none."""
    return next(
        (s for s in await my_slots(session, principal=principal) if s.delivery.id == delivery_id),
        None,
    )
