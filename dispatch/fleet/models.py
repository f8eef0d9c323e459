"""Carriers' profiles, qualifications, vehicles and drivers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import JSONColumn, enum_type
from dispatch.fleet.enums import BodyType, QualificationKind, VehicleStatus


class CarrierProfile(Keyed, Timestamped, Versioned, table=True):
    """How shippers reach a carrier and where it works."""

    __tablename__ = "carrier_profiles"

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", unique=True)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=32)
    contact_email: str | None = Field(default=None, max_length=254)
    about: str | None = Field(default=None, max_length=2000)
    service_countries: list[str] = Field(default_factory=list, sa_type=JSONColumn)


class QualificationBase(SQLModel):
    """What a qualification document says."""

    kind: QualificationKind = Field(sa_type=enum_type(QualificationKind))
    document_ref: str = Field(max_length=100)
    issued_by: str | None = Field(default=None, max_length=200)
    # ADR classes a hazardous-goods permit covers ("3", "8", "2.1" ...); empty otherwise.
    hazard_classes: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    valid_from: datetime = utc_field()
    expires_at: datetime = utc_field()


class Qualification(QualificationBase, Keyed, Timestamped, Versioned, table=True):
    """A permit, certificate, licence or insurance of a carrier, valid for a period."""

    __tablename__ = "qualifications"
    __table_args__ = (Index("ix_qualifications_org_expires", "organization_id", "expires_at"),)

    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    revoked_at: datetime | None = utc_field(nullable=True)


class DriverBase(SQLModel):
    """What a carrier records about a driver."""

    licence_class: str = Field(max_length=16)
    licence_expires_at: datetime | None = utc_field(nullable=True)
    hazmat_training_expires_at: datetime | None = utc_field(nullable=True)
    phone: str | None = Field(default=None, max_length=32)


class Driver(DriverBase, Keyed, Timestamped, Versioned, table=True):
    """A member with the driver role, with licence and training the dispatcher plans by."""

    __tablename__ = "drivers"

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    membership_id: uuid.UUID = Field(foreign_key="memberships.id", unique=True)
    active: bool = True


class VehicleBase(SQLModel):
    """What a vehicle is and what it can carry."""

    plate: str = Field(max_length=20)
    body_type: BodyType = Field(sa_type=enum_type(BodyType))
    payload_kg: int = Field(gt=0)
    volume_l: int | None = Field(default=None, gt=0)
    pallet_places: int | None = Field(default=None, ge=0)
    # A tanker's compartments, each its capacity in litres, front to back.
    compartments_l: list[int] = Field(default_factory=list, sa_type=JSONColumn)
    # ADR classes the vehicle is equipped and approved for.
    hazard_classes: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    food_grade: bool = False
    home_site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id")
    status: VehicleStatus = Field(default=VehicleStatus.AVAILABLE, sa_type=enum_type(VehicleStatus))


class Vehicle(VehicleBase, Keyed, Timestamped, Versioned, table=True):
    """A truck of a carrier's fleet and the driver paired with it."""

    __tablename__ = "vehicles"
    __table_args__ = (UniqueConstraint("organization_id", "plate_key"),)

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    # The plate folded (upper case, no spaces or dashes) so "AB-12 CD" and "ab12cd" collide.
    plate_key: str = Field(max_length=20)
    driver_id: uuid.UUID | None = Field(default=None, foreign_key="drivers.id", unique=True)
