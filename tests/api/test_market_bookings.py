"""Bookings over HTTP: cancellations, no-shows, outcomes, reliability, expiry of unbooked loads."""

from __future__ import annotations

from datetime import timedelta

import httpx

from core.bus import MemoryBus
from core.clock import FrozenClock
from core.database import Database
from dispatch.market.sweep import sweep
from tests.dispatch.market_factory import (
    SUGAR_T,
    carrier,
    fresh_headers,
    grab,
    post_offer,
    trade,
)


class TestCancellation:
    async def test_a_carrier_cancelling_inside_24_hours_loses_reliability(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client, starts_in=timedelta(hours=30))
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        delivered = await grab(client, haulier, offer["id"], 5 * SUGAR_T)
        path = f"/v1/market/bookings/{delivered.json()['id']}"
        await client.post(f"{path}/pickup", headers=deal.seller.headers, json={})
        await client.post(f"{path}/delivery", headers=deal.seller.headers, json={})
        reliability = f"/v1/market/carriers/{haulier.org.id}/reliability"
        before = (await client.get(reliability, headers=deal.seller.headers)).json()
        assert (before["bookings"], before["cancellation_rate"]) == (1, 0.0)

        early = await grab(client, haulier, offer["id"], 5 * SUGAR_T)
        cancelled = await client.post(
            f"/v1/market/bookings/{early.json()['id']}/cancel", headers=haulier.headers, json={}
        )
        assert cancelled.json()["counts_against_carrier"] is False  # 30 h ahead
        unchanged = (await client.get(reliability, headers=deal.seller.headers)).json()
        assert unchanged["score"] == before["score"]

        clock.advance(hours=8)  # the window opens in 22 h
        late = await grab(client, haulier, offer["id"], 5 * SUGAR_T)
        cancelled = await client.post(
            f"/v1/market/bookings/{late.json()['id']}/cancel", headers=haulier.headers, json={}
        )
        assert cancelled.json()["state"] == "cancelled"
        assert cancelled.json()["counts_against_carrier"] is True
        after = (await client.get(reliability, headers=deal.seller.headers)).json()
        assert after["bookings"] == 2
        assert after["cancellation_rate"] == 0.5
        assert after["score"] < before["score"]

    async def test_cancelled_quantity_goes_back_to_the_load(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        booking = (await grab(client, haulier, offer["id"], 25 * SUGAR_T)).json()
        path = f"/v1/market/offers/{offer['id']}"
        assert (await client.get(path, headers=haulier.headers)).json()["state"] == "booked"
        await client.post(
            f"/v1/market/bookings/{booking['id']}/cancel",
            headers=deal.seller.headers,
            json={"reason": "plant shutdown"},
        )
        reopened = (await client.get(path, headers=haulier.headers)).json()
        assert (reopened["state"], reopened["remaining"]) == ("open", 25 * SUGAR_T)

    async def test_the_shipper_must_say_why_and_cannot_cancel_twice(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        booking = (await grab(client, haulier, offer["id"], 25 * SUGAR_T)).json()
        path = f"/v1/market/bookings/{booking['id']}/cancel"
        silent = await client.post(path, headers=deal.seller.headers, json={})
        assert silent.status_code == 422
        assert silent.json()["code"] == "reason_required"
        body = {"reason": "order changed"}
        assert (await client.post(path, headers=deal.seller.headers, json=body)).status_code == 200
        again = await client.post(path, headers=deal.seller.headers, json=body)
        assert again.status_code == 409
        assert again.json()["code"] == "booking_not_cancellable"

    async def test_a_no_show_counts_against_the_carrier(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client, starts_in=timedelta(hours=1))
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        booking = (await grab(client, haulier, offer["id"], 25 * SUGAR_T)).json()
        path = f"/v1/market/bookings/{booking['id']}/no-show"
        too_early = await client.post(path, headers=deal.seller.headers)
        assert too_early.status_code == 422
        assert (await client.post(path, headers=haulier.headers)).status_code == 403
        clock.advance(hours=2)
        reported = await client.post(path, headers=deal.seller.headers)
        assert reported.json()["state"] == "no_show"
        score = await client.get(
            f"/v1/market/carriers/{haulier.org.id}/reliability", headers=haulier.headers
        )
        assert score.json()["cancellation_rate"] == 1.0


class TestBookingsAreTheirParties:
    async def test_another_organization_gets_404(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        rival = await carrier(client, "Rival Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        booking = (await grab(client, haulier, offer["id"], 25 * SUGAR_T)).json()
        path = f"/v1/market/bookings/{booking['id']}"
        assert (await client.get(path, headers=rival.headers)).status_code == 404
        assert (
            await client.get(f"{path}/rate-confirmation", headers=rival.headers)
        ).status_code == 404
        assert (await client.get(path, headers=haulier.headers)).status_code == 200
        listed = await client.get("/v1/market/bookings", headers=rival.headers)
        assert listed.json()["count"] == 0


class TestExpiry:
    async def test_an_unbooked_load_expires_at_the_end_of_its_window(
        self,
        client: httpx.AsyncClient,
        clock: FrozenClock,
        database: Database,
        bus: MemoryBus,
    ) -> None:
        deal = await trade(client, starts_in=timedelta(hours=1))
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        assert (await grab(client, haulier, offer["id"], 10 * SUGAR_T)).status_code == 201
        clock.advance(hours=10)  # the two-day window is still open
        async with database.transaction(bus) as session:
            assert (await sweep(session)).loads_expired == 0
        clock.set(clock.now() + timedelta(days=2))
        # Sessions last 12 h: log in again after the days that passed.
        carrier_headers = await fresh_headers(client, haulier.org)
        late = await client.post(
            f"/v1/market/offers/{offer['id']}/grab",
            headers=carrier_headers,
            json={"quantity": 5 * SUGAR_T},
        )
        assert late.status_code == 409
        async with database.transaction(bus) as session:
            assert (await sweep(session)).loads_expired == 1
        seller_headers = await fresh_headers(client, deal.seller)
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=seller_headers)
        assert (seen.json()["state"], seen.json()["remaining"]) == ("expired", 15 * SUGAR_T)
        order = await client.get(f"/v1/orders/{deal.order_id}", headers=seller_headers)
        assert order.json()["offered_quantity"] == 10 * SUGAR_T
