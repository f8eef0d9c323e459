"""Rows to API shapes."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from tracking.evidence.enums import DisputeReason
from tracking.evidence.models import Dispute, DisputeStatement, EvidenceFile, Receipt
from tracking.evidence.schemas import (
    DisputePublic,
    EvidenceFilePublic,
    MeasurementPublic,
    ReceiptPublic,
    SealCheck,
    StampPublic,
    StatementPublic,
)


def file_public(row: EvidenceFile) -> EvidenceFilePublic:
    """An evidence file as parties see it."""
    return EvidenceFilePublic.model_validate(row, from_attributes=True)


def _stamp(raw: dict[str, Any]) -> StampPublic:
    return StampPublic.model_validate(raw)


def receipt_public(row: Receipt, dispute_id: uuid.UUID | None = None) -> ReceiptPublic:
    """A receipt as parties see it."""
    return ReceiptPublic(
        id=row.id,
        delivery_id=row.delivery_id,
        organization_id=row.organization_id,
        recorded_by=row.recorded_by,
        received_at=row.received_at,
        arrival_source=row.arrival_source,
        arrival=_stamp(row.stamps["arrival"]),
        unloading_started=_stamp(row.stamps["unloading_started"]),
        unloading_ended=_stamp(row.stamps["unloading_ended"]),
        received_quantity=row.received_quantity,
        unit=row.unit,
        loaded_quantity=row.loaded_quantity,
        difference=row.difference,
        condition=row.condition,
        condition_note=row.condition_note,
        seals_expected=row.seals_expected,
        seals=[SealCheck.model_validate(s) for s in row.seals],
        receiver_name=row.receiver_name,
        signature_sha256=row.signature_sha256,
        photos=list(row.photos),
        measurements=[MeasurementPublic.model_validate(m) for m in row.measurements],
        reasons=[DisputeReason(r) for r in row.reasons],
        dispute_id=dispute_id,
    )


def statement_public(row: DisputeStatement) -> StatementPublic:
    """A statement as parties see it."""
    return StatementPublic.model_validate(row, from_attributes=True)


def dispute_public(row: Dispute, statements: Sequence[DisputeStatement]) -> DisputePublic:
    """A dispute and its statements as parties see them."""
    return DisputePublic(
        id=row.id,
        version=row.version,
        delivery_id=row.delivery_id,
        receipt_id=row.receipt_id,
        state=row.state,
        reasons=[DisputeReason(r) for r in row.reasons],
        details=dict(row.details),
        opened_by=row.opened_by,
        opened_at=row.created_at,
        outcome=row.outcome,
        resolution_note=row.resolution_note,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
        statements=[statement_public(s) for s in statements],
    )
