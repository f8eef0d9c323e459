"""The bus message that carries committed positions, and the public form of one position."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, Final

import orjson

from tracking.devices.identity import DeviceIdentity
from tracking.positions.codec import Row

POSITIONS_CHANNEL: Final = "positions"


def position_public(device_id: uuid.UUID | str, row: Row) -> dict[str, Any]:
    """A position as API clients and live streams see it, in normalized units."""
    speed = row[4]
    return {
        "device_id": str(device_id),
        "recorded_at": row[0].isoformat(),
        "lat": row[2] / 1e7,
        "lon": row[3] / 1e7,
        "speed_mps": None if speed is None else speed / 100.0,
        "heading_deg": row[5],
        "altitude_m": row[6],
        "accuracy_m": row[7],
        "battery_pct": row[8],
        "flags": row[9],
    }


def encode_positions(committed: Sequence[tuple[DeviceIdentity, Row]]) -> bytes:
    """One bus message for one commit: ``[[organization id, position], ...]``."""
    return orjson.dumps(
        [
            [str(device.organization_id), position_public(device.id, row)]
            for device, row in committed
        ]
    )


def decode_positions(payload: bytes) -> list[tuple[str, dict[str, Any]]]:
    """The (organization id, position) pairs of a bus message; a garbled one yields none."""
    try:
        items = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return []
    if type(items) is not list:
        return []
    return [
        (item[0], item[1])
        for item in items
        if type(item) is list and len(item) == 2 and type(item[1]) is dict
    ]
