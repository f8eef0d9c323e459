"""API shapes of the yard: plant settings, docks, appointments, visits, weight tickets,
samples, the board, the driver's slot and queue place, and the KPIs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field

from accounts.schemas import Strict
from dispatch.authorizations.schemas import GateVerdictPublic
from yard.enums import AppointmentState, BoardColumn, CheckInSource, DockState, VisitState

Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Weight = Annotated[int, Field(gt=0, le=200_000)]
Labels = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=50)]


class PlantYardUpdate(Strict):
    """A plant's yard settings; a first setup needs ``gate_code`` and ``opening_hours``.

    ``opening_hours``: seven entries, Monday first, ``[opens_min, closes_min]`` after local
    midnight or null when closed. ``gate_fence``: a GeoJSON Polygon (lon, lat) around the gate
    area. ``version`` guards an update against a stale read.
    """

    gate_fence: dict[str, Any] | None = None
    opening_hours: (
        Annotated[list[list[Minutes] | None], Field(min_length=7, max_length=7)] | None
    ) = None
    closed_days: Annotated[list[date], Field(max_length=366)] | None = None
    slot_min: Annotated[int, Field(ge=5, le=240)] | None = None
    late_tolerance_min: Annotated[int, Field(ge=0, le=240)] | None = None
    call_respond_min: Annotated[int, Field(ge=1, le=120)] | None = None
    booking_lead_min: Annotated[int, Field(ge=0, le=14 * 24 * 60)] | None = None
    freeze_min: Annotated[int, Field(ge=0, le=7 * 24 * 60)] | None = None
    carrier_daily_limit: Annotated[int, Field(ge=1, le=10_000)] | None = None
    gate_code: Annotated[str, Field(min_length=4, max_length=32)] | None = None
    gate_instructions: Annotated[str, Field(max_length=2000)] | None = None
    version: int | None = None


class PlantYardPublic(BaseModel):
    """A plant's yard settings as its operator sees them."""

    id: uuid.UUID
    version: int
    site_id: uuid.UUID
    gate_fence: dict[str, Any]
    opening_hours: list[list[int] | None]
    closed_days: list[str]
    slot_min: int
    late_tolerance_min: int
    call_respond_min: int
    booking_lead_min: int
    freeze_min: int
    carrier_daily_limit: int | None
    gate_code: str
    gate_instructions: str | None


class DockCreate(Strict):
    """A dock: what it loads (products, vehicle bodies, hazardous goods) and how fast (a
    loading rate plus handling minutes, or a fixed duration), and its product changeover."""

    name: Annotated[str, Field(min_length=1, max_length=80)]
    products: Labels
    bodies: Labels
    hazardous: bool = False
    loading_rate_kg_per_min: Annotated[float, Field(gt=0, le=100_000)] | None = None
    fixed_duration_min: Annotated[int, Field(gt=0, le=24 * 60)] | None = None
    handling_min: Annotated[int, Field(ge=0, le=240)] = 0
    changeover_min: Annotated[int, Field(ge=0, le=24 * 60)] = 0


class DockBlock(Strict):
    """Take a dock out of service (``blocked``) or put it back."""

    blocked: bool
    reason: Reason | None = None


class DockPublic(BaseModel):
    """A dock and what it is doing."""

    id: uuid.UUID
    version: int
    site_id: uuid.UUID
    name: str
    products: list[str]
    bodies: list[str]
    hazardous: bool
    loading_rate_kg_per_min: float | None
    fixed_duration_min: int | None
    handling_min: int
    changeover_min: int
    state: DockState
    visit_id: uuid.UUID | None


class DocksPublic(BaseModel):
    """A plant's docks."""

    data: list[DockPublic]
    count: int


class ScheduleRequest(Strict):
    """Schedule a plant's day."""

    day: date


class BookingRequest(Strict):
    """Book (or move) a delivery's slot: its start on the plant's slot grid."""

    delivery_id: uuid.UUID
    starts_at: AwareDatetime


class RescheduleRequest(Strict):
    """Move my slot to another start."""

    starts_at: AwareDatetime


class OnMyWay(Strict):
    """I set off for the plant and expect to arrive at ``eta_at``."""

    eta_at: AwareDatetime


class GateCodeCheckIn(Strict):
    """The code posted at the plant's gate, as scanned or typed."""

    code: Annotated[str, Field(min_length=1, max_length=32)]


class GateScan(Strict):
    """The clerk scanned the truck's pass and typed the plate seen."""

    token: Annotated[str, Field(min_length=1, max_length=4000)]
    plate_seen: Annotated[str, Field(min_length=1, max_length=20)]


class UnplannedArrival(Strict):
    """A truck with no delivery here: what it wants loaded."""

    plate: Annotated[str, Field(min_length=1, max_length=20)]
    product: Name
    body: Annotated[str, Field(min_length=1, max_length=32)]
    quantity_kg: Weight
    hazardous: bool = False


class RefuseRequest(Strict):
    """Why the truck will not be loaded."""

    reason: Reason


