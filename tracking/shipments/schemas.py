"""API shapes of shipments: a delivery seen from the road."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from dispatch.deliveries.enums import DeliveryState


class PositionPublic(BaseModel):
    """The truck's newest usable fix."""

    lat: float
    lon: float
    recorded_at: datetime


class EtaPublic(BaseModel):
    """The current estimate of reaching the next stop."""

    leg: str
    """``plant`` before loading, ``destination`` after."""
    eta_at: datetime
    computed_at: datetime
    remaining_m: float


class DestinationPublic(BaseModel):
    """Where the goods go."""

    address: str
    lat: float
    lon: float


class SharedShipmentPublic(BaseModel):
    """What a share link shows: the shipment, where it is, when it arrives."""

    id: uuid.UUID
    number: str
    state: DeliveryState
    product: str
    vehicle_plate: str
    planned_day: date
    destination: DestinationPublic
    last_seq: int
    position: PositionPublic | None
    eta: EtaPublic | None


class ShipmentPublic(SharedShipmentPublic):
    """A shipment as its parties see it."""

    version: int
    seller_id: uuid.UUID
    buyer_id: uuid.UUID
    carrier_id: uuid.UUID
    plant_operator_id: uuid.UUID
    plant_site_id: uuid.UUID
    quantity: int
    unit: str
    slot_starts_at: datetime | None
    silent_since: datetime | None


class ShipmentsPublic(BaseModel):
    """A page of shipments, newest first; pass ``next_cursor`` as ``cursor`` for more."""

    data: list[ShipmentPublic]
    count: int
    next_cursor: str | None


class EtaRecordPublic(BaseModel):
    """One kept estimate."""

    leg: str
    computed_at: datetime
    eta_at: datetime
    remaining_m: float
    speed_mps: float


class EtasPublic(BaseModel):
    """Every estimate kept for a shipment, oldest first."""

    data: list[EtaRecordPublic]
    count: int


class ShareRequest(BaseModel):
    """How long a share link lives."""

    expires_in_s: int = Field(default=24 * 3600, ge=60, le=30 * 24 * 3600)


class ShareLinkPublic(BaseModel):
    """A share link: give ``token`` (or ``path``) to the receiver."""

    token: str
    path: str
    stream_path: str
    expires_at: datetime
