"""The shipment hub's routing and bounds, and share link tokens, without a server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from core.bus import MemoryBus
from tracking.live.hub import TooManyConnections
from tracking.shipments import sharing
from tracking.shipments.hub import ShipmentHub
from tracking.shipments.messages import encode_shipment_positions

BUYER = uuid.uuid4()
OTHER = uuid.uuid4()
SHIPMENT = uuid.uuid4()


def entry(seq: int, audience: list[uuid.UUID], shipment: uuid.UUID = SHIPMENT) -> bytes:
    return orjson.dumps(
        {
            "subject": f"delivery:{shipment}",
            "seq": seq,
            "kind": "shipment.eta",
            "payload": {"driver_member_id": "m-1", "eta_at": "2026-03-02T10:00:00+00:00"},
            "recorded_at": "2026-03-02T09:00:00+00:00",
            "actor": "system:tracking",
            "audience": [str(a) for a in audience],
            "hash": "h",
            "prev_hash": "p",
            "kid": "k",
            "signature": "s",
        }
    )


def position(lat: float) -> bytes:
    return encode_shipment_positions([(str(SHIPMENT), (str(BUYER),), 3, {"lat": lat, "lon": 10.0})])


async def frames(subscriber: object, count: int) -> list[dict[str, object]]:
    got = []
    for _ in range(count):
        frame = await subscriber.next_frame()  # type: ignore[attr-defined]
        assert frame is not None
        got.append(orjson.loads(frame))
    return got


class TestRouting:
    async def test_entries_reach_their_audience_and_the_shipments_links_only(self) -> None:
        hub = ShipmentHub(MemoryBus())
        mine = hub.open(organization_id=BUYER, shipment_id=None, cap_key=uuid.uuid4())
        theirs = hub.open(organization_id=OTHER, shipment_id=None, cap_key=uuid.uuid4())
        link = hub.open(organization_id=None, shipment_id=SHIPMENT, cap_key=uuid.uuid4())
        other_link = hub.open(organization_id=None, shipment_id=uuid.uuid4(), cap_key=uuid.uuid4())
        hub.deliver_event(entry(1, [BUYER]))
        (seen,) = await frames(mine, 1)
        assert (seen["seq"], seen["shipment_id"], seen["signature"]) == (1, str(SHIPMENT), "s")
        (shared,) = await frames(link, 1)
        assert "signature" not in shared
        assert "driver_member_id" not in shared["payload"]  # type: ignore[operator]
        assert not theirs.events
        assert not other_link.events

    async def test_a_slow_consumer_gets_coalesced_positions_and_a_resync(self) -> None:
        hub = ShipmentHub(MemoryBus(), max_events=3)
        slow = hub.open(organization_id=BUYER, shipment_id=SHIPMENT, cap_key=uuid.uuid4())
        for lat in (52.0, 52.1, 52.2):
            hub.deliver_positions(position(lat))
        for seq in range(1, 6):
            hub.deliver_event(entry(seq, [BUYER]))
        got = await frames(slow, 2)
        assert got[0]["type"] == "resync"
        assert got[1] == {
            "type": "positions",
            "positions": [{"shipment_id": str(SHIPMENT), "seq": 3, "lat": 52.2, "lon": 10.0}],
        }
        assert len(slow.events) == 0

    async def test_the_cap_counts_per_token(self) -> None:
        hub = ShipmentHub(MemoryBus(), connections_per_token=1)
        token = uuid.uuid4()
        first = hub.open(organization_id=BUYER, shipment_id=None, cap_key=token)
        with pytest.raises(TooManyConnections):
            hub.open(organization_id=BUYER, shipment_id=SHIPMENT, cap_key=token)
        hub.release(first)
        hub.open(organization_id=BUYER, shipment_id=SHIPMENT, cap_key=token)


class TestShareTokens:
    KEY = sharing.link_key(b"secret")
    AT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def test_a_token_opens_its_delivery_until_it_expires(self) -> None:
        token = sharing.issue(
            self.KEY, delivery_id=SHIPMENT, expires_at=self.AT + timedelta(hours=1)
        )
        assert sharing.open_link(self.KEY, token, at=self.AT).delivery_id == SHIPMENT
        with pytest.raises(sharing.ShareLinkExpired):
            sharing.open_link(self.KEY, token, at=self.AT + timedelta(hours=1))

    def test_another_key_or_a_widened_token_is_refused(self) -> None:
        token = sharing.issue(
            self.KEY, delivery_id=SHIPMENT, expires_at=self.AT + timedelta(hours=1)
        )
        with pytest.raises(sharing.ShareLinkNotFound):
            sharing.open_link(sharing.link_key(b"other"), token, at=self.AT)
        later = sharing.issue(
            sharing.link_key(b"other"), delivery_id=SHIPMENT, expires_at=self.AT + timedelta(days=9)
        )
        spliced = later.partition(".")[0] + "." + token.partition(".")[2]
        with pytest.raises(sharing.ShareLinkNotFound):
            sharing.open_link(self.KEY, spliced, at=self.AT)
