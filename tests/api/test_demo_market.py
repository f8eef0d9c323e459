"""The demo world has fleets, a sugar order and loads the demo carriers can grab."""

from __future__ import annotations

import httpx

from api.demo import seed
from core.database import Database
from tests.helpers import bearer


class TestDemoMarket:
    async def test_demo_carriers_see_and_grab_the_loads_they_qualify_for(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        accounts = {a.name: a.token for a in await seed(database)}
        rapid = bearer(accounts["Dispatcher Dana"])
        longroad = bearer(accounts["Dispatcher Dirk"])
        seen_by_rapid = (await client.get("/v1/market/loads", headers=rapid)).json()["data"]
        seen_by_longroad = (await client.get("/v1/market/loads", headers=longroad)).json()["data"]
        modes = sorted((o["pricing_mode"], o["commodity"][:5]) for o in seen_by_rapid)
        assert modes == [
            ("auction", "white"),
            ("posted", "ethan"),
            ("posted", "white"),
            ("posted", "white"),
        ]
        # Longroad has no hazmat permit, so no ethanol; it holds the tender's first turn.
        modes = sorted((o["pricing_mode"], o["commodity"][:5]) for o in seen_by_longroad)
        assert modes == [
            ("auction", "white"),
            ("posted", "white"),
            ("posted", "white"),
            ("tender", "white"),
        ]
        # The third carrier sees both buyers' sugar loads it is qualified for.
        heide = bearer(accounts["Dispatcher Hanna"])
        seen_by_heide = (await client.get("/v1/market/loads", headers=heide)).json()["data"]
        assert sorted(o["pricing_mode"] for o in seen_by_heide) == ["auction", "posted", "posted"]
        sugar = next(o for o in seen_by_longroad if o["pricing_mode"] == "posted")
        grabbed = await client.post(
            f"/v1/market/offers/{sugar['id']}/grab", headers=longroad, json={"quantity": 25_000}
        )
        assert grabbed.status_code == 201, grabbed.text
        ethanol = next(o for o in seen_by_rapid if o["commodity"].startswith("ethanol"))
        refused = await client.post(
            f"/v1/market/offers/{ethanol['id']}/grab", headers=longroad, json={"quantity": 10_000}
        )
        assert refused.status_code == 403
        taken = await client.post(
            f"/v1/market/offers/{ethanol['id']}/grab", headers=rapid, json={"quantity": 10_000}
        )
        assert taken.status_code == 201

    async def test_the_demo_fleets_have_vehicles_and_drivers(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        accounts = {a.name: a.token for a in await seed(database)}
        vehicles = await client.get("/v1/fleet/vehicles", headers=bearer(accounts["Omar Haddad"]))
        bodies = sorted(v["body_type"] for v in vehicles.json()["data"])
        assert bodies == ["curtainsider", "silo", "silo", "tanker", "tipper"]
        drivers = await client.get("/v1/fleet/drivers", headers=bearer(accounts["Greta Nilsson"]))
        assert [d["name"] for d in drivers.json()["data"]] == ["Driver Ivan Petrov"]
        assert drivers.json()["data"][0]["vehicle_id"] is not None
