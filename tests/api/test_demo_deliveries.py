"""The demo world has a 500 t sugar order split across a carrier's fleet, with drivers, pickup
passes and slots at the mill."""

from __future__ import annotations

import httpx

from api.demo import seed
from core.database import Database
from tests.helpers import bearer


class TestDemoDeliveries:
    async def test_the_booked_order_is_split_and_each_driver_sees_its_trips(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        accounts = {a.name: a.token for a in await seed(database)}
        dana = bearer(accounts["Dispatcher Dana"])
        listed = await client.get("/v1/deliveries", headers=dana, params={"limit": 200})
        deliveries = listed.json()["data"]
        assert sum(d["quantity"] for d in deliveries) == 500_000
        assert all(d["quantity"] <= 26_000 for d in deliveries)
        assert {d["vehicle_plate"] for d in deliveries} == {"LG-RH 101", "LG-RH 102"}
        # The earliest trip is put on the road by the demo's phones; every later one holds its
        # pickup pass and a slot at the mill.
        states = sorted(d["state"] for d in deliveries)
        assert states == ["assigned"] + ["slotted"] * (len(deliveries) - 1)
        assert all(d["slot_starts_at"] for d in deliveries if d["state"] == "slotted")
        seen = {}
        for name in ("Driver Sam Okafor", "Driver Li Wei"):
            mine = await client.get("/v1/deliveries/mine", headers=bearer(accounts[name]))
            day = mine.json()
            trips = day["today"] + day["upcoming"]
            assert trips, name
            assert {t["plant"]["name"] for t in trips} == {"Uelzen sugar mill"}
            seen[name] = {t["id"] for t in trips}
        assert seen["Driver Sam Okafor"].isdisjoint(seen["Driver Li Wei"])
        assert seen["Driver Sam Okafor"] | seen["Driver Li Wei"] == {d["id"] for d in deliveries}
        split = {d["id"] for d in deliveries}
        buyer = bearer(accounts["Raj Patel"])
        buyer_sees = (await client.get("/v1/deliveries", headers=buyer)).json()["data"]
        assert split <= {d["id"] for d in buyer_sees}
        # Longroad carries only the self-pickup order: none of Rapid Haulage's trips.
        other_carrier = bearer(accounts["Dispatcher Dirk"])
        theirs = (await client.get("/v1/deliveries", headers=other_carrier)).json()["data"]
        assert split.isdisjoint({d["id"] for d in theirs})
