"""The carriers' live feed on a real server: websocket and SSE, filtered per carrier."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from api.app import create_app
from core.bus import MemoryBus, Subscription
from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from dispatch.fleet.capability import CarrierCapability, HeldQualification, VehicleClass
from dispatch.fleet.enums import BodyType, QualificationKind
from dispatch.market.feed import carrier_feed
from dispatch.market.offers import MarketFilter
from tests.dispatch.market_factory import SUGAR_T, carrier, grab, post_offer, trade
from tests.helpers import signup

WAIT_S = 5.0


@pytest.fixture
async def server(settings: Settings, database: Database, bus: MemoryBus) -> AsyncIterator[str]:
    """The app on a real socket (host:port), sharing the test database and bus."""
    config = uvicorn.Config(
        create_app(settings, database=database, bus=bus),
        host="127.0.0.1",
        port=0,
        log_config=None,
        lifespan="on",
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
        await asyncio.sleep(0.01)
    port = running.servers[0].sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}"
    running.should_exit = True
    await task


async def next_message(socket: ClientConnection) -> dict[str, Any]:
    """The next feed message, skipping keepalives."""
    while True:
        message: dict[str, Any] = orjson.loads(await asyncio.wait_for(socket.recv(), WAIT_S))
        if message["type"] != "keepalive":
            return message


class TestWebsocket:
    async def test_each_carrier_gets_only_loads_it_is_qualified_for(
        self, client: httpx.AsyncClient, clock: FrozenClock, server: str
    ) -> None:
        deal = await trade(
            client, commodity="ethanol", food_grade=False, hazard_class="3", un_number="1170"
        )
        sugar = await trade(client, seller=deal.seller, buyer=deal.buyer)
        tanker = {
            "body_type": "tanker",
            "compartments_l": [15000, 15000],
            "food_grade": False,
            "hazard_classes": ["3"],
        }
        qualified = await carrier(
            client, "Rapid Haulage", hazard_classes=["3"], vehicles=[tanker, {}]
        )
        plain = await carrier(client, "Longroad Logistics")
        url = f"ws://{server}/v1/market/feed?token="
        async with (
            connect(url + qualified.dispatcher_token) as rapid,
            connect(url + plain.dispatcher_token) as longroad,
        ):
            assert (await next_message(rapid))["type"] == "ready"
            assert (await next_message(longroad))["type"] == "ready"
            hazardous = await post_offer(client, deal.seller, deal.order_id, body_types=["tanker"])
            food = await post_offer(client, deal.seller, sugar.order_id)
            seen = await next_message(rapid)
            assert (seen["offer"]["id"], seen["available"]) == (hazardous["id"], True)
            assert seen["offer"]["hazard_class"] == "3"
            assert (await next_message(rapid))["offer"]["id"] == food["id"]
            # The unqualified carrier's first message is the food-grade load, not the ethanol.
            assert (await next_message(longroad))["offer"]["id"] == food["id"]
            await grab(client, plain, food["id"], 25 * SUGAR_T)
            taken = await next_message(rapid)
            assert (taken["offer"]["id"], taken["available"]) == (food["id"], False)
            assert "carrier" not in orjson.dumps(taken).decode()

    async def test_a_radius_filter_keeps_far_loads_away(
        self, client: httpx.AsyncClient, clock: FrozenClock, server: str
    ) -> None:
        deal = await trade(client)  # origin: Uelzen
        haulier = await carrier(client, "Rapid Haulage")
        munich = f"ws://{server}/v1/market/feed?near_lat=48.14&near_lon=11.58&radius_km=100&token="
        uelzen = f"ws://{server}/v1/market/feed?near_lat=52.9&near_lon=10.5&radius_km=50&token="
        async with (
            connect(munich + haulier.dispatcher_token) as far,
            connect(uelzen + haulier.dispatcher_token) as near,
        ):
            await next_message(far)
            await next_message(near)
            offer = await post_offer(client, deal.seller, deal.order_id)
            shown = await next_message(near)
            assert shown["offer"]["id"] == offer["id"]
            assert shown["distance_km"] < 50
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(far.recv(), 0.5)

    async def test_a_bad_token_or_a_non_carrier_is_turned_away(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        async with connect(f"ws://{server}/v1/market/feed?token=hps_nonsense") as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4401
        buyer = await signup(client, "Acme Foods", ["buyer"])
        async with connect(
            f"ws://{server}/v1/market/feed",
            additional_headers={"Authorization": f"Bearer {buyer.token}"},
        ) as socket:
            with pytest.raises(ConnectionClosed) as closed:
                await socket.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4403


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs from an event stream's lines; comments are skipped."""
    kind, data = "message", ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            yield kind, orjson.loads(data)
            kind, data = "message", ""


