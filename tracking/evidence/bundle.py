"""What a delivery's dispute bundle carries besides its log, registered with the bundle
builder for every ``delivery:…`` subject when this module is imported.

    attachments/trail.geojson     the truck's trail from loading to delivery (a
                                  FeatureCollection, one LineString per device of the
                                  vehicle or driver; empty when nothing was tracked)
    attachments/weighbridge.json  the log's weighing (tare, gross and net with the seals),
                                  ticket and sample entries, with
                                  their seq and hash to find them in chain.jsonl
    attachments/receipt.json      the receipt, as recorded
    attachments/disputes.json     the disputes and every statement
    attachments/delivery.html     all of it as one readable page
    references                    every evidence file (photos, signature, documents) by
                                  SHA-256, size and type: the arbitrator asks the parties for
                                  the bytes and checks them against the hash

Only what the requesting organization is party to is included: the bundle builder has
already checked that the delivery's log is addressed to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Final

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from core.bundle import Attachment, Contribution, Reference
from core.bundle_builder import register_attachment_source
from core.clock import now
from core.eventlog import EventEntry, entries_of
from dispatch.deliveries import repository as delivery_rows
from dispatch.deliveries.events import delivery_subject, parties
from dispatch.deliveries.models import OutboundDelivery
from tracking.evidence import repository
from tracking.evidence.models import Dispute, DisputeStatement
from tracking.evidence.service import receipt_payload
from tracking.evidence.summary import render_delivery_page
from tracking.positions import repository as positions
from tracking.positions.codec import to_ping
from tracking.trails import trail_feature

MAX_TRAIL_SPAN: Final = timedelta(days=7)
MAX_TRAIL_ROWS: Final = 50_000
WEIGHBRIDGE_WORDS: Final = ("loaded", "tare", "weigh", "ticket", "sample", "seal", "meter")
_JSON = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=_JSON) + b"\n"


async def _trail(session: AsyncSession, delivery: OutboundDelivery) -> dict[str, Any]:
    until = delivery.delivered_at or now()
    since = max(delivery.loaded_at or delivery.created_at, until - MAX_TRAIL_SPAN)
    features = []
    devices = await repository.trail_devices(
        session,
        organization_id=delivery.carrier_id,
        vehicle_id=delivery.vehicle_id,
        driver_member_id=delivery.driver_member_id,
    )
    for device in devices:
        rows = await positions.trail_rows(
            session, device_no=device.number, since=since, until=until, limit=MAX_TRAIL_ROWS
        )
        feature = trail_feature([to_ping(str(device.id), row) for row in rows])
        if feature is None:
            continue
        properties = feature["properties"]
        properties.pop("device_key", None)
        properties |= {"device_id": str(device.id), "truncated": len(rows) == MAX_TRAIL_ROWS}
        features.append(feature)
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": {
            "delivery_id": str(delivery.id),
            "vehicle_plate": delivery.vehicle_plate,
            "since": since.isoformat(),
            "until": until.isoformat(),
        },
    }


def _weighbridge(entries: Sequence[EventEntry], viewer: str) -> list[dict[str, Any]]:
    return [
        {
            "seq": e.seq,
            "hash": e.hash,
            "kind": e.kind,
            "recorded_at": e.recorded_at.isoformat(),
            "payload": orjson.loads(e.payload),
        }
        for e in entries
        if viewer in e.audience and any(word in e.kind for word in WEIGHBRIDGE_WORDS)
    ]


async def delivery_evidence(
    session: AsyncSession, *, subject: str, organization_id: uuid.UUID
) -> Sequence[Contribution]:
    """The trail, weighing entries, receipt, disputes and file references of a delivery."""
    try:
        delivery_id = uuid.UUID(subject.split(":", 1)[1])
    except (IndexError, ValueError):
        return []
    delivery = await delivery_rows.delivery(session, delivery_id)
    if delivery is None or organization_id not in parties(delivery):
        return []
    viewer = str(organization_id)
    contributions: list[Contribution] = [
        Attachment(
            "trail.geojson",
            "application/geo+json",
            _json(await _trail(session, delivery)),
            "the truck's trail from loading to delivery (RFC 7946)",
        ),
        Attachment(
            "weighbridge.json",
            "application/json",
            _json(_weighbridge(await entries_of(session, delivery_subject(delivery.id)), viewer)),
            "weighing, ticket, seal and sample entries of the log, by seq and hash",
        ),
    ]
    receipt = await repository.receipt_of(session, delivery.id)
    if receipt is not None:
        contributions.append(
            Attachment(
                "receipt.json",
                "application/json",
                _json(receipt_payload(receipt)),
                "the receipt at the delivery point",
            )
        )
    found = await repository.disputes_of_delivery(session, delivery.id)
    statements = await repository.statements_of(session, [d.id for d in found])
    if found:
        contributions.append(
            Attachment(
                "disputes.json",
                "application/json",
                _json([_dispute(d, statements[d.id]) for d in found]),
                "the disputes and their statements",
            )
        )
    files = [
        (f"{item.purpose.value}-{index}.{item.media_type.rsplit('/', 1)[-1]}", item)
        for index, item in enumerate(
            await repository.evidence_files(session, delivery_id=delivery.id), start=1
        )
    ]
    contributions.append(
        Attachment(
            "delivery.html",
            "text/html",
            render_delivery_page(
                delivery=delivery,
                names=await repository.organization_names(session, parties(delivery)),
                receipt=receipt,
                disputes=[(d, statements[d.id]) for d in found],
                files=files,
            ),
            "the delivery's evidence, readable: loaded and received, seals, disputes, files",
        )
    )
    contributions.extend(
        Reference(
            name,
            item.sha256,
            item.size_bytes,
            item.media_type,
            f"{item.purpose.value} uploaded {item.received_at.isoformat()}",
        )
        for name, item in files
    )
    return contributions


def _dispute(dispute: Dispute, statements: Sequence[DisputeStatement]) -> dict[str, Any]:
    return {
        "dispute_id": str(dispute.id),
        "state": dispute.state.value,
        "reasons": dispute.reasons,
        "details": dispute.details,
        "opened_by": dispute.opened_by,
        "opened_at": dispute.created_at.isoformat(),
        "outcome": None if dispute.outcome is None else dispute.outcome.value,
        "resolution_note": dispute.resolution_note,
        "resolved_at": None if dispute.resolved_at is None else dispute.resolved_at.isoformat(),
        "statements": [
            {
                "statement_id": str(s.id),
                "party": s.party.value,
                "organization_id": str(s.organization_id),
                "author": s.author,
                "text": s.text,
                "files": s.files,
                "created_at": s.created_at.isoformat(),
            }
            for s in statements
        ],
    }


register_attachment_source("delivery", delivery_evidence)
