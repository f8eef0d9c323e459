"""Carrier fleets over HTTP: vehicles, drivers, pairing, qualifications, boundaries."""

from __future__ import annotations

import httpx

from core.clock import FrozenClock
from tests.dispatch.market_factory import carrier, iso, qualify, vehicle
from tests.helpers import add_member, bearer, signup


class TestVehicles:
    async def test_a_plate_is_unique_in_a_fleet_however_it_is_written(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        await vehicle(client, org, plate="LG-HR 204")
        again = await client.post(
            "/v1/fleet/vehicles",
            headers=org.headers,
            json={"plate": "lghr204", "body_type": "tipper", "payload_kg": 25000},
        )
        assert again.status_code == 409
        assert again.json()["code"] == "plate_taken"
        other = await signup(client, "Longroad", ["carrier"])
        assert await vehicle(client, other, plate="LG-HR 204")

    async def test_a_tanker_lists_its_compartments(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        response = await client.post(
            "/v1/fleet/vehicles",
            headers=org.headers,
            json={"plate": "T-1", "body_type": "tanker", "payload_kg": 25000},
        )
        assert response.status_code == 422
        made = await client.post(
            "/v1/fleet/vehicles",
            headers=org.headers,
            json={
                "plate": "T-2",
                "body_type": "tanker",
                "payload_kg": 25000,
                "compartments_l": [8000, 8000, 6000, 8000],
                "hazard_classes": ["3", "8"],
            },
        )
        assert made.status_code == 201
        assert made.json()["volume_l"] == 30000

    async def test_another_carriers_vehicle_is_404(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        other = await signup(client, "Longroad", ["carrier"])
        vehicle_id = await vehicle(client, org)
        assert (
            await client.get(f"/v1/fleet/vehicles/{vehicle_id}", headers=other.headers)
        ).status_code == 404
        patched = await client.patch(
            f"/v1/fleet/vehicles/{vehicle_id}",
            headers=other.headers,
            json={"version": 1, "status": "retired"},
        )
        assert patched.status_code == 404

    async def test_a_non_carrier_has_no_fleet(self, client: httpx.AsyncClient) -> None:
        buyer = await signup(client, "Acme Foods", ["buyer"])
        response = await client.post(
            "/v1/fleet/vehicles",
            headers=buyer.headers,
            json={"plate": "B-1", "body_type": "box", "payload_kg": 12000},
        )
        assert response.status_code == 403


class TestDrivers:
    async def test_a_driver_account_is_recorded_and_paired_with_one_vehicle(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        member_id, _ = await add_member(client, org, "driver")
        driver = await client.post(
            "/v1/fleet/drivers",
            headers=org.headers,
            json={
                "membership_id": member_id,
                "licence_class": "CE",
                "hazmat_training_expires_at": iso(clock.now().replace(year=2027)),
                "phone": "+49 170 1234567",
            },
        )
        assert driver.status_code == 201, driver.text
        driver_id = driver.json()["id"]
        first, second = (
            await vehicle(client, org, plate="A-1"),
            await vehicle(client, org, plate="A-2"),
        )
        paired = await client.put(
            f"/v1/fleet/vehicles/{first}/driver",
            headers=org.headers,
            json={"version": 1, "driver_id": driver_id},
        )
        assert paired.json()["driver_id"] == driver_id
        moved = await client.put(
            f"/v1/fleet/vehicles/{second}/driver",
            headers=org.headers,
            json={"version": 1, "driver_id": driver_id},
        )
        assert moved.status_code == 200
        listed = await client.get("/v1/fleet/drivers", headers=org.headers)
        assert listed.json()["data"][0]["vehicle_id"] == second
        left = await client.get(f"/v1/fleet/vehicles/{first}", headers=org.headers)
        assert left.json()["driver_id"] is None

    async def test_only_a_driver_account_can_be_a_driver(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        member_id, _ = await add_member(client, org, "dispatcher")
        response = await client.post(
            "/v1/fleet/drivers",
            headers=org.headers,
            json={"membership_id": member_id, "licence_class": "CE"},
        )
        assert response.status_code == 422
        assert response.json()["code"] == "not_a_driver"
        driver_member, driver_token = await add_member(client, org, "driver")
        own = await client.post(
            "/v1/fleet/drivers",
            headers=bearer(driver_token),
            json={"membership_id": driver_member, "licence_class": "CE"},
        )
        assert own.status_code == 403


class TestQualifications:
    async def test_a_hazmat_permit_names_its_classes(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        made = await carrier(client, "Rapid Haulage")
        response = await client.post(
            "/v1/fleet/qualifications",
            headers=made.headers,
            json={
                "kind": "hazmat_permit",
                "document_ref": "ADR-1",
                "valid_from": iso(clock.now()),
                "expires_at": iso(clock.now().replace(year=2027)),
            },
        )
        assert response.status_code == 422
        permit = await qualify(client, made.org, "hazmat_permit", hazard_classes=["3", "8"])
        assert permit["valid"] is True
        assert permit["hazard_classes"] == ["3", "8"]
