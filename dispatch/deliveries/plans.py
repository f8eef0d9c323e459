"""Delivery plans: preview a split of a booking, edit the draft, commit it into outbound
deliveries, re-plan after a breakdown or a cancellation.

A preview is prepared from a read of the booking and the fleet (``prepare_split`` or
``prepare_replan``), solved by a ``Solver`` outside any transaction, and saved as a draft
(``save_draft``): a solve may take seconds, and no write lock is held while it runs.
Committing checks the draft again against the fleet and the booking as they are then,
under the trucks' row locks, and takes the quantity from the booking's ledger in one
conditional UPDATE: of two plans committed at once, only one gets the units.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.exceptions import StaleVersion
from accounts.principal import Principal
from core import eventlog
from core.clock import now
from core.errors import FieldError
from dispatch.deliveries import repository, transitions
from dispatch.deliveries.codec import decode_request, decode_trip, encode_request, encode_trip
from dispatch.deliveries.edits import (
    Add,
    EditError,
    EditOp,
    Move,
    Remove,
    Resize,
    Revehicle,
    apply_edits,
)
from dispatch.deliveries.enums import REPLANNABLE_STATES, DeliveryState, PlanKind, PlanState
from dispatch.deliveries.events import booking_subject, parties, record
from dispatch.deliveries.exceptions import (
    BookingNotPlannable,
    BookingOvercommitted,
    CarrierOnly,
    DeliveryStateConflict,
    NoSplit,
    NothingToPlan,
    PlanInputInvalid,
    PlanInvalid,
    PlanNotDraft,
    PlanNotFound,
    ReplacedDeliveryMoved,
)
from dispatch.deliveries.models import DeliveryPlan, OutboundDelivery
from dispatch.deliveries.schemas import (
    ChangeQuantity,
    ChangeVehicle,
    MoveTrip,
    PlanCommit,
    PlanCreate,
    PlanDiscard,
    PlanEdit,
    RemoveTrip,
    ReplanCreate,
    SplitTerms,
    VehicleChoice,
)
from dispatch.deliveries.solver import Solver
from dispatch.deliveries.splitting import (
    COST_PER_KM_CENTS,
    FIXED_COST_CENTS,
    IN_SERVICE,
    CargoTerms,
    DayUse,
    FleetVehicle,
    ItemSpec,
    Lane,
    VehicleTerms,
    compartment_allocation,
    lane,
    local_day,
    pickup_days,
    planner_vehicle,
    plant_capacity,
    plant_zone,
    refusal,
    taken_trips,
    trip_duration_s,
    trip_quantity,
)
from dispatch.fleet.capability import LoadNeeds
from dispatch.fleet.enums import BodyType as FleetBody
from dispatch.fleet.models import Vehicle as VehicleRow
from dispatch.guards import check_version, require_dispatcher
from dispatch.market.enums import BookingState
from dispatch.market.exceptions import BookingNotFound
from dispatch.market.models import Booking, LoadOffer
from dispatch.orders.enums import QuantityUnit
from dispatch.orders.models import SalesOrder
from dispatch.planning import (
    CargoKind,
    Plan,
    PlanStatus,
    SplitRequest,
    Trip,
    Vehicle,
    Violation,
    validate_plan,
)

PLANNABLE_BOOKINGS = (BookingState.CONFIRMED, BookingState.PICKED_UP)
_EDITED = "edited by hand after: "


@dataclass(frozen=True)
class SplitContext:
    """Everything a preview needs, read in one go: solve ``request``, then save the draft."""

    booking: Booking
    offer: LoadOffer
    order: SalesOrder
    kind: PlanKind
    terms: SplitTerms
    request: SplitRequest
    quantity: int
    replaces: tuple[OutboundDelivery, ...] = ()

    @property
    def time_limit_s(self) -> float | None:
        """The dispatcher's time limit for the solve, if any."""
        return self.terms.time_limit_s


