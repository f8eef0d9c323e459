"""The bus message carrying shipments' positions, and the frames shipment streams send."""

from __future__ import annotations

from typing import Any, Final

import orjson

from core.eventlog import Event

SHIPMENT_POSITIONS_CHANNEL: Final = "shipment_positions"

# What a share link's holder may read of an entry's payload: where and when, never who.
_SHOWN_TO_LINKS: Final = frozenset(
    {
        "delivery_id",
        "number",
        "state",
        "quantity",
        "unit",
        "loaded_quantity",
        "planned_day",
        "vehicle_plate",
        "slot_starts_at",
        "at",
        "confirmed_at",
        "started_at",
        "lat",
        "lon",
        "leg",
        "eta_at",
        "computed_at",
        "remaining_m",
        "deadline",
        "deadline_kind",
        "late_by_s",
        "duration_s",
        "silent_s",
        "last_ping_at",
        "expires_at",
    }
)


def encode_shipment_positions(
    items: list[tuple[str, tuple[str, ...], int, dict[str, Any]]],
) -> bytes:
    """``[[delivery id, [party org ids], last seq, position], ...]`` for one tracker pass."""
    return orjson.dumps([[d, list(p), seq, pos] for d, p, seq, pos in items])


def decode_shipment_positions(
    payload: bytes,
) -> list[tuple[str, tuple[str, ...], int, dict[str, Any]]]:
    """The items of a bus message; a garbled one yields none."""
    try:
        items = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return []
    if type(items) is not list:
        return []
    return [
        (item[0], tuple(str(p) for p in item[1]), item[2], item[3])
        for item in items
        if type(item) is list
        and len(item) == 4
        and type(item[0]) is str
        and type(item[1]) is list
        and type(item[2]) is int
        and type(item[3]) is dict
    ]


def event_frame_body(event: dict[str, Any], *, shared: bool) -> dict[str, Any]:
    """One log entry as a shipment stream shows it (a share link sees less of it)."""
    shipment_id = str(event["subject"]).partition(":")[2]
    body = {
        "type": "event",
        "shipment_id": shipment_id,
        "seq": event["seq"],
        "kind": event["kind"],
        "recorded_at": event["recorded_at"],
        "payload": event["payload"],
    }
    if shared:
        payload = event["payload"]
        if isinstance(payload, dict):
            body["payload"] = {k: v for k, v in payload.items() if k in _SHOWN_TO_LINKS}
    else:
        body.update(
            {
                "actor": event.get("actor"),
                "prev_hash": event.get("prev_hash"),
                "hash": event.get("hash"),
                "kid": event.get("kid"),
                "signature": event.get("signature"),
            }
        )
    return body


def event_dict(event: Event) -> dict[str, Any]:
    """A stored event in the form the bus carries it."""
    parsed: dict[str, Any] = orjson.loads(event.to_json())
    return parsed
