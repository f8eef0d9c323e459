"""Dock appointments: the plant schedules a day, carriers book within the plant's rules,
late trucks are re-slotted, and no-shows lose their slot and are re-slotted.

Every plan comes from `yard.scheduling` (`schedule` for a day, `reslot` to revise one);
the booking rules are checked here. Each slot given or moved moves the delivery to
``slotted`` through `dispatch.deliveries.transitions.slot`, and the appointment keeps the
slots it had before and why it moved in ``history``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind, Role
from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.exceptions import DeliveryNotFound
from dispatch.deliveries.models import OutboundDelivery
from dispatch.guards import DISPATCHING_ROLES
from yard import repository
from yard.calendar import (
    DockSpec,
    Held,
    Hours,
    day_of,
    dock_of,
    fits,
    hours_on,
    load_of,
    next_slot,
    on_grid,
    origin_of,
    zone_of,
)
from yard.enums import ACTIVE_APPOINTMENTS, AppointmentState, DockState
from yard.events import on_delivery, on_plant
from yard.exceptions import (
    AppointmentNotFound,
    BookingRuleBroken,
    NoFreeDock,
    PlantNotFound,
    ScheduleConflict,
)
from yard.models import Appointment, Dock
from yard.plants import Plant, own_plant, plant_of_site, require_operator
from yard.scheduling import Appointment as Slot
from yard.scheduling import (
    Assignment,
    Delivery,
    Plan,
    SlotRules,
    SolveStatus,
    at_minute,
    loading_duration_min,
    minutes_from,
    reslot,
    schedule,
)
from yard.scheduling import Dock as PlanDock

SCHEDULABLE = frozenset({DeliveryState.AUTHORIZED, DeliveryState.SLOTTED})
"""Deliveries the yard may give a slot: a pass exists and the truck is not at the plant."""

HOLDING_DOCKS = SCHEDULABLE | {DeliveryState.AT_PLANT}
"""Deliveries whose slot still holds dock time: a cancelled or withdrawn delivery's slot, or
one loaded already, is free for others."""

SCHEDULE_TIME_LIMIT_S = 2.0
RESLOT_TIME_LIMIT_S = 0.5


@dataclass(frozen=True)
class DayPlan:
    """The outcome of scheduling a plant's day."""

    site_id: uuid.UUID
    day: date
    appointments: tuple[Appointment, ...]
    unscheduled: tuple[uuid.UUID, ...]
    objective: int
    status: SolveStatus
    solve_s: float


def spec_of(dock: Dock) -> DockSpec:
    """The scheduler's view of a stored dock."""
    return DockSpec(
        dock_id=str(dock.id),
        products=dock.products,
        bodies=dock.bodies,
        hazardous=dock.hazardous,
        loading_rate_kg_per_min=dock.loading_rate_kg_per_min,
        fixed_duration_min=dock.fixed_duration_min,
        handling_min=dock.handling_min,
        changeover_min=dock.changeover_min,
    )


def plan_load(delivery: OutboundDelivery, body: str) -> Any:
    """The scheduler's load for a delivery carried on a vehicle with this body."""
    return load_of(
        product=delivery.product,
        body=body,
        quantity=delivery.quantity,
        unit=delivery.unit.value,
        hazardous=delivery.hazard_class is not None,
    )


def _rule(message: str, code: str, field: str = "starts_at") -> BookingRuleBroken:
    return BookingRuleBroken(message, code=code, errors=[FieldError(("body", field), message)])


def _hours(plant: Plant, day: date) -> Hours | None:
    return hours_on(day, opening_hours=plant.yard.opening_hours, closed_days=plant.yard.closed_days)


@dataclass
class _Day:
    """A plant's day as the scheduler sees it."""

    plant: Plant
    day: date
    origin: datetime
    hours: Hours
    docks: dict[str, PlanDock]
    stored_docks: dict[str, Dock]