async def prepare_split(
    session: AsyncSession, *, principal: Principal, data: PlanCreate
) -> SplitContext:
    """Read what a split of the booking's unplanned quantity needs."""
    booking, offer, order = await carrier_booking(session, principal, data.booking_id)
    terms = SplitTerms.model_validate(data.model_dump(exclude={"booking_id"}))
    return await _context(session, booking, offer, order, terms=terms, kind=PlanKind.SPLIT)


async def prepare_replan(
    session: AsyncSession, *, principal: Principal, data: ReplanCreate
) -> SplitContext:
    """Read what a re-split of the booking's open deliveries needs.

    The deliveries replaced are the open ones (not at the plant yet) on lost vehicles, or
    every open one with the ``all_open`` scope; the rest stay and keep their trucks' time.
    """
    booking, offer, order = await carrier_booking(session, principal, data.booking_id)
    # The vehicles named for the first split may be the ones now lost: reused terms plan
    # with every truck that fits.
    terms = data.terms or (await _last_terms(session, booking.id)).model_copy(
        update={"vehicles": None}
    )
    open_deliveries = await repository.deliveries_of_booking(
        session, booking.id, states=REPLANNABLE_STATES
    )
    if data.lost_vehicle_ids is not None:
        lost = set(data.lost_vehicle_ids)
    else:
        rows = await repository.carrier_vehicles(session, booking.carrier_id)
        lost = {row.id for row in rows if row.status not in IN_SERVICE}
    if data.scope == "all_open":
        replaced = tuple(open_deliveries)
    else:
        replaced = tuple(d for d in open_deliveries if d.vehicle_id in lost)
    return await _context(
        session,
        booking,
        offer,
        order,
        terms=terms,
        kind=PlanKind.REPLAN,
        replaces=replaced,
        lost=lost,
    )


async def save_draft(
    session: AsyncSession, *, principal: Principal, context: SplitContext, plan: Plan
) -> DeliveryPlan:
    """Keep a solved preview as a draft the dispatcher can edit and commit."""
    booking, _, _ = await carrier_booking(session, principal, context.booking.id)
    if not plan.ok:
        raise NoSplit(plan.reason or f"the planner found no split ({plan.status.value})")
    violations = validate_plan(context.request, plan)
    if violations:
        raise _invalid("the planner's split breaks a rule", violations)
    moment = now()
    draft = DeliveryPlan(
        booking_id=booking.id,
        carrier_id=booking.carrier_id,
        created_by_id=principal.membership_id,
        kind=context.kind,
        unit=booking.unit,
        quantity=context.quantity,
        inputs=context.terms.model_dump(mode="json"),
        request=encode_request(context.request),
        trips=[encode_trip(trip) for trip in plan.trips],
        replaces=[
            {"id": str(d.id), "version": d.version, "quantity": d.quantity}
            for d in context.replaces
        ],
        status=plan.status.value,
        method=plan.method[:200],
        bound_method=plan.bound_method[:200],
        reason=plan.reason[:1000],
        total_cost_cents=plan.total_cost_cents,
        lower_bound_cents=plan.lower_bound_cents,
        solve_s=round(plan.solve_s, 4),
        updated_at=moment,
        created_at=moment,
    )
    session.add(draft)
    await session.flush()
    return draft


async def preview(
    session: AsyncSession, *, principal: Principal, solver: Solver, data: PlanCreate
) -> DeliveryPlan:
    """Prepare, solve and save a split in one session (scripts and tests; the API solves
    between a read and a write so that no write lock waits on the solver)."""
    context = await prepare_split(session, principal=principal, data=data)
    plan = await solver.solve(context.request, time_limit_s=context.time_limit_s)
    return await save_draft(session, principal=principal, context=context, plan=plan)


async def replan(
    session: AsyncSession, *, principal: Principal, solver: Solver, data: ReplanCreate
) -> DeliveryPlan:
    """Prepare, solve and save a re-plan in one session (see ``preview``)."""
    context = await prepare_replan(session, principal=principal, data=data)
    plan = await solver.solve(context.request, time_limit_s=context.time_limit_s)
    return await save_draft(session, principal=principal, context=context, plan=plan)


