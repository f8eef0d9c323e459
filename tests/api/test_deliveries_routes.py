"""Outbound deliveries over HTTP: a committed split, who sees what, the ledger."""

from __future__ import annotations

import httpx

from core.clock import FrozenClock
from tests.dispatch.delivery_factory import booked, split
from tests.dispatch.market_factory import SUGAR_T
from tests.helpers import signup


class TestCommittedSplit:
    async def test_deliveries_carry_the_whole_booking_with_numbers_per_seller(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        deliveries = await split(client, deal)
        assert sum(d["quantity"] for d in deliveries) == 100 * SUGAR_T
        assert all(d["quantity"] <= 26_000 for d in deliveries)
        assert {d["state"] for d in deliveries} == {"planned"}
        numbers = sorted(d["number"] for d in deliveries)
        assert numbers == [f"OD-{n:06d}" for n in range(1, len(deliveries) + 1)]
        first = deliveries[0]
        assert first["product"] == "sugar EU2"
        assert first["seller_id"] == str(deal.deal.seller.id)
        assert first["plant_site_id"] == deal.deal.plant_id
        assert first["unit"] == "kg"
        ledger = await client.get(
            f"/v1/deliveries/ledgers/{deal.booking_id}", headers=deal.carrier.headers
        )
        assert ledger.json()["open_quantity"] == 100 * SUGAR_T
        assert ledger.json()["unplanned_quantity"] == 0

    async def test_a_second_booking_of_the_seller_continues_the_numbers(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        first = await booked(client, quantity=50 * SUGAR_T)
        made = await split(client, first)
        second = await booked(client, quantity=30 * SUGAR_T, deal=first.deal, name="Longroad")
        more = await split(client, second)
        numbers = [d["number"] for d in made + more]
        assert len(set(numbers)) == len(numbers)
        assert max(numbers) == f"OD-{len(numbers):06d}"

    async def test_each_delivery_and_the_booking_have_their_events(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        deliveries = await split(client, deal)
        for party in (deal.deal.seller.headers, deal.deal.buyer.headers, deal.carrier.headers):
            events = await client.get(
                "/v1/events", headers=party, params={"subject": f"delivery:{deliveries[0]['id']}"}
            )
            assert events.status_code == 200, events.text
            assert [e["kind"] for e in events.json()["data"]] == ["delivery.planned"]
        split_events = await client.get(
            "/v1/events",
            headers=deal.deal.buyer.headers,
            params={"subject": f"booking:{deal.booking_id}"},
        )
        (committed,) = split_events.json()["data"]
        assert committed["kind"] == "split.committed"
        assert len(committed["payload"]["deliveries"]) == len(deliveries)


class TestVisibility:
    async def test_parties_see_a_delivery_and_others_get_404(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=50 * SUGAR_T)
        (first, *_) = await split(client, deal)
        path = f"/v1/deliveries/{first['id']}"
        for party in (deal.deal.seller, deal.deal.buyer):
            assert (await client.get(path, headers=party.headers)).status_code == 200
        assert (await client.get(path, headers=deal.carrier.headers)).status_code == 200
        stranger = await signup(client, "Nosy Freight", ["carrier"])
        refused = await client.get(path, headers=stranger.headers)
        assert refused.status_code == 404
        assert refused.json()["code"] == "delivery_not_found"
        listed = await client.get("/v1/deliveries", headers=stranger.headers)
        assert listed.json()["count"] == 0
        ledger = await client.get(
            f"/v1/deliveries/ledgers/{deal.booking_id}", headers=stranger.headers
        )
        assert ledger.status_code == 404

    async def test_the_list_filters_by_booking_and_pages(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(client, quantity=100 * SUGAR_T)
        deliveries = await split(client, deal)
        page = await client.get(
            "/v1/deliveries",
            headers=deal.deal.seller.headers,
            params={"booking_id": deal.booking_id, "limit": 2},
        )
        assert page.json()["count"] == 2
        rest = await client.get(
            "/v1/deliveries",
            headers=deal.deal.seller.headers,
            params={"booking_id": deal.booking_id, "cursor": page.json()["next_cursor"]},
        )
        ids = [d["id"] for d in page.json()["data"] + rest.json()["data"]]
        assert sorted(ids) == sorted(d["id"] for d in deliveries)