async def _day(session: AsyncSession, plant: Plant, day: date) -> _Day:
    hours = _hours(plant, day)
    if hours is None:
        raise _rule(f"the plant is closed on {day.isoformat()}", "plant_closed", "day")
    zone = zone_of(plant.site.timezone)
    stored = [
        d for d in await repository.docks_of(session, plant.site.id) if d.state != DockState.BLOCKED
    ]
    return _Day(
        plant=plant,
        day=day,
        origin=origin_of(day, zone),
        hours=hours,
        docks={str(d.id): dock_of(spec_of(d), hours) for d in stored},
        stored_docks={str(d.id): d for d in stored},
    )


def _history_entry(found: Appointment, reason: str, moment: datetime) -> dict[str, Any]:
    return {
        "dock_id": str(found.dock_id),
        "starts_at": found.starts_at.isoformat(),
        "ends_at": found.ends_at.isoformat(),
        "reason": reason,
        "moved_at": moment.isoformat(),
    }


async def _place(
    session: AsyncSession,
    *,
    delivery: OutboundDelivery,
    plant: Plant,
    dock_id: uuid.UUID,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str | None,
) -> Appointment:
    """Give a delivery this slot (or move it there), and move the delivery to slotted."""
    moment = now()
    found = await repository.appointment_of(session, delivery.id)
    if found is None:
        found = Appointment(
            delivery_id=delivery.id,
            site_id=plant.site.id,
            organization_id=plant.site.organization_id,
            carrier_id=delivery.carrier_id,
            dock_id=dock_id,
            starts_at=starts_at,
            ends_at=ends_at,
            updated_at=moment,
        )
    elif (found.dock_id, found.starts_at, found.state) == (
        dock_id,
        starts_at,
        AppointmentState.BOOKED,
    ):
        return found
    else:
        if found.state is AppointmentState.BOOKED:
            found.history = [*found.history, _history_entry(found, reason, moment)]
        found.dock_id = dock_id
        found.starts_at = starts_at
        found.ends_at = ends_at
        found.state = AppointmentState.BOOKED
        found.updated_at = moment
    session.add(found)
    await session.flush()
    dock = await repository.dock(session, dock_id)
    await transitions.slot(
        session,
        delivery_id=delivery.id,
        slot_starts_at=starts_at,
        actor=actor,
        dock=None if dock is None else dock.name,
    )
    await on_delivery(
        session,
        delivery.id,
        "yard.slotted",
        {
            "appointment_id": str(found.id),
            "dock_id": str(dock_id),
            "dock": None if dock is None else dock.name,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "reason": reason,
        },
        actor=actor,
    )
    return found


async def _scheduled_day(
    session: AsyncSession, d: _Day, *, moment: datetime
) -> tuple[list[Delivery], dict[str, tuple[OutboundDelivery, str]], dict[str, Slot]]:
    """The day's deliveries as the scheduler sees them: trucks at the plant keep their slot."""
    found = await repository.deliveries_of_day(
        session,
        site_id=d.plant.site.id,
        day=d.day,
        states=HOLDING_DOCKS,
    )
    by_id = {str(dv.id): (dv, body) for dv, body in found}
    starts = d.origin
    booked = await repository.appointments_between(
        session,
        d.plant.site.id,
        starts=starts,
        ends=starts + timedelta(days=1),
        states=ACTIVE_APPOINTMENTS,
    )
    # Trucks already slotted for this day but planned for another day still use its docks.
    extra = await repository.deliveries_by_id(
        session, [a.delivery_id for a in booked if str(a.delivery_id) not in by_id]
    )
    by_id.update({str(k): v for k, v in extra.items() if v[0].state in HOLDING_DOCKS})
    booked = [a for a in booked if str(a.delivery_id) in by_id]
    previous = {
        str(a.delivery_id): Slot(str(a.dock_id), minutes_from(d.origin, a.starts_at))
        for a in booked
        if str(a.dock_id) in d.docks
    }
    arrived = {str(a.delivery_id) for a in booked if a.state is AppointmentState.ARRIVED}
    slot = d.plant.yard.slot_min
    now_min = minutes_from(d.origin, moment)
    earliest = max(d.hours.opens_min, next_slot(now_min, slot))
    valid_from = await repository.pass_starts(session, [dv.id for dv, _ in by_id.values()])
    plan_deliveries = []
    for key, (dv, body) in by_id.items():
        load = plan_load(dv, body)
        prev = previous.get(key)
        fixed = prev if key in arrived or dv.state is DeliveryState.AT_PLANT else None
        if fixed is None and dv.state is DeliveryState.AT_PLANT:
            continue  # a truck at the plant with no slot here waits for a gap in the queue
        if fixed is not None:
            plan_deliveries.append(
                Delivery(key, load, ready_min=fixed.start_min, fixed=fixed, delay_weight=1)
            )
            continue
        # nothing is planned in the past: a slot that has gone by is planned again from now
        ready = earliest
        if dv.id in valid_from:
            # no slot before the pass is valid: the gate would turn the truck away
            ready = max(ready, next_slot(minutes_from(d.origin, valid_from[dv.id]), slot))
        kept = prev is not None and prev.start_min >= ready
        plan_deliveries.append(
            Delivery(
                key,
                load,
                ready_min=ready,
                preferred_min=prev.start_min if kept and prev is not None else None,
            )
        )
    return plan_deliveries, by_id, previous


