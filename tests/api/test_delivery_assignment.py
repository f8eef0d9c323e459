"""Assigning drivers and vehicles over HTTP, and the driver's phone: refusals for missing
or expired qualifications, trucks that do not fit, double-booking, and each driver seeing
only its own deliveries."""

from __future__ import annotations

from typing import Any

import httpx

from core.clock import FrozenClock
from tests.dispatch.delivery_factory import SILO, Booked, DriverAccount, booked, driver, split
from tests.dispatch.market_factory import SUGAR_T
from tests.helpers import signup

SMALL_SILO = {"body_type": "silo", "payload_kg": 10_000, "volume_l": 25_000}
FLATBED = {"body_type": "flatbed", "payload_kg": 25_000}
TANKER = {
    "body_type": "tanker",
    "payload_kg": 24_000,
    "compartments_l": [8_000, 8_000, 6_000, 8_000],
    "hazard_classes": ["3"],
    "food_grade": False,
}


async def assign(
    client: httpx.AsyncClient,
    deal: Booked,
    delivery: dict[str, Any],
    who: DriverAccount,
    **fields: Any,
) -> httpx.Response:
    """Assign a driver (and maybe a vehicle) as the carrier's dispatcher."""
    return await client.post(
        f"/v1/deliveries/{delivery['id']}/assign",
        headers=deal.carrier.headers,
        json={"version": delivery["version"], "driver_id": who.id, **fields},
    )


async def two_trucks_one_day(client: httpx.AsyncClient, **fields: Any) -> tuple[Booked, list[Any]]:
    """50 t on two big silos: one trip each, the same day."""
    deal = await booked(client, quantity=50 * SUGAR_T, **fields)
    big = deal.carrier.vehicle_ids[:2]
    deliveries = await split(client, deal, vehicles=[{"vehicle_id": v} for v in big])
    assert len({d["planned_day"] for d in deliveries}) == 1
    assert len({d["vehicle_id"] for d in deliveries}) == 2
    return deal, deliveries


def reasons(response: httpx.Response) -> list[str]:
    """The reason codes of a refused assignment."""
    assert response.status_code == 422, response.text
    found: list[str] = response.json()["reasons"]
    return found


