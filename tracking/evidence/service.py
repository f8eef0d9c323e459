"""Evidence files and receipts at the delivery point.

A receipt moves the delivery to delivered (through the delivery's own transition), is
appended to the delivery's log in full, and opens a dispute when what arrived differs from
what was loaded and sealed beyond tolerance (`rules.examine`).

What the log already holds is read back rather than asked for again: the plant's seals are
the ``seal_numbers`` of the newest weighbridge ticket (``yard.weighed``) that lists any, and
the arrival is the newest geofence arrival at the destination
(``shipment.arrived_destination``) when there is one; otherwise the phone's word is taken
and marked so.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, Sequence
from datetime import datetime
from typing import Any, Final

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core import eventlog
from core.clock import now
from core.errors import FieldError
from core.files import FileStore
from dispatch.deliveries import service as deliveries
from dispatch.deliveries import transitions
from dispatch.deliveries.events import delivery_subject, record
from dispatch.deliveries.models import OutboundDelivery
from tracking.evidence import disputes, repository
from tracking.evidence.checks import require_files
from tracking.evidence.enums import ArrivalSource, FilePurpose, PartyRole
from tracking.evidence.exceptions import (
    EvidenceFileNotFound,
    ReceiptExists,
    ReceiptInvalid,
    ReceiptNotFound,
    ReceiverOnly,
)
from tracking.evidence.models import Dispute, EvidenceFile, Receipt
from tracking.evidence.parties import party_role, require_writer
from tracking.evidence.rules import SealSeen, examine
from tracking.evidence.schemas import ReceiptCreate, Stamp
from tracking.shipments.kinds import ARRIVED_DESTINATION

WEIGHED: Final = "yard.weighed"
"""The weighbridge's ticket on the way out (payload ``seal_numbers``)."""

SYSTEM_ACTOR: Final = "system:evidence"


async def upload_file(
    session: AsyncSession,
    *,
    principal: Principal,
    store: FileStore,
    delivery_id: uuid.UUID,
    data: bytes | AsyncIterable[bytes],
    declared_size: int | None,
    declared_type: str | None = None,
    purpose: FilePurpose = FilePurpose.PHOTO,
    captured_at: datetime | None = None,
    lat: float | None = None,
    lon: float | None = None,
    accuracy_m: float | None = None,
) -> EvidenceFile:
    """Store a file for a delivery the caller is party to and log it; the same bytes twice
    give the same record. A refused file leaves no file and no row."""
    delivery = await deliveries.get_delivery(session, principal=principal, delivery_id=delivery_id)
    require_writer(principal)
    stored = await store.put(data, declared_size=declared_size, declared_type=declared_type)
    existing = await repository.evidence_file(
        session, delivery_id=delivery.id, sha256=stored.sha256
    )
    if existing is not None:
        return existing
    row = EvidenceFile(
        delivery_id=delivery.id,
        sha256=stored.sha256,
        size_bytes=stored.size_bytes,
        media_type=stored.media_type,
        purpose=purpose,
        organization_id=principal.organization_id,
        uploaded_by=principal.actor,
        captured_at=captured_at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        received_at=now(),
    )
    session.add(row)
    await session.flush()
    await record(
        session,
        delivery,
        "evidence.file_added",
        {
            "file": {
                "sha256": row.sha256,
                "size_bytes": row.size_bytes,
                "media_type": row.media_type,
                "purpose": row.purpose.value,
                "captured_at": None if captured_at is None else captured_at.isoformat(),
                "lat": lat,
                "lon": lon,
                "accuracy_m": accuracy_m,
                "received_at": row.received_at.isoformat(),
            }
        },
        actor=principal.actor,
    )
    return row


async def list_files(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID
) -> list[EvidenceFile]:
    """A delivery's evidence files, oldest first."""
    delivery = await deliveries.get_delivery(session, principal=principal, delivery_id=delivery_id)
    return await repository.evidence_files(session, delivery_id=delivery.id)


async def get_file(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID, sha256: str
) -> EvidenceFile:
    """One of a delivery's evidence files."""
    delivery = await deliveries.get_delivery(session, principal=principal, delivery_id=delivery_id)
    found = await repository.evidence_file(session, delivery_id=delivery.id, sha256=sha256)
    if found is None:
        raise EvidenceFileNotFound("no such file on this delivery")
    return found


def _stamp(stamp: Stamp, server_at: datetime) -> dict[str, Any]:
    return {
        "at": stamp.at.isoformat(),
        "lat": stamp.lat,
        "lon": stamp.lon,
        "accuracy_m": stamp.accuracy_m,
        "server_at": server_at.isoformat(),
    }


def _from_log(entries: Sequence[eventlog.EventEntry]) -> tuple[list[str] | None, str | None]:
    """The plant's seals and the geofence's arrival time, newest of each, from the log."""
    seals: list[str] | None = None
    arrived: str | None = None
    for entry in entries:
        payload = orjson.loads(entry.payload)
        listed = payload.get("seal_numbers")
        if entry.kind == WEIGHED and isinstance(listed, list) and listed:
            seals = [str(s) for s in listed]
        if entry.kind == ARRIVED_DESTINATION and isinstance(payload.get("at"), str):
            arrived = payload["at"]
    return seals, arrived