class TareRequest(Strict):
    """The empty truck's weight on the way in."""

    weight_kg: Weight


class GrossRequest(Strict):
    """The loaded truck's weight on the way out, its seals, and (for deliveries not counted
    in kg) the loaded quantity in the delivery's unit."""

    weight_kg: Weight
    seal_numbers: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=40)]], Field(max_length=20)
    ] = []
    loaded_quantity: Annotated[int, Field(gt=0, le=10**12)] | None = None
    tolerance_pct: Annotated[float, Field(gt=0, le=20)] = 0.5


class SampleCreate(Strict):
    """A sample drawn from the load, where it is kept and the lab that checks it."""

    sample_code: Annotated[str, Field(min_length=1, max_length=60)]
    retention_location: Name
    lab: Name | None = None


class AppointmentPublic(BaseModel):
    """A delivery's dock appointment, with the slots it had before."""

    id: uuid.UUID
    version: int
    delivery_id: uuid.UUID
    site_id: uuid.UUID
    carrier_id: uuid.UUID
    dock_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    state: AppointmentState
    eta_at: datetime | None
    no_shows: int
    history: list[dict[str, Any]]


class DayPlanPublic(BaseModel):
    """A scheduled day: the appointments given or moved, and what did not fit."""

    site_id: uuid.UUID
    day: date
    appointments: list[AppointmentPublic]
    unscheduled: list[uuid.UUID]
    objective: int
    status: str
    solve_s: float


class VisitPublic(BaseModel):
    """A truck at the plant."""

    id: uuid.UUID
    version: int
    site_id: uuid.UUID
    delivery_id: uuid.UUID | None
    appointment_id: uuid.UUID | None
    plate: str
    product: str
    body: str
    quantity_kg: int
    state: VisitState
    source: CheckInSource
    standing: str
    pass_id: uuid.UUID | None
    arrived_at: datetime
    pass_verified_at: datetime | None
    called_at: datetime | None
    respond_by: datetime | None
    missed_calls: int
    dock_id: uuid.UUID | None
    at_dock_at: datetime | None
    loaded_at: datetime | None
    left_at: datetime | None
    refuse_reason: str | None


class GateCheckInPublic(BaseModel):
    """The pass verdict and, for a valid pass, the truck's visit."""

    verdict: GateVerdictPublic
    visit: VisitPublic | None


class CallPublic(BaseModel):
    """A dock's call: the truck called, or none (the dock waits for a truck on its way)."""

    dock: DockPublic
    visit: VisitPublic | None


class WeightTicketPublic(BaseModel):
    """A weight ticket."""

    id: uuid.UUID
    version: int
    number: str
    visit_id: uuid.UUID
    delivery_id: uuid.UUID | None
    tare_kg: int
    gross_kg: int | None
    net_kg: int | None
    planned_kg: int | None
    tolerance_pct: float
    out_of_tolerance: bool
    seal_numbers: list[str]
    tare_at: datetime
    gross_at: datetime | None


class SamplePublic(BaseModel):
    """A retained sample."""

    id: uuid.UUID
    visit_id: uuid.UUID
    delivery_id: uuid.UUID | None
    sample_code: str
    retention_location: str
    lab: str | None
    taken_at: datetime


class BoardPublic(BaseModel):
    """A plant's day on the gate and yard board."""

    site_id: uuid.UUID
    day: date
    columns: dict[BoardColumn, list[dict[str, Any]]]
    docks: list[DockPublic]


class DriverSlotPublic(BaseModel):
    """My pickup slot: when, which dock, how to get in, and the pass to show."""

    delivery_id: uuid.UUID
    delivery_number: str
    appointment_id: uuid.UUID
    plant_site_id: uuid.UUID
    plant_name: str
    plant_address: str | None
    starts_at: datetime
    ends_at: datetime
    dock: str | None
    state: AppointmentState
    eta_at: datetime | None
    gate_instructions: str | None
    pass_id: uuid.UUID | None
    visit_id: uuid.UUID | None
    visit_state: VisitState | None


class DriverSlotsPublic(BaseModel):
    """My open pickup slots, soonest first."""

    data: list[DriverSlotPublic]
    count: int


class QueuePlacePublic(BaseModel):
    """My place in the plant's queue: position and expected call while waiting, or the dock
    and deadline once called."""

    visit_id: uuid.UUID
    state: VisitState
    position: int | None
    expected_call_at: datetime | None
    dock: str | None
    respond_by: datetime | None


class KpisPublic(BaseModel):
    """A plant's day in figures."""

    site_id: str
    day: str
    trucks: int
    called: int
    left: int
    mean_wait_min: float | None
    median_wait_min: float | None
    max_wait_min: float | None
    mean_turn_min: float | None
    dock_utilization: float | None
    on_time_rate: float | None
    appointments: int
    no_shows: int


class VisitRecordPublic(BaseModel):
    """A visit with its weight ticket and samples."""

    visit: VisitPublic
    ticket: WeightTicketPublic | None
    samples: list[SamplePublic]