async def _apply(
    session: AsyncSession,
    d: _Day,
    plan: Plan,
    by_id: Mapping[str, tuple[OutboundDelivery, str]],
    *,
    reason: str,
    actor: str | None,
    only: set[str] | None = None,
) -> list[Appointment]:
    placed = []
    for assignment in plan.assignments:
        dv, _ = by_id[assignment.delivery_id]
        if dv.state not in SCHEDULABLE:
            continue
        if only is not None and assignment.delivery_id not in only:
            current = await repository.appointment_of(session, dv.id)
            if current is not None and _same(current, d, assignment):
                continue
        placed.append(
            await _place(
                session,
                delivery=dv,
                plant=d.plant,
                dock_id=uuid.UUID(assignment.dock_id),
                starts_at=at_minute(d.origin, assignment.start_min),
                ends_at=at_minute(d.origin, assignment.end_min),
                reason=reason,
                actor=actor,
            )
        )
    return placed


def _same(current: Appointment, d: _Day, assignment: Assignment) -> bool:
    return str(current.dock_id) == assignment.dock_id and current.starts_at == at_minute(
        d.origin, assignment.start_min
    )


async def _solve(solve: Callable[[], Plan]) -> Plan:
    """Run the scheduler off the event loop; inputs it refuses become a 409."""
    try:
        return await asyncio.to_thread(solve)
    except ValueError as error:
        # e.g. two trucks at the plant whose kept appointments clash after a dock changed
        raise ScheduleConflict(f"the day cannot be planned as it stands: {error}") from error


