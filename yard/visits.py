"""Trucks at the plant: check-in (geofence, the gate's posted code, or the clerk's pass
scan), unplanned arrivals, the virtual queue and call-forward, the dock, the weighbridge,
samples, refusal and departure.

The queue's decisions come from `yard.queueing` (`standing`, `choose_truck`,
`estimate_calls`); the pass is checked in and used up through
`dispatch.authorizations.gate`; the delivery moves through
`dispatch.deliveries.transitions` (arrive, load, depart).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError, RuleViolation
from core.settings import PassSettings
from dispatch.authorizations import gate
from dispatch.authorizations.gate import GateVerdict
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.exceptions import DeliveryNotFound
from dispatch.deliveries.models import OutboundDelivery
from dispatch.orders.enums import QuantityUnit
from yard import repository
from yard.appointments import delivery_for, plan_load, spec_of
from yard.calendar import Hours, day_of, dock_of, origin_of, quantity_kg, zone_of
from yard.enums import (
    AppointmentState,
    CheckInSource,
    DockState,
    VisitState,
    visit_sources,
)
from yard.events import on_delivery, on_plant, push_to_driver
from yard.exceptions import (
    DockStateConflict,
    PassNotPresented,
    VisitNotFound,
    VisitStateConflict,
    WrongGateCode,
)
from yard.fences import inside
from yard.models import Appointment, Dock, Sample, Visit, WeightTicket
from yard.plants import Plant, own_dock, own_plant, plant_of_site, require_operator
from yard.queueing import (
    CallEstimate,
    ExpectedTruck,
    QueueRules,
    Standing,
    WaitingTruck,
    choose_truck,
    estimate_calls,
    standing,
)
from yard.queueing import DockState as QueueDock
from yard.scheduling import Appointment as Slot
from yard.scheduling import Load, loading_duration_min, minutes_from

GEOFENCE_ACTOR = "system:tracking"
DEFAULT_TOLERANCE_PCT = 0.5


def queue_rules(plant: Plant) -> QueueRules:
    """The call-forward policy's rules for a plant."""
    return QueueRules(
        late_tolerance_min=plant.yard.late_tolerance_min,
        respond_within_min=plant.yard.call_respond_min,
    )


def _origin(plant: Plant, moment: datetime) -> datetime:
    zone = zone_of(plant.site.timezone)
    return origin_of(day_of(moment, zone), zone)


def _minutes(origin: datetime, moment: datetime) -> float:
    return (moment - origin).total_seconds() / 60


def _slot_of(appointment: Appointment | None, origin: datetime) -> Slot | None:
    if appointment is None:
        return None
    return Slot(str(appointment.dock_id), minutes_from(origin, appointment.starts_at))


def _load_of(visit: Visit) -> Load:
    return Load(
        product=visit.product,
        body=visit.body,
        quantity_kg=visit.quantity_kg,
        hazardous=visit.hazardous,
    )


def _waiting(visit: Visit, appointment: Appointment | None, origin: datetime) -> WaitingTruck:
    return WaitingTruck(
        truck_id=str(visit.id),
        load=_load_of(visit),
        arrived_min=_minutes(origin, visit.arrived_at),
        appointment=_slot_of(appointment, origin),
        missed_calls=visit.missed_calls,
    )


