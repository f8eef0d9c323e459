"""A delivery on the road to the buyer, built as clients and the yard would, and the pieces a
receipt needs: stamps from the phone, images, a receipt body."""

from __future__ import annotations

import struct
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from core.clock import now
from core.database import Database
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.repository import delivery as delivery_row
from tests.dispatch.delivery_factory import Booked, booked, split
from tests.dispatch.market_factory import SUGAR_T
from tests.helpers import Org, signup

YARD = "system:yard"


def png(seed: int = 0, size: int = 4, comment_bytes: int = 0) -> bytes:
    """A small valid PNG whose pixels depend on ``seed`` (so each seed hashes differently),
    made larger by a text comment of ``comment_bytes``."""
    raw = b"".join(b"\x00" + bytes([(seed + y) % 256]) * (3 * size) for y in range(size))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"tEXt", b"Comment\x00" + b"x" * comment_bytes)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg(seed: int = 0) -> bytes:
    """Bytes that start like a JFIF JPEG (what the store sniffs), distinct per seed."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes([seed % 256]) * 64 + b"\xff\xd9"


@dataclass
class OnTheRoad:
    """A delivery loaded and in transit, its trade, and a stranger organization."""

    deal: Booked
    delivery: dict[str, Any]
    loaded_quantity: int
    stranger: Org

    @property
    def id(self) -> str:
        """The delivery's id."""
        return str(self.delivery["id"])

    @property
    def buyer(self) -> Org:
        """The buyer."""
        return self.deal.deal.buyer

    @property
    def seller(self) -> Org:
        """The seller."""
        return self.deal.deal.seller

    @property
    def carrier_headers(self) -> dict[str, str]:
        """The carrier's dispatcher."""
        return self.deal.carrier.headers


async def on_the_road(
    client: httpx.AsyncClient,
    database: Database,
    *,
    short_by: int = 0,
) -> OnTheRoad:
    """Book, split and move the first delivery through the plant to in transit with the
    delivery's own transitions (a plant without a yard); the loaded quantity is the planned
    one less ``short_by``. `tests.api.test_receipts_yard` goes through a real yard."""
    deal = await booked(client, quantity=50 * SUGAR_T)
    first, *_ = await split(client, deal)
    delivery_id = uuid.UUID(first["id"])
    loaded = first["quantity"] - short_by
    async with database.transaction() as session:
        await transitions.advance(
            session,
            delivery_id=delivery_id,
            to_state=DeliveryState.ASSIGNED,
            kind="delivery.assigned",
            actor=YARD,
        )
        await transitions.authorize(session, delivery_id=delivery_id, actor=YARD)
        await transitions.slot(
            session, delivery_id=delivery_id, slot_starts_at=now() + timedelta(hours=1), actor=YARD
        )
        await transitions.arrive(session, delivery_id=delivery_id, actor=YARD)
        await transitions.load(
            session, delivery_id=delivery_id, loaded_quantity=loaded, actor=YARD, ticket="WB-7"
        )
        await transitions.depart(session, delivery_id=delivery_id, actor=YARD)
    stranger = await signup(client, "Nosy Freight", ["carrier", "buyer"])
    return OnTheRoad(deal=deal, delivery=first, loaded_quantity=loaded, stranger=stranger)


def stamp(at: datetime, lat: float = 53.546, lon: float = 10.082) -> dict[str, Any]:
    """What the phone says about a step."""
    return {"at": at.isoformat(), "lat": lat, "lon": lon, "accuracy_m": 8.0}


def receipt_body(received: int, **fields: Any) -> dict[str, Any]:
    """A receipt of ``received`` kg in good condition, signed by Ada Receiver."""
    start = now() - timedelta(minutes=50)
    return {
        "arrival": stamp(start),
        "unloading_started": stamp(start + timedelta(minutes=10)),
        "unloading_ended": stamp(start + timedelta(minutes=40)),
        "received_quantity": received,
        "unit": "kg",
        "condition": "good",
        "receiver_name": "Ada Receiver",
        **fields,
    }


async def upload(
    client: httpx.AsyncClient,
    delivery_id: str,
    headers: dict[str, str],
    content: bytes,
    *,
    purpose: str = "photo",
    content_type: str = "image/png",
) -> httpx.Response:
    """Upload a file to a delivery as a phone would."""
    return await client.post(
        f"/v1/evidence/{delivery_id}/files",
        headers={**headers, "Content-Type": content_type},
        params={
            "purpose": purpose,
            "captured_at": (now() - timedelta(minutes=5)).isoformat(),
            "lat": 53.546,
            "lon": 10.082,
        },
        content=content,
    )


async def delivery_state(database: Database, delivery_id: str) -> str:
    """The delivery's state as stored."""
    async with database.session() as session:
        row = await delivery_row(session, uuid.UUID(delivery_id))
    assert row is not None
    return row.state.value