async def schedule_day(
    session: AsyncSession,
    *,
    principal: Principal,
    site_id: uuid.UUID,
    day: date,
    time_limit_s: float = SCHEDULE_TIME_LIMIT_S,
) -> DayPlan:
    """Give every delivery planned at the plant for a day a dock and a start (CP-SAT), keeping
    the slots already given where they still fit; trucks at the plant keep theirs."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    await repository.lock_plant(session, plant.site.id)
    d = await _day(session, plant, day)
    moment = now()
    plan_deliveries, by_id, previous = await _scheduled_day(session, d, moment=moment)
    rules = SlotRules(slot_min=plant.yard.slot_min)
    docks = list(d.docks.values())
    plan = await _solve(
        lambda: schedule(
            docks=docks,
            deliveries=plan_deliveries,
            slots=rules,
            previous=previous,
            time_limit_s=time_limit_s,
        )
    )
    placed = await _apply(session, d, plan, by_id, reason="scheduled", actor=principal.actor)
    await on_plant(
        session,
        site_id=plant.site.id,
        operator_id=plant.site.organization_id,
        kind="yard.day_scheduled",
        payload={
            "day": day.isoformat(),
            "scheduled": len(plan.assignments),
            "unscheduled": list(plan.unscheduled),
            "objective": plan.objective,
            "status": plan.status.value,
        },
        actor=principal.actor,
    )
    return DayPlan(
        site_id=plant.site.id,
        day=day,
        appointments=tuple(placed),
        unscheduled=tuple(uuid.UUID(k) for k in plan.unscheduled),
        objective=plan.objective,
        status=plan.status,
        solve_s=plan.solve_s,
    )


async def revise_day(
    session: AsyncSession,
    *,
    plant: Plant,
    day: date,
    eta_at: Mapping[uuid.UUID, datetime],
    reason: str,
    actor: str | None,
) -> tuple[list[Appointment], set[str]]:
    """Re-slot a day for trucks that will be late (their ETA), moving as few others as it
    can (`yard.scheduling.reslot`); returns the moved appointments and any left unslotted."""
    d = await _day(session, plant, day)
    moment = now()
    plan_deliveries, by_id, previous = await _scheduled_day(session, d, moment=moment)
    current = Plan(
        assignments=tuple(
            Assignment(k, s.dock_id, s.start_min, s.start_min)
            for k, s in previous.items()
            if k in {p.delivery_id for p in plan_deliveries}
        ),
        unscheduled=(),
        objective=0,
        greedy_objective=0,
        best_bound=None,
        status=SolveStatus.GREEDY,
        solve_s=0.0,
    )
    slot = plant.yard.slot_min
    etas = {
        str(k): next_slot(minutes_from(d.origin, v), slot)
        for k, v in eta_at.items()
        if str(k) in by_id
    }
    docks = list(d.docks.values())
    plan = await _solve(
        lambda: reslot(
            docks=docks,
            deliveries=plan_deliveries,
            current=current,
            eta_min=etas,
            slots=SlotRules(slot_min=slot),
            time_limit_s=RESLOT_TIME_LIMIT_S,
        )
    )
    moved = await _apply(
        session, d, plan, by_id, reason=reason, actor=actor, only={str(k) for k in eta_at}
    )
    return moved, set(plan.unscheduled)


async def delivery_for(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID
) -> OutboundDelivery:
    """A delivery the caller may book: its carrier's dispatchers, or its own driver."""
    found = await deliveries.delivery(session, delivery_id)
    if found is None or found.carrier_id != principal.organization_id:
        raise DeliveryNotFound("no such delivery among your carrier's")
    if principal.role is Role.DRIVER:
        if found.driver_member_id != principal.membership_id:
            raise DeliveryNotFound("no such delivery among the ones you drive")
    elif principal.role not in DISPATCHING_ROLES:
        raise DeliveryNotFound("no such delivery among the ones you book")
    return found