async def get_plan(
    session: AsyncSession, *, principal: Principal, plan_id: uuid.UUID
) -> DeliveryPlan:
    """One of the caller's carrier's plans."""
    found = await repository.plan(session, plan_id)
    if found is None or found.carrier_id != principal.organization_id:
        raise PlanNotFound("no such plan")
    return found


async def list_plans(
    session: AsyncSession,
    *,
    principal: Principal,
    booking_id: uuid.UUID,
    state: PlanState | None,
) -> list[DeliveryPlan]:
    """A booking's plans (the carrier's), newest first."""
    await carrier_booking(session, principal, booking_id, dispatcher=False)
    return list(await repository.plans_of_booking(session, booking_id, state=state))


async def edit_plan(
    session: AsyncSession, *, principal: Principal, plan_id: uuid.UUID, data: PlanEdit
) -> DeliveryPlan:
    """Apply the dispatcher's edits to a draft; refused with every violation if any."""
    require_dispatcher(principal)
    draft = await _draft(session, principal, plan_id, data.version)
    request = decode_request(draft.request)
    trips = [decode_trip(trip) for trip in draft.trips]
    try:
        edited = _apply(request, trips, data)
    except EditError as error:
        raise PlanInvalid(
            str(error),
            code="edit_invalid",
            errors=[FieldError(("body", "edits", error.index, "trip"), str(error))],
        ) from error
    plan = stored_plan(draft, edited, request)
    violations = validate_plan(request, plan)
    if violations:
        raise _invalid("the edits break the split's rules; nothing was changed", violations)
    method = draft.method if draft.method.startswith(_EDITED) else _EDITED + draft.method
    moved = await repository.move_plan(
        session,
        draft.id,
        version=data.version,
        values={
            "trips": [encode_trip(trip) for trip in edited],
            "total_cost_cents": plan.total_cost_cents,
            "status": PlanStatus.FEASIBLE.value,
            "method": method[:200],
            "edited": True,
            "updated_at": now(),
        },
    )
    if moved is None:
        raise PlanNotDraft("the plan changed meanwhile: reload it")
    return moved


async def commit_plan(
    session: AsyncSession, *, principal: Principal, plan_id: uuid.UUID, data: PlanCommit
) -> tuple[DeliveryPlan, list[OutboundDelivery]]:
    """Turn a draft's trips into outbound deliveries, in the caller's transaction.

    The trips are checked again against the fleet as it is now (a truck may have broken
    down since the preview); the booking's ledger must still hold the quantity.
    """
    require_dispatcher(principal)
    draft = await _draft(session, principal, plan_id, data.version)
    booking, offer, order = await carrier_booking(session, principal, draft.booking_id)
    stored = decode_request(draft.request)
    trips = [decode_trip(trip) for trip in draft.trips]
    await repository.lock_vehicles(session, (uuid.UUID(trip.vehicle_id) for trip in trips))
    replaced_ids = {uuid.UUID(entry["id"]) for entry in draft.replaces}
    # Said first, so a plan that lost the race reads as such and not as a fleet problem;
    # the ledger's conditional UPDATE below is what actually keeps the units single.
    released = sum(int(entry["quantity"]) for entry in draft.replaces)
    await _check_room(session, booking, draft.quantity - released)
    terms = SplitTerms.model_validate(draft.inputs)
    current = await _context(
        session,
        booking,
        offer,
        order,
        terms=terms,
        kind=draft.kind,
        replaces=(),
        replaced_ids=replaced_ids,
        quantity=draft.quantity,
        strict=False,
    )
    request = dataclasses.replace(current.request, cargo=stored.cargo)
    violations = validate_plan(request, stored_plan(draft, trips, request))
    if violations:
        raise _invalid(
            "the plan no longer fits the fleet or the window: edit it or preview again",
            violations,
        )
    committed = await repository.move_plan(
        session,
        draft.id,
        version=data.version,
        values={"state": PlanState.COMMITTED.value, "committed_at": now(), "updated_at": now()},
    )
    if committed is None:
        raise PlanNotDraft("the plan was committed, discarded or edited meanwhile")
    for entry in draft.replaces:
        await _retire(session, principal, uuid.UUID(entry["id"]), int(entry["version"]))
    await repository.ensure_ledger(session, booking)
    if not await repository.plan_quantity(session, booking_id=booking.id, quantity=draft.quantity):
        await _check_room(session, booking, draft.quantity)
        raise BookingOvercommitted("another plan was committed first")
    deliveries = await _create_deliveries(
        session, principal, committed, booking, offer, order, request, trips, terms
    )
    await _record_split(session, principal, committed, booking, deliveries)
    return committed, deliveries