async def _arrive(
    session: AsyncSession,
    *,
    delivery: OutboundDelivery,
    plant: Plant,
    at: datetime,
    source: CheckInSource,
    actor: str | None,
) -> Visit | None:
    """Open the delivery's visit, once: None when it has one already or cannot arrive."""
    if delivery.state not in (DeliveryState.AUTHORIZED, DeliveryState.SLOTTED):
        return None
    if await repository.visit_of(session, delivery.id) is not None:
        return None
    appointment = await repository.appointment_of(session, delivery.id)
    if appointment is not None and appointment.state is not AppointmentState.BOOKED:
        appointment = None
    body = (await repository.deliveries_by_id(session, [delivery.id]))[delivery.id][1]
    origin = _origin(plant, at)
    moment = now()
    load = plan_load(delivery, body)
    visit = Visit(
        site_id=plant.site.id,
        organization_id=plant.site.organization_id,
        delivery_id=delivery.id,
        appointment_id=None if appointment is None else appointment.id,
        carrier_id=delivery.carrier_id,
        driver_member_id=delivery.driver_member_id,
        plate=delivery.vehicle_plate,
        product=load.product,
        body=load.body,
        quantity_kg=int(load.quantity_kg),
        hazardous=load.hazardous,
        source=source,
        standing="",
        arrived_at=at,
        updated_at=moment,
    )
    visit.standing = standing(
        _waiting(visit, appointment, origin),
        now_min=_minutes(origin, at),
        rules=queue_rules(plant),
    ).value
    try:
        # The unique delivery key makes a second arrival (a geofence event and a gate code at
        # once, say) lose here instead of opening a second visit.
        async with session.begin_nested():
            session.add(visit)
            await session.flush()
    except IntegrityError:
        return None
    if delivery.state is DeliveryState.AUTHORIZED:
        await transitions.slot(
            session, delivery_id=delivery.id, slot_starts_at=at, actor=actor, dock=None
        )
    await transitions.arrive(session, delivery_id=delivery.id, actor=actor, at=at)
    if appointment is not None:
        appointment.state = AppointmentState.ARRIVED
        appointment.updated_at = moment
        session.add(appointment)
        await session.flush()
    await on_delivery(
        session,
        delivery.id,
        "yard.checked_in",
        {
            "visit_id": str(visit.id),
            "source": source.value,
            "arrived_at": at.isoformat(),
            "standing": visit.standing,
            "site_id": str(plant.site.id),
        },
        actor=actor,
    )
    return visit


async def check_in_by_geofence(
    session: AsyncSession, *, delivery_id: uuid.UUID, at: datetime, lat: float, lon: float
) -> Visit | None:
    """A tracked truck arrived at its plant: open its visit if the position lies in the
    plant's gate fence (a plant with no fence trusts the arrival). Idempotent: a second
    arrival (or one outside the fence) does nothing and answers None."""
    delivery = await deliveries.delivery(session, delivery_id)
    if delivery is None:
        return None
    plant = await plant_of_site(session, delivery.plant_site_id)
    if plant is None:
        return None
    if plant.yard.gate_fence and not inside(plant.yard.gate_fence, lat=lat, lon=lon):
        return None
    return await _arrive(
        session,
        delivery=delivery,
        plant=plant,
        at=at,
        source=CheckInSource.GEOFENCE,
        actor=GEOFENCE_ACTOR,
    )


@dataclass(frozen=True)
class PlantFence:
    """A plant's gate-area fence, for tracking's geofences."""

    site_id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    geojson: dict[str, Any]


async def plant_gate_fences(session: AsyncSession) -> list[PlantFence]:
    """Every plant's gate-area polygon (plants with no fence are left out)."""
    return [
        PlantFence(
            site_id=site.id,
            organization_id=site.organization_id,
            name=site.name,
            geojson=found.gate_fence,
        )
        for found, site in await repository.plant_yards(session)
        if found.gate_fence
    ]


async def check_in_by_code(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID, code: str
) -> Visit:
    """The driver scanned the code posted at the gate: check the truck in (once)."""
    delivery = await delivery_for(session, principal, delivery_id)
    plant = await plant_of_site(session, delivery.plant_site_id)
    if plant is None:
        raise DeliveryNotFound("the delivery's plant runs no yard")
    if not secrets.compare_digest(code.strip().encode(), plant.yard.gate_code.encode()):
        raise WrongGateCode(
            "that is not this plant's gate code",
            errors=[FieldError(("body", "code"), "not this plant's gate code")],
        )
    visit = await _arrive(
        session,
        delivery=delivery,
        plant=plant,
        at=now(),
        source=CheckInSource.GATE_CODE,
        actor=principal.actor,
    )
    if visit is None:
        visit = await repository.visit_of(session, delivery.id)
    if visit is None:
        raise VisitStateConflict(f"the delivery is {delivery.state.value}: it cannot check in")
    return visit


@dataclass(frozen=True)
class GateCheckIn:
    """The gate's pass verdict and, when valid, the truck's visit."""

    verdict: GateVerdict
    visit: Visit | None