async def record_receipt(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID, data: ReceiptCreate
) -> tuple[Receipt, Dispute | None]:
    """Record what arrived, deliver the delivery, and open a dispute on a discrepancy."""
    delivery = await deliveries.get_delivery(session, principal=principal, delivery_id=delivery_id)
    require_writer(principal)
    if party_role(principal, delivery) not in (PartyRole.BUYER, PartyRole.CARRIER):
        raise ReceiverOnly("only the buyer or the carrier records a receipt")
    if await repository.receipt_of(session, delivery.id) is not None:
        raise ReceiptExists("this delivery has a receipt already")
    if data.unit != delivery.unit:
        raise ReceiptInvalid(
            f"the delivery is counted in {delivery.unit.value}",
            errors=[FieldError(loc=("body", "unit"), msg=f"must be {delivery.unit.value}")],
        )
    named: list[tuple[tuple[str | int, ...], str]] = []
    if data.signature_sha256 is not None:
        named.append((("signature_sha256",), data.signature_sha256))
    named.extend((("photos", i), sha) for i, sha in enumerate(data.photos))
    named.extend(
        (("measurements", i, "document_sha256"), m.document_sha256)
        for i, m in enumerate(data.measurements)
        if m.document_sha256 is not None
    )
    files = await require_files(session, delivery_id=delivery.id, named=named)
    if data.signature_sha256 is not None and not files[data.signature_sha256].media_type.startswith(
        "image/"
    ):
        raise ReceiptInvalid(
            "the signature must be an image",
            errors=[FieldError(loc=("body", "signature_sha256"), msg="not an image")],
        )
    seals_expected, geofence_at = _from_log(
        await eventlog.entries_of(session, delivery_subject(delivery.id))
    )
    loaded = delivery.loaded_quantity
    findings = examine(
        loaded=loaded,
        received=data.received_quantity,
        unit=delivery.unit,
        condition=data.condition,
        seals_expected=seals_expected,
        seals_seen=[SealSeen(number=s.number, intact=s.intact) for s in data.seals],
    )
    server_at = now()
    arrival = _stamp(data.arrival, server_at)
    if geofence_at is not None:
        arrival["geofence_at"] = geofence_at
    receipt = Receipt(
        delivery_id=delivery.id,
        organization_id=principal.organization_id,
        recorded_by=principal.actor,
        received_at=server_at,
        arrival_source=ArrivalSource.GEOFENCE if geofence_at else ArrivalSource.PHONE,
        stamps={
            "arrival": arrival,
            "unloading_started": _stamp(data.unloading_started, server_at),
            "unloading_ended": _stamp(data.unloading_ended, server_at),
        },
        received_quantity=data.received_quantity,
        unit=delivery.unit,
        loaded_quantity=loaded,
        difference=None if loaded is None else data.received_quantity - loaded,
        condition=data.condition,
        condition_note=data.condition_note,
        seals_expected=seals_expected,
        seals=[s.model_dump() for s in data.seals],
        receiver_name=data.receiver_name,
        signature_sha256=data.signature_sha256,
        photos=list(data.photos),
        measurements=[
            {**m.model_dump(mode="json", exclude={"taken"}), "taken": _stamp(m.taken, server_at)}
            for m in data.measurements
        ],
        reasons=[r.value for r in findings.reasons],
    )
    delivered = await transitions.deliver(
        session, delivery_id=delivery.id, actor=principal.actor, at=server_at
    )
    session.add(receipt)
    await session.flush()
    await record(
        session,
        delivered,
        "receipt.recorded",
        {"receipt": receipt_payload(receipt)},
        actor=principal.actor,
    )
    dispute = None
    if findings.disputed:
        dispute = await disputes.open_dispute(
            session,
            delivery=delivered,
            reasons=findings.reasons,
            details=dict(findings.details),
            receipt_id=receipt.id,
            actor=SYSTEM_ACTOR,
        )
    return receipt, dispute


def receipt_payload(receipt: Receipt) -> dict[str, Any]:
    """The receipt as the log keeps it: everything the receiver confirmed."""
    return {
        "receipt_id": str(receipt.id),
        "organization_id": str(receipt.organization_id),
        "received_at": receipt.received_at.isoformat(),
        "arrival_source": receipt.arrival_source.value,
        "stamps": receipt.stamps,
        "received_quantity": receipt.received_quantity,
        "unit": receipt.unit.value,
        "loaded_quantity": receipt.loaded_quantity,
        "difference": receipt.difference,
        "condition": receipt.condition.value,
        "condition_note": receipt.condition_note,
        "seals_expected": receipt.seals_expected,
        "seals": receipt.seals,
        "receiver_name": receipt.receiver_name,
        "signature_sha256": receipt.signature_sha256,
        "photos": receipt.photos,
        "measurements": receipt.measurements,
        "reasons": receipt.reasons,
    }


async def get_receipt(
    session: AsyncSession, *, principal: Principal, delivery_id: uuid.UUID
) -> tuple[Receipt, OutboundDelivery]:
    """A delivery's receipt, for its parties."""
    delivery = await deliveries.get_delivery(session, principal=principal, delivery_id=delivery_id)
    found = await repository.receipt_of(session, delivery.id)
    if found is None:
        raise ReceiptNotFound("this delivery has no receipt yet")
    return found, delivery


async def dispute_of_receipt(session: AsyncSession, receipt: Receipt) -> uuid.UUID | None:
    """The id of the dispute a receipt opened, if it opened one."""
    for dispute in await repository.disputes_of_delivery(session, receipt.delivery_id):
        if dispute.receipt_id == receipt.id:
            return dispute.id
    return None
