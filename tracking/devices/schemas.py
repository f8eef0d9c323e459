"""API shapes for devices, their credentials and what to type into each app."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from accounts.schemas import Strict
from tracking.devices.models import Device

DeviceName = Annotated[str, Field(min_length=1, max_length=100)]


class DeviceCreate(Strict):
    """Register a device for one driver (a member with the driver role) or one vehicle."""

    name: DeviceName
    driver_member_id: uuid.UUID | None = None
    vehicle_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _bound_to_one(self) -> DeviceCreate:
        if (self.driver_member_id is None) == (self.vehicle_id is None):
            raise ValueError("give exactly one of driver_member_id and vehicle_id")
        return self


class DeviceUpdate(Strict):
    """Rename a device or bind it to another driver or vehicle; ``version`` as you read it."""

    version: int
    name: DeviceName | None = None
    driver_member_id: uuid.UUID | None = None
    vehicle_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _bound_to_one(self) -> DeviceUpdate:
        if self.driver_member_id is not None and self.vehicle_id is not None:
            raise ValueError("give at most one of driver_member_id and vehicle_id")
        return self


class DevicePublic(BaseModel):
    """A device, without its secrets."""

    id: uuid.UUID
    version: int
    name: str
    number: int
    organization_id: uuid.UUID
    driver_member_id: uuid.UUID | None
    vehicle_id: uuid.UUID | None
    token_prefix: str
    owntracks_user: str
    active: bool
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None


class DevicesPublic(BaseModel):
    """A list of devices."""

    data: list[DevicePublic]
    count: int


class DeviceCredentials(BaseModel):
    """A device's secrets, shown once: at registration and after each rotation."""

    token: str
    """``Authorization: Bearer`` for our app and Overland; the OwnTracks password."""
    tracker_id: str
    """The device identifier for Traccar Client and OsmAnd (it is also their secret)."""
    owntracks_user: str
    owntracks_password: str


class AppSetup(BaseModel):
    """What to type into one app's settings, field by field."""

    app: str
    fields: dict[str, str]
    note: str


class DeviceRegistered(BaseModel):
    """A device with its new credentials and the settings for each supported app."""

    device: DevicePublic
    credentials: DeviceCredentials
    setup: list[AppSetup]


def device_public(device: Device) -> DevicePublic:
    """The public view of a device."""
    return DevicePublic(
        id=device.id,
        version=device.version,
        name=device.name,
        number=device.number,
        organization_id=device.organization_id,
        driver_member_id=device.driver_member_id,
        vehicle_id=device.vehicle_id,
        token_prefix=device.token_prefix,
        owntracks_user=device.owntracks_user,
        active=device.revoked_at is None,
        created_at=device.created_at,
        rotated_at=device.rotated_at,
        revoked_at=device.revoked_at,
    )
