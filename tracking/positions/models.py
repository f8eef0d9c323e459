"""Stored positions: an append-only table of compact rows, and each device's newest fix.

A row is about 60 bytes on PostgreSQL: the device as a 4-byte number, the fix time, the
coordinates as integer 1e-7 degrees (about 1 cm), and the optional readings as smallints in
stated units. Columns are ordered widest first so PostgreSQL pads nothing between them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, SmallInteger
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime


class Position(SQLModel, table=True):
    """One stored fix of one device; a retried ping hits the primary key and is not stored."""

    __tablename__ = "positions"
    __table_args__ = (PrimaryKeyConstraint("device_no", "recorded_at"),)

    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    device_no: int = Field(sa_type=Integer, nullable=False)
    lat_e7: int = Field(sa_type=Integer, nullable=False)
    lon_e7: int = Field(sa_type=Integer, nullable=False)
    speed_cmps: int | None = Field(default=None, sa_type=SmallInteger)
    heading_deg: int | None = Field(default=None, sa_type=SmallInteger)
    altitude_m: int | None = Field(default=None, sa_type=SmallInteger)
    accuracy_m: int | None = Field(default=None, sa_type=SmallInteger)
    battery_pct: int | None = Field(default=None, sa_type=SmallInteger)
    flags: int = Field(default=0, sa_type=SmallInteger, nullable=False)


class LastPosition(SQLModel, table=True):
    """A device's newest fix in device time, kept by an upsert that never moves backwards."""

    __tablename__ = "last_positions"

    device_no: int = Field(
        sa_column=Column(Integer, primary_key=True, autoincrement=False, nullable=False)
    )
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    lat_e7: int = Field(sa_type=Integer, nullable=False)
    lon_e7: int = Field(sa_type=Integer, nullable=False)
    speed_cmps: int | None = Field(default=None, sa_type=SmallInteger)
    heading_deg: int | None = Field(default=None, sa_type=SmallInteger)
    altitude_m: int | None = Field(default=None, sa_type=SmallInteger)
    accuracy_m: int | None = Field(default=None, sa_type=SmallInteger)
    battery_pct: int | None = Field(default=None, sa_type=SmallInteger)
    flags: int = Field(default=0, sa_type=SmallInteger, nullable=False)
