"""The yard's tables: a plant's yard settings, its docks, appointments, visits, weight
tickets and samples.

A plant is a ``Site`` of kind plant; its yard settings hang off it one to one. Every row
carries the plant operator's organization, so a gate view filters on one column.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field

from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import JSONColumn, UTCDateTime, enum_type
from yard.enums import AppointmentState, CheckInSource, DockState, VisitState


def _maybe_time() -> Any:
    """A UTC timestamp column that stays empty until something happens."""
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


class PlantYard(Keyed, Timestamped, Versioned, table=True):
    """A plant's yard settings: gate fence, hours, slot grid and booking rules.

    ``opening_hours`` has seven entries, Monday first, each ``[opens_min, closes_min]`` in
    minutes after the plant's local midnight, or null for a closed weekday. ``closed_days``
    are ISO dates. ``gate_fence`` is a GeoJSON Polygon around the gate area.
    """

    __tablename__ = "yard_plants"

    site_id: uuid.UUID = Field(foreign_key="sites.id", unique=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    gate_fence: dict[str, Any] = Field(default_factory=dict, sa_type=JSONColumn)
    opening_hours: list[list[int] | None] = Field(default_factory=list, sa_type=JSONColumn)
    closed_days: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    slot_min: int = 15
    late_tolerance_min: int = 15
    # a called truck must reach its dock within this many minutes
    call_respond_min: int = 10
    booking_lead_min: int = 60
    # an appointment starting within this many minutes can no longer be moved by a carrier
    freeze_min: int = 120
    carrier_daily_limit: int | None = None
    gate_code: str = Field(max_length=32)
    gate_instructions: str | None = Field(default=None, max_length=2000)
    updated_at: datetime = utc_field()


class Dock(Keyed, Timestamped, Versioned, table=True):
    """A loading dock or bay of a plant: what it serves, how fast, and what it does now."""

    __tablename__ = "yard_docks"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    site_id: uuid.UUID = Field(foreign_key="sites.id", index=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    name: str = Field(max_length=80)
    products: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    bodies: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    hazardous: bool = False
    loading_rate_kg_per_min: float | None = None
    fixed_duration_min: int | None = None
    handling_min: int = 0
    changeover_min: int = 0
    state: DockState = Field(default=DockState.FREE, sa_type=enum_type(DockState))
    visit_id: uuid.UUID | None = Field(default=None)
    last_product: str | None = Field(default=None, max_length=200)
    updated_at: datetime = utc_field()


class Appointment(Keyed, Timestamped, Versioned, table=True):
    """A delivery's slot at a dock. ``history`` lists every earlier slot and why it moved."""

    __tablename__ = "yard_appointments"
    __table_args__ = (
        Index("ix_yard_appointments_site_starts", "site_id", "starts_at"),
        Index("ix_yard_appointments_carrier_starts", "carrier_id", "starts_at"),
    )

    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id", unique=True)
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id")
    dock_id: uuid.UUID = Field(foreign_key="yard_docks.id", index=True)
    starts_at: datetime = utc_field()
    ends_at: datetime = utc_field()
    state: AppointmentState = Field(
        default=AppointmentState.BOOKED, sa_type=enum_type(AppointmentState)
    )
    eta_at: datetime | None = _maybe_time()
    on_the_way_at: datetime | None = _maybe_time()
    no_shows: int = 0
    history: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONColumn)
    updated_at: datetime = utc_field()


class Visit(Keyed, Timestamped, Versioned, table=True):
    """A truck at the plant, from check-in to departure; planned (a delivery) or not."""

    __tablename__ = "yard_visits"
    __table_args__ = (Index("ix_yard_visits_site_arrived", "site_id", "arrived_at"),)

    site_id: uuid.UUID = Field(foreign_key="sites.id")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    # one visit per delivery: the unique key makes a second arrival a no-op
    delivery_id: uuid.UUID | None = Field(
        default=None, foreign_key="outbound_deliveries.id", unique=True
    )
    appointment_id: uuid.UUID | None = Field(default=None, foreign_key="yard_appointments.id")
    carrier_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    driver_member_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    plate: str = Field(max_length=20)
    product: str = Field(max_length=200)
    body: str = Field(max_length=32)
    quantity_kg: int = Field(sa_type=BigInteger)
    hazardous: bool = False
    state: VisitState = Field(default=VisitState.WAITING, sa_type=enum_type(VisitState))
    source: CheckInSource = Field(sa_type=enum_type(CheckInSource))
    standing: str = Field(max_length=16)
    pass_id: uuid.UUID | None = None
    arrived_at: datetime = utc_field()
    pass_verified_at: datetime | None = _maybe_time()
    called_at: datetime | None = _maybe_time()
    respond_by: datetime | None = _maybe_time()
    missed_calls: int = 0
    dock_id: uuid.UUID | None = Field(default=None, foreign_key="yard_docks.id")
    at_dock_at: datetime | None = _maybe_time()
    loaded_at: datetime | None = _maybe_time()
    left_at: datetime | None = _maybe_time()
    refused_at: datetime | None = _maybe_time()
    refuse_reason: str | None = Field(default=None, max_length=500)
    updated_at: datetime = utc_field()


class WeightTicket(Keyed, Timestamped, Versioned, table=True):
    """The weighbridge's record of a visit: tare in, gross out, net and its tolerance."""

    __tablename__ = "yard_weight_tickets"

    visit_id: uuid.UUID = Field(foreign_key="yard_visits.id", unique=True)
    delivery_id: uuid.UUID | None = Field(default=None, foreign_key="outbound_deliveries.id")
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    number: str = Field(max_length=40)
    tare_kg: int = Field(sa_type=BigInteger)
    tare_at: datetime = utc_field()
    gross_kg: int | None = Field(default=None, sa_type=BigInteger)
    gross_at: datetime | None = _maybe_time()
    net_kg: int | None = Field(default=None, sa_type=BigInteger)
    planned_kg: int | None = Field(default=None, sa_type=BigInteger)
    tolerance_pct: float = 0.5
    out_of_tolerance: bool = False
    seal_numbers: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    updated_at: datetime = utc_field()


class Sample(Keyed, Timestamped, table=True):
    """A sample drawn from a load and kept for later checks, possibly by a third-party lab."""

    __tablename__ = "yard_samples"
    __table_args__ = (UniqueConstraint("site_id", "sample_code"),)

    visit_id: uuid.UUID = Field(foreign_key="yard_visits.id", index=True)
    delivery_id: uuid.UUID | None = Field(default=None, foreign_key="outbound_deliveries.id")
    site_id: uuid.UUID = Field(foreign_key="sites.id")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    sample_code: str = Field(max_length=60)
    retention_location: str = Field(max_length=200)
    lab: str | None = Field(default=None, max_length=200)
    taken_at: datetime = utc_field()
