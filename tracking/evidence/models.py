"""Evidence files, receipts at the delivery point, disputes and their statements.

Receipts and statements are written once and never edited: what was said stays said, and
each is in the delivery's event log besides. A dispute carries a ``version`` because its
state moves (open, then resolved).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, UniqueConstraint, text
from sqlmodel import Field

from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import JSONColumn, UTCDateTime, enum_type
from dispatch.orders.enums import QuantityUnit
from tracking.evidence.enums import (
    ArrivalSource,
    Condition,
    DisputeOutcome,
    DisputeState,
    FilePurpose,
    PartyRole,
)


class EvidenceFile(Keyed, Timestamped, table=True):
    """A file uploaded for a delivery, named by the SHA-256 of its bytes in the file store.

    ``captured_at``, ``lat`` and ``lon`` are what the phone said; ``received_at`` is the
    server's clock when the upload arrived.
    """

    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("delivery_id", "sha256"),)

    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id")
    sha256: str = Field(max_length=64)
    size_bytes: int = Field(sa_type=BigInteger)
    media_type: str = Field(max_length=80)
    purpose: FilePurpose = Field(sa_type=enum_type(FilePurpose))
    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    uploaded_by: str = Field(max_length=80)
    captured_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    received_at: datetime = utc_field()


class Receipt(Keyed, Timestamped, table=True):
    """What arrived at the delivery point, as the receiver confirmed it; one per delivery.

    ``stamps`` holds the arrival and the unloading start and end, each with the phone's time
    and position and the server's time. ``seals`` are the seals checked at the site
    (number, intact), ``seals_expected`` the plant's seals from the log when it had any.
    ``loaded_quantity`` is copied from the delivery (the weighbridge) so ``difference`` =
    received - loaded reads without a join. ``reasons`` are the discrepancies found.
    """

    __tablename__ = "delivery_receipts"

    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id", unique=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    recorded_by: str = Field(max_length=80)
    received_at: datetime = utc_field()
    arrival_source: ArrivalSource = Field(sa_type=enum_type(ArrivalSource))
    stamps: dict[str, Any] = Field(default_factory=dict, sa_type=JSONColumn)
    received_quantity: int = Field(sa_type=BigInteger)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    loaded_quantity: int | None = Field(default=None, sa_type=BigInteger)
    difference: int | None = Field(default=None, sa_type=BigInteger)
    condition: Condition = Field(sa_type=enum_type(Condition))
    condition_note: str = Field(default="", max_length=2000)
    seals_expected: list[str] | None = Field(default=None, sa_type=JSONColumn)
    seals: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONColumn)
    receiver_name: str = Field(max_length=200)
    signature_sha256: str | None = Field(default=None, max_length=64)
    photos: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    measurements: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONColumn)
    reasons: list[str] = Field(default_factory=list, sa_type=JSONColumn)


class Dispute(Keyed, Timestamped, Versioned, table=True):
    """A discrepancy on a delivery the parties argue over until it is resolved."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_delivery_id_state", "delivery_id", "state"),
        # At most one open dispute per delivery, even when two parties open one at once.
        Index(
            "uq_disputes_delivery_id_open",
            "delivery_id",
            unique=True,
            sqlite_where=text("state = 'open'"),
            postgresql_where=text("state = 'open'"),
        ),
    )

    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id")
    receipt_id: uuid.UUID | None = Field(default=None, foreign_key="delivery_receipts.id")
    state: DisputeState = Field(default=DisputeState.OPEN, sa_type=enum_type(DisputeState))
    reasons: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONColumn)
    opened_by: str = Field(max_length=80)
    outcome: DisputeOutcome | None = Field(
        default=None, sa_type=enum_type(DisputeOutcome), nullable=True
    )
    resolution_note: str | None = Field(default=None, max_length=2000)
    resolved_by: str | None = Field(default=None, max_length=80)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    updated_at: datetime = utc_field()


class DisputeStatement(Keyed, Timestamped, table=True):
    """What one party said in a dispute, with the evidence files it points to."""

    __tablename__ = "dispute_statements"
    __table_args__ = (
        Index("ix_dispute_statements_dispute_id_created_at", "dispute_id", "created_at"),
    )

    dispute_id: uuid.UUID = Field(foreign_key="disputes.id")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    party: PartyRole = Field(sa_type=enum_type(PartyRole))
    author: str = Field(max_length=80)
    text: str = Field(max_length=4000)
    files: list[str] = Field(default_factory=list, sa_type=JSONColumn)
