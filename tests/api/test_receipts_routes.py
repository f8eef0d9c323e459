"""The receipt at the delivery point: it delivers the delivery, lands in the log in full,
opens a dispute on a discrepancy, and refuses what it must without changing anything."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import httpx

from core.clock import FrozenClock
from core.database import Database
from tests.helpers import Org, bearer
from tests.tracking.evidence_factory import (
    OnTheRoad,
    delivery_state,
    on_the_road,
    png,
    receipt_body,
    upload,
)


async def events(client: httpx.AsyncClient, org: Org, delivery_id: str) -> list[dict[str, Any]]:
    """The delivery's log entries as one party reads them."""
    response = await client.get(
        "/v1/events",
        headers=org.headers,
        params={"subject": f"delivery:{delivery_id}", "limit": 500},
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def receive(
    client: httpx.AsyncClient, road: OnTheRoad, body: dict[str, Any], headers: dict[str, str]
) -> httpx.Response:
    """Post a receipt."""
    return await client.post(f"/v1/deliveries/{road.id}/receipt", headers=headers, json=body)


class TestReceipt:
    async def test_a_full_receipt_delivers_and_is_logged_with_every_item(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        signature = await upload(client, road.id, road.carrier_headers, png(1), purpose="signature")
        photo = await upload(client, road.id, road.carrier_headers, png(2))
        ticket = await upload(
            client,
            road.id,
            road.carrier_headers,
            b"%PDF-1.7\nlab report",
            purpose="document",
            content_type="application/pdf",
        )
        assert {signature.status_code, photo.status_code, ticket.status_code} == {201}
        body = receipt_body(
            road.loaded_quantity,
            signature_sha256=signature.json()["sha256"],
            photos=[photo.json()["sha256"]],
            measurements=[
                {
                    "kind": "sample",
                    "provider": "Hanse Lab GmbH",
                    "reference": "HL-22",
                    "results": {"moisture_pct": 0.04, "colour": "ICUMSA 45"},
                    "document_sha256": ticket.json()["sha256"],
                    "taken": receipt_body(0)["unloading_started"],
                }
            ],
        )
        response = await receive(client, road, body, road.carrier_headers)
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert receipt["reasons"] == []
        assert receipt["dispute_id"] is None
        assert receipt["difference"] == 0
        assert receipt["arrival_source"] == "phone"
        assert receipt["arrival"]["at"] == body["arrival"]["at"].replace("+00:00", "Z")
        assert receipt["arrival"]["server_at"] == receipt["received_at"]
        assert receipt["measurements"][0]["results"]["colour"] == "ICUMSA 45"
        assert await delivery_state(database, road.id) == "delivered"
        logged = await events(client, road.buyer, road.id)
        assert [e["kind"] for e in logged[-5:]] == [
            "evidence.file_added",
            "evidence.file_added",
            "evidence.file_added",
            "delivery.delivered",
            "receipt.recorded",
        ]
        kept = logged[-1]["payload"]["receipt"]
        assert kept["received_quantity"] == road.loaded_quantity
        assert kept["signature_sha256"] == signature.json()["sha256"]
        assert kept["stamps"]["unloading_ended"]["lat"] == 53.546
        assert kept["measurements"][0]["document_sha256"] == ticket.json()["sha256"]
        seen = await client.get(f"/v1/deliveries/{road.id}/receipt", headers=road.seller.headers)
        assert seen.status_code == 200
        assert seen.json()["receiver_name"] == "Ada Receiver"

    async def test_a_short_delivery_opens_a_dispute_both_sides_see_and_no_stranger(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        short = road.loaded_quantity - 1_700
        response = await receive(client, road, receipt_body(short), road.buyer.headers)
        assert response.status_code == 201, response.text
        dispute_id = response.json()["dispute_id"]
        assert response.json()["reasons"] == ["short_delivery"]
        for party in (road.buyer.headers, road.seller.headers, road.carrier_headers):
            listed = await client.get("/v1/disputes", headers=party)
            assert [d["id"] for d in listed.json()["data"]] == [dispute_id]
            one = (await client.get(f"/v1/disputes/{dispute_id}", headers=party)).json()
            assert one["state"] == "open"
            assert one["reasons"] == ["short_delivery"]
            assert one["details"]["difference"] == -1_700
            assert one["opened_by"] == "system:evidence"
        stranger = road.stranger.headers
        assert (await client.get(f"/v1/disputes/{dispute_id}", headers=stranger)).status_code == 404
        assert (await client.get("/v1/disputes", headers=stranger)).json()["count"] == 0
        hidden = await client.get(f"/v1/deliveries/{road.id}/receipt", headers=stranger)
        assert hidden.status_code == 404
        assert (await events(client, road.seller, road.id))[-1]["kind"] == "dispute.opened"

    async def test_within_tolerance_there_is_no_dispute(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        # 0.5 % of the loaded quantity is allowed either way: two weighbridges never agree.
        within = road.loaded_quantity - road.loaded_quantity // 200
        response = await receive(client, road, receipt_body(within), road.buyer.headers)
        assert (response.json()["reasons"], response.json()["dispute_id"]) == ([], None)
        assert (await client.get("/v1/disputes", headers=road.buyer.headers)).json()["count"] == 0

    async def test_a_retry_with_the_same_key_is_answered_the_same_and_applied_once(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        headers = {**road.buyer.headers, "Idempotency-Key": "pod-1"}
        body = receipt_body(road.loaded_quantity - 2_000)
        first = await receive(client, road, body, headers)
        again = await receive(client, road, body, headers)
        assert first.status_code == again.status_code == 201
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json() == first.json()
        kinds = [e["kind"] for e in await events(client, road.buyer, road.id)]
        assert kinds.count("receipt.recorded") == 1
        assert kinds.count("dispute.opened") == 1


class TestReceiptRefusals:
    async def test_refused_receipts_change_nothing(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        before = await events(client, road.buyer, road.id)
        good = receipt_body(road.loaded_quantity)
        cases: list[tuple[dict[str, str], dict[str, Any], int, str]] = [
            (road.seller.headers, good, 403, "receiver_only"),
            (road.stranger.headers, good, 404, "delivery_not_found"),
            (road.buyer.headers, {**good, "unit": "l"}, 422, "receipt_invalid"),
            (
                road.buyer.headers,
                {**good, "photos": [hashlib.sha256(b"never uploaded").hexdigest()]},
                422,
                "receipt_invalid",
            ),
            (
                road.buyer.headers,
                {
                    **good,
                    "unloading_started": good["unloading_ended"],
                    "unloading_ended": good["unloading_started"],
                },
                422,
                "validation_failed",
            ),
            (road.buyer.headers, {**good, "received_quantity": -1}, 422, "validation_failed"),
        ]
        for headers, body, status, code in cases:
            response = await receive(client, road, body, headers)
            assert (response.status_code, response.json()["code"]) == (status, code), body
        assert await delivery_state(database, road.id) == "in_transit"
        assert await events(client, road.buyer, road.id) == before
        missing = await client.get(f"/v1/deliveries/{road.id}/receipt", headers=road.buyer.headers)
        assert missing.json()["code"] == "receipt_not_found"

    async def test_a_second_receipt_is_a_conflict(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        body = receipt_body(road.loaded_quantity)
        assert (await receive(client, road, body, road.buyer.headers)).status_code == 201
        again = await receive(client, road, body, road.carrier_headers)
        assert (again.status_code, again.json()["code"]) == (409, "receipt_exists")

    async def test_a_delivery_not_on_the_road_cannot_be_received(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        planned = await client.get(
            "/v1/deliveries",
            headers=road.buyer.headers,
            params={"state": "planned", "limit": 1},
        )
        other = planned.json()["data"][0]["id"]
        response = await client.post(
            f"/v1/deliveries/{other}/receipt",
            headers=road.buyer.headers,
            json=receipt_body(1_000),
        )
        assert (response.status_code, response.json()["code"]) == (409, "invalid_delivery_state")
        assert await delivery_state(database, other) == "planned"
        nothing = await client.get(f"/v1/deliveries/{other}/receipt", headers=road.buyer.headers)
        assert nothing.status_code == 404

    async def test_no_token_no_receipt(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        response = await client.post(
            f"/v1/deliveries/{road.id}/receipt", json=receipt_body(road.loaded_quantity)
        )
        assert response.status_code == 401
        viewer = await client.get(
            f"/v1/deliveries/{road.id}/receipt", headers=bearer("not-a-token")
        )
        assert viewer.status_code == 401


class TestReceiptRace:
    async def test_two_receipts_at_once_one_wins_and_one_dispute_opens(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        body = receipt_body(road.loaded_quantity - 3_000)
        first, second = await asyncio.gather(
            receive(client, road, body, road.buyer.headers),
            receive(client, road, body, road.carrier_headers),
        )
        assert sorted([first.status_code, second.status_code]) == [201, 409]
        loser = first if first.status_code == 409 else second
        assert loser.json()["code"] in {"receipt_exists", "invalid_delivery_state"}
        kinds = [e["kind"] for e in await events(client, road.seller, road.id)]
        assert (kinds.count("receipt.recorded"), kinds.count("dispute.opened")) == (1, 1)
        assert (await client.get("/v1/disputes", headers=road.seller.headers)).json()["count"] == 1