async def book(
    session: AsyncSession,
    *,
    principal: Principal,
    delivery_id: uuid.UUID,
    starts_at: datetime,
    reason: str = "booked",
) -> Appointment:
    """Book (or move) a delivery's slot at its plant within the plant's rules: on the slot
    grid, inside opening hours, at least the lead time ahead, not inside the freeze window of
    the slot it has, within the carrier's daily limit, on a free compatible dock."""
    delivery = await delivery_for(session, principal, delivery_id)
    if not principal.plays(OrgKind.CARRIER) and principal.role is not Role.DRIVER:
        raise DeliveryNotFound("no such delivery among your carrier's")
    plant = await plant_of_site(session, delivery.plant_site_id)
    if plant is None:
        raise PlantNotFound("the delivery's plant takes no bookings")
    await repository.lock_plant(session, plant.site.id)
    rules = plant.yard
    moment = now()
    zone = zone_of(plant.site.timezone)
    day = day_of(starts_at, zone)
    origin = origin_of(day, zone)
    start_min = minutes_from(origin, starts_at)
    if starts_at != at_minute(origin, start_min) or not on_grid(start_min, rules.slot_min):
        raise _rule(f"slots start every {rules.slot_min} minutes", "off_slot_grid")
    if starts_at < moment + timedelta(minutes=rules.booking_lead_min):
        raise _rule(f"book at least {rules.booking_lead_min} minutes ahead", "lead_time")
    current = await repository.appointment_of(session, delivery.id)
    if current is not None and current.state is not AppointmentState.BOOKED:
        raise _rule("the truck is at the plant already", "already_arrived")
    if current is not None and current.starts_at < moment + timedelta(minutes=rules.freeze_min):
        raise _rule(
            f"a slot starting within {rules.freeze_min} minutes can no longer be moved",
            "frozen",
        )
    d = await _day(session, plant, day)
    if rules.carrier_daily_limit is not None:
        held = await repository.count_carrier_appointments(
            session,
            site_id=plant.site.id,
            carrier_id=delivery.carrier_id,
            starts=origin,
            ends=origin + timedelta(days=1),
            other_than=delivery.id,
            states=ACTIVE_APPOINTMENTS,
        )
        if held >= rules.carrier_daily_limit:
            raise _rule(
                f"your carrier holds {held} slots that day, the plant's limit",
                "carrier_limit",
            )
    body = (await repository.deliveries_by_id(session, [delivery.id]))[delivery.id][1]
    load = plan_load(delivery, body)
    booked = await repository.appointments_between(
        session,
        plant.site.id,
        starts=origin,
        ends=origin + timedelta(days=1),
        states=ACTIVE_APPOINTMENTS,
    )
    others = {
        k: v
        for k, v in (
            await repository.deliveries_by_id(
                session, [a.delivery_id for a in booked if a.delivery_id != delivery.id]
            )
        ).items()
        if v[0].state in HOLDING_DOCKS
    }
    outside = True
    for dock_id, dock in sorted(d.docks.items(), key=lambda kv: d.stored_docks[kv[0]].name):
        held_here = [
            Held(
                minutes_from(origin, a.starts_at),
                minutes_from(origin, a.ends_at),
                others[a.delivery_id][0].product,
            )
            for a in booked
            if str(a.dock_id) == dock_id and a.delivery_id in others
        ]
        duration = loading_duration_min(dock, load)
        if dock.opens_min <= start_min and start_min + duration <= dock.closes_min:
            outside = False
        if fits(dock, load, start_min, held_here):
            return await _place(
                session,
                delivery=delivery,
                plant=plant,
                dock_id=uuid.UUID(dock_id),
                starts_at=starts_at,
                ends_at=at_minute(origin, start_min + duration),
                reason=reason,
                actor=principal.actor,
            )
    if outside:
        raise _rule("the slot lies outside the plant's opening hours", "outside_hours")
    raise NoFreeDock("no compatible dock is free then: pick another slot")


async def my_appointment(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID
) -> Appointment:
    """A delivery's appointment, for its carrier (its driver: only their own) or its plant."""
    delivery = await deliveries.delivery(session, delivery_id)
    found = None if delivery is None else await repository.appointment_of(session, delivery_id)
    if delivery is None or found is None:
        raise AppointmentNotFound("no appointment for that delivery")
    if principal.organization_id == delivery.plant_operator_id and principal.role != Role.DRIVER:
        return found
    if principal.organization_id != delivery.carrier_id:
        raise AppointmentNotFound("no appointment for that delivery")
    if principal.role is Role.DRIVER and delivery.driver_member_id != principal.membership_id:
        raise AppointmentNotFound("no appointment for that delivery")
    return found


async def on_my_way(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID, eta_at: datetime
) -> Appointment:
    """The driver set off: keep the ETA, and re-slot the truck if it will be later than its
    slot's tolerance."""
    delivery = await delivery_for(session, principal, delivery_id)
    found = await repository.appointment_of(session, delivery.id)
    if found is None or found.state is not AppointmentState.BOOKED:
        raise AppointmentNotFound("the delivery has no slot to drive to")
    plant = await plant_of_site(session, delivery.plant_site_id)
    assert plant is not None
    await repository.lock_plant(session, plant.site.id)
    moment = now()
    found.eta_at = eta_at
    found.on_the_way_at = found.on_the_way_at or moment
    found.updated_at = moment
    session.add(found)
    await session.flush()
    late = eta_at > found.starts_at + timedelta(minutes=plant.yard.late_tolerance_min)
    await on_delivery(
        session,
        delivery.id,
        "yard.on_my_way",
        {"eta_at": eta_at.isoformat(), "late": late},
        actor=principal.actor,
    )
    if late:
        zone = zone_of(plant.site.timezone)
        await revise_day(
            session,
            plant=plant,
            day=day_of(found.starts_at, zone),
            eta_at={delivery.id: eta_at},
            reason="late",
            actor=principal.actor,
        )
    refreshed = await repository.appointment_of(session, delivery.id)
    assert refreshed is not None
    return refreshed


