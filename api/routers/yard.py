"""The yard: a plant operator sets up plants and docks and schedules days; carriers book
slots; the gate and yard board checks trucks in, calls them forward, weighs and samples;
KPIs per plant and day."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.routing import TransactionalRoute
from yard import appointments, board, kpis, plants, visits
from yard.schemas import (
    AppointmentPublic,
    BoardPublic,
    BookingRequest,
    CallPublic,
    DayPlanPublic,
    DockBlock,
    DockCreate,
    DockPublic,
    DocksPublic,
    GateCheckInPublic,
    GateScan,
    GrossRequest,
    KpisPublic,
    PlantYardPublic,
    PlantYardUpdate,
    RefuseRequest,
    SampleCreate,
    SamplePublic,
    ScheduleRequest,
    TareRequest,
    UnplannedArrival,
    VisitPublic,
    VisitRecordPublic,
    WeightTicketPublic,
)
from yard.views import (
    appointment_public,
    board_public,
    call_public,
    check_in_public,
    day_plan_public,
    dock_public,
    kpis_public,
    plant_yard_public,
    sample_public,
    ticket_public,
    visit_public,
    visit_record_public,
)

router = APIRouter(prefix="/v1/yard", tags=["yard"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.YARD_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.YARD_WRITE))]


@router.get("/plants/{site_id}")
async def get_plant_yard(
    site_id: uuid.UUID, principal: Reader, session: SessionDep
) -> PlantYardPublic:
    """Your plant's yard settings."""
    plants.require_operator(principal)
    found = await plants.own_plant(session, principal=principal, site_id=site_id)
    return plant_yard_public(found.yard)


@router.put("/plants/{site_id}")
async def put_plant_yard(
    site_id: uuid.UUID, body: PlantYardUpdate, principal: Writer, session: SessionDep
) -> PlantYardPublic:
    """Set up (or change) your plant's yard: gate fence, hours, slot grid, booking rules."""
    values = body.model_dump(exclude_unset=True, exclude={"version"})
    if "closed_days" in values:
        values["closed_days"] = [d.isoformat() for d in body.closed_days or []]
    for key in ("gate_fence", "opening_hours", "gate_code", "slot_min"):
        if key in values and values[key] is None:
            del values[key]
    found = await plants.put_settings(
        session, principal=principal, site_id=site_id, values=values, version=body.version
    )
    return plant_yard_public(found)


@router.get("/plants/{site_id}/docks")
async def list_docks(site_id: uuid.UUID, principal: Reader, session: SessionDep) -> DocksPublic:
    """Your plant's docks and what each is doing."""
    found = await plants.list_docks(session, principal=principal, site_id=site_id)
    return DocksPublic(data=[dock_public(d) for d in found], count=len(found))


@router.post("/plants/{site_id}/docks", status_code=status.HTTP_201_CREATED)
async def add_dock(
    site_id: uuid.UUID, body: DockCreate, principal: Writer, session: SessionDep
) -> DockPublic:
    """Add a dock to your plant."""
    made = await plants.add_dock(
        session, principal=principal, site_id=site_id, values=body.model_dump()
    )
    return dock_public(made)


@router.post("/plants/{site_id}/docks/{dock_id}/block")
async def block_dock(
    site_id: uuid.UUID, dock_id: uuid.UUID, body: DockBlock, principal: Writer, session: SessionDep
) -> DockPublic:
    """Take a free dock out of service, or put a blocked one back."""
    found = await plants.set_dock_blocked(
        session,
        principal=principal,
        site_id=site_id,
        dock_id=dock_id,
        blocked=body.blocked,
        reason=body.reason,
    )
    return dock_public(found)


@router.post("/plants/{site_id}/schedule")
async def schedule_day(
    site_id: uuid.UUID,
    body: ScheduleRequest,
    principal: Writer,
    session: SessionDep,
) -> DayPlanPublic:
    """Give every delivery planned at your plant for a day a dock and a start (CP-SAT),
    keeping the slots already given where they still fit."""
    plan = await appointments.schedule_day(
        session,
        principal=principal,
        site_id=site_id,
        day=body.day,
    )
    return day_plan_public(plan)


@router.post("/appointments")
async def book_slot(
    body: BookingRequest, principal: Writer, session: SessionDep
) -> AppointmentPublic:
    """Book (or move) a slot for your carrier's delivery within the plant's rules."""
    found = await appointments.book(
        session, principal=principal, delivery_id=body.delivery_id, starts_at=body.starts_at
    )
    return appointment_public(found)


@router.get("/appointments/{delivery_id}")
async def get_appointment(
    delivery_id: uuid.UUID, principal: Reader, session: SessionDep
) -> AppointmentPublic:
    """A delivery's appointment: for its carrier (a driver: their own) or its plant."""
    found = await appointments.my_appointment(session, principal=principal, delivery_id=delivery_id)
    return appointment_public(found)


@router.get("/plants/{site_id}/board")
async def get_board(
    site_id: uuid.UUID, day: date, principal: Reader, session: SessionDep
) -> BoardPublic:
    """Your plant's arrivals of a day by state: expected, en route, arrived, waiting, called,
    at dock, loaded, left, refused."""
    found = await board.board(session, principal=principal, site_id=site_id, day=day)
    return board_public(found)


