"""Approval rules over HTTP: large bids, grabs and awards wait for the owner or an admin."""

from __future__ import annotations

from typing import Any

import httpx

from core.bus import MemoryBus
from core.clock import FrozenClock
from core.database import Database
from dispatch.market.sweep import sweep
from tests.dispatch.market_factory import SUGAR_T, auction, bid, carrier, grab, post_offer, trade
from tests.helpers import Org


async def rule(client: httpx.AsyncClient, owner: Org, action: str, threshold_cents: int) -> Any:
    """The owner holds ``action`` above ``threshold_cents`` EUR for approval."""
    response = await client.put(
        "/v1/market/approval-rules",
        headers=owner.headers,
        json={"action": action, "threshold_cents": threshold_cents},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def pending(client: httpx.AsyncClient, owner: Org) -> list[dict[str, Any]]:
    """The organization's pending approval requests."""
    response = await client.get(
        "/v1/market/approvals", headers=owner.headers, params={"state": "pending"}
    )
    data: list[dict[str, Any]] = response.json()["data"]
    return data


class TestRules:
    async def test_only_the_owner_sets_rules(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        haulier = await carrier(client, "Rapid Haulage")
        refused = await client.put(
            "/v1/market/approval-rules",
            headers=haulier.headers,
            json={"action": "bid", "threshold_cents": 100000},
        )
        assert refused.status_code == 403
        set_twice = [await rule(client, haulier.org, "bid", n) for n in (100000, 50000)]
        assert set_twice[0]["id"] == set_twice[1]["id"]
        listed = await client.get("/v1/market/approval-rules", headers=haulier.headers)
        assert [r["threshold_cents"] for r in listed.json()["data"]] == [50000]


class TestHeldBid:
    async def test_a_large_bid_waits_for_the_owner_and_is_hidden_until_approved(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        await rule(client, haulier.org, "bid", 40000)  # 400 EUR
        placed = await bid(client, haulier, offer["id"], 1700)  # 25 t: 425 EUR
        assert placed.status_code == 201
        assert placed.json()["state"] == "pending_approval"
        shipper_view = await client.get(
            f"/v1/market/offers/{offer['id']}/bids", headers=deal.seller.headers
        )
        assert shipper_view.json()["count"] == 0
        waiting = await pending(client, haulier.org)
        assert [(a["action"], a["amount_cents"]) for a in waiting] == [("bid", 42500)]
        # A dispatcher cannot approve its own bid.
        refused = await client.post(
            f"/v1/market/approvals/{waiting[0]['id']}/approve", headers=haulier.headers
        )
        assert refused.status_code == 403
        approved = await client.post(
            f"/v1/market/approvals/{waiting[0]['id']}/approve", headers=haulier.org.headers
        )
        assert approved.json()["state"] == "approved"
        shipper_view = await client.get(
            f"/v1/market/offers/{offer['id']}/bids", headers=deal.seller.headers
        )
        assert [b["state"] for b in shipper_view.json()["data"]] == ["active"]

    async def test_a_small_bid_and_the_owners_own_bid_do_not_wait(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        await rule(client, haulier.org, "bid", 40000)
        small = await bid(client, haulier, offer["id"], 1500)
        assert small.json()["state"] == "active"
        owner_bid = await client.post(
            f"/v1/market/offers/{offer['id']}/bids",
            headers=haulier.org.headers,
            json={"rate_cents": 1900},
        )
        assert owner_bid.json()["state"] == "active"

    async def test_a_rejected_bid_never_reaches_the_shipper(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        await rule(client, haulier.org, "bid", 40000)
        placed = (await bid(client, haulier, offer["id"], 1700)).json()
        waiting = await pending(client, haulier.org)
        rejected = await client.post(
            f"/v1/market/approvals/{waiting[0]['id']}/reject",
            headers=haulier.org.headers,
            json={"reason": "too cheap for us"},
        )
        assert rejected.json()["state"] == "rejected"
        mine = await client.get(f"/v1/market/bids/{placed['id']}", headers=haulier.headers)
        assert mine.json()["state"] == "rejected"
        assert (
            await client.get(f"/v1/market/bids/{placed['id']}", headers=deal.seller.headers)
        ).status_code == 404


class TestHeldGrab:
    async def test_a_large_grab_holds_the_quantity_until_approved(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        rival = await carrier(client, "Rival Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        await rule(client, haulier.org, "grab", 30000)
        held = await grab(client, haulier, offer["id"], 20 * SUGAR_T)  # 370 EUR
        assert held.json()["state"] == "pending_approval"
        assert held.json()["hold_expires_at"] is not None
        # The held quantity is not available to others meanwhile.
        assert (await grab(client, rival, offer["id"], 10 * SUGAR_T)).status_code == 409
        waiting = await pending(client, haulier.org)
        await client.post(
            f"/v1/market/approvals/{waiting[0]['id']}/approve", headers=haulier.org.headers
        )
        booking = await client.get(
            f"/v1/market/bookings/{held.json()['id']}", headers=haulier.headers
        )
        assert booking.json()["state"] == "confirmed"

    async def test_a_rejected_grab_gives_the_quantity_back(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        await rule(client, haulier.org, "grab", 30000)
        held = await grab(client, haulier, offer["id"], 25 * SUGAR_T)
        waiting = await pending(client, haulier.org)
        await client.post(
            f"/v1/market/approvals/{waiting[0]['id']}/reject",
            headers=haulier.org.headers,
            json={},
        )
        booking = await client.get(
            f"/v1/market/bookings/{held.json()['id']}", headers=haulier.headers
        )
        assert (booking.json()["state"], booking.json()["counts_against_carrier"]) == (
            "cancelled",
            False,
        )
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=haulier.headers)
        assert (seen.json()["state"], seen.json()["remaining"]) == ("open", 25 * SUGAR_T)

    async def test_an_unanswered_hold_is_released_by_the_sweep(
        self,
        client: httpx.AsyncClient,
        clock: FrozenClock,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        await rule(client, haulier.org, "grab", 30000)
        held = await grab(client, haulier, offer["id"], 25 * SUGAR_T)
        clock.advance(hours=5)
        async with database.transaction(bus) as session:
            assert (await sweep(session)).holds_released == 1
        booking = await client.get(
            f"/v1/market/bookings/{held.json()['id']}", headers=haulier.headers
        )
        assert booking.json()["state"] == "cancelled"
        waiting = await pending(client, haulier.org)
        assert waiting == []


class TestHeldAward:
    async def test_an_automatic_award_above_the_shippers_limit_waits_for_approval(
        self,
        client: httpx.AsyncClient,
        clock: FrozenClock,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        await rule(client, deal.seller, "award", 40000)
        placed = (await bid(client, haulier, offer["id"], 1700)).json()
        clock.advance(hours=7)
        async with database.transaction(bus) as session:
            report = await sweep(session)
        assert (report.auctions_closed, report.awards_made) == (1, 1)
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=deal.seller.headers)
        assert seen.json()["state"] == "closed"
        mine = await client.get(f"/v1/market/bids/{placed['id']}", headers=haulier.headers)
        assert mine.json()["state"] == "active"
        waiting = await pending(client, deal.seller)
        assert [a["action"] for a in waiting] == ["award"]
        await client.post(
            f"/v1/market/approvals/{waiting[0]['id']}/approve", headers=deal.seller.headers
        )
        mine = await client.get(f"/v1/market/bids/{placed['id']}", headers=haulier.headers)
        assert mine.json()["state"] == "awarded"
