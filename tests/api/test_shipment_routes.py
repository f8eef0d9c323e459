"""Shipments over REST: each party reads its own, another buyer gets 404 everywhere,
catch-up after a sequence number, the trail, and share links' scope and expiry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock, now
from core.settings import Settings
from tests.helpers import add_member, bearer, signup
from tests.tracking.shipment_factory import (
    PLANT_FRAME,
    Shipment,
    ping,
    send,
    shipment,
    shipment_events,
    shipment_settings,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return shipment_settings(tmp_path)


@pytest.fixture
async def tracked(client: httpx.AsyncClient, clock: FrozenClock, app: Any) -> Shipment:
    made = await shipment(client, clock)
    start = now() - timedelta(minutes=10)
    road = [
        ping(k, start + timedelta(minutes=k), PLANT_FRAME, 0, -12_000 + 1_000 * k, speed_mps=16)
        for k in range(5)
    ]
    await send(client, app, made.device, road)
    return made


class TestParties:
    async def test_each_party_lists_and_reads_the_shipment(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        trade = tracked.deal.deal
        for org in (trade.seller, trade.buyer, tracked.deal.carrier.org):
            listed = await client.get("/v1/shipments", headers=org.headers)
            assert listed.status_code == 200, listed.text
            assert [s["id"] for s in listed.json()["data"]] == [tracked.id]
            one = (await client.get(f"/v1/shipments/{tracked.id}", headers=org.headers)).json()
            assert one["state"] == "assigned"
            assert one["position"] is not None
            assert one["eta"]["leg"] == "plant"
            assert one["last_seq"] >= 2  # planned, assigned, then tracking's own

    async def test_another_buyer_gets_404_everywhere(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        stranger = await signup(client, "Other Foods", ["buyer"])
        listed = (await client.get("/v1/shipments", headers=stranger.headers)).json()
        assert listed["data"] == []
        for path in ("", "/events", "/trail", "/etas"):
            response = await client.get(
                f"/v1/shipments/{tracked.id}{path}", headers=stranger.headers
            )
            assert response.status_code == 404, (path, response.text)
            assert response.json()["code"] == "delivery_not_found"
        shared = await client.post(
            f"/v1/shipments/{tracked.id}/share", headers=stranger.headers, json={}
        )
        assert shared.status_code == 404

    async def test_without_a_token_nothing_is_shown(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        for path in ("/v1/shipments", f"/v1/shipments/{tracked.id}"):
            assert (await client.get(path)).status_code == 401

    async def test_a_driver_of_the_carrier_sees_only_what_they_drive(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        _, other_driver = await add_member(client, tracked.deal.carrier.org, "driver")
        response = await client.get(f"/v1/shipments/{tracked.id}", headers=bearer(other_driver))
        assert response.status_code == 404
        mine = await client.get(f"/v1/shipments/{tracked.id}", headers=tracked.driver.headers)
        assert mine.status_code == 200


class TestCatchUp:
    async def test_events_after_a_seq_are_the_ones_missed(
        self, client: httpx.AsyncClient, tracked: Shipment, app: Any
    ) -> None:
        headers = tracked.deal.deal.buyer.headers
        before = await shipment_events(client, tracked, headers)
        held = before[-1]["seq"]
        start = now() - timedelta(minutes=4)
        gate = [
            ping(20 + k, start + timedelta(seconds=50 * k), PLANT_FRAME, 0, -40) for k in range(5)
        ]
        await send(client, app, tracked.device, gate)
        missed = await shipment_events(client, tracked, headers, after=held)
        assert [e["seq"] for e in missed] == list(range(held + 1, held + 1 + len(missed)))
        assert "shipment.arrived_plant" in [e["kind"] for e in missed]
        page = await client.get(
            f"/v1/shipments/{tracked.id}/events",
            headers=headers,
            params={"after": 0, "limit": 1},
        )
        assert page.json()["next_after"] == 1


class TestTrail:
    async def test_the_trail_is_the_road_driven(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        response = await client.get(
            f"/v1/shipments/{tracked.id}/trail", headers=tracked.deal.deal.seller.headers
        )
        assert response.status_code == 200
        feature = response.json()
        assert feature["geometry"]["type"] == "LineString"
        assert len(feature["geometry"]["coordinates"]) == 5
        _lon, lat = feature["geometry"]["coordinates"][-1]
        assert lat > PLANT_FRAME.lat0 - 0.1


class TestShareLinks:
    async def _link(
        self, client: httpx.AsyncClient, tracked: Shipment, **body: Any
    ) -> dict[str, Any]:
        response = await client.post(
            f"/v1/shipments/{tracked.id}/share",
            headers=tracked.deal.deal.buyer.headers,
            json=body,
        )
        assert response.status_code == 201, response.text
        link: dict[str, Any] = response.json()
        return link

    async def test_a_link_shows_one_shipment_read_only(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        link = await self._link(client, tracked)
        view = await client.get(link["path"])
        assert view.status_code == 200, view.text
        body = view.json()
        assert body["id"] == tracked.id
        assert body["position"] is not None
        assert "buyer_id" not in body
        assert "seller_id" not in body
        events = (await client.get(f"{link['path']}/events")).json()["data"]
        assert events
        assert all(e["audience"] == [] for e in events)
        assert all("driver_member_id" not in e["payload"] for e in events)
        (shared,) = [e for e in events if e["kind"] == "shipment.shared"]
        assert set(shared["payload"]) == {"delivery_id", "number", "expires_at"}  # not who
        assert (await client.get(f"{link['path']}/trail")).json()["geometry"] is not None
        # The log tells the parties who shared it.
        logged = await shipment_events(client, tracked, tracked.deal.carrier.headers)
        assert [e["kind"] for e in logged].count("shipment.shared") == 1

    async def test_a_link_is_no_key_to_anything_else(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        link = await self._link(client, tracked)
        as_bearer = bearer(link["token"])
        for path in ("/v1/shipments", f"/v1/shipments/{tracked.id}", "/v1/me"):
            assert (await client.get(path, headers=as_bearer)).status_code == 401

    async def test_a_forged_or_altered_link_opens_nothing(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        link = await self._link(client, tracked)
        token = link["token"]
        body, _, signature = token.partition(".")
        flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
        for forged in (f"{body}.{flipped}", "hps_" + "x" * 40, token[:-6]):
            response = await client.get(f"/v1/shared/{forged}")
            assert response.status_code == 404, forged
            assert response.json()["code"] == "share_link_not_found"

    async def test_an_expired_link_is_refused(
        self, client: httpx.AsyncClient, tracked: Shipment, clock: FrozenClock
    ) -> None:
        link = await self._link(client, tracked, expires_in_s=600)
        assert (await client.get(link["path"])).status_code == 200
        clock.advance(seconds=601)
        response = await client.get(link["path"])
        assert response.status_code == 410
        assert response.json()["code"] == "share_link_expired"
        assert (await client.get(f"{link['path']}/events")).status_code == 410

    async def test_a_retried_share_request_makes_one_link(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        headers = {**tracked.deal.deal.buyer.headers, "Idempotency-Key": "share-1"}
        path = f"/v1/shipments/{tracked.id}/share"
        first = await client.post(path, headers=headers, json={})
        again = await client.post(path, headers=headers, json={})
        assert first.status_code == again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json()["token"] == first.json()["token"]
        logged = await shipment_events(client, tracked, tracked.deal.carrier.headers)
        assert [e["kind"] for e in logged].count("shipment.shared") == 1

    async def test_a_link_that_lives_too_long_is_not_made(
        self, client: httpx.AsyncClient, tracked: Shipment
    ) -> None:
        response = await client.post(
            f"/v1/shipments/{tracked.id}/share",
            headers=tracked.deal.deal.buyer.headers,
            json={"expires_in_s": 90 * 24 * 3600},
        )
        assert response.status_code == 422
        logged = await shipment_events(client, tracked, tracked.deal.carrier.headers)
        assert "shipment.shared" not in [e["kind"] for e in logged]