@router.post("/plants/{site_id}/check-in")
async def gate_check_in(
    site_id: uuid.UUID, body: GateScan, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> GateCheckInPublic:
    """Scan a truck's pass at your gate: a valid pass is checked in and linked to the
    delivery's visit and appointment; a refused one is answered with its reason."""
    found = await visits.check_in_at_gate(
        session,
        principal=principal,
        site_id=site_id,
        token=body.token,
        plate_seen=body.plate_seen,
        policy=runtime.settings.passes,
    )
    return check_in_public(found)


@router.post("/plants/{site_id}/visits", status_code=status.HTTP_201_CREATED)
async def unplanned_arrival(
    site_id: uuid.UUID, body: UnplannedArrival, principal: Writer, session: SessionDep
) -> VisitPublic:
    """Record a truck that came with no delivery here; it waits for a gap."""
    made = await visits.register_unplanned(
        session, principal=principal, site_id=site_id, **body.model_dump()
    )
    return visit_public(made)


@router.post("/plants/{site_id}/docks/{dock_id}/call")
async def call_next(
    site_id: uuid.UUID, dock_id: uuid.UUID, principal: Writer, session: SessionDep
) -> CallPublic:
    """A free dock calls the next truck (on-time first, others fill gaps); the driver's
    phone is told. ``visit`` is null when the dock waits for a truck on its way."""
    found = await visits.call_next(session, principal=principal, site_id=site_id, dock_id=dock_id)
    return call_public(found)


@router.post("/visits/{visit_id}/at-dock")
async def at_dock(visit_id: uuid.UUID, principal: Writer, session: SessionDep) -> VisitPublic:
    """The called truck reached its dock."""
    return visit_public(await visits.reach_dock(session, principal=principal, visit_id=visit_id))


@router.post("/visits/{visit_id}/refuse")
async def refuse(
    visit_id: uuid.UUID, body: RefuseRequest, principal: Writer, session: SessionDep
) -> VisitPublic:
    """Refuse to load a truck, with the reason."""
    found = await visits.refuse(session, principal=principal, visit_id=visit_id, reason=body.reason)
    return visit_public(found)


@router.post("/visits/{visit_id}/tare", status_code=status.HTTP_201_CREATED)
async def weigh_tare(
    visit_id: uuid.UUID, body: TareRequest, principal: Writer, session: SessionDep
) -> WeightTicketPublic:
    """Weigh the empty truck on its way in."""
    found = await visits.weigh_tare(
        session, principal=principal, visit_id=visit_id, weight_kg=body.weight_kg
    )
    return ticket_public(found)


@router.post("/visits/{visit_id}/gross")
async def weigh_gross(
    visit_id: uuid.UUID, body: GrossRequest, principal: Writer, session: SessionDep
) -> WeightTicketPublic:
    """Weigh the loaded truck on its way out: net weight, tolerance against the plan, the
    pass used up with the loaded quantity and the delivery loaded."""
    found = await visits.weigh_gross(
        session,
        principal=principal,
        visit_id=visit_id,
        weight_kg=body.weight_kg,
        seal_numbers=body.seal_numbers,
        loaded_quantity=body.loaded_quantity,
        tolerance_pct=body.tolerance_pct,
    )
    return ticket_public(found)


@router.post("/visits/{visit_id}/leave")
async def leave(visit_id: uuid.UUID, principal: Writer, session: SessionDep) -> VisitPublic:
    """The truck left the plant."""
    return visit_public(await visits.leave(session, principal=principal, visit_id=visit_id))


@router.post("/visits/{visit_id}/samples", status_code=status.HTTP_201_CREATED)
async def add_sample(
    visit_id: uuid.UUID, body: SampleCreate, principal: Writer, session: SessionDep
) -> SamplePublic:
    """Record a sample drawn from the load and where it is kept."""
    made = await visits.add_sample(
        session,
        principal=principal,
        visit_id=visit_id,
        sample_code=body.sample_code,
        retention_location=body.retention_location,
        lab=body.lab,
    )
    return sample_public(made)


@router.get("/visits/{visit_id}")
async def get_visit(visit_id: uuid.UUID, principal: Reader, session: SessionDep) -> VisitPublic:
    """A visit at your plant."""
    _, found = await visits.own_visit(session, principal=principal, visit_id=visit_id)
    return visit_public(found)


@router.get("/visits/{visit_id}/record")
async def get_visit_record(
    visit_id: uuid.UUID, principal: Reader, session: SessionDep
) -> VisitRecordPublic:
    """A visit at your plant with its weight ticket and retained samples."""
    found = await visits.visit_record(session, principal=principal, visit_id=visit_id)
    return visit_record_public(found)


@router.get("/plants/{site_id}/kpis")
async def get_kpis(
    site_id: uuid.UUID, day: date, principal: Reader, session: SessionDep
) -> KpisPublic:
    """Your plant's day in figures: wait, turn time, dock utilization, on-time rate,
    no-shows."""
    found = await kpis.plant_kpis(session, principal=principal, site_id=site_id, day=day)
    return kpis_public(found)


@router.get(
    "/plants/{site_id}/kpis.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The KPIs as CSV"}},
)
async def get_kpis_csv(
    site_id: uuid.UUID, day: date, principal: Reader, session: SessionDep
) -> Response:
    """Your plant's day in figures as CSV."""
    found = await kpis.plant_kpis(session, principal=principal, site_id=site_id, day=day)
    return Response(
        kpis.kpis_csv(found),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="yard-kpis-{day.isoformat()}.csv"'},
    )