async def check_in_at_gate(
    session: AsyncSession,
    *,
    principal: Principal,
    site_id: uuid.UUID,
    token: str,
    plate_seen: str,
    policy: PassSettings | None = None,
) -> GateCheckIn:
    """The clerk scans the truck's pass: a valid pass is checked in (presented) and linked to
    the delivery's visit and appointment, opening the visit if the truck had not checked in."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    verdict = await gate.present_pass(
        session,
        principal=principal,
        token=token,
        plate_seen=plate_seen,
        plant_site_id=plant.site.id,
        policy=policy,
    )
    if not verdict.valid or verdict.delivery is None or verdict.pickup_pass is None:
        return GateCheckIn(verdict=verdict, visit=None)
    delivery = verdict.delivery
    moment = now()
    visit = await repository.visit_of(session, delivery.id)
    if visit is None:
        await _arrive(
            session,
            delivery=delivery,
            plant=plant,
            at=moment,
            source=CheckInSource.CLERK,
            actor=principal.actor,
        )
        visit = await repository.visit_of(session, delivery.id)
    assert visit is not None
    visit.pass_id = verdict.pickup_pass.id
    visit.pass_verified_at = moment
    visit.updated_at = moment
    session.add(visit)
    await session.flush()
    return GateCheckIn(verdict=verdict, visit=visit)


async def register_unplanned(
    session: AsyncSession,
    *,
    principal: Principal,
    site_id: uuid.UUID,
    plate: str,
    product: str,
    body: str,
    quantity_kg: int,
    hazardous: bool,
) -> Visit:
    """A truck with no delivery here turned up: it gets a visit and waits for a gap."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    moment = now()
    visit = Visit(
        site_id=plant.site.id,
        organization_id=plant.site.organization_id,
        plate=plate,
        product=product,
        body=body,
        quantity_kg=quantity_kg,
        hazardous=hazardous,
        source=CheckInSource.CLERK,
        standing=Standing.UNPLANNED.value,
        arrived_at=moment,
        pass_verified_at=None,
        updated_at=moment,
    )
    session.add(visit)
    await session.flush()
    await on_plant(
        session,
        site_id=plant.site.id,
        operator_id=plant.site.organization_id,
        kind="yard.unplanned_arrival",
        payload={"visit_id": str(visit.id), "plate": plate, "product": product, "body": body},
        actor=principal.actor,
    )
    return visit


async def own_visit(
    session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID
) -> tuple[Plant, Visit]:
    """A visit at one of the caller's plants (404 for any other)."""
    require_operator(principal)
    found = await repository.visit(session, visit_id)
    if found is None or found.organization_id != principal.organization_id:
        raise VisitNotFound("no such visit at your plants")
    plant = await own_plant(session, principal=principal, site_id=found.site_id)
    return plant, found


async def _move(
    session: AsyncSession, visit: Visit, to: VisitState, values: dict[str, Any]
) -> Visit:
    moved = await repository.move_visit(
        session,
        visit.id,
        from_states=visit_sources(to),
        values={"state": to, "updated_at": now(), **values},
    )
    if moved is None:
        current = await repository.visit(session, visit.id)
        state = "gone" if current is None else current.state.value
        raise VisitStateConflict(f"the visit is {state}; it cannot become {to.value}")
    return moved


async def _record(
    session: AsyncSession,
    plant: Plant,
    visit: Visit,
    kind: str,
    payload: dict[str, Any],
    actor: str | None,
) -> None:
    facts = {"visit_id": str(visit.id), "plate": visit.plate, **payload}
    if visit.delivery_id is not None:
        await on_delivery(session, visit.delivery_id, kind, facts, actor=actor)
    else:
        await on_plant(
            session,
            site_id=plant.site.id,
            operator_id=plant.site.organization_id,
            kind=kind,
            payload=facts,
            actor=actor,
        )


def _planned_duration(dock: Dock, visit: Visit) -> int:
    return loading_duration_min(dock_of(spec_of(dock), Hours(0, 24 * 60)), _load_of(visit))


@dataclass(frozen=True)
class QueueView:
    """The plant's queue as the call-forward policy sees it at a moment."""

    origin: datetime
    now_min: float
    docks: list[QueueDock]
    waiting: list[WaitingTruck]
    expected: list[ExpectedTruck]
    stored_docks: dict[str, Dock]