async def _check_room(session: AsyncSession, booking: Booking, quantity: int) -> None:
    ledger = await repository.ledger(session, booking.id)
    left = booking.quantity if ledger is None else ledger.unplanned_quantity
    if quantity > left:
        raise BookingOvercommitted(
            f"the booking has {left} {booking.unit.value} unplanned; this plan needs "
            f"{quantity}: another plan was committed first",
            extra={"unplanned_quantity": left},
        )


async def discard_plan(
    session: AsyncSession, *, principal: Principal, plan_id: uuid.UUID, data: PlanDiscard
) -> DeliveryPlan:
    """Drop a draft."""
    require_dispatcher(principal)
    draft = await _draft(session, principal, plan_id, data.version)
    moved = await repository.move_plan(
        session,
        draft.id,
        version=data.version,
        values={"state": PlanState.DISCARDED.value, "updated_at": now()},
    )
    if moved is None:
        raise PlanNotDraft("the plan was committed, discarded or edited meanwhile")
    return moved


async def carrier_booking(
    session: AsyncSession,
    principal: Principal,
    booking_id: uuid.UUID,
    *,
    dispatcher: bool = True,
) -> tuple[Booking, LoadOffer, SalesOrder]:
    """A booking the caller's carrier holds, with its load and order, plannable now."""
    found = await repository.booking_terms(session, booking_id)
    if found is None:
        raise BookingNotFound("no such booking")
    booking, offer, order = found
    if principal.organization_id != booking.carrier_id:
        if principal.organization_id in (booking.shipper_id, booking.seller_id, booking.buyer_id):
            raise CarrierOnly("only the booking's carrier splits it into deliveries")
        raise BookingNotFound("no such booking")
    if not dispatcher:
        return booking, offer, order
    require_dispatcher(principal)
    if booking.state not in PLANNABLE_BOOKINGS:
        raise BookingNotPlannable(f"the booking is {booking.state.value}")
    return booking, offer, order


def fleet_vehicle(row: VehicleRow) -> FleetVehicle:
    """A vehicle row as the split sees it."""
    return FleetVehicle(
        id=row.id,
        plate=row.plate,
        body_type=row.body_type,
        payload_kg=row.payload_kg,
        volume_l=row.volume_l,
        pallet_places=row.pallet_places,
        compartments_l=tuple(row.compartments_l),
        hazard_classes=frozenset(row.hazard_classes),
        food_grade=row.food_grade,
        status=row.status,
    )


def cargo_terms(terms: SplitTerms, unit: QuantityUnit) -> CargoTerms:
    """The product's loading facts from the dispatcher's terms and the booking's unit."""
    item = terms.item
    return CargoTerms(
        unit=unit,
        density_kg_per_m3=terms.density_kg_per_m3,
        liquid=terms.liquid if terms.liquid is not None else unit == QuantityUnit.LITRE,
        viscous=terms.viscous,
        max_fill_ratio=terms.max_fill_ratio,
        item=None
        if item is None
        else ItemSpec(
            weight_kg=item.weight_kg,
            volume_m3=item.volume_m3,
            pallet_places=item.pallet_places,
            stackable=item.stackable,
        ),
    )


