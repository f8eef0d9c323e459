"""API shapes of carrier profiles, qualifications, vehicles and drivers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from accounts.schemas import Phone, Strict
from dispatch.fleet.enums import BodyType, QualificationKind, VehicleStatus
from dispatch.fleet.models import CarrierProfile, Driver, Qualification, Vehicle

HazardClass = Annotated[str, Field(pattern=r"^[1-9](\.[1-6])?[A-Z]?$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]


class ProfileUpdate(Strict):
    """Set the carrier's contact and service area; ``version`` is 0 for the first write."""

    version: int
    contact_name: Annotated[str, Field(max_length=200)] | None = None
    contact_phone: Phone | None = None
    contact_email: Annotated[str, Field(max_length=254)] | None = None
    about: Annotated[str, Field(max_length=2000)] | None = None
    service_countries: Annotated[list[Country], Field(max_length=60)] | None = None


class ProfilePublic(BaseModel):
    """A carrier's profile."""

    organization_id: uuid.UUID
    version: int
    contact_name: str | None
    contact_phone: str | None
    contact_email: str | None
    about: str | None
    service_countries: list[str]


class QualificationCreate(Strict):
    """A permit, certificate, licence or insurance, with its document reference and expiry."""

    kind: QualificationKind
    document_ref: Annotated[str, Field(min_length=1, max_length=100)]
    issued_by: Annotated[str, Field(max_length=200)] | None = None
    hazard_classes: Annotated[list[HazardClass], Field(max_length=20)] = []
    valid_from: AwareDatetime
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> QualificationCreate:
        if self.expires_at <= self.valid_from:
            raise ValueError("expires_at must be after valid_from")
        is_permit = self.kind == QualificationKind.HAZMAT_PERMIT
        if is_permit != bool(self.hazard_classes):
            raise ValueError("a hazmat permit names its ADR classes; other documents none")
        return self


class QualificationPublic(BaseModel):
    """A qualification and whether it is in force now."""

    id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    kind: QualificationKind
    document_ref: str
    issued_by: str | None
    hazard_classes: list[str]
    valid_from: datetime
    expires_at: datetime
    revoked_at: datetime | None
    valid: bool


class QualificationsPublic(BaseModel):
    """A list of qualifications."""

    data: list[QualificationPublic]
    count: int


class VehicleCreate(Strict):
    """A vehicle of your fleet; capacities in kg and litres."""

    plate: Annotated[str, Field(min_length=2, max_length=20)]
    body_type: BodyType
    payload_kg: Annotated[int, Field(gt=0, le=100_000)]
    volume_l: Annotated[int, Field(gt=0, le=200_000)] | None = None
    pallet_places: Annotated[int, Field(ge=0, le=100)] | None = None
    compartments_l: Annotated[list[Annotated[int, Field(gt=0)]], Field(max_length=12)] = []
    hazard_classes: Annotated[list[HazardClass], Field(max_length=20)] = []
    food_grade: bool = False
    home_site_id: uuid.UUID | None = None
    status: VehicleStatus = VehicleStatus.AVAILABLE

    @model_validator(mode="after")
    def _consistent(self) -> VehicleCreate:
        if self.compartments_l and self.body_type != BodyType.TANKER:
            raise ValueError("only a tanker has compartments")
        if self.body_type == BodyType.TANKER and not self.compartments_l:
            raise ValueError("a tanker lists its compartments' capacities in litres")
        if self.compartments_l and self.volume_l is None:
            self.volume_l = sum(self.compartments_l)
        if self.compartments_l and sum(self.compartments_l) != self.volume_l:
            raise ValueError("a tanker's volume_l is the sum of its compartments")
        return self