class TestServerSentEvents:
    async def test_the_event_stream_carries_new_loads(
        self, client: httpx.AsyncClient, clock: FrozenClock, server: str
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        async with (
            httpx.AsyncClient(base_url=f"http://{server}", timeout=WAIT_S) as http,
            http.stream("GET", "/v1/market/feed/events", headers=haulier.headers) as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            events = sse_events(stream.aiter_lines())
            assert (await anext(events))[0] == "ready"
            offer = await post_offer(client, deal.seller, deal.order_id)
            kind, data = await asyncio.wait_for(anext(events), WAIT_S)
            assert (kind, data["offer"]["id"], data["available"]) == ("offer", offer["id"], True)

    async def test_the_event_stream_needs_a_carrier(
        self, client: httpx.AsyncClient, server: str
    ) -> None:
        buyer = await signup(client, "Acme Foods", ["buyer"])
        response = await client.get("/v1/market/feed/events", headers=buyer.headers)
        assert response.status_code == 403
        assert (await client.get("/v1/market/feed/events")).status_code == 401


class TestSlowConsumer:
    async def test_a_reader_that_falls_behind_gets_a_gap_not_an_unbounded_queue(self) -> None:
        carrier_id = uuid.uuid4()
        subscription = Subscription(frozenset({"market"}), maxsize=3)
        moment = datetime(2026, 3, 2, tzinfo=UTC)
        capable = CarrierCapability(
            carrier_id=carrier_id,
            qualifications=tuple(
                HeldQualification(kind, moment, moment.replace(year=2027))
                for kind in (QualificationKind.TRANSPORT_LICENCE, QualificationKind.INSURANCE)
            ),
            vehicle_classes=frozenset({VehicleClass(BodyType.BOX, False)}),
        )

        async def load() -> CarrierCapability:
            return capable

        feed = carrier_feed(
            subscription,
            carrier_id=carrier_id,
            where=MarketFilter(),
            origins=[],
            load_capability=load,
        )
        assert (await anext(feed))["type"] == "ready"
        for n in range(10):
            subscription.deliver("market", orjson.dumps(_snapshot(n)))
        assert subscription.dropped == 7
        gap = await anext(feed)
        assert gap == {"type": "gap", "dropped": 7}
        shown = [(await anext(feed))["offer"]["remaining"] for _ in range(3)]
        assert shown == [7, 8, 9]


def _snapshot(n: int) -> dict[str, Any]:
    return {
        "offer": {
            "id": str(uuid.uuid4()),
            "shipper_id": str(uuid.uuid4()),
            "state": "open",
            "remaining": n,
            "visibility": "open",
            "pricing_mode": "posted",
            "hazard_class": None,
            "food_grade": False,
            "body_types": [],
            "origin_lat": 52.9,
            "origin_lon": 10.5,
            "destination_lat": 53.5,
            "destination_lon": 10.0,
            "pickup_from": "2026-03-03T08:00:00+00:00",
            "pickup_until": "2026-03-05T08:00:00+00:00",
        },
        "carriers": None,
        "tender_carrier_id": None,
    }