async def _context(
    session: AsyncSession,
    booking: Booking,
    offer: LoadOffer,
    order: SalesOrder,
    *,
    terms: SplitTerms,
    kind: PlanKind,
    replaces: Sequence[OutboundDelivery] = (),
    replaced_ids: Iterable[uuid.UUID] = (),
    lost: Iterable[uuid.UUID] = (),
    quantity: int | None = None,
    strict: bool = True,
) -> SplitContext:
    cargo = cargo_terms(terms, booking.unit)
    missing = cargo.check()
    if missing:
        raise PlanInputInvalid(
            "; ".join(message for _, message in missing),
            errors=[FieldError(("body", field), message) for field, message in missing],
        )
    plant = (await repository.sites_by_id(session, [order.origin_site_id]))[order.origin_site_id]
    zone = plant_zone(plant.timezone)
    days = pickup_days(
        booking.pickup_from, booking.pickup_until, zone=zone, today=local_day(now(), zone)
    )
    route = lane(
        (order.origin_lat, order.origin_lon),
        (order.destination_lat, order.destination_lon),
        round_trip_km=terms.round_trip_km,
        average_speed_kmh=terms.average_speed_kmh,
        handling_s=terms.handling_s,
        working_day_s=terms.working_day_s,
    )
    needs = LoadNeeds(
        hazard_class=offer.hazard_class,
        food_grade=offer.food_grade,
        body_types=frozenset(FleetBody(body) for body in offer.body_types),
    )
    fleet = await _fleet(
        session, booking, terms, cargo, needs, route, lost=set(lost), strict=strict
    )
    replaced = {d.id for d in replaces} | set(replaced_ids)
    if quantity is None:
        ledger = await repository.ledger(session, booking.id)
        unplanned = booking.quantity if ledger is None else ledger.unplanned_quantity
        quantity = unplanned + sum(d.quantity for d in replaces)
    if quantity <= 0:
        raise NothingToPlan("every unit of the booking is on a delivery already")
    use = await _day_use(session, booking.id, fleet, days, exclude=replaced)
    taken, elsewhere = taken_trips(
        fleet, use, days=days, working_day_s=terms.working_day_s, cargo=cargo
    )
    limit = terms.plant
    request = SplitRequest(
        cargo=cargo.cargo(quantity),
        fleet=tuple(fleet),
        pickup_days=days,
        plant=None
        if limit is None
        else plant_capacity(
            trips_per_day=limit.trips_per_day,
            quantity_per_day=limit.quantity_per_day,
            cargo=cargo,
            elsewhere=elsewhere,
        ),
        min_fill_ratio=terms.min_fill_ratio,
        round_trip_km=route.round_trip_km,
        taken_trips=taken,
    )
    return SplitContext(
        booking=booking,
        offer=offer,
        order=order,
        kind=kind,
        terms=terms,
        request=request,
        quantity=quantity,
        replaces=tuple(replaces),
    )


async def _fleet(
    session: AsyncSession,
    booking: Booking,
    terms: SplitTerms,
    cargo: CargoTerms,
    needs: LoadNeeds,
    route: Lane,
    *,
    lost: set[uuid.UUID],
    strict: bool,
) -> list[Vehicle]:
    rows = {row.id: row for row in await repository.carrier_vehicles(session, booking.carrier_id)}
    probe = SplitRequest(
        cargo=cargo.cargo(0), fleet=(), pickup_days=(), round_trip_km=route.round_trip_km
    )
    chosen = terms.vehicles
    explicit = chosen is not None
    candidates = (
        [(row, None) for row in rows.values()]
        if chosen is None
        else [(rows.get(choice.vehicle_id), choice) for choice in chosen]
    )
    fleet: list[Vehicle] = []
    errors: list[FieldError] = []
    for position, (row, choice) in enumerate(candidates):
        where = ("body", "vehicles", position, "vehicle_id")
        if row is None:
            errors.append(FieldError(where, "not a vehicle of your fleet", "vehicle_not_found"))
            continue
        vehicle = fleet_vehicle(row)
        refused = refusal(vehicle, needs, cargo, probe)
        if refused is None and vehicle.id in lost:
            refused = ("vehicle_lost", f"{vehicle.plate} is out of this plan")
        if refused is not None:
            if explicit:
                errors.append(FieldError(where, refused[1], refused[0]))
            continue
        fleet.append(
            planner_vehicle(
                vehicle,
                VehicleTerms(
                    fixed_cost_cents=_pick(choice, "fixed_cost_cents", FIXED_COST_CENTS),
                    cost_per_km_cents=_pick(choice, "cost_per_km_cents", COST_PER_KM_CENTS),
                    trips_per_day=_pick(choice, "trips_per_day", route.trips_per_day),
                ),
                cargo,
            )
        )
    if errors and strict:
        raise PlanInputInvalid(
            "some vehicles cannot carry this booking: " + "; ".join(e.msg for e in errors),
            errors=errors,
        )
    return fleet