async def queue_view(session: AsyncSession, plant: Plant) -> QueueView:
    """The docks, the waiting trucks and the trucks on their way, in the policy's terms."""
    moment = now()
    origin = _origin(plant, moment)
    now_min = _minutes(origin, moment)
    open_visits = await repository.visits_in(
        session, plant.site.id, (VisitState.WAITING, VisitState.CALLED, VisitState.AT_DOCK)
    )
    by_id = {v.id: v for v in open_visits}
    stored = list(await repository.docks_of(session, plant.site.id))
    docks = []
    for d in stored:
        if d.state is DockState.BLOCKED:
            continue
        free_at = now_min
        holder = by_id.get(d.visit_id) if d.visit_id is not None else None
        if holder is not None:
            duration = _planned_duration(d, holder)
            if d.state is DockState.LOADING and holder.at_dock_at is not None:
                free_at = max(now_min, _minutes(origin, holder.at_dock_at) + duration)
            else:
                free_at = now_min + queue_rules(plant).drive_to_dock_min + duration
        docks.append(
            QueueDock(
                dock=dock_of(spec_of(d), Hours(0, 24 * 60)),
                free_at_min=free_at,
                last_product=d.last_product,
            )
        )
    appointments = {}
    for v in open_visits:
        if v.delivery_id is not None:
            a = await repository.appointment_of(session, v.delivery_id)
            if a is not None and a.state is AppointmentState.ARRIVED:
                appointments[v.id] = a
    waiting = [
        _waiting(v, appointments.get(v.id), origin)
        for v in open_visits
        if v.state is VisitState.WAITING
    ]
    booked = await repository.appointments_between(
        session,
        plant.site.id,
        starts=origin,
        ends=origin + timedelta(days=1),
        states=(AppointmentState.BOOKED,),
    )
    coming = await repository.deliveries_by_id(session, [a.delivery_id for a in booked])
    expected = []
    for a in booked:
        if a.delivery_id not in coming:
            continue
        dv, body = coming[a.delivery_id]
        eta = a.eta_at or a.starts_at
        expected.append(
            ExpectedTruck(
                truck_id=f"delivery:{a.delivery_id}",
                load=plan_load(dv, body),
                appointment=Slot(str(a.dock_id), minutes_from(origin, a.starts_at)),
                eta_min=max(now_min, _minutes(origin, eta)),
            )
        )
    return QueueView(
        origin=origin,
        now_min=now_min,
        docks=docks,
        waiting=waiting,
        expected=expected,
        stored_docks={str(d.id): d for d in stored},
    )


@dataclass(frozen=True)
class CallOutcome:
    """A dock's call: the visit called, or None when the dock waits for a truck on its way
    (or nobody waiting can load there)."""

    dock: Dock
    visit: Visit | None


async def call_next(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID, dock_id: uuid.UUID
) -> CallOutcome:
    """A free dock calls the next truck the queue policy picks; the driver's phone hears it."""
    require_operator(principal)
    plant, dock = await own_dock(session, principal=principal, site_id=site_id, dock_id=dock_id)
    await repository.lock_plant(session, plant.site.id)
    if dock.state is not DockState.FREE:
        raise DockStateConflict(f"the dock is {dock.state.value}: only a free dock calls")
    view = await queue_view(session, plant)
    state = next((d for d in view.docks if d.dock.dock_id == str(dock.id)), None)
    assert state is not None
    call = choose_truck(
        dock=state,
        waiting=view.waiting,
        expected=view.expected,
        now_min=view.now_min,
        rules=queue_rules(plant),
    )
    if call is None:
        return CallOutcome(dock=dock, visit=None)
    moment = now()
    respond_by = moment + timedelta(minutes=plant.yard.call_respond_min)
    visit_id = uuid.UUID(call.truck_id)
    current = await repository.visit(session, visit_id)
    assert current is not None
    called = await _move(
        session,
        current,
        VisitState.CALLED,
        {"called_at": moment, "respond_by": respond_by, "dock_id": dock.id},
    )
    moved = await repository.move_dock(
        session,
        dock.id,
        from_states=(DockState.FREE,),
        values={"state": DockState.CALLED, "visit_id": called.id, "updated_at": moment},
    )
    if moved is None:
        raise DockStateConflict("the dock was taken meanwhile")
    message = {
        "type": "called",
        "visit_id": str(called.id),
        "delivery_id": None if called.delivery_id is None else str(called.delivery_id),
        "dock_id": str(dock.id),
        "dock": dock.name,
        "called_at": moment.isoformat(),
        "respond_by": respond_by.isoformat(),
        "standing": call.standing.value,
    }
    await _record(session, plant, called, "yard.called", message, principal.actor)
    if called.driver_member_id is not None:
        push_to_driver(session, called.driver_member_id, message)
    return CallOutcome(dock=moved, visit=called)