class TestAssignment:
    async def test_an_assigned_delivery_names_its_driver_and_tells_the_log(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, _) = await two_trucks_one_day(client)
        sam = await driver(client, deal)
        assigned = await assign(client, deal, first, sam)
        assert assigned.status_code == 200, assigned.text
        body = assigned.json()
        assert (body["state"], body["driver_member_id"]) == ("assigned", sam.member_id)
        assert body["next_step"] == "wait_for_pass"
        events = await client.get(
            "/v1/events",
            headers=deal.deal.seller.headers,
            params={"subject": f"delivery:{first['id']}"},
        )
        assert [e["kind"] for e in events.json()["data"]] == [
            "delivery.planned",
            "delivery.assigned",
        ]
        assert events.json()["data"][1]["payload"]["driver_id"] == sam.id

    async def test_expired_or_missing_licences_are_refused_by_reason(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, _) = await two_trucks_one_day(client)
        # valid today, but it lapses before the end of tomorrow's pickup day
        lapsing = await driver(client, deal, licence_days=1)
        refused = await assign(client, deal, first, lapsing)
        assert reasons(refused) == ["licence_expired"]
        assert refused.json()["code"] == "licence_expired"
        assert refused.json()["errors"][0]["field"] == "body.driver_id"
        unlicensed = await driver(client, deal, licence_days=None)
        assert reasons(await assign(client, deal, first, unlicensed)) == ["licence_missing"]

    async def test_hazardous_goods_need_training_valid_on_the_day(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal = await booked(
            client,
            quantity=20_000,
            unit="l",
            commodity="ethanol 96 %",
            food_grade=False,
            hazard_class="3",
            un_number="UN1170",
            vehicles=[TANKER],
            body_types=["tanker"],
            hazard_classes=["3"],
        )
        (delivery,) = await split(client, deal, density_kg_per_m3=789)
        untrained = await driver(client, deal)
        assert reasons(await assign(client, deal, delivery, untrained)) == [
            "hazmat_training_missing"
        ]
        lapsed = await driver(client, deal, hazmat_days=-1)
        assert reasons(await assign(client, deal, delivery, lapsed)) == ["hazmat_training_expired"]
        trained = await driver(client, deal, hazmat_days=200)
        assert (await assign(client, deal, delivery, trained)).status_code == 200

    async def test_a_driver_or_a_truck_is_not_booked_beyond_its_trips_of_the_day(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, second) = await two_trucks_one_day(client)
        sam = await driver(client, deal)
        assert (await assign(client, deal, first, sam)).status_code == 200
        # the lane allows one round trip a day: Sam's day is full
        assert reasons(await assign(client, deal, second, sam)) == ["driver_overbooked"]
        # and so is the first truck's
        ana = await driver(client, deal)
        on_first_truck = await assign(client, deal, second, ana, vehicle_id=first["vehicle_id"])
        assert reasons(on_first_truck) == ["vehicle_overbooked"]
        assert (await assign(client, deal, second, ana)).status_code == 200

    async def test_a_truck_that_does_not_fit_the_load_is_refused(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, _) = await two_trucks_one_day(
            client, vehicles=[SILO, SILO, SMALL_SILO, FLATBED]
        )
        small, flatbed = deal.carrier.vehicle_ids[2:]
        sam = await driver(client, deal)
        too_small = await assign(client, deal, first, sam, vehicle_id=small)
        assert reasons(too_small) == ["vehicle_capacity"]
        assert too_small.json()["errors"][0]["field"] == "body.vehicle_id"
        assert reasons(await assign(client, deal, first, sam, vehicle_id=flatbed)) == [
            "vehicle_body"
        ]

    async def test_who_may_assign_and_when(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, _) = await two_trucks_one_day(client)
        sam = await driver(client, deal)
        body = {"version": first["version"], "driver_id": sam.id}
        path = f"/v1/deliveries/{first['id']}/assign"
        seller = await client.post(path, headers=deal.deal.seller.headers, json=body)
        assert (seller.status_code, seller.json()["code"]) == (403, "carrier_only")
        stranger = await signup(client, "Nosy Freight", ["carrier"])
        hidden = await client.post(path, headers=stranger.headers, json=body)
        assert hidden.status_code == 404
        stale = await client.post(
            path, headers=deal.carrier.headers, json={**body, "version": first["version"] + 5}
        )
        assert (stale.status_code, stale.json()["code"]) == (409, "stale_version")
        cancelled = await client.post(
            f"/v1/deliveries/{first['id']}/cancel",
            headers=deal.carrier.headers,
            json={"version": first["version"], "reason": "customer asked"},
        )
        late = await assign(client, deal, cancelled.json(), sam)
        assert (late.status_code, late.json()["code"]) == (409, "invalid_delivery_state")


class TestDriversPhone:
    async def test_each_driver_sees_only_its_own_deliveries_with_the_next_step(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, second) = await two_trucks_one_day(client)
        sam = await driver(client, deal)
        ana = await driver(client, deal)
        await assign(client, deal, first, sam)
        await assign(client, deal, second, ana)
        mine = (await client.get("/v1/deliveries/mine", headers=sam.headers)).json()
        assert mine["today"] == []  # the pickup is tomorrow
        (upcoming,) = mine["upcoming"]
        assert upcoming["id"] == first["id"]
        assert upcoming["plant"]["name"] == "Uelzen sugar mill"
        assert (upcoming["plant"]["lat"], upcoming["plant"]["lon"]) == (52.979, 10.558)
        assert upcoming["product"] == "sugar EU2"
        assert upcoming["quantity"] == first["quantity"]
        assert upcoming["vehicle"]["plate"] == first["vehicle_plate"]
        assert upcoming["next_step"] == "wait_for_pass"
        listed = await client.get("/v1/deliveries", headers=sam.headers)
        assert [d["id"] for d in listed.json()["data"]] == [first["id"]]
        other = await client.get(f"/v1/deliveries/{second['id']}", headers=sam.headers)
        assert other.status_code == 404
        clock.advance(days=1)
        await ana.relogin(client)
        today = (await client.get("/v1/deliveries/mine", headers=ana.headers)).json()
        assert [d["id"] for d in today["today"]] == [second["id"]]
        assert today["upcoming"] == []


class TestOpenWork:
    async def test_a_leaving_drivers_assigned_deliveries_go_to_another_driver(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        deal, (first, _) = await two_trucks_one_day(client)
        sam = await driver(client, deal)
        ana = await driver(client, deal)
        await assign(client, deal, first, sam)
        moved = await client.post(
            f"/v1/members/{sam.member_id}/reassign",
            headers=deal.carrier.org.headers,
            json={"to_member_id": ana.member_id},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["moved"]["deliveries_driven"] == 1
        # the dispatcher who committed the plan still manages every delivery
        assert moved.json()["moved"]["deliveries_dispatched"] == 0
        mine = (await client.get("/v1/deliveries/mine", headers=ana.headers)).json()
        assert [d["id"] for d in mine["upcoming"]] == [first["id"]]
        assert (await client.get("/v1/deliveries/mine", headers=sam.headers)).json()[
            "upcoming"
        ] == []