def _pick(choice: VehicleChoice | None, name: str, default: int) -> int:
    value = None if choice is None else getattr(choice, name)
    return default if value is None else int(value)


async def _day_use(
    session: AsyncSession,
    booking_id: uuid.UUID,
    fleet: Sequence[Vehicle],
    days: Sequence[date],
    *,
    exclude: set[uuid.UUID],
) -> dict[tuple[str, date], DayUse]:
    found = await repository.vehicle_day_use(
        session,
        vehicle_ids=[uuid.UUID(vehicle.id) for vehicle in fleet],
        days=days,
        exclude=list(exclude),
    )
    use: dict[tuple[str, date], DayUse] = {}
    for (vehicle_id, day), rows in found.items():
        own = tuple(row.quantity for row in rows if row.booking_id == booking_id)
        other_s = sum(row.trip_duration_s for row in rows if row.booking_id != booking_id)
        use[(str(vehicle_id), day)] = DayUse(own_quantities=own, other_s=other_s)
    return use


async def _last_terms(session: AsyncSession, booking_id: uuid.UUID) -> SplitTerms:
    committed = await repository.plans_of_booking(session, booking_id, state=PlanState.COMMITTED)
    if not committed:
        return SplitTerms()
    return SplitTerms.model_validate(committed[0].inputs)


async def _draft(
    session: AsyncSession, principal: Principal, plan_id: uuid.UUID, version: int
) -> DeliveryPlan:
    draft = await get_plan(session, principal=principal, plan_id=plan_id)
    if draft.state != PlanState.DRAFT:
        raise PlanNotDraft(f"the plan is {draft.state.value}")
    check_version(draft.version, version)
    return draft


def _apply(request: SplitRequest, trips: list[Trip], data: PlanEdit) -> list[Trip]:
    ops: list[EditOp] = []
    for edit in data.edits:
        if isinstance(edit, MoveTrip):
            ops.append(Move(edit.trip, edit.day))
        elif isinstance(edit, ChangeVehicle):
            ops.append(Revehicle(edit.trip, str(edit.vehicle_id)))
        elif isinstance(edit, ChangeQuantity):
            ops.append(Resize(edit.trip, edit.quantity))
        elif isinstance(edit, RemoveTrip):
            ops.append(Remove(edit.trip))
        else:
            ops.append(Add(str(edit.vehicle_id), edit.day, edit.quantity))
    return apply_edits(request, trips, ops)


def stored_plan(draft: DeliveryPlan, trips: Sequence[Trip], request: SplitRequest) -> Plan:
    """A draft's trips as the planner's plan, for the validator."""
    return Plan(
        kind=CargoKind(request.kind),
        status=PlanStatus(draft.status),
        trips=tuple(trips),
        total_cost_cents=sum(trip.cost_cents for trip in trips),
        lower_bound_cents=draft.lower_bound_cents,
        solve_s=draft.solve_s,
        method=draft.method,
        bound_method=draft.bound_method,
        reason=draft.reason,
    )


def _invalid(detail: str, violations: Sequence[Violation]) -> PlanInvalid:
    return PlanInvalid(
        f"{detail}: " + "; ".join(v.detail for v in violations[:5]),
        errors=[
            FieldError(
                ("trips", v.trip_index) if v.trip_index is not None else ("plan",),
                v.detail,
                v.kind.value,
            )
            for v in violations
        ],
        extra={
            "violations": [
                {"kind": v.kind.value, "detail": v.detail, "trip": v.trip_index} for v in violations
            ]
        },
    )


