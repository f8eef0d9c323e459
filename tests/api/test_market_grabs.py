"""Grabbing posted loads over HTTP: quantities, lots, qualifications, retries, visibility."""

from __future__ import annotations

import asyncio

import httpx

from core.clock import FrozenClock
from tests.dispatch.market_factory import SUGAR_T, carrier, grab, post_offer, trade


class TestGrab:
    async def test_a_grab_books_the_quantity_at_the_posted_rate(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        response = await grab(client, haulier, offer["id"], 10 * SUGAR_T)
        assert response.status_code == 201, response.text
        booking = response.json()
        assert booking["state"] == "confirmed"
        assert booking["quantity"] == 10 * SUGAR_T
        assert booking["amount_cents"] == 10 * 1850
        assert booking["confirmation_no"].startswith("RC-")
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=haulier.headers)
        assert seen.json()["remaining"] == 15 * SUGAR_T
        assert seen.json()["state"] == "open"

    async def test_taking_the_rest_books_the_load(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        assert (await grab(client, haulier, offer["id"], 25 * SUGAR_T)).status_code == 201
        late = await grab(client, haulier, offer["id"], 5 * SUGAR_T)
        assert late.status_code == 409
        assert late.json()["code"] == "load_taken"
        assert late.json()["remaining"] == 0
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=deal.seller.headers)
        assert seen.json()["state"] == "booked"

    async def test_a_grab_below_the_lot_is_refused_unless_it_takes_the_rest(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        small = await grab(client, haulier, offer["id"], 2 * SUGAR_T)
        assert small.status_code == 422
        assert small.json()["code"] == "below_minimum_lot"
        assert small.json()["errors"][0]["field"] == "body.quantity"
        assert (await grab(client, haulier, offer["id"], 22 * SUGAR_T)).status_code == 201
        rest = await grab(client, haulier, offer["id"], 3 * SUGAR_T)
        assert rest.status_code == 201, rest.text

    async def test_more_than_remains_is_a_conflict_naming_what_remains(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        assert (await grab(client, haulier, offer["id"], 20 * SUGAR_T)).status_code == 201
        over = await grab(client, haulier, offer["id"], 10 * SUGAR_T)
        assert over.status_code == 409
        assert over.json()["code"] == "quantity_unavailable"
        assert over.json()["remaining"] == 5 * SUGAR_T

    async def test_partial_grabs_racing_never_exceed_the_quantity(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        hauliers = [await carrier(client, f"Haulier {n}") for n in range(3)]
        offer = await post_offer(client, deal.seller, deal.order_id)
        replies = await asyncio.gather(
            *(grab(client, hauliers[n % 3], offer["id"], 5 * SUGAR_T) for n in range(12))
        )
        assert sorted(r.status_code for r in replies) == [201] * 5 + [409] * 7
        bookings = await client.get(
            "/v1/market/bookings", headers=deal.seller.headers, params={"offer_id": offer["id"]}
        )
        assert sum(b["quantity"] for b in bookings.json()["data"]) == 25 * SUGAR_T


class TestQualification:
    async def test_an_unqualified_carrier_cannot_grab_a_hazardous_load(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(
            client, commodity="ethanol", food_grade=False, hazard_class="3", un_number="1170"
        )
        tanker = {"body_type": "tanker", "compartments_l": [15000, 15000], "food_grade": False}
        plain = await carrier(client, "Longroad", food_grade=False, vehicles=[tanker])
        offer = await post_offer(
            client, deal.seller, deal.order_id, body_types=["tanker"], rate_basis="per_tonne"
        )
        refused = await grab(client, plain, offer["id"], 25 * SUGAR_T)
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "carrier_not_qualified"
        assert refused.json()["missing"] == ["hazmat_permit:3", "vehicle"]
        equipped = {**tanker, "hazard_classes": ["3"]}
        qualified = await carrier(
            client, "Rapid", food_grade=False, hazard_classes=["3", "8"], vehicles=[equipped]
        )
        assert (await grab(client, qualified, offer["id"], 25 * SUGAR_T)).status_code == 201

    async def test_a_permit_for_a_whole_class_opens_its_divisions(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(
            client, commodity="sulphur", food_grade=False, hazard_class="4.1", un_number="1350"
        )
        tipper = {"body_type": "tipper", "food_grade": False, "hazard_classes": ["4"]}
        qualified = await carrier(
            client, "Rapid", food_grade=False, hazard_classes=["4"], vehicles=[tipper]
        )
        offer = await post_offer(client, deal.seller, deal.order_id, body_types=["tipper"])
        listed = await client.get("/v1/market/loads", headers=qualified.headers)
        assert [o["id"] for o in listed.json()["data"]] == [offer["id"]]
        assert (await grab(client, qualified, offer["id"], 25 * SUGAR_T)).status_code == 201

    async def test_a_food_grade_load_needs_the_certificate_and_a_food_grade_vehicle(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        uncertified = await carrier(client, "Dusty Tippers", food_grade=False)
        offer = await post_offer(client, deal.seller, deal.order_id)
        refused = await grab(client, uncertified, offer["id"], 25 * SUGAR_T)
        assert refused.status_code == 403
        assert refused.json()["missing"] == ["food_grade_certificate"]
        wrong_body = await carrier(client, "Flatbeds Only", vehicles=[{"body_type": "flatbed"}])
        refused = await grab(client, wrong_body, offer["id"], 25 * SUGAR_T)
        assert refused.json()["missing"] == ["vehicle"]

    async def test_a_revoked_licence_disqualifies_at_once(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        held = await client.get("/v1/fleet/qualifications", headers=haulier.headers)
        licence = next(q for q in held.json()["data"] if q["kind"] == "transport_licence")
        revoked = await client.post(
            f"/v1/fleet/qualifications/{licence['id']}/revoke", headers=haulier.headers
        )
        assert revoked.json()["valid"] is False
        refused = await grab(client, haulier, offer["id"], 25 * SUGAR_T)
        assert refused.status_code == 403
        assert refused.json()["missing"] == ["transport_licence"]


class TestRetries:
    async def test_a_retried_grab_with_the_same_key_is_applied_once(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await post_offer(client, deal.seller, deal.order_id)
        key = {"Idempotency-Key": "grab-7f3a"}
        first = await grab(client, haulier, offer["id"], 10 * SUGAR_T, **key)
        again = await grab(client, haulier, offer["id"], 10 * SUGAR_T, **key)
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        seen = await client.get(f"/v1/market/offers/{offer['id']}", headers=haulier.headers)
        assert seen.json()["remaining"] == 15 * SUGAR_T
        bookings = await client.get("/v1/market/bookings", headers=haulier.headers)
        assert bookings.json()["count"] == 1


class TestVisibility:
    async def test_an_invite_only_load_is_hidden_from_others(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        invited = await carrier(client, "Invited Haulage")
        outsider = await carrier(client, "Outsider Haulage")
        offer = await post_offer(
            client,
            deal.seller,
            deal.order_id,
            visibility="invited",
            invited_carrier_ids=[str(invited.org.id)],
        )
        path = f"/v1/market/offers/{offer['id']}"
        assert (await client.get(path, headers=outsider.headers)).status_code == 404
        assert (await grab(client, outsider, offer["id"], 25 * SUGAR_T)).status_code == 404
        listed = await client.get("/v1/market/loads", headers=outsider.headers)
        assert listed.json()["count"] == 0
        listed = await client.get("/v1/market/loads", headers=invited.headers)
        assert [o["id"] for o in listed.json()["data"]] == [offer["id"]]
        assert (await grab(client, invited, offer["id"], 25 * SUGAR_T)).status_code == 201

    async def test_only_the_transport_arranger_posts_loads(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client, transport_by="buyer")
        refused = await client.post(
            "/v1/market/offers",
            headers=deal.seller.headers,
            json={
                "order_id": deal.order_id,
                "quantity": 25 * SUGAR_T,
                "pricing_mode": "posted",
                "rate_basis": "per_tonne",
                "rate_cents": 1850,
            },
        )
        assert refused.status_code == 403
        assert refused.json()["code"] == "not_transport_arranger"
        offer = await post_offer(client, deal.buyer, deal.order_id)
        assert offer["shipper_id"] == str(deal.buyer.id)

    async def test_a_load_cannot_exceed_what_the_order_has_left(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client, quantity=40 * SUGAR_T)
        await post_offer(client, deal.seller, deal.order_id, quantity=25 * SUGAR_T)
        refused = await client.post(
            "/v1/market/offers",
            headers=deal.seller.headers,
            json={
                "order_id": deal.order_id,
                "quantity": 20 * SUGAR_T,
                "pricing_mode": "posted",
                "rate_basis": "per_tonne",
                "rate_cents": 1850,
            },
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "quantity_exceeds_order"
        order = await client.get(f"/v1/orders/{deal.order_id}", headers=deal.buyer.headers)
        assert order.json()["offered_quantity"] == 25 * SUGAR_T
