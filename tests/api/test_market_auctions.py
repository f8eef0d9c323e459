"""Reverse auctions over HTTP: sealed bids, revisions, counters, close, score, confirmation."""

from __future__ import annotations

from datetime import timedelta

import httpx

from core.bus import MemoryBus
from core.clock import FrozenClock
from core.database import Database
from dispatch.market.sweep import SweepReport, sweep
from tests.dispatch.market_factory import (
    SUGAR_T,
    auction,
    bid,
    carrier,
    grab,
    post_offer,
    trade,
)


async def run_sweep(database: Database, bus: MemoryBus) -> SweepReport:
    """Fire the market's deadlines, as a server's background task does."""
    async with database.transaction(bus) as session:
        return await sweep(session)


async def delivered_on_time(
    client: httpx.AsyncClient, shipper_headers: dict[str, str], booking_id: str
) -> None:
    """Record a pickup and a delivery within the terms."""
    path = f"/v1/market/bookings/{booking_id}"
    assert (
        await client.post(f"{path}/pickup", headers=shipper_headers, json={})
    ).status_code == 200
    assert (
        await client.post(f"{path}/delivery", headers=shipper_headers, json={})
    ).status_code == 200


class TestSealedBids:
    async def test_sealed_bids_are_hidden_from_other_carriers_and_shown_to_the_shipper(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(client, deal.seller, deal.order_id)
        assert (await bid(client, first, offer["id"], 1700)).status_code == 201
        assert (await bid(client, second, offer["id"], 1650)).status_code == 201
        path = f"/v1/market/offers/{offer['id']}"
        seen = await client.get(f"{path}/bids", headers=second.headers)
        assert [b["rate_cents"] for b in seen.json()["data"]] == [1650]
        assert "1700" not in seen.text
        assert (await client.get(path, headers=second.headers)).json()["best_bid_cents"] is None
        shipper = await client.get(f"{path}/bids", headers=deal.seller.headers)
        assert sorted(b["rate_cents"] for b in shipper.json()["data"]) == [1650, 1700]
        assert (await client.get(path, headers=deal.seller.headers)).json()[
            "best_bid_cents"
        ] == 1650 * 25

    async def test_an_open_auction_shows_carriers_the_best_bid_only(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(client, deal.seller, deal.order_id, sealed=False)
        await bid(client, first, offer["id"], 1700)
        path = f"/v1/market/offers/{offer['id']}"
        assert (await client.get(path, headers=second.headers)).json()["best_bid_cents"] == 42500
        seen = await client.get(f"{path}/bids", headers=second.headers)
        assert seen.json()["count"] == 0

    async def test_bids_are_revised_in_place_up_to_the_limit(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id, max_bids_per_carrier=2)
        placed = await bid(client, haulier, offer["id"], 1800)
        revised = await bid(client, haulier, offer["id"], 1750)
        assert revised.status_code == 201
        assert revised.json()["id"] == placed.json()["id"]
        assert revised.json()["revisions"] == 2
        third = await bid(client, haulier, offer["id"], 1700)
        assert third.status_code == 422
        assert third.json()["code"] == "bid_limit_reached"

    async def test_a_bid_above_the_ceiling_is_refused(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id, ceiling_cents=2000)
        refused = await bid(client, haulier, offer["id"], 2100)
        assert refused.status_code == 422
        assert refused.json()["code"] == "above_ceiling"

    async def test_bids_after_the_close_are_refused(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        clock.advance(hours=7)
        late = await bid(client, haulier, offer["id"], 1700)
        assert late.status_code == 409
        assert late.json()["code"] == "offer_not_open"

    async def test_the_shipper_counters_once_and_the_carrier_accepts(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        placed = (await bid(client, haulier, offer["id"], 1900)).json()
        path = f"/v1/market/bids/{placed['id']}"
        countered = await client.post(
            f"{path}/counter", headers=deal.seller.headers, json={"rate_cents": 1750}
        )
        assert countered.json()["counter_state"] == "offered"
        again = await client.post(
            f"{path}/counter", headers=deal.seller.headers, json={"rate_cents": 1700}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "counter_not_allowed"
        other = await carrier(client, "Longroad Logistics")
        assert (
            await client.post(f"{path}/counter/accept", headers=other.headers)
        ).status_code == 404
        accepted = await client.post(f"{path}/counter/accept", headers=haulier.headers)
        assert accepted.json()["rate_cents"] == 1750
        assert accepted.json()["amount_cents"] == 1750 * 25


class TestAward:
    async def test_the_close_awards_by_score_not_by_price_alone(
        self, client: httpx.AsyncClient, clock: FrozenClock, database: Database, bus: MemoryBus
    ) -> None:
        deal = await trade(client)
        cheap = await carrier(client, "Cheap but Flaky")
        steady = await carrier(client, "Steady Haulage")
        # History on an earlier order whose pickup opens in 12 h: the cheap carrier cancels
        # twice inside 24 h of the window, the steady one delivers three times.
        earlier = await trade(
            client, seller=deal.seller, buyer=deal.buyer, starts_in=timedelta(hours=12)
        )
        history_id = (await post_offer(client, deal.seller, earlier.order_id))["id"]
        for _ in range(3):
            booked = await grab(client, steady, history_id, 5 * SUGAR_T)
            await delivered_on_time(client, deal.seller.headers, booked.json()["id"])
        for _ in range(2):
            booked = await grab(client, cheap, history_id, 5 * SUGAR_T)
            assert booked.status_code == 201, booked.text
            cancel = await client.post(
                f"/v1/market/bookings/{booked.json()['id']}/cancel", headers=cheap.headers, json={}
            )
            assert cancel.json()["counts_against_carrier"] is True
        offer = await auction(
            client,
            deal.seller,
            deal.order_id,
            closes_at=(clock.now() + timedelta(hours=2)).isoformat(),
            price_weight_pct=50,
        )
        cheap_bid = (await bid(client, cheap, offer["id"], 1600)).json()
        steady_bid = (await bid(client, steady, offer["id"], 1700)).json()
        ranking = await client.get(
            f"/v1/market/offers/{offer['id']}/ranking", headers=deal.seller.headers
        )
        ranked = ranking.json()["data"]
        assert [r["bid"]["id"] for r in ranked] == [steady_bid["id"], cheap_bid["id"]]
        assert ranked[0]["price_part"] < ranked[1]["price_part"]
        assert ranked[0]["reliability"] > ranked[1]["reliability"]
        clock.advance(hours=3)
        report = await run_sweep(database, bus)
        assert (report.auctions_closed, report.awards_made) == (1, 1)
        closed = await client.get(f"/v1/market/offers/{offer['id']}", headers=deal.seller.headers)
        assert closed.json()["state"] == "awarded"
        mine = await client.get(f"/v1/market/bids/{steady_bid['id']}", headers=steady.headers)
        assert mine.json()["state"] == "awarded"

    async def test_with_all_weight_on_price_the_cheapest_bid_wins(
        self, client: httpx.AsyncClient, clock: FrozenClock, database: Database, bus: MemoryBus
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(client, deal.seller, deal.order_id, price_weight_pct=100)
        await bid(client, first, offer["id"], 1700)
        cheapest = (await bid(client, second, offer["id"], 1690)).json()
        clock.advance(hours=7)
        await run_sweep(database, bus)
        won = await client.get(f"/v1/market/bids/{cheapest['id']}", headers=second.headers)
        assert won.json()["state"] == "awarded"

    async def test_the_winner_confirms_and_the_load_is_booked(
        self, client: httpx.AsyncClient, clock: FrozenClock, database: Database, bus: MemoryBus
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(client, deal.seller, deal.order_id, price_weight_pct=100)
        winner = (await bid(client, first, offer["id"], 1650)).json()
        loser = (await bid(client, second, offer["id"], 1700)).json()
        clock.advance(hours=7)
        await run_sweep(database, bus)
        confirmed = await client.post(
            f"/v1/market/bids/{winner['id']}/confirm", headers=first.headers
        )
        assert confirmed.status_code == 201, confirmed.text
        booking = confirmed.json()
        assert (booking["quantity"], booking["rate_cents"], booking["source"]) == (
            25 * SUGAR_T,
            1650,
            "auction",
        )
        lost = await client.get(f"/v1/market/bids/{loser['id']}", headers=second.headers)
        assert lost.json()["state"] == "lost"
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=deal.seller.headers)
        assert (seen.json()["state"], seen.json()["remaining"]) == ("booked", 0)
        rc = await client.get(
            f"/v1/market/bookings/{booking['id']}/rate-confirmation", headers=deal.seller.headers
        )
        assert rc.json()["carrier"]["name"] == "Rapid Haulage"
        assert rc.json()["amount_cents"] == 1650 * 25

    async def test_a_confirmation_timeout_passes_the_award_to_the_next_bid(
        self, client: httpx.AsyncClient, clock: FrozenClock, database: Database, bus: MemoryBus
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(
            client, deal.seller, deal.order_id, price_weight_pct=100, confirm_within_s=1800
        )
        silent = (await bid(client, first, offer["id"], 1650)).json()
        runner_up = (await bid(client, second, offer["id"], 1700)).json()
        clock.advance(hours=7)
        await run_sweep(database, bus)
        clock.advance(minutes=29)
        assert (await run_sweep(database, bus)).awards_lapsed == 0
        clock.advance(minutes=2)
        assert (await run_sweep(database, bus)).awards_lapsed == 1
        lapsed = await client.get(f"/v1/market/bids/{silent['id']}", headers=first.headers)
        assert lapsed.json()["state"] == "lapsed"
        late = await client.post(f"/v1/market/bids/{silent['id']}/confirm", headers=first.headers)
        assert late.status_code == 403
        passed = await client.get(f"/v1/market/bids/{runner_up['id']}", headers=second.headers)
        assert passed.json()["state"] == "awarded"
        confirmed = await client.post(
            f"/v1/market/bids/{runner_up['id']}/confirm", headers=second.headers
        )
        assert confirmed.status_code == 201

    async def test_a_decline_passes_the_award_and_the_last_decline_closes_the_load(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(
            client, deal.seller, deal.order_id, price_weight_pct=100, auto_award=False
        )
        a = (await bid(client, first, offer["id"], 1650)).json()
        b = (await bid(client, second, offer["id"], 1700)).json()
        awarded = await client.post(
            f"/v1/market/offers/{offer['id']}/award", headers=deal.seller.headers, json={}
        )
        assert awarded.json()["state"] == "awarded"
        await client.post(f"/v1/market/bids/{a['id']}/decline", headers=first.headers)
        assert (await client.get(f"/v1/market/bids/{b['id']}", headers=second.headers)).json()[
            "state"
        ] == "awarded"
        await client.post(f"/v1/market/bids/{b['id']}/decline", headers=second.headers)
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=deal.seller.headers)
        assert seen.json()["state"] == "closed"
        reopened = await client.post(
            f"/v1/market/offers/{offer['id']}/reopen",
            headers=deal.seller.headers,
            json={"rate_cents": 1800},
        )
        assert (reopened.json()["state"], reopened.json()["pricing_mode"]) == ("open", "posted")
        assert (
            await client.post(
                f"/v1/market/offers/{offer['id']}/grab",
                headers=first.headers,
                json={"quantity": 25 * SUGAR_T},
            )
        ).status_code == 201

    async def test_the_shipper_may_award_a_chosen_bid(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        first = await carrier(client, "Rapid Haulage")
        second = await carrier(client, "Longroad Logistics")
        offer = await auction(client, deal.seller, deal.order_id, auto_award=False)
        await bid(client, first, offer["id"], 1650)
        chosen = (await bid(client, second, offer["id"], 1900)).json()
        refused = await client.post(
            f"/v1/market/offers/{offer['id']}/award", headers=first.headers, json={}
        )
        assert refused.status_code == 404
        awarded = await client.post(
            f"/v1/market/offers/{offer['id']}/award",
            headers=deal.seller.headers,
            json={"bid_id": chosen["id"]},
        )
        assert awarded.status_code == 200
        mine = await client.get(f"/v1/market/bids/{chosen['id']}", headers=second.headers)
        assert mine.json()["state"] == "awarded"


class TestWithdrawAndRetry:
    async def test_a_withdrawn_bid_is_out_until_placed_again(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        placed = (await bid(client, haulier, offer["id"], 1700)).json()
        withdrawn = await client.post(
            f"/v1/market/bids/{placed['id']}/withdraw", headers=haulier.headers
        )
        assert withdrawn.json()["state"] == "withdrawn"
        ranking = await client.get(
            f"/v1/market/offers/{offer['id']}/ranking", headers=deal.seller.headers
        )
        assert ranking.json()["count"] == 0
        again = await bid(client, haulier, offer["id"], 1750)
        assert (again.json()["id"], again.json()["state"]) == (placed["id"], "active")
        clock.advance(hours=7)
        late = await client.post(
            f"/v1/market/bids/{placed['id']}/withdraw", headers=haulier.headers
        )
        assert late.status_code == 409

    async def test_a_retried_bid_with_the_same_key_counts_once(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id, max_bids_per_carrier=1)
        headers = {**haulier.headers, "Idempotency-Key": "bid-1"}
        path = f"/v1/market/offers/{offer['id']}/bids"
        first = await client.post(path, headers=headers, json={"rate_cents": 1700})
        again = await client.post(path, headers=headers, json={"rate_cents": 1700})
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["revisions"] == 1
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=deal.seller.headers)
        assert seen.json()["bid_count"] == 1
