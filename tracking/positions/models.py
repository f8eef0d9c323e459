"""Stored positions: an append-only table of compact rows, and each device's newest fix.

A row is 56 bytes on PostgreSQL: the device as a 4-byte number, the fix time, the
coordinates as integer 1e-7 degrees (about 1 cm), and the optional readings as smallints in
stated units. Columns are ordered widest first so PostgreSQL pads nothing between them, and
no column is ever NULL: a reading the phone did not give is stored as
:data:`UNKNOWN_READING`, because a single NULL adds a null bitmap that grows every row by 8
bytes. Only the repository sees the sentinel; everything above it reads ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, SmallInteger
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime

UNKNOWN_READING: Final = -32768
"""Stored for a reading the phone did not report (the smallest smallint, never a reading)."""


class Position(SQLModel, table=True):
    """One stored fix of one device; a retried ping hits the primary key and is not stored."""

    __tablename__ = "positions"
    __table_args__ = (PrimaryKeyConstraint("device_no", "recorded_at"),)

    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    device_no: int = Field(sa_type=Integer, nullable=False)
    lat_e7: int = Field(sa_type=Integer, nullable=False)
    lon_e7: int = Field(sa_type=Integer, nullable=False)
    speed_cmps: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    heading_deg: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    altitude_m: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    accuracy_m: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    battery_pct: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
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
    speed_cmps: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    heading_deg: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    altitude_m: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    accuracy_m: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    battery_pct: int = Field(default=UNKNOWN_READING, sa_type=SmallInteger, nullable=False)
    flags: int = Field(default=0, sa_type=SmallInteger, nullable=False)
