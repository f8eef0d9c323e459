"""What tracking keeps per shipment: its detector state and last fix, and every ETA it made.

A shipment is an outbound delivery seen from the road. ``ShipmentTrack`` holds the JSON state
of the pure detectors (fences, stops, ETA speed model, slip verdicts), so whichever process
receives a truck's next ping carries on where the last one stopped. ``ShipmentEta`` keeps every
estimate, so accuracy can be measured once the truck arrives.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer
from sqlmodel import Field, SQLModel

from core.types import JSONColumn, UTCDateTime


class ShipmentTrack(SQLModel, table=True):
    """One delivery's tracking state, written by the process that handled its latest pings."""

    __tablename__ = "shipment_tracks"
    __table_args__ = (Index("ix_shipment_tracks_last_ping_at", "last_ping_at"),)

    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id", primary_key=True)
    device_no: int = Field(sa_type=Integer)
    state: dict[str, Any] = Field(default_factory=dict, sa_type=JSONColumn)
    """Detector memories: ``fences``, ``stop``, ``eta`` (per leg), ``slip`` (per leg)."""
    last_lat: float | None = None
    last_lon: float | None = None
    last_fix_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    last_ping_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """When the latest ping was handled (server time): what the silence sweep looks at."""
    leg: str | None = Field(default=None, max_length=16)
    eta_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    eta_computed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    remaining_m: float | None = None
    eta_logged_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """Fix time of the estimate last written to the event log (updates are throttled)."""
    eta_logged_value: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    silent_since: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    """Set when a silence alert was raised; cleared by the next ping."""


class ShipmentEta(SQLModel, table=True):
    """One estimate of when a truck reaches its next stop."""

    __tablename__ = "shipment_etas"
    __table_args__ = (
        Index("ix_shipment_etas_delivery_id_computed_at", "delivery_id", "computed_at"),
    )

    id: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id")
    leg: str = Field(max_length=16)
    """``plant`` before loading, ``destination`` after."""
    computed_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    """Fix time of the ping the estimate was made from."""
    eta_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    remaining_m: float
    speed_mps: float
