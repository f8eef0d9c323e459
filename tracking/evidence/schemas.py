"""API shapes for receipts, evidence files and disputes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from accounts.schemas import Strict
from dispatch.orders.enums import QuantityUnit
from tracking.evidence.enums import (
    ArrivalSource,
    Condition,
    DisputeOutcome,
    DisputeReason,
    DisputeState,
    FilePurpose,
    MeasurementKind,
    PartyRole,
)
from tracking.evidence.rules import seal_key

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of a file, hex")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Accuracy = Annotated[float, Field(ge=0, le=100_000)]
ResultValue = Annotated[str, Field(max_length=200)] | float


class Stamp(Strict):
    """When and where the phone saw a step (its own clock and fix)."""

    at: AwareDatetime
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy | None = None


class StampPublic(BaseModel):
    """A step as the phone saw it, and when the server heard of it."""

    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    server_at: datetime


class SealCheck(Strict):
    """A seal as found at the delivery point."""

    number: str = Field(min_length=1, max_length=40)
    intact: bool


class MeasurementIn(Strict):
    """A third party's metering or sample result taken at delivery."""

    kind: MeasurementKind
    provider: str = Field(min_length=1, max_length=200)
    reference: str = Field(default="", max_length=100)
    quantity: int | None = Field(
        default=None, ge=0, description="A metered quantity, in the delivery's unit"
    )
    results: dict[Annotated[str, Field(min_length=1, max_length=60)], ResultValue] = Field(
        default_factory=dict, max_length=50
    )
    document_sha256: Sha256 | None = None
    taken: Stamp


class ReceiptCreate(Strict):
    """What arrived: times and places, quantity, condition, seals, who signed, photos."""

    arrival: Stamp
    unloading_started: Stamp
    unloading_ended: Stamp
    received_quantity: int = Field(ge=0, le=10**12)
    unit: QuantityUnit
    condition: Condition
    condition_note: str = Field(default="", max_length=2000)
    seals: list[SealCheck] = Field(default_factory=list, max_length=20)
    receiver_name: str = Field(min_length=1, max_length=200)
    signature_sha256: Sha256 | None = None
    photos: list[Sha256] = Field(default_factory=list, max_length=50)
    measurements: list[MeasurementIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _in_order(self) -> ReceiptCreate:
        if not self.arrival.at <= self.unloading_started.at <= self.unloading_ended.at:
            raise ValueError("arrival, unloading start and unloading end must be in time order")
        if len({seal_key(s.number) for s in self.seals}) != len(self.seals):
            raise ValueError("a seal is listed twice")
        return self


class EvidenceFilePublic(BaseModel):
    """A stored evidence file of a delivery: its hash, what it is, and when and where."""

    id: uuid.UUID
    delivery_id: uuid.UUID
    sha256: str
    size_bytes: int
    media_type: str
    purpose: FilePurpose
    organization_id: uuid.UUID
    captured_at: datetime | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    received_at: datetime


class EvidenceFilesPublic(BaseModel):
    """A delivery's evidence files, oldest first."""

    data: list[EvidenceFilePublic]
    count: int


class StatementCreate(Strict):
    """A party's statement in a dispute, pointing at files uploaded to the delivery."""

    text: str = Field(min_length=1, max_length=4000)
    files: list[Sha256] = Field(default_factory=list, max_length=20)


class DisputeCreate(Strict):
    """Open a dispute on a delivery by hand (one found later, a late truck)."""

    delivery_id: uuid.UUID
    reasons: list[DisputeReason] = Field(min_length=1, max_length=8)
    statement: StatementCreate


class DisputeResolve(Strict):
    """Close a dispute with its outcome; ``version`` as you read it. Settling needs a note."""

    version: int
    outcome: DisputeOutcome
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _settled_says_how(self) -> DisputeResolve:
        if self.outcome == DisputeOutcome.SETTLED and not self.note.strip():
            raise ValueError("a settled dispute needs a note saying how")
        return self


class StatementPublic(BaseModel):
    """A statement as every party sees it."""

    id: uuid.UUID
    party: PartyRole
    organization_id: uuid.UUID
    author: str
    text: str
    files: list[str]
    created_at: datetime


class DisputePublic(BaseModel):
    """A dispute with its statements, oldest first."""

    id: uuid.UUID
    version: int
    delivery_id: uuid.UUID
    receipt_id: uuid.UUID | None
    state: DisputeState
    reasons: list[DisputeReason]
    details: dict[str, Any]
    opened_by: str
    opened_at: datetime
    outcome: DisputeOutcome | None
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    statements: list[StatementPublic]


class DisputesPublic(BaseModel):
    """Disputes on deliveries you are party to, newest first."""

    data: list[DisputePublic]
    count: int


class MeasurementPublic(BaseModel):
    """A third party's result, as recorded."""

    kind: MeasurementKind
    provider: str
    reference: str
    quantity: int | None
    results: dict[str, Any]
    document_sha256: str | None
    taken: StampPublic


class ReceiptPublic(BaseModel):
    """A delivery's receipt, with the discrepancies it showed and the dispute they opened."""

    id: uuid.UUID
    delivery_id: uuid.UUID
    organization_id: uuid.UUID
    recorded_by: str
    received_at: datetime
    arrival_source: ArrivalSource
    arrival: StampPublic
    unloading_started: StampPublic
    unloading_ended: StampPublic
    received_quantity: int
    unit: QuantityUnit
    loaded_quantity: int | None
    difference: int | None
    condition: Condition
    condition_note: str
    seals_expected: list[str] | None
    seals: list[SealCheck]
    receiver_name: str
    signature_sha256: str | None
    photos: list[str]
    measurements: list[MeasurementPublic]
    reasons: list[DisputeReason]
    dispute_id: uuid.UUID | None
