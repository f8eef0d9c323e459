"""The tender waterfall over HTTP: one carrier at a time, timeouts, then the open market."""

from __future__ import annotations

from typing import Any

import httpx

from core.bus import MemoryBus
from core.clock import FrozenClock
from core.database import Database
from dispatch.market.sweep import sweep
from tests.dispatch.market_factory import SUGAR_T, Carrier, carrier, grab, post_offer, trade


async def tendered(
    client: httpx.AsyncClient, shipper_headers: Any, deal: Any, carriers: list[Carrier]
) -> dict[str, Any]:
    """A load tendered to carriers in this order, each with 30 minutes to answer."""
    return await post_offer(
        client,
        deal.seller,
        deal.order_id,
        pricing_mode="tender",
        min_lot=None,
        rate_cents=1800,
        response_timeout_s=1800,
        tender_carrier_ids=[str(c.org.id) for c in carriers],
    )


class TestWaterfall:
    async def test_only_the_carrier_whose_turn_it_is_sees_and_takes_the_load(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        first, second = await carrier(client, "First Choice"), await carrier(client, "Second")
        offer = await tendered(client, deal.seller.headers, deal, [first, second])
        path = f"/v1/market/offers/{offer['id']}"
        assert (await client.get(path, headers=first.headers)).status_code == 200
        assert (await client.get(path, headers=second.headers)).status_code == 404
        listed = await client.get("/v1/market/loads", headers=second.headers)
        assert listed.json()["count"] == 0
        early = await client.post(f"{path}/tender/accept", headers=second.headers)
        assert early.status_code == 404
        wrong_door = await grab(client, first, offer["id"], 25 * SUGAR_T)
        assert wrong_door.status_code == 409
        assert wrong_door.json()["code"] == "wrong_pricing_mode"
        accepted = await client.post(f"{path}/tender/accept", headers=first.headers)
        assert accepted.status_code == 201, accepted.text
        assert (accepted.json()["quantity"], accepted.json()["source"]) == (25 * SUGAR_T, "tender")
        steps = await client.get(f"{path}/tender", headers=deal.seller.headers)
        assert [s["state"] for s in steps.json()["data"]] == ["accepted", "skipped"]

    async def test_the_waterfall_moves_on_at_timeout_and_then_opens_the_market(
        self,
        client: httpx.AsyncClient,
        clock: FrozenClock,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        deal = await trade(client)
        first, second = await carrier(client, "First Choice"), await carrier(client, "Second")
        outsider = await carrier(client, "Open Market Haulage")
        offer = await tendered(client, deal.seller.headers, deal, [first, second])
        path = f"/v1/market/offers/{offer['id']}"
        clock.advance(minutes=29)
        async with database.transaction(bus) as session:
            assert (await sweep(session)).tender_turns_expired == 0
        clock.advance(minutes=2)
        async with database.transaction(bus) as session:
            assert (await sweep(session)).tender_turns_expired == 1
        assert (
            await client.post(f"{path}/tender/accept", headers=first.headers)
        ).status_code == 403
        assert (await client.get(path, headers=second.headers)).status_code == 200
        declined = await client.post(f"{path}/tender/decline", headers=second.headers)
        assert declined.json()["pricing_mode"] == "posted"
        assert declined.json()["visibility"] == "open"
        steps = await client.get(f"{path}/tender", headers=deal.seller.headers)
        assert [s["state"] for s in steps.json()["data"]] == ["expired", "declined"]
        listed = await client.get("/v1/market/loads", headers=outsider.headers)
        assert [o["id"] for o in listed.json()["data"]] == [offer["id"]]
        taken = await grab(client, outsider, offer["id"], 25 * SUGAR_T)
        assert taken.status_code == 201
        assert taken.json()["rate_cents"] == 1800

    async def test_a_decline_and_a_timeout_of_the_same_turn_move_the_waterfall_once(
        self,
        client: httpx.AsyncClient,
        clock: FrozenClock,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        deal = await trade(client)
        chain = [await carrier(client, f"Carrier {n}") for n in range(3)]
        offer = await tendered(client, deal.seller.headers, deal, chain)
        clock.advance(minutes=31)
        declined = await client.post(
            f"/v1/market/offers/{offer['id']}/tender/decline", headers=chain[0].headers
        )
        assert declined.status_code == 200
        async with database.transaction(bus) as session:
            await sweep(session)
        steps = await client.get(
            f"/v1/market/offers/{offer['id']}/tender", headers=deal.seller.headers
        )
        assert [s["state"] for s in steps.json()["data"]] == ["declined", "offered", "waiting"]
