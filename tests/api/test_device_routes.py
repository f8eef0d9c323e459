"""Devices: who registers them, what the registration answer says, revocation and rotation."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from accounts import service as accounts
from accounts.tokens import TokenCache
from core.bus import MemoryBus
from core.database import Database
from tests.helpers import add_member, bearer, register_device, signup
from tracking.devices import service as devices
from tracking.devices.identity import DeviceCache

_NO_CACHE = TokenCache(ttl_s=0)


def _ping_body(**overrides: object) -> dict[str, object]:
    ping: dict[str, object] = {
        "id": "p1",
        "recorded_at": "2026-03-02T07:59:00Z",
        "lat": 52.9790,
        "lon": 10.5580,
    }
    ping.update(overrides)
    return {"pings": [ping]}


class TestRegistration:
    async def test_a_dispatcher_registers_a_device_for_a_driver(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        driver_id, _ = await add_member(client, carrier, "driver")
        _, dispatcher = await add_member(client, carrier, "dispatcher")
        response = await client.post(
            "/v1/devices",
            headers=bearer(dispatcher),
            json={"name": "Li Wei's phone", "driver_member_id": driver_id},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["device"]["driver_member_id"] == driver_id
        assert body["device"]["vehicle_id"] is None
        assert body["credentials"]["token"].startswith("hpd_")
        assert body["credentials"]["tracker_id"].startswith("hpt")
        assert "token_hash" not in response.text

    async def test_the_answer_says_what_to_type_into_each_app(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        apps = {entry["app"]: entry["fields"] for entry in device.setup}
        assert set(apps) == {"Haulpoint app", "Traccar Client", "OsmAnd", "OwnTracks", "Overland"}
        assert apps["Haulpoint app"]["Authorization"] == f"Bearer {device.token}"
        assert apps["Traccar Client"]["Device identifier"] == device.tracker_id
        assert apps["Traccar Client"]["Server URL"].endswith("/v1/ingest/osmand")
        assert f"id={device.tracker_id}" in apps["OsmAnd"]["Online tracking web address"]
        assert "lat={0}" in apps["OsmAnd"]["Online tracking web address"]
        assert apps["OwnTracks"]["Username"] == device.owntracks_user
        assert apps["OwnTracks"]["Password"] == device.token
        assert apps["Overland"]["Receiver Endpoint"].endswith(f"?token={device.token}")

    async def test_the_configured_public_url_goes_into_the_setup(
        self, client: httpx.AsyncClient, app: object
    ) -> None:
        app.state.runtime.settings.tracking.public_url = "https://track.example.com"  # type: ignore[attr-defined]
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        native = next(s for s in device.setup if s["app"] == "Haulpoint app")
        assert native["fields"]["URL"] == "https://track.example.com/v1/ingest/pings"

    async def test_numbers_are_distinct(self, client: httpx.AsyncClient) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        other = await signup(client, "Longroad", ["carrier"])
        numbers = {(await register_device(client, org)).number for org in (carrier, other) * 3}
        assert len(numbers) == 6

    async def test_a_buyer_cannot_register_devices(self, client: httpx.AsyncClient) -> None:
        buyer = await signup(client, "Acme Foods", ["buyer"])
        response = await client.post(
            "/v1/devices",
            headers=buyer.headers,
            json={"name": "x", "vehicle_id": str(uuid.uuid4())},
        )
        assert response.status_code == 403
        assert response.json()["code"] == "carrier_required"

    async def test_a_driver_or_clerk_cannot_register_devices(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        for role in ("driver", "clerk", "viewer"):
            _, token = await add_member(client, carrier, role)
            response = await client.post(
                "/v1/devices",
                headers=bearer(token),
                json={"name": "x", "vehicle_id": str(uuid.uuid4())},
            )
            assert response.status_code == 403, role

    async def test_bound_to_exactly_one_of_driver_and_vehicle(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        driver_id, _ = await add_member(client, carrier, "driver")
        for body in (
            {"name": "x"},
            {"name": "x", "vehicle_id": str(uuid.uuid4()), "driver_member_id": driver_id},
        ):
            response = await client.post("/v1/devices", headers=carrier.headers, json=body)
            assert response.status_code == 422
            assert response.json()["code"] == "validation_failed"

    async def test_the_driver_must_be_an_active_driver_of_the_carrier(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        other = await signup(client, "Longroad", ["carrier"])
        foreign_driver, _ = await add_member(client, other, "driver")
        own_clerk, _ = await add_member(client, carrier, "clerk")
        for member in (foreign_driver, own_clerk):
            response = await client.post(
                "/v1/devices",
                headers=carrier.headers,
                json={"name": "x", "driver_member_id": member},
            )
            assert response.status_code == 422
            assert response.json()["code"] == "driver_required"
            assert response.json()["errors"][0]["field"] == "driver_member_id"


class TestVisibility:
    async def test_another_organizations_device_is_404(self, client: httpx.AsyncClient) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        other = await signup(client, "Longroad", ["carrier"])
        device = await register_device(client, carrier)
        for path in ("", "/position", "/trail"):
            response = await client.get(f"/v1/devices/{device.id}{path}", headers=other.headers)
            assert response.status_code == 404, path
            assert response.json()["code"] == "device_not_found"
        revoke = await client.post(f"/v1/devices/{device.id}/revoke", headers=other.headers)
        assert revoke.status_code == 404
        listed = await client.get("/v1/devices", headers=other.headers)
        assert listed.json()["count"] == 0

    async def test_a_driver_sees_only_their_own_devices(self, client: httpx.AsyncClient) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        driver_id, driver_token = await add_member(client, carrier, "driver")
        mine = await register_device(client, carrier, driver_member_id=driver_id)
        truck = await register_device(client, carrier)
        listed = await client.get("/v1/devices", headers=bearer(driver_token))
        assert [d["id"] for d in listed.json()["data"]] == [str(mine.id)]
        other = await client.get(f"/v1/devices/{truck.id}", headers=bearer(driver_token))
        assert other.status_code == 404


class TestRevocationAndRotation:
    async def test_a_revoked_device_can_no_longer_send(
        self, client: httpx.AsyncClient, clock: object
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        sent = await client.post("/v1/ingest/pings", headers=device.headers, json=_ping_body())
        assert sent.status_code == 200, sent.text
        revoked = await client.post(f"/v1/devices/{device.id}/revoke", headers=carrier.headers)
        assert revoked.json()["active"] is False
        refused = await client.post(
            "/v1/ingest/pings", headers=device.headers, json=_ping_body(id="p2")
        )
        assert refused.status_code == 401
        assert refused.json()["code"] == "invalid_device_credentials"
        listed = await client.get("/v1/devices", headers=carrier.headers)
        assert listed.json()["count"] == 0
        everything = await client.get("/v1/devices?include_revoked=true", headers=carrier.headers)
        assert everything.json()["count"] == 1

    async def test_rotation_replaces_every_secret(
        self, client: httpx.AsyncClient, clock: object
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        rotated = await client.post(f"/v1/devices/{device.id}/rotate", headers=carrier.headers)
        assert rotated.status_code == 200
        fresh = rotated.json()["credentials"]
        assert fresh["token"] != device.token
        assert fresh["tracker_id"] != device.tracker_id
        old = await client.post("/v1/ingest/pings", headers=device.headers, json=_ping_body())
        assert old.status_code == 401
        old_tracker = await client.get(
            "/v1/ingest/osmand", params={"id": device.tracker_id, "lat": 52.0, "lon": 10.0}
        )
        assert old_tracker.status_code == 401
        new = await client.post(
            "/v1/ingest/pings", headers=bearer(fresh["token"]), json=_ping_body()
        )
        assert new.status_code == 200

    async def test_rebinding_needs_the_current_version(self, client: httpx.AsyncClient) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        driver_id, _ = await add_member(client, carrier, "driver")
        device = await register_device(client, carrier)
        moved = await client.patch(
            f"/v1/devices/{device.id}",
            headers=carrier.headers,
            json={"version": 1, "driver_member_id": driver_id},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["driver_member_id"] == driver_id
        assert moved.json()["vehicle_id"] is None
        stale = await client.patch(
            f"/v1/devices/{device.id}", headers=carrier.headers, json={"version": 1, "name": "y"}
        )
        assert stale.status_code == 409

    async def test_a_leaving_drivers_devices_move_to_another_driver(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        leaving, _ = await add_member(client, carrier, "driver")
        staying, _ = await add_member(client, carrier, "driver")
        device = await register_device(client, carrier, driver_member_id=leaving)
        await client.post(f"/v1/members/{leaving}/deactivate", headers=carrier.headers)
        moved = await client.post(
            f"/v1/members/{leaving}/reassign",
            headers=carrier.headers,
            json={"to_member_id": staying},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["moved"]["devices"] == 1
        found = await client.get(f"/v1/devices/{device.id}", headers=carrier.headers)
        assert found.json()["driver_member_id"] == staying


class TestRevocationElsewhere:
    async def test_a_revocation_in_another_process_evicts_the_cached_device(
        self, client: httpx.AsyncClient, app: Any, database: Database, bus: MemoryBus, clock: object
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        sent = await client.post("/v1/ingest/pings", headers=device.headers, json=_ping_body())
        assert sent.status_code == 200  # the device is now in this process's cache
        elsewhere = DeviceCache(ttl_s=600)  # another process's cache, as the bus sees it
        async with database.transaction(bus) as session:
            owner = await accounts.authenticate(session, token=carrier.token, cache=_NO_CACHE)
            await devices.revoke_device(
                session, principal=owner, device_id=device.id, cache=elsewhere
            )
        await asyncio.sleep(0.05)  # the bus delivers to the listener task
        refused = await client.post(
            "/v1/ingest/pings", headers=device.headers, json=_ping_body(id="p2")
        )
        assert refused.status_code == 401
