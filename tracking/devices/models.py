"""Devices: the phones and trackers that send positions, each bound to a driver or a vehicle."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Integer
from sqlmodel import Field, SQLModel, col

from accounts.work import OpenWork, register_open_work
from core.models import Keyed, Timestamped, Versioned, utc_field


class DeviceBase(SQLModel):
    """The fields a client sets on a device."""

    name: str = Field(min_length=1, max_length=100)
    driver_member_id: uuid.UUID | None = Field(
        default=None, foreign_key="memberships.id", index=True
    )
    # Will reference the fleet's vehicles table once it exists; a plain UUID until then.
    vehicle_id: uuid.UUID | None = Field(default=None, index=True)


class Device(DeviceBase, Keyed, Timestamped, Versioned, table=True):
    """A registered device of a carrier; only hashes of its secrets are stored.

    ``number`` is a small integer that names the device in every position row (4 bytes
    instead of a 16-byte UUID). Devices are revoked, never deleted, so a number is never
    reused and positions need no foreign key on the hot insert path.
    """

    __tablename__ = "devices"
    __table_args__ = (
        CheckConstraint(
            "(driver_member_id IS NULL) <> (vehicle_id IS NULL)", name="driver_or_vehicle"
        ),
    )

    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    number: int = Field(sa_type=Integer, unique=True)
    token_hash: str = Field(max_length=64, unique=True)
    token_prefix: str = Field(max_length=12)
    tracker_hash: str = Field(max_length=64, unique=True)
    owntracks_user: str = Field(max_length=32, unique=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    rotated_at: datetime | None = utc_field(nullable=True)
    revoked_at: datetime | None = utc_field(nullable=True)


register_open_work(
    OpenWork(
        name="devices",
        model=Device,
        member_column="driver_member_id",
        is_open=lambda: col(Device.revoked_at).is_(None),
    )
)