class VehicleUpdate(Strict):
    """Change a vehicle; ``version`` must be the one you read."""

    version: int
    status: VehicleStatus | None = None
    payload_kg: Annotated[int, Field(gt=0, le=100_000)] | None = None
    volume_l: Annotated[int, Field(gt=0, le=200_000)] | None = None
    pallet_places: Annotated[int, Field(ge=0, le=100)] | None = None
    hazard_classes: Annotated[list[HazardClass], Field(max_length=20)] | None = None
    food_grade: bool | None = None
    home_site_id: uuid.UUID | None = None


class PairDriver(Strict):
    """Put a driver on a vehicle, or take the driver off with ``driver_id: null``."""

    version: int
    driver_id: uuid.UUID | None


class VehiclePublic(BaseModel):
    """A vehicle."""

    id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    plate: str
    body_type: BodyType
    payload_kg: int
    volume_l: int | None
    pallet_places: int | None
    compartments_l: list[int]
    hazard_classes: list[str]
    food_grade: bool
    home_site_id: uuid.UUID | None
    status: VehicleStatus
    driver_id: uuid.UUID | None


class VehiclesPublic(BaseModel):
    """A list of vehicles."""

    data: list[VehiclePublic]
    count: int


class DriverCreate(Strict):
    """Record a member with the driver role as a driver, with licence and training."""

    membership_id: uuid.UUID
    licence_class: Annotated[str, Field(min_length=1, max_length=16)]
    licence_expires_at: AwareDatetime | None = None
    hazmat_training_expires_at: AwareDatetime | None = None
    phone: Phone | None = None


class DriverUpdate(Strict):
    """Change a driver's licence, training or phone; ``version`` must be the one you read."""

    version: int
    licence_class: Annotated[str, Field(min_length=1, max_length=16)] | None = None
    licence_expires_at: AwareDatetime | None = None
    hazmat_training_expires_at: AwareDatetime | None = None
    phone: Phone | None = None
    active: bool | None = None


class DriverPublic(BaseModel):
    """A driver."""

    id: uuid.UUID
    version: int
    organization_id: uuid.UUID
    membership_id: uuid.UUID
    name: str
    licence_class: str
    licence_expires_at: datetime | None
    hazmat_training_expires_at: datetime | None
    phone: str | None
    active: bool
    vehicle_id: uuid.UUID | None


class DriversPublic(BaseModel):
    """A list of drivers."""

    data: list[DriverPublic]
    count: int


def profile_public(profile: CarrierProfile) -> ProfilePublic:
    """A profile as the API shows it."""
    return ProfilePublic.model_validate(profile, from_attributes=True)


def qualification_public(qualification: Qualification, *, now: datetime) -> QualificationPublic:
    """A qualification as the API shows it, with whether it is in force at ``now``."""
    valid = (
        qualification.revoked_at is None
        and qualification.valid_from <= now < qualification.expires_at
    )
    return QualificationPublic(
        id=qualification.id,
        version=qualification.version,
        organization_id=qualification.organization_id,
        kind=qualification.kind,
        document_ref=qualification.document_ref,
        issued_by=qualification.issued_by,
        hazard_classes=list(qualification.hazard_classes),
        valid_from=qualification.valid_from,
        expires_at=qualification.expires_at,
        revoked_at=qualification.revoked_at,
        valid=valid,
    )


def vehicle_public(vehicle: Vehicle) -> VehiclePublic:
    """A vehicle as the API shows it."""
    return VehiclePublic.model_validate(vehicle, from_attributes=True)


def driver_public(driver: Driver, *, name: str, vehicle_id: uuid.UUID | None) -> DriverPublic:
    """A driver as the API shows it, with the member's name and the paired vehicle."""
    return DriverPublic(
        id=driver.id,
        version=driver.version,
        organization_id=driver.organization_id,
        membership_id=driver.membership_id,
        name=name,
        licence_class=driver.licence_class,
        licence_expires_at=driver.licence_expires_at,
        hazmat_training_expires_at=driver.hazmat_training_expires_at,
        phone=driver.phone,
        active=driver.active,
        vehicle_id=vehicle_id,
    )
