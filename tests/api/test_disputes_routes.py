"""Disputes: the seller, the buyer and the carrier see one, add statements and evidence, and
the seller or the buyer closes it with an outcome; a third organization sees nothing; every
step is in the delivery's log."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from core.clock import FrozenClock
from core.database import Database
from tests.helpers import add_member, bearer
from tests.tracking.evidence_factory import OnTheRoad, on_the_road, png, receipt_body, upload


async def short_delivery(client: httpx.AsyncClient, database: Database) -> tuple[OnTheRoad, str]:
    """A delivery received 1.5 t short, and the dispute that opened."""
    road = await on_the_road(client, database)
    response = await client.post(
        f"/v1/deliveries/{road.id}/receipt",
        headers=road.buyer.headers,
        json=receipt_body(road.loaded_quantity - 1_500),
    )
    assert response.status_code == 201, response.text
    dispute_id: str = response.json()["dispute_id"]
    return road, dispute_id


async def state_of(client: httpx.AsyncClient, road: OnTheRoad, dispute_id: str) -> dict[str, Any]:
    """The dispute as the buyer reads it."""
    response = await client.get(f"/v1/disputes/{dispute_id}", headers=road.buyer.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def kinds(client: httpx.AsyncClient, road: OnTheRoad) -> list[str]:
    """The kinds in the delivery's log, as the seller reads them."""
    response = await client.get(
        "/v1/events",
        headers=road.seller.headers,
        params={"subject": f"delivery:{road.id}", "limit": 500},
    )
    return [e["kind"] for e in response.json()["data"]]