@dataclass(frozen=True)
class NoShowSweep:
    """What a no-show sweep did."""

    no_shows: tuple[uuid.UUID, ...]
    reslotted: tuple[uuid.UUID, ...]
    unslotted: tuple[uuid.UUID, ...]


async def sweep_no_shows(session: AsyncSession, *, actor: str = "system:yard") -> NoShowSweep:
    """Appointments whose truck has not checked in by the start plus the late tolerance: the
    slot is freed and the delivery is re-slotted from now on (or left without a slot when
    nothing fits that day: its appointment is cancelled)."""
    moment = now()
    candidates = await repository.due_appointments(session, started_before=moment)
    by_plant: dict[tuple[uuid.UUID, date], list[Appointment]] = {}
    plants: dict[uuid.UUID, Plant] = {}
    for found in candidates:
        plant = plants.get(found.site_id) or await plant_of_site(session, found.site_id)
        if plant is None:
            continue
        plants[found.site_id] = plant
        if found.starts_at + timedelta(minutes=plant.yard.late_tolerance_min) >= moment:
            continue
        if await repository.visit_of(session, found.delivery_id) is not None:
            continue
        delivery = await deliveries.delivery(session, found.delivery_id)
        if delivery is None or delivery.state not in SCHEDULABLE:
            state = "gone" if delivery is None else delivery.state.value
            await _cancel(session, found, reason=f"delivery_{state}", actor=actor)
            continue
        day = day_of(found.starts_at, zone_of(plant.site.timezone))
        by_plant.setdefault((found.site_id, day), []).append(found)
    no_shows: list[uuid.UUID] = []
    reslotted: list[uuid.UUID] = []
    unslotted: list[uuid.UUID] = []
    for (site_id, day), missed in by_plant.items():
        plant = plants[site_id]
        await repository.lock_plant(session, site_id)
        for found in missed:
            found.no_shows += 1
            found.updated_at = moment
            session.add(found)
            no_shows.append(found.delivery_id)
            await on_delivery(
                session,
                found.delivery_id,
                "yard.no_show",
                {"appointment_id": str(found.id), "starts_at": found.starts_at.isoformat()},
                actor=actor,
            )
        await session.flush()
        try:
            moved, left = await revise_day(
                session,
                plant=plant,
                day=day,
                eta_at={a.delivery_id: moment for a in missed},
                reason="no_show",
                actor=actor,
            )
        except (BookingRuleBroken, ScheduleConflict):
            moved, left = [], {str(a.delivery_id) for a in missed}
        reslotted.extend(a.delivery_id for a in moved)
        for found in missed:
            if str(found.delivery_id) in left or found.delivery_id not in reslotted:
                await _cancel(session, found, reason="no_show", actor=actor)
                unslotted.append(found.delivery_id)
    return NoShowSweep(tuple(no_shows), tuple(reslotted), tuple(unslotted))


async def _cancel(session: AsyncSession, found: Appointment, *, reason: str, actor: str) -> None:
    moment = now()
    found.history = [*found.history, _history_entry(found, reason, moment)]
    found.state = AppointmentState.CANCELLED
    found.updated_at = moment
    session.add(found)
    await session.flush()
    await on_delivery(
        session,
        found.delivery_id,
        "yard.slot_freed",
        {"appointment_id": str(found.id), "reason": reason},
        actor=actor,
    )


async def days_to_schedule(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID
) -> list[date]:
    """The days with deliveries at the plant that could take a slot, soonest first."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    return await repository.planned_days(session, site_id=plant.site.id, states=SCHEDULABLE)
