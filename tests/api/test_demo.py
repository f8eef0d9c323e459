"""The demo world seeds and its printed tokens work."""

from __future__ import annotations

import httpx

from api.demo import seed
from api.demo_fleet import BAKERY_HAMBURG, MILL_UELZEN, drive, position_at, seed_fleet
from core.database import Database
from tests.helpers import bearer
from tracking.geo import haversine_m


class TestDemoWorld:
    async def test_every_demo_token_answers_me(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        accounts = await seed(database)
        organizations = {a.organization for a in accounts}
        assert {"Sweet Sugar Mill", "Acme Foods", "Rapid Haulage", "Longroad Logistics"} <= (
            organizations
        )
        for account in accounts:
            me = await client.get("/v1/me", headers=bearer(account.token))
            assert me.status_code == 200, account
            assert me.json()["role"] == account.role
        mill_owner = next(a for a in accounts if a.organization == "Sweet Sugar Mill")
        sites = await client.get("/v1/sites", headers=bearer(mill_owner.token))
        assert [s["kind"] for s in sites.json()["data"]] == ["plant"]


class TestDemoFleet:
    async def test_demo_trucks_ping_through_the_api_and_move(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        accounts = await seed(database)
        trucks = await seed_fleet(database, accounts)
        assert {t.carrier for t in trucks} == {"Rapid Haulage", "Longroad Logistics"}
        assert await drive(client, trucks, rounds=1, interval_s=0.0) == 5 * len(trucks)
        dispatcher = next(
            a for a in accounts if a.organization == "Rapid Haulage" and a.role == "dispatcher"
        )
        first = await client.get("/v1/positions/latest", headers=bearer(dispatcher.token))
        assert first.json()["count"] == 2  # Rapid Haulage's two drivers, not Longroad's
        await drive(client, trucks, rounds=1, interval_s=0.01)
        second = await client.get("/v1/positions/latest", headers=bearer(dispatcher.token))
        before = {p["device_id"]: (p["lat"], p["lon"]) for p in first.json()["data"]}
        after = {p["device_id"]: (p["lat"], p["lon"]) for p in second.json()["data"]}
        assert before.keys() == after.keys()
        assert all(before[d] != after[d] for d in before)


class TestRoute:
    def test_a_truck_drives_there_and_back(self) -> None:
        route = (MILL_UELZEN, BAKERY_HAMBURG)
        length = haversine_m(MILL_UELZEN, BAKERY_HAMBURG)
        assert position_at(route, 0.0) == MILL_UELZEN
        there = position_at(route, length)
        assert haversine_m(there, BAKERY_HAMBURG) < 1.0
        back = position_at(route, 2 * length)
        assert haversine_m(back, MILL_UELZEN) < 1.0
        halfway = position_at(route, 0.5 * length)
        assert abs(haversine_m(halfway, MILL_UELZEN) - 0.5 * length) < 0.01 * length
