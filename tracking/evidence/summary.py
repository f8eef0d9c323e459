"""The delivery's page in its dispute bundle: what was loaded and what arrived, the seals,
the times and places, the disputes and the evidence files, readable without tools.

Pure: it renders what it is given. Every fact on it is also an entry of chain.jsonl, which is
what `haulpoint verify` checks; the page is for reading, the chain is the proof.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from dispatch.deliveries.models import OutboundDelivery
from tracking.evidence.models import Dispute, DisputeStatement, EvidenceFile, Receipt

_STYLE = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
    ".bad{color:#a00;font-weight:bold}code{font-size:12px}"
)


def _rows(pairs: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f"<table>{cells}</table>"


def _text(value: Any) -> str:
    return "-" if value is None else escape(str(value))


def _stamp(name: str, stamp: Mapping[str, Any]) -> tuple[str, str]:
    where = f"{stamp.get('lat')}, {stamp.get('lon')}"
    accuracy = stamp.get("accuracy_m")
    if accuracy is not None:
        where += f" (±{accuracy} m)"
    line = (
        f"phone {_text(stamp.get('at'))} at {escape(where)}; server {_text(stamp.get('server_at'))}"
    )
    if "geofence_at" in stamp:
        line += f"; destination geofence {_text(stamp['geofence_at'])}"
    return name, line


def _receipt(receipt: Receipt, unit: str) -> str:
    seals = ", ".join(
        f"{escape(str(s['number']))}: "
        + ("intact" if s["intact"] else '<span class="bad">broken</span>')
        for s in receipt.seals
    )
    reasons = ", ".join(receipt.reasons)
    pairs = [
        ("Loaded (weighbridge)", f"{_text(receipt.loaded_quantity)} {escape(unit)}"),
        ("Received", f"{receipt.received_quantity} {escape(unit)}"),
        ("Difference", f"{_text(receipt.difference)} {escape(unit)}"),
        (
            "Condition",
            escape(
                receipt.condition.value
                + (f": {receipt.condition_note}" if receipt.condition_note else "")
            ),
        ),
        ("Seals on the ticket", escape(", ".join(receipt.seals_expected or [])) or "none recorded"),
        ("Seals found", seals or "none checked"),
        ("Receiver", escape(receipt.receiver_name)),
        ("Signature (SHA-256)", f"<code>{_text(receipt.signature_sha256)}</code>"),
        _stamp("Arrival", receipt.stamps["arrival"]),
        _stamp("Unloading started", receipt.stamps["unloading_started"]),
        _stamp("Unloading ended", receipt.stamps["unloading_ended"]),
        ("Discrepancies", f'<span class="bad">{escape(reasons)}</span>' if reasons else "none"),
    ]
    for index, m in enumerate(receipt.measurements, start=1):
        results = ", ".join(f"{k}: {v}" for k, v in sorted(m.get("results", {}).items()))
        pairs.append(
            (
                f"Third-party {m.get('kind')} {index}",
                escape(f"{m.get('provider')} {m.get('reference', '')}: {results}"),
            )
        )
    return "<h2>Receipt at the delivery point</h2>" + _rows(pairs)


def _dispute(
    dispute: Dispute, statements: Sequence[DisputeStatement], names: Mapping[str, str]
) -> str:
    said = "".join(
        f"<tr><td>{escape(s.created_at.isoformat())}</td><td>{escape(s.party.value)}: "
        f"{escape(names.get(str(s.organization_id), str(s.organization_id)))}</td>"
        f"<td>{escape(s.text)}</td>"
        f"<td>{'<br>'.join(f'<code>{escape(h)}</code>' for h in s.files) or '-'}</td></tr>"
        for s in statements
    )
    outcome = (
        "open"
        if dispute.outcome is None
        else f"{dispute.outcome.value} on {dispute.resolved_at}: {dispute.resolution_note or ''}"
    )
    return (
        f"<h3>Dispute {escape(str(dispute.id))}</h3>"
        + _rows(
            [
                (
                    "Opened",
                    f"{escape(dispute.created_at.isoformat())} by {escape(dispute.opened_by)}",
                ),
                ("Reasons", escape(", ".join(dispute.reasons))),
                ("Outcome", escape(outcome)),
            ]
        )
        + "<table><tr><th>When</th><th>Who</th><th>Statement</th><th>Files</th></tr>"
        + (said or '<tr><td colspan="4">no statements</td></tr>')
        + "</table>"
    )


def render_delivery_page(
    *,
    delivery: OutboundDelivery,
    names: Mapping[str, str],
    receipt: Receipt | None,
    disputes: Sequence[tuple[Dispute, Sequence[DisputeStatement]]],
    files: Sequence[tuple[str, EvidenceFile]],
) -> bytes:
    """The page as UTF-8 HTML; ``names`` are organization names by id, ``files`` the
    evidence files with the names the bundle's references give them."""

    def party(org_id: Any) -> str:
        return escape(names.get(str(org_id), str(org_id)))

    head = _rows(
        [
            ("Delivery", f"{escape(delivery.number)} ({escape(str(delivery.id))})"),
            (
                "Goods",
                f"{escape(delivery.product)}, planned {delivery.quantity} "
                f"{escape(delivery.unit.value)}",
            ),
            ("Seller", party(delivery.seller_id)),
            ("Buyer", party(delivery.buyer_id)),
            ("Carrier", party(delivery.carrier_id)),
            ("Plant operator", party(delivery.plant_operator_id)),
            ("Vehicle", escape(delivery.vehicle_plate)),
            ("Destination", escape(delivery.destination_address)),
            ("State", escape(delivery.state.value)),
            ("Loaded at", _text(delivery.loaded_at)),
            ("Delivered at", _text(delivery.delivered_at)),
        ]
    )
    listed = "".join(
        f"<tr><td><code>{escape(name)}</code></td><td>{escape(f.purpose.value)}</td>"
        f"<td>{escape(f.media_type)}</td><td>{f.size_bytes}</td><td><code>{escape(f.sha256)}</code>"
        f"</td><td>{_text(f.captured_at)} at {_text(f.lat)}, {_text(f.lon)}; "
        f"server {escape(f.received_at.isoformat())}</td></tr>"
        for name, f in files
    )
    body = (
        f"<h1>Delivery {escape(delivery.number)}: the evidence</h1>"
        "<p>Every fact on this page is also an entry of <code>chain.jsonl</code>, signed by the"
        " platform; <code>haulpoint verify</code> checks the bundle. Files are listed by SHA-256:"
        " hash a copy a party hands over and compare.</p>"
        + head
        + (_receipt(receipt, delivery.unit.value) if receipt else "<p>No receipt yet.</p>")
        + "<h2>Disputes</h2>"
        + ("".join(_dispute(d, s, names) for d, s in disputes) or "<p>None.</p>")
        + "<h2>Evidence files</h2>"
        + "<table><tr><th>Name</th><th>What</th><th>Type</th><th>Bytes</th><th>SHA-256</th>"
        + "<th>Captured (phone) and received (server)</th></tr>"
        + (listed or '<tr><td colspan="6">none</td></tr>')
        + "</table>"
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Delivery {escape(delivery.number)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
    return page.encode()