async def _retire(
    session: AsyncSession, principal: Principal, delivery_id: uuid.UUID, version: int
) -> None:
    try:
        await transitions.cancel(
            session,
            delivery_id=delivery_id,
            actor=principal.actor,
            reason="replaced by a re-plan",
            kind="delivery.replaced",
            expected_version=version,
            from_states=REPLANNABLE_STATES,
        )
    except (DeliveryStateConflict, StaleVersion) as error:
        raise ReplacedDeliveryMoved(
            "a delivery this re-plan replaces moved on since the preview: re-plan again"
        ) from error


async def _create_deliveries(
    session: AsyncSession,
    principal: Principal,
    plan: DeliveryPlan,
    booking: Booking,
    offer: LoadOffer,
    order: SalesOrder,
    request: SplitRequest,
    trips: Sequence[Trip],
    terms: SplitTerms,
) -> list[OutboundDelivery]:
    cargo = cargo_terms(terms, booking.unit)
    fleet = {vehicle.id: vehicle for vehicle in request.fleet}
    last_no = await repository.take_numbers(session, seller_id=booking.seller_id, count=len(trips))
    first_no = last_no - len(trips) + 1
    moment = now()
    made = []
    for offset, trip in enumerate(trips):
        vehicle = fleet[trip.vehicle_id]
        delivery = OutboundDelivery(
            number=delivery_number(first_no + offset),
            order_id=order.id,
            booking_id=booking.id,
            plan_id=plan.id,
            seller_id=booking.seller_id,
            buyer_id=booking.buyer_id,
            carrier_id=booking.carrier_id,
            plant_operator_id=order.plant_operator_id,
            plant_site_id=order.origin_site_id,
            destination_site_id=order.destination_site_id,
            destination_address=order.destination_address,
            destination_lat=order.destination_lat,
            destination_lon=order.destination_lon,
            product=order.commodity,
            hazard_class=offer.hazard_class,
            un_number=offer.un_number,
            food_grade=offer.food_grade,
            quantity=trip_quantity(trip, cargo),
            unit=booking.unit,
            compartments=compartment_allocation(trip),
            vehicle_id=uuid.UUID(trip.vehicle_id),
            vehicle_plate=trip.plate,
            dispatcher_id=principal.membership_id,
            planned_day=trip.day,
            trip_no=trip.trip_no,
            trip_duration_s=trip_duration_s(vehicle.trips_per_day, terms.working_day_s),
            state=DeliveryState.PLANNED,
            created_at=moment,
            updated_at=moment,
        )
        session.add(delivery)
        made.append(delivery)
    await session.flush()
    for delivery in made:
        await record(
            session, delivery, "delivery.planned", {"plan_id": str(plan.id)}, actor=principal.actor
        )
    return made


def delivery_number(sequence: int) -> str:
    """A seller's delivery number people can read out: ``OD-000042``."""
    return f"OD-{sequence:06d}"


async def _record_split(
    session: AsyncSession,
    principal: Principal,
    plan: DeliveryPlan,
    booking: Booking,
    deliveries: Sequence[OutboundDelivery],
) -> None:
    audience: set[uuid.UUID] = set()
    by_day: defaultdict[str, int] = defaultdict(int)
    for delivery in deliveries:
        audience.update(parties(delivery))
        by_day[delivery.planned_day.isoformat()] += delivery.quantity
    await eventlog.append(
        session,
        subject=booking_subject(booking.id),
        kind="split.committed",
        payload={
            "booking_id": str(booking.id),
            "plan_id": str(plan.id),
            "kind": plan.kind,
            "unit": booking.unit,
            "quantity": plan.quantity,
            "total_cost_cents": plan.total_cost_cents,
            "deliveries": [
                {
                    "delivery_id": str(d.id),
                    "number": d.number,
                    "planned_day": d.planned_day.isoformat(),
                    "vehicle_plate": d.vehicle_plate,
                    "quantity": d.quantity,
                }
                for d in deliveries
            ],
            "quantity_by_day": dict(sorted(by_day.items())),
            "replaced": [entry["id"] for entry in plan.replaces],
        },
        audience=sorted(audience) or [booking.carrier_id],
        actor=principal.actor,
    )
