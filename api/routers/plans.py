"""Delivery plans: preview a split of a booking, edit it, commit it into deliveries, re-plan.

A preview's solve runs in the solver's worker processes between a read of the booking and
the write of the draft, so no database write lock waits on it: the dependency that solves
comes before the request's write session.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from dispatch.deliveries import plans
from dispatch.deliveries.context import SplitContext
from dispatch.deliveries.enums import PlanState
from dispatch.deliveries.schemas import (
    PlanCommit,
    PlanCommitted,
    PlanCreate,
    PlanDiscard,
    PlanEdit,
    PlanPublic,
    PlansPublic,
    ReplanCreate,
)
from dispatch.deliveries.views import delivery_public, plan_public
from dispatch.planning import Plan

router = APIRouter(prefix="/v1/plans", tags=["plans"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.DELIVERIES_WRITE))]


@dataclass(frozen=True)
class Solved:
    """A prepared split and the solver's plan for it."""

    context: SplitContext
    plan: Plan


async def _solve(runtime: RuntimeDep, context: SplitContext) -> Solved:
    assert runtime.solver is not None, "the app starts a solver in its lifespan"
    plan = await runtime.solver.solve(context.request, time_limit_s=context.time_limit_s)
    return Solved(context=context, plan=plan)


async def solved_split(body: PlanCreate, principal: Writer, runtime: RuntimeDep) -> Solved:
    """Read the booking and fleet, then solve the split off the event loop."""
    async with runtime.database.session() as session:
        context = await plans.prepare_split(session, principal=principal, data=body)
    return await _solve(runtime, context)


async def solved_replan(body: ReplanCreate, principal: Writer, runtime: RuntimeDep) -> Solved:
    """Read the booking, its deliveries and the fleet, then solve the re-plan."""
    async with runtime.database.session() as session:
        context = await plans.prepare_replan(session, principal=principal, data=body)
    return await _solve(runtime, context)


@router.post("", status_code=status.HTTP_201_CREATED)
async def preview_plan(
    principal: Writer,
    solved: Annotated[Solved, Depends(solved_split)],
    session: SessionDep,
) -> PlanPublic:
    """Preview a split of a booking's unplanned quantity into truckloads (a draft)."""
    draft = await plans.save_draft(
        session, principal=principal, context=solved.context, plan=solved.plan
    )
    return plan_public(draft)


@router.post("/replan", status_code=status.HTTP_201_CREATED)
async def replan(
    principal: Writer,
    solved: Annotated[Solved, Depends(solved_replan)],
    session: SessionDep,
) -> PlanPublic:
    """Re-split a booking's open deliveries after a breakdown or a cancellation (a draft)."""
    draft = await plans.save_draft(
        session, principal=principal, context=solved.context, plan=solved.plan
    )
    return plan_public(draft)


@router.get("")
async def list_plans(
    principal: Reader,
    session: SessionDep,
    booking_id: uuid.UUID,
    state: PlanState | None = None,
) -> PlansPublic:
    """A booking's plans, newest first (the carrier's)."""
    found = await plans.list_plans(session, principal=principal, booking_id=booking_id, state=state)
    return PlansPublic(data=[plan_public(p) for p in found], count=len(found))


@router.get("/{plan_id}")
async def get_plan(plan_id: uuid.UUID, principal: Reader, session: SessionDep) -> PlanPublic:
    """One of your plans with its trips."""
    return plan_public(await plans.get_plan(session, principal=principal, plan_id=plan_id))


@router.patch("/{plan_id}")
async def edit_plan(
    plan_id: uuid.UUID, body: PlanEdit, principal: Writer, session: SessionDep
) -> PlanPublic:
    """Move trips, change vehicles or quantities; refused with the violations if it breaks
    a rule."""
    return plan_public(
        await plans.edit_plan(session, principal=principal, plan_id=plan_id, data=body)
    )


@router.post("/{plan_id}/commit", status_code=status.HTTP_201_CREATED)
async def commit_plan(
    plan_id: uuid.UUID, body: PlanCommit, principal: Writer, session: SessionDep
) -> PlanCommitted:
    """Commit a draft: its trips become outbound deliveries, in one transaction."""
    plan, made = await plans.commit_plan(session, principal=principal, plan_id=plan_id, data=body)
    return PlanCommitted(plan=plan_public(plan), deliveries=[delivery_public(d) for d in made])


@router.post("/{plan_id}/discard")
async def discard_plan(
    plan_id: uuid.UUID, body: PlanDiscard, principal: Writer, session: SessionDep
) -> PlanPublic:
    """Drop a draft."""
    return plan_public(
        await plans.discard_plan(session, principal=principal, plan_id=plan_id, data=body)
    )