async def reach_dock(session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The called truck reached its dock: loading starts."""
    plant, visit = await own_visit(session, principal=principal, visit_id=visit_id)
    moment = now()
    moved = await _move(session, visit, VisitState.AT_DOCK, {"at_dock_at": moment})
    assert moved.dock_id is not None
    await repository.move_dock(
        session,
        moved.dock_id,
        from_states=(DockState.CALLED,),
        values={"state": DockState.LOADING, "updated_at": moment},
    )
    await _record(
        session, plant, moved, "yard.at_dock", {"dock_id": str(moved.dock_id)}, principal.actor
    )
    return moved


async def _free_dock(session: AsyncSession, visit: Visit, *, last_product: str | None) -> None:
    if visit.dock_id is None:
        return
    dock = await repository.dock(session, visit.dock_id)
    if dock is None or dock.visit_id != visit.id:
        return
    values: dict[str, Any] = {"state": DockState.FREE, "visit_id": None, "updated_at": now()}
    if last_product is not None:
        values["last_product"] = last_product
    await repository.move_dock(
        session, dock.id, from_states=(DockState.CALLED, DockState.LOADING), values=values
    )


async def refuse(
    session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID, reason: str
) -> Visit:
    """Refuse to load a truck, with the reason; a dock it held is freed."""
    plant, visit = await own_visit(session, principal=principal, visit_id=visit_id)
    moved = await _move(
        session, visit, VisitState.REFUSED, {"refused_at": now(), "refuse_reason": reason}
    )
    await _free_dock(session, moved, last_product=None)
    if moved.delivery_id is not None:
        appointment = await repository.appointment_of(session, moved.delivery_id)
        if appointment is not None and appointment.state is AppointmentState.ARRIVED:
            appointment.state = AppointmentState.CANCELLED
            appointment.updated_at = now()
            session.add(appointment)
            await session.flush()
    await _record(session, plant, moved, "yard.refused", {"reason": reason}, principal.actor)
    return moved


async def _ticket_number(session: AsyncSession, plant: Plant) -> str:
    count = await repository.count_tickets(session, plant.site.id)
    return f"WT-{str(plant.site.id)[-6:].upper()}-{count + 1:06d}"


async def weigh_tare(
    session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID, weight_kg: int
) -> WeightTicket:
    """The empty truck on the weighbridge on its way in: the ticket starts with the tare."""
    plant, visit = await own_visit(session, principal=principal, visit_id=visit_id)
    if visit.state not in (VisitState.CALLED, VisitState.AT_DOCK):
        raise VisitStateConflict(f"the visit is {visit.state.value}: tare is weighed on entry")
    if await repository.ticket_of(session, visit.id) is not None:
        raise VisitStateConflict("the truck's tare is on its ticket already")
    moment = now()
    ticket = WeightTicket(
        visit_id=visit.id,
        delivery_id=visit.delivery_id,
        site_id=plant.site.id,
        organization_id=plant.site.organization_id,
        number=await _ticket_number(session, plant),
        tare_kg=weight_kg,
        tare_at=moment,
        updated_at=moment,
    )
    session.add(ticket)
    await session.flush()
    await _record(
        session,
        plant,
        visit,
        "yard.tared",
        {"ticket": ticket.number, "tare_kg": weight_kg},
        principal.actor,
    )
    return ticket


def _rule(field: str, message: str, code: str) -> RuleViolation:
    return RuleViolation(message, code=code, errors=[FieldError(("body", field), message)])


async def weigh_gross(
    session: AsyncSession,
    *,
    principal: Principal,
    visit_id: uuid.UUID,
    weight_kg: int,
    seal_numbers: Sequence[str] = (),
    loaded_quantity: int | None = None,
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT,
) -> WeightTicket:
    """The loaded truck on the weighbridge on its way out: net = gross - tare, checked
    against the planned quantity; the pass is used up with the loaded quantity and the
    delivery becomes loaded. A kg delivery loads its net weight; litres, pallets and pieces
    need the counted ``loaded_quantity``."""
    plant, visit = await own_visit(session, principal=principal, visit_id=visit_id)
    if visit.state is not VisitState.AT_DOCK:
        raise VisitStateConflict(f"the visit is {visit.state.value}: gross is weighed at loading")
    ticket = await repository.ticket_of(session, visit.id)
    if ticket is None:
        raise VisitStateConflict("weigh the tare first")
    if weight_kg <= ticket.tare_kg:
        raise _rule("weight_kg", "the gross weight must exceed the tare", "gross_below_tare")
    net = weight_kg - ticket.tare_kg
    moment = now()
    delivery = None
    planned_kg = None
    if visit.delivery_id is not None:
        delivery = await deliveries.delivery(session, visit.delivery_id)
        assert delivery is not None
        planned_kg = quantity_kg(delivery.quantity, delivery.unit.value)
        if delivery.unit is QuantityUnit.KG:
            loaded_quantity = net
        elif loaded_quantity is None:
            raise _rule(
                "loaded_quantity",
                f"the delivery counts {delivery.unit.value}: give the loaded quantity",
                "loaded_quantity_required",
            )
        if delivery.unit is not QuantityUnit.KG:
            planned_kg = None
    out_of_tolerance = planned_kg is not None and abs(net - planned_kg) > planned_kg * (
        tolerance_pct / 100
    )
    ticket.gross_kg = weight_kg
    ticket.gross_at = moment
    ticket.net_kg = net
    ticket.planned_kg = planned_kg
    ticket.tolerance_pct = tolerance_pct
    ticket.out_of_tolerance = out_of_tolerance
    ticket.seal_numbers = list(seal_numbers)
    ticket.updated_at = moment
    session.add(ticket)
    await session.flush()
    if delivery is not None:
        assert loaded_quantity is not None
        if visit.pass_id is None:
            raise PassNotPresented("scan the truck's pass at the gate before it leaves loaded")
        await gate.consume_pass(
            session, principal=principal, pass_id=visit.pass_id, loaded_quantity=loaded_quantity
        )
        await transitions.load(
            session,
            delivery_id=delivery.id,
            loaded_quantity=loaded_quantity,
            actor=principal.actor,
            at=moment,
            ticket=ticket.number,
        )
    moved = await _move(session, visit, VisitState.LOADED, {"loaded_at": moment})
    await _free_dock(session, moved, last_product=moved.product)
    await _record(
        session,
        plant,
        moved,
        "yard.weighed",
        {
            "ticket": ticket.number,
            "tare_kg": ticket.tare_kg,
            "gross_kg": weight_kg,
            "net_kg": net,
            "planned_kg": planned_kg,
            "loaded_quantity": loaded_quantity,
            "out_of_tolerance": out_of_tolerance,
            "seal_numbers": list(seal_numbers),
        },
        principal.actor,
    )
    return ticket


async def leave(session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID) -> Visit:
    """The truck left the plant: a loaded delivery is on its way to the buyer."""
    plant, visit = await own_visit(session, principal=principal, visit_id=visit_id)
    moment = now()
    moved = await _move(session, visit, VisitState.LEFT, {"left_at": moment})
    if moved.delivery_id is not None:
        delivery = await deliveries.delivery(session, moved.delivery_id)
        if delivery is not None and delivery.state is DeliveryState.LOADED:
            await transitions.depart(
                session, delivery_id=delivery.id, actor=principal.actor, at=moment
            )
        appointment = await repository.appointment_of(session, moved.delivery_id)
        if appointment is not None and appointment.state is AppointmentState.ARRIVED:
            appointment.state = AppointmentState.COMPLETED
            appointment.updated_at = moment
            session.add(appointment)
            await session.flush()
    await _record(
        session, plant, moved, "yard.left", {"left_at": moment.isoformat()}, principal.actor
    )
    return moved


async def add_sample(
    session: AsyncSession,
    *,
    principal: Principal,
    visit_id: uuid.UUID,
    sample_code: str,
    retention_location: str,
    lab: str | None,
) -> Sample:
    """Record a sample drawn from the load and where it is kept (and which lab holds it)."""
    plant, visit = await own_visit(session, principal=principal, visit_id=visit_id)
    if visit.state not in (VisitState.AT_DOCK, VisitState.LOADED, VisitState.LEFT):
        raise VisitStateConflict("samples are drawn at the dock or after loading")
    if await repository.sample_code_taken(session, plant.site.id, sample_code):
        raise _rule("sample_code", "the plant holds a sample under that code", "sample_code_taken")
    made = Sample(
        visit_id=visit.id,
        delivery_id=visit.delivery_id,
        site_id=plant.site.id,
        organization_id=plant.site.organization_id,
        sample_code=sample_code,
        retention_location=retention_location,
        lab=lab,
        taken_at=now(),
    )
    session.add(made)
    await session.flush()
    await _record(
        session,
        plant,
        visit,
        "yard.sampled",
        {"sample_code": sample_code, "retention_location": retention_location, "lab": lab},
        principal.actor,
    )
    return made


@dataclass(frozen=True)
class QueuePlace:
    """A driver's place: waiting (position and expected call) or called (dock and deadline)."""

    visit: Visit
    position: int | None
    expected_call_at: datetime | None
    dock: Dock | None


async def my_queue_place(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID
) -> QueuePlace:
    """The driver's place in the plant's queue and when the truck can expect its call."""
    delivery = await delivery_for(session, principal, delivery_id)
    visit = await repository.visit_of(session, delivery.id)
    if visit is None:
        raise VisitNotFound("the truck has not checked in")
    plant = await plant_of_site(session, visit.site_id)
    assert plant is not None
    dock = None if visit.dock_id is None else await repository.dock(session, visit.dock_id)
    if visit.state is not VisitState.WAITING:
        return QueuePlace(visit=visit, position=None, expected_call_at=None, dock=dock)
    view = await queue_view(session, plant)
    estimates: tuple[CallEstimate, ...] = estimate_calls(
        docks=view.docks,
        waiting=view.waiting,
        expected=view.expected,
        now_min=view.now_min,
        rules=queue_rules(plant),
    )
    mine = next((e for e in estimates if e.truck_id == str(visit.id)), None)
    if mine is None:
        return QueuePlace(visit=visit, position=None, expected_call_at=None, dock=None)
    return QueuePlace(
        visit=visit,
        position=mine.position,
        expected_call_at=view.origin + timedelta(minutes=mine.expected_call_min),
        dock=view.stored_docks.get(mine.dock_id),
    )


@dataclass(frozen=True)
class LapsedSweep:
    """Calls a truck did not answer in time: the truck goes back to the queue."""

    visit_ids: tuple[uuid.UUID, ...]


async def sweep_lapsed_calls(session: AsyncSession, *, actor: str = "system:yard") -> LapsedSweep:
    """Called trucks that did not reach their dock in time lose the call and wait again."""
    moment = now()
    lapsed = []
    for visit in await repository.lapsed_calls(session, before=moment):
        dock_id = visit.dock_id
        moved = await repository.move_visit(
            session,
            visit.id,
            from_states=(VisitState.CALLED,),
            values={
                "state": VisitState.WAITING,
                "missed_calls": visit.missed_calls + 1,
                "dock_id": None,
                "called_at": None,
                "respond_by": None,
                "updated_at": moment,
            },
        )
        if moved is None or dock_id is None:
            continue
        dock = await repository.dock(session, dock_id)
        if dock is not None and dock.visit_id == visit.id:
            await repository.move_dock(
                session,
                dock_id,
                from_states=(DockState.CALLED,),
                values={"state": DockState.FREE, "visit_id": None, "updated_at": moment},
            )
        lapsed.append(visit.id)
        plant = await plant_of_site(session, visit.site_id)
        if plant is not None:
            await _record(
                session, plant, moved, "yard.call_lapsed", {"dock_id": str(dock_id)}, actor
            )
    return LapsedSweep(tuple(lapsed))


@dataclass(frozen=True)
class VisitRecord:
    """A visit with its weight ticket (if weighed) and samples."""

    visit: Visit
    ticket: WeightTicket | None
    samples: Sequence[Sample]


async def visit_record(
    session: AsyncSession, *, principal: Principal, visit_id: uuid.UUID
) -> VisitRecord:
    """A visit at one of the caller's plants, with its ticket and samples."""
    _, found = await own_visit(session, principal=principal, visit_id=visit_id)
    return VisitRecord(
        visit=found,
        ticket=await repository.ticket_of(session, found.id),
        samples=await repository.samples_of(session, found.id),
    )