class TestArguing:
    async def test_each_party_states_its_case_and_the_seller_resolves(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road, dispute_id = await short_delivery(client, database)
        photo = await upload(client, road.id, road.buyer.headers, png(9))
        said = [
            (road.buyer.headers, "Our silo gauge shows 1.5 t short.", [photo.json()["sha256"]]),
            (road.carrier_headers, "The seals were intact on arrival.", []),
            (road.seller.headers, "Our weighbridge was calibrated last week.", []),
        ]
        for headers, text, files in said:
            response = await client.post(
                f"/v1/disputes/{dispute_id}/statements",
                headers=headers,
                json={"text": text, "files": files},
            )
            assert response.status_code == 201, response.text
        dispute = await state_of(client, road, dispute_id)
        assert [(s["party"], s["text"]) for s in dispute["statements"]] == [
            ("buyer", said[0][1]),
            ("carrier", said[1][1]),
            ("seller", said[2][1]),
        ]
        assert dispute["statements"][0]["files"] == [photo.json()["sha256"]]
        resolved = await client.post(
            f"/v1/disputes/{dispute_id}/resolve",
            headers=road.seller.headers,
            json={
                "version": dispute["version"],
                "outcome": "settled",
                "note": "credit note 750 kg",
            },
        )
        assert resolved.status_code == 200, resolved.text
        assert (resolved.json()["state"], resolved.json()["outcome"]) == ("resolved", "settled")
        carrier_view = await client.get(f"/v1/disputes/{dispute_id}", headers=road.carrier_headers)
        assert carrier_view.json()["resolution_note"] == "credit note 750 kg"
        logged = await kinds(client, road)
        assert logged[-5:] == [
            "evidence.file_added",
            "dispute.statement_added",
            "dispute.statement_added",
            "dispute.statement_added",
            "dispute.resolved",
        ]
        assert "dispute.opened" in logged

    async def test_a_party_opens_one_by_hand_once_the_last_is_closed(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road, dispute_id = await short_delivery(client, database)
        body = {
            "delivery_id": road.id,
            "reasons": ["contamination"],
            "statement": {"text": "Lab found foreign matter in the sample."},
        }
        busy = await client.post("/v1/disputes", headers=road.buyer.headers, json=body)
        assert (busy.status_code, busy.json()["code"]) == (409, "dispute_open")
        version = (await state_of(client, road, dispute_id))["version"]
        closed = await client.post(
            f"/v1/disputes/{dispute_id}/resolve",
            headers=road.buyer.headers,
            json={"version": version, "outcome": "accepted_as_loaded"},
        )
        assert closed.status_code == 200
        opened = await client.post("/v1/disputes", headers=road.buyer.headers, json=body)
        assert opened.status_code == 201, opened.text
        assert opened.json()["reasons"] == ["contamination"]
        assert opened.json()["statements"][0]["party"] == "buyer"
        everyone = await client.get(
            "/v1/disputes", headers=road.seller.headers, params={"delivery_id": road.id}
        )
        assert [d["state"] for d in everyone.json()["data"]] == ["open", "resolved"]
        only_open = await client.get(
            "/v1/disputes", headers=road.carrier_headers, params={"state": "open"}
        )
        assert [d["id"] for d in only_open.json()["data"]] == [opened.json()["id"]]


class TestDisputeRefusals:
    async def test_a_third_organization_sees_and_does_nothing(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road, dispute_id = await short_delivery(client, database)
        stranger = road.stranger.headers
        before = await state_of(client, road, dispute_id)
        attempts = [
            client.get(f"/v1/disputes/{dispute_id}", headers=stranger),
            client.get(f"/v1/disputes/{dispute_id}/bundle", headers=stranger),
            client.post(
                f"/v1/disputes/{dispute_id}/statements", headers=stranger, json={"text": "hi"}
            ),
            client.post(
                f"/v1/disputes/{dispute_id}/resolve",
                headers=stranger,
                json={"version": before["version"], "outcome": "withdrawn"},
            ),
            client.post(
                "/v1/disputes",
                headers=stranger,
                json={"delivery_id": road.id, "reasons": ["late"], "statement": {"text": "x"}},
            ),
            client.get("/v1/disputes", headers=stranger, params={"delivery_id": road.id}),
        ]
        for attempt in attempts:
            response = await attempt
            assert response.status_code == 404, response.text
        assert (await client.get("/v1/disputes", headers=stranger)).json()["data"] == []
        assert await state_of(client, road, dispute_id) == before

    async def test_who_may_resolve_and_when(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road, dispute_id = await short_delivery(client, database)
        version = (await state_of(client, road, dispute_id))["version"]
        by_carrier = await client.post(
            f"/v1/disputes/{dispute_id}/resolve",
            headers=road.carrier_headers,
            json={"version": version, "outcome": "withdrawn"},
        )
        assert (by_carrier.status_code, by_carrier.json()["code"]) == (403, "resolver_only")
        stale = await client.post(
            f"/v1/disputes/{dispute_id}/resolve",
            headers=road.buyer.headers,
            json={"version": version + 1, "outcome": "withdrawn"},
        )
        assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")
        no_note = await client.post(
            f"/v1/disputes/{dispute_id}/resolve",
            headers=road.buyer.headers,
            json={"version": version, "outcome": "settled"},
        )
        assert no_note.status_code == 422
        _, viewer_token = await add_member(client, road.buyer, "viewer")
        by_viewer = await client.post(
            f"/v1/disputes/{dispute_id}/statements",
            headers=bearer(viewer_token),
            json={"text": "I only read"},
        )
        assert by_viewer.status_code == 403
        assert (await state_of(client, road, dispute_id))["state"] == "open"
        done = await client.post(
            f"/v1/disputes/{dispute_id}/resolve",
            headers=road.buyer.headers,
            json={"version": version, "outcome": "accepted_as_received"},
        )
        assert done.status_code == 200
        for late in (
            client.post(
                f"/v1/disputes/{dispute_id}/resolve",
                headers=road.seller.headers,
                json={"version": done.json()["version"], "outcome": "withdrawn"},
            ),
            client.post(
                f"/v1/disputes/{dispute_id}/statements",
                headers=road.seller.headers,
                json={"text": "too late"},
            ),
        ):
            response = await late
            assert (response.status_code, response.json()["code"]) == (409, "dispute_closed")
        assert (await kinds(client, road)).count("dispute.resolved") == 1

    async def test_a_statement_names_only_files_of_its_delivery(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road, dispute_id = await short_delivery(client, database)
        response = await client.post(
            f"/v1/disputes/{dispute_id}/statements",
            headers=road.seller.headers,
            json={"text": "see photo", "files": ["0" * 64]},
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["body", "files", 0]
        assert (await state_of(client, road, dispute_id))["statements"] == []


class TestOpeningRace:
    async def test_two_parties_opening_at_once_make_one_dispute(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road = await on_the_road(client, database)
        received = await client.post(
            f"/v1/deliveries/{road.id}/receipt",
            headers=road.buyer.headers,
            json=receipt_body(road.loaded_quantity),
        )
        assert received.json()["dispute_id"] is None

        def opening(reason: str) -> dict[str, Any]:
            return {"delivery_id": road.id, "reasons": [reason], "statement": {"text": reason}}

        answers = await asyncio.gather(
            client.post("/v1/disputes", headers=road.buyer.headers, json=opening("damage")),
            client.post("/v1/disputes", headers=road.seller.headers, json=opening("late")),
        )
        assert sorted(a.status_code for a in answers) == [201, 409]
        listed = await client.get(
            "/v1/disputes", headers=road.carrier_headers, params={"state": "open"}
        )
        assert listed.json()["count"] == 1
        assert (await kinds(client, road)).count("dispute.opened") == 1
