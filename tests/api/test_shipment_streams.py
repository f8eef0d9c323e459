"""Shipment streams over a real websocket and SSE: each party's own shipments, refusals at
the handshake, events with their sequence numbers, catch-up after a reconnect, share links."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from core.clock import FrozenClock, now
from core.settings import Settings
from tests.api.live_server import serving
from tests.helpers import signup
from tests.tracking.shipment_factory import (
    PLANT_FRAME,
    Shipment,
    ping,
    send,
    shipment,
    shipment_events,
    shipment_settings,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return shipment_settings(tmp_path)


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    async with serving(app) as address:
        yield address


@pytest.fixture
async def tracked(client: httpx.AsyncClient, clock: FrozenClock) -> Shipment:
    return await shipment(client, clock)


async def next_of(ws: ClientConnection, kind: str, within_s: float = 3.0) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            frame: dict[str, Any] = orjson.loads(await ws.recv())
            if frame["type"] == kind:
                return frame


async def event_of(ws: ClientConnection, kind: str, within_s: float = 3.0) -> dict[str, Any]:
    async with asyncio.timeout(within_s):
        while True:
            frame = await next_of(ws, "event", within_s)
            if frame["kind"] == kind:
                return frame


def approach(start_n: int, minutes_ago: float, count: int = 3) -> list[dict[str, Any]]:
    start = now() - timedelta(minutes=minutes_ago)
    return [
        ping(
            start_n + k,
            start + timedelta(minutes=k),
            PLANT_FRAME,
            0,
            -15_000 + 1_000 * k,
            speed_mps=16,
        )
        for k in range(count)
    ]


def at_gate(start_n: int, minutes_ago: float) -> list[dict[str, Any]]:
    start = now() - timedelta(minutes=minutes_ago)
    return [ping(start_n + k, start + timedelta(minutes=k), PLANT_FRAME, 0, -40) for k in range(4)]


class TestWebsocket:
    async def test_a_buyer_watches_its_shipment_move_and_arrive(
        self, client: httpx.AsyncClient, app: Any, server: str, tracked: Shipment
    ) -> None:
        buyer = tracked.deal.deal.buyer
        async with connect(
            f"ws://{server}/v1/live/shipments", additional_headers=buyer.headers
        ) as ws:
            snapshot = await next_of(ws, "snapshot")
            assert [s["id"] for s in snapshot["shipments"]] == [tracked.id]
            held = snapshot["shipments"][0]["last_seq"]
            await send(client, app, tracked.device, approach(0, 20))
            frame = await next_of(ws, "positions")
            (position,) = frame["positions"]
            assert position["shipment_id"] == tracked.id
            assert position["seq"] >= held
            await send(client, app, tracked.device, at_gate(10, 10))
            arrived = await event_of(ws, "shipment.arrived_plant")
        assert arrived["shipment_id"] == tracked.id
        assert arrived["seq"] > held
        assert arrived["signature"]  # a receipt the buyer can keep
        logged = await shipment_events(client, tracked, buyer.headers, after=arrived["seq"] - 1)
        assert logged[0]["hash"] == arrived["hash"]

    async def test_another_buyer_hears_nothing_and_cannot_name_the_shipment(
        self, client: httpx.AsyncClient, app: Any, server: str, tracked: Shipment
    ) -> None:
        stranger = await signup(client, "Other Foods", ["buyer"])
        url = f"ws://{server}/v1/live/shipments"
        async with connect(url, additional_headers=stranger.headers) as ws:
            assert (await next_of(ws, "snapshot"))["shipments"] == []
            await send(client, app, tracked.device, approach(0, 20) + at_gate(10, 10))
            heartbeat = await next_of(ws, "heartbeat")  # the next thing it hears
            assert set(heartbeat) == {"type", "at"}
        with pytest.raises(InvalidStatus) as refused:
            async with connect(
                f"{url}?shipment_id={tracked.id}", additional_headers=stranger.headers
            ):
                pass
        assert refused.value.response.status_code == 404

    async def test_no_token_is_refused_at_the_handshake(self, server: str) -> None:
        with pytest.raises(InvalidStatus) as refused:
            async with connect(f"ws://{server}/v1/live/shipments"):
                pass
        assert refused.value.response.status_code == 401

    async def test_a_reconnecting_client_catches_up_from_its_last_seq(
        self, client: httpx.AsyncClient, app: Any, server: str, tracked: Shipment
    ) -> None:
        seller = tracked.deal.deal.seller
        url = f"ws://{server}/v1/live/shipments?shipment_id={tracked.id}"
        async with connect(url, additional_headers=seller.headers) as ws:
            await next_of(ws, "snapshot")
            await send(client, app, tracked.device, approach(0, 30))
            held = (await event_of(ws, "shipment.eta"))["seq"]
        # Offline while the truck reaches the gate.
        await send(client, app, tracked.device, at_gate(10, 20))
        async with connect(url, additional_headers=seller.headers) as ws:
            snapshot = await next_of(ws, "snapshot")
        last = snapshot["shipments"][0]["last_seq"]
        assert last > held
        missed = await shipment_events(client, tracked, seller.headers, after=held)
        assert [e["seq"] for e in missed] == list(range(held + 1, last + 1))
        assert "shipment.arrived_plant" in [e["kind"] for e in missed]


class TestSharedStreams:
    async def test_a_share_link_streams_one_shipment_by_sse(
        self, client: httpx.AsyncClient, app: Any, server: str, tracked: Shipment
    ) -> None:
        link = (
            await client.post(
                f"/v1/shipments/{tracked.id}/share",
                headers=tracked.deal.deal.buyer.headers,
                json={},
            )
        ).json()
        url = f"http://{server}{link['stream_path']}/sse"
        seen: list[str] = []
        async with httpx.AsyncClient(timeout=5) as http, http.stream("GET", url) as stream:
            assert stream.status_code == 200
            async with asyncio.timeout(5):
                async for line in stream.aiter_lines():
                    if not line.startswith("data: "):
                        continue
                    frame = orjson.loads(line[6:])
                    seen.append(frame["type"])
                    if frame["type"] == "snapshot":
                        assert frame["shipments"][0]["id"] == tracked.id
                        assert "buyer_id" not in frame["shipments"][0]
                        await send(client, app, tracked.device, approach(0, 20))
                    elif frame["type"] == "event":
                        assert "signature" not in frame
                        assert "driver_member_id" not in frame["payload"]
                    elif frame["type"] == "positions":
                        assert frame["positions"][0]["shipment_id"] == tracked.id
                        break
        assert seen[0] == "snapshot"

    async def test_an_expired_or_forged_link_gets_no_stream(
        self, client: httpx.AsyncClient, server: str, tracked: Shipment, clock: FrozenClock
    ) -> None:
        link = (
            await client.post(
                f"/v1/shipments/{tracked.id}/share",
                headers=tracked.deal.deal.buyer.headers,
                json={"expires_in_s": 60},
            )
        ).json()
        with pytest.raises(InvalidStatus) as forged:
            async with connect(f"ws://{server}{link['stream_path']}x"):
                pass
        assert forged.value.response.status_code == 404
        clock.advance(seconds=61)
        with pytest.raises(InvalidStatus) as expired:
            async with connect(f"ws://{server}{link['stream_path']}"):
                pass
        assert expired.value.response.status_code == 410
