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
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError
from dispatch.deliveries import issuing, repository
from dispatch.deliveries.codec import decode_request, decode_trip, encode_request, encode_trip
from dispatch.deliveries.context import SplitContext, carrier_booking, last_terms, split_context
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
from dispatch.deliveries.enums import REPLANNABLE_STATES, PlanKind, PlanState
from dispatch.deliveries.exceptions import (
    BookingOvercommitted,
    NoSplit,
    PlanInvalid,
    PlanNotDraft,
    PlanNotFound,
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
)
from dispatch.deliveries.solver import Solver
from dispatch.deliveries.splitting import IN_SERVICE
from dispatch.guards import check_version, require_dispatcher
from dispatch.market.models import Booking
from dispatch.planning import (
    CargoKind,
    Plan,
    PlanStatus,
    SplitRequest,
    Trip,
    Violation,
    validate_plan,
)

_EDITED = "edited by hand after: "


async def prepare_split(
    session: AsyncSession, *, principal: Principal, data: PlanCreate
) -> SplitContext:
    """Read what a split of the booking's unplanned quantity needs."""
    booking, offer, order = await carrier_booking(session, principal, data.booking_id)
    terms = SplitTerms.model_validate(data.model_dump(exclude={"booking_id"}))
    return await split_context(session, booking, offer, order, terms=terms, kind=PlanKind.SPLIT)


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
    terms = data.terms or (await last_terms(session, booking.id)).model_copy(
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
    return await split_context(
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
    current = await split_context(
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
        await issuing.retire_replaced(
            session, principal, uuid.UUID(entry["id"]), int(entry["version"])
        )
    await repository.ensure_ledger(session, booking)
    if not await repository.plan_quantity(session, booking_id=booking.id, quantity=draft.quantity):
        await _check_room(session, booking, draft.quantity)
        raise BookingOvercommitted("another plan was committed first")
    deliveries = await issuing.create_deliveries(
        session, principal, committed, booking, offer, order, request, trips, terms
    )
    await issuing.record_split(session, principal, committed, booking, deliveries)
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
