"""Sales orders over HTTP: who creates and sees them, validation, CSV import, changes."""

from __future__ import annotations

import httpx

from core.clock import FrozenClock
from tests.dispatch.market_factory import SUGAR_T, carrier, post_offer, site, trade
from tests.helpers import add_member, bearer, signup

CSV_HEADER = (
    "reference,buyer_id,commodity,quantity,unit,origin_site_id,destination_site_id,"
    "pickup_from,pickup_until,deliver_by,transport_by,food_grade\n"
)


class TestParties:
    async def test_seller_and_buyer_see_the_order_and_nobody_else(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        stranger = await carrier(client, "Rapid Haulage")
        path = f"/v1/orders/{deal.order_id}"
        assert (await client.get(path, headers=deal.seller.headers)).status_code == 200
        assert (await client.get(path, headers=deal.buyer.headers)).status_code == 200
        hidden = await client.get(path, headers=stranger.headers)
        assert hidden.status_code == 404
        assert "sugar" not in hidden.text
        bought = await client.get(
            "/v1/orders", headers=deal.buyer.headers, params={"side": "buyer"}
        )
        assert [o["id"] for o in bought.json()["data"]] == [deal.order_id]
        sold = await client.get("/v1/orders", headers=deal.buyer.headers, params={"side": "seller"})
        assert sold.json()["count"] == 0

    async def test_only_a_seller_creates_orders(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        body = {**deal.order, "reference": "X-1", "buyer_id": str(deal.seller.id)}
        for field in (
            "id",
            "version",
            "seller_id",
            "plant_operator_id",
            "state",
            "created_at",
            "offered_quantity",
            "origin_name",
            "origin_lat",
            "origin_lon",
            "destination_address",
            "destination_lat",
            "destination_lon",
        ):
            body.pop(field)
        refused = await client.post("/v1/orders", headers=deal.buyer.headers, json=body)
        assert refused.status_code == 403
        assert refused.json()["code"] == "organization_kind_required"

    async def test_a_viewer_cannot_create_orders(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        _, viewer = await add_member(client, deal.seller, "viewer")
        body = {
            "reference": "SO-V",
            "buyer_id": str(deal.buyer.id),
            "commodity": "sugar",
            "quantity": 1000,
            "unit": "kg",
            "origin_site_id": deal.plant_id,
            "destination_site_id": deal.destination_id,
            "pickup_from": deal.order["pickup_from"],
            "pickup_until": deal.order["pickup_until"],
            "deliver_by": deal.order["deliver_by"],
            "transport_by": "seller",
        }
        assert (
            await client.post("/v1/orders", headers=bearer(viewer), json=body)
        ).status_code == 403


class TestValidation:
    async def test_bad_fields_are_named(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        response = await client.post(
            "/v1/orders",
            headers=deal.seller.headers,
            json={
                "reference": "SO 1",
                "buyer_id": str(deal.buyer.id),
                "commodity": "sugar",
                "quantity": 1.5,
                "unit": "t",
                "origin_site_id": deal.plant_id,
                "pickup_from": deal.order["pickup_from"],
                "pickup_until": deal.order["pickup_until"],
                "deliver_by": deal.order["deliver_by"],
                "transport_by": "seller",
            },
        )
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert {"reference", "quantity", "unit"} <= fields

    async def test_sites_of_other_organizations_are_refused(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        other = await signup(client, "Other Mill", ["seller"])
        foreign_plant = await site(client, other, "Foreign plant", "plant", 52.0, 10.0)
        body = {
            "reference": "SO-F",
            "buyer_id": str(deal.buyer.id),
            "commodity": "sugar",
            "quantity": 1000,
            "unit": "kg",
            "origin_site_id": foreign_plant,
            "destination_site_id": deal.plant_id,
            "pickup_from": deal.order["pickup_from"],
            "pickup_until": deal.order["pickup_until"],
            "deliver_by": deal.order["deliver_by"],
            "transport_by": "seller",
        }
        response = await client.post("/v1/orders", headers=deal.seller.headers, json=body)
        assert response.status_code == 422
        fields = {e["field"] for e in response.json()["errors"]}
        assert fields == {"body.origin_site_id", "body.destination_site_id"}

    async def test_a_reference_is_used_once_per_seller(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        body = {
            "reference": deal.order["reference"],
            "buyer_id": str(deal.buyer.id),
            "commodity": "sugar",
            "quantity": 1000,
            "unit": "kg",
            "origin_site_id": deal.plant_id,
            "destination_address": "Hafenstraße 1, Hamburg",
            "destination_lat": 53.54,
            "destination_lon": 9.98,
            "pickup_from": deal.order["pickup_from"],
            "pickup_until": deal.order["pickup_until"],
            "deliver_by": deal.order["deliver_by"],
            "transport_by": "buyer",
        }
        taken = await client.post("/v1/orders", headers=deal.seller.headers, json=body)
        assert taken.status_code == 409
        assert taken.json()["code"] == "order_reference_taken"
        fresh = await client.post(
            "/v1/orders", headers=deal.seller.headers, json={**body, "reference": "SO-NEW"}
        )
        assert fresh.status_code == 201
        assert fresh.json()["destination_address"] == "Hafenstraße 1, Hamburg"


class TestImport:
    async def test_a_csv_file_creates_every_order(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        o = deal.order
        lines = [
            f"CSV-{n},{deal.buyer.id},sugar EU2,{n * 25000},kg,{deal.plant_id},"
            f"{deal.destination_id},{o['pickup_from']},{o['pickup_until']},{o['deliver_by']},"
            "seller,true\n"
            for n in (1, 2, 3)
        ]
        response = await client.post(
            "/v1/orders/import",
            headers={**deal.seller.headers, "Content-Type": "text/csv"},
            content=CSV_HEADER + "".join(lines),
        )
        assert response.status_code == 201, response.text
        assert [r["reference"] for r in response.json()["data"]] == ["CSV-1", "CSV-2", "CSV-3"]
        assert [r["quantity"] for r in response.json()["data"]] == [25000, 50000, 75000]

    async def test_one_bad_line_imports_nothing_and_names_the_line_and_field(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        o = deal.order
        good = (
            f"CSV-1,{deal.buyer.id},sugar,25000,kg,{deal.plant_id},{deal.destination_id},"
            f"{o['pickup_from']},{o['pickup_until']},{o['deliver_by']},seller,true\n"
        )
        bad = (
            f"CSV-2,{deal.buyer.id},sugar,lots,kg,{deal.plant_id},{deal.destination_id},"
            f"{o['pickup_from']},{o['pickup_until']},{o['deliver_by']},seller,true\n"
        )
        response = await client.post(
            "/v1/orders/import",
            headers={**deal.seller.headers, "Content-Type": "text/csv"},
            content=CSV_HEADER + good + bad,
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid_import"
        assert [e["loc"] for e in response.json()["errors"]] == [["rows", 3, "quantity"]]
        listed = await client.get("/v1/orders", headers=deal.seller.headers)
        assert listed.json()["count"] == 1  # only the factory's order


class TestChanges:
    async def test_quantity_cannot_drop_below_what_is_on_the_market(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await trade(client)
        await post_offer(client, deal.seller, deal.order_id, quantity=100 * SUGAR_T)
        path = f"/v1/orders/{deal.order_id}"
        too_low = await client.patch(
            path, headers=deal.seller.headers, json={"version": 1, "quantity": 50 * SUGAR_T}
        )
        assert too_low.status_code == 422
        assert too_low.json()["errors"][0]["field"] == "body.quantity"
        stale = await client.patch(
            path, headers=deal.seller.headers, json={"version": 9, "notes": "x"}
        )
        assert stale.status_code == 409
        assert stale.json()["code"] == "stale_version"
        cancel = await client.post(
            f"{path}/cancel", headers=deal.seller.headers, json={"version": 1, "reason": "x"}
        )
        assert cancel.status_code == 409
        assert cancel.json()["code"] == "order_has_loads"
        buyer_edit = await client.patch(
            path, headers=deal.buyer.headers, json={"version": 1, "notes": "x"}
        )
        assert buyer_edit.status_code == 403
