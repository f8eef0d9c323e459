"""Stored yard rows as the API shows them."""

from __future__ import annotations

from dataclasses import asdict

from dispatch.authorizations.views import verdict_public
from yard.appointments import DayPlan
from yard.board import Board, DriverSlot
from yard.kpis import DayKpis
from yard.models import Appointment, Dock, PlantYard, Sample, Visit, WeightTicket
from yard.schemas import (
    AppointmentPublic,
    BoardPublic,
    CallPublic,
    DayPlanPublic,
    DockPublic,
    DriverSlotPublic,
    GateCheckInPublic,
    KpisPublic,
    PlantYardPublic,
    QueuePlacePublic,
    SamplePublic,
    VisitPublic,
    VisitRecordPublic,
    WeightTicketPublic,
)
from yard.visits import CallOutcome, GateCheckIn, QueuePlace, VisitRecord


def plant_yard_public(found: PlantYard) -> PlantYardPublic:
    """A plant's yard settings."""
    return PlantYardPublic.model_validate(found, from_attributes=True)


def dock_public(found: Dock) -> DockPublic:
    """A dock."""
    return DockPublic.model_validate(found, from_attributes=True)


def appointment_public(found: Appointment) -> AppointmentPublic:
    """An appointment."""
    return AppointmentPublic.model_validate(found, from_attributes=True)


def visit_public(found: Visit) -> VisitPublic:
    """A visit."""
    return VisitPublic.model_validate(found, from_attributes=True)


def ticket_public(found: WeightTicket) -> WeightTicketPublic:
    """A weight ticket."""
    return WeightTicketPublic.model_validate(found, from_attributes=True)


def sample_public(found: Sample) -> SamplePublic:
    """A sample."""
    return SamplePublic.model_validate(found, from_attributes=True)


def day_plan_public(plan: DayPlan) -> DayPlanPublic:
    """A scheduled day."""
    return DayPlanPublic(
        site_id=plan.site_id,
        day=plan.day,
        appointments=[appointment_public(a) for a in plan.appointments],
        unscheduled=list(plan.unscheduled),
        objective=plan.objective,
        status=plan.status.value,
        solve_s=round(plan.solve_s, 3),
    )


def check_in_public(found: GateCheckIn) -> GateCheckInPublic:
    """A gate check-in."""
    return GateCheckInPublic(
        verdict=verdict_public(found.verdict),
        visit=None if found.visit is None else visit_public(found.visit),
    )


def call_public(found: CallOutcome) -> CallPublic:
    """A dock's call."""
    return CallPublic(
        dock=dock_public(found.dock),
        visit=None if found.visit is None else visit_public(found.visit),
    )


def board_public(found: Board) -> BoardPublic:
    """The board: appointments not arrived and visits, by column."""
    columns = {
        "expected": [appointment_public(a).model_dump(mode="json") for a in found.expected],
        "en_route": [appointment_public(a).model_dump(mode="json") for a in found.en_route],
    }
    for column, visits in found.visits.items():
        columns[column.value] = [visit_public(v).model_dump(mode="json") for v in visits]
    return BoardPublic.model_validate(
        {
            "site_id": found.site_id,
            "day": found.day,
            "columns": columns,
            "docks": [dock_public(d) for d in found.docks],
        }
    )


def driver_slot_public(found: DriverSlot) -> DriverSlotPublic:
    """A driver's slot."""
    instructions = [
        text
        for text in (
            found.plant.instructions,
            None if found.yard is None else found.yard.gate_instructions,
        )
        if text
    ]
    return DriverSlotPublic(
        delivery_id=found.delivery.id,
        delivery_number=found.delivery.number,
        appointment_id=found.appointment.id,
        plant_site_id=found.plant.id,
        plant_name=found.plant.name,
        plant_address=found.plant.address,
        starts_at=found.appointment.starts_at,
        ends_at=found.appointment.ends_at,
        dock=None if found.dock is None else found.dock.name,
        state=found.appointment.state,
        eta_at=found.appointment.eta_at,
        gate_instructions="\n".join(instructions) or None,
        pass_id=found.pass_id,
        visit_id=None if found.visit is None else found.visit.id,
        visit_state=None if found.visit is None else found.visit.state,
    )


def queue_place_public(found: QueuePlace) -> QueuePlacePublic:
    """A driver's queue place."""
    return QueuePlacePublic(
        visit_id=found.visit.id,
        state=found.visit.state,
        position=found.position,
        expected_call_at=found.expected_call_at,
        dock=None if found.dock is None else found.dock.name,
        respond_by=found.visit.respond_by,
    )


def kpis_public(found: DayKpis) -> KpisPublic:
    """A plant's KPIs."""
    return KpisPublic(**asdict(found))


def visit_record_public(found: VisitRecord) -> VisitRecordPublic:
    """A visit with its ticket and samples."""
    return VisitRecordPublic(
        visit=visit_public(found.visit),
        ticket=None if found.ticket is None else ticket_public(found.ticket),
        samples=[sample_public(s) for s in found.samples],
    )
