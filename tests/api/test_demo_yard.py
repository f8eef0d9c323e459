"""The demo world's yard: the mill has six docks, and the drivers of its passes see slots."""

from __future__ import annotations

from datetime import date

import httpx

from api.demo import seed
from core.database import Database
from tests.helpers import bearer


class TestDemoYard:
    async def test_the_mill_has_six_docks_and_slots_for_the_passes(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        tokens = {a.name: a.token for a in await seed(database)}
        clerk = bearer(tokens["Gate Clerk Ana"])
        sites = await client.get("/v1/sites", headers=clerk)
        mill = sites.json()["data"][0]["id"]
        docks = await client.get(f"/v1/yard/plants/{mill}/docks", headers=clerk)
        assert docks.status_code == 200, docks.text
        names = [d["name"] for d in docks.json()["data"]]
        assert len(names) == 6
        assert sum("Silo" in n for n in names) == 3
        assert "Bagged goods bay" in names
        phone = bearer(tokens["Driver Ivan Petrov"])
        passes = (await client.get("/v1/passes", headers=phone)).json()["data"]
        slots = (await client.get("/v1/yard/mine", headers=phone)).json()["data"]
        assert slots
        assert {s["delivery_id"] for s in slots} == {p["delivery_id"] for p in passes}
        assert all(s["dock"].startswith("Silo") for s in slots)
        assert {s["pass_id"] for s in slots} == {p["id"] for p in passes}
        day = date.fromisoformat(slots[0]["starts_at"][:10])
        board = await client.get(
            f"/v1/yard/plants/{mill}/board", headers=clerk, params={"day": day.isoformat()}
        )
        assert board.status_code == 200, board.text
        assert slots[0]["delivery_id"] in [
            a["delivery_id"] for a in board.json()["columns"]["expected"]
        ]
        # Rapid Haulage's driver sees the slots of his own trips, none of Longroad's.
        theirs = (await client.get("/v1/yard/mine", headers=bearer(tokens["Driver Li Wei"]))).json()
        assert theirs["count"] > 0
        assert {s["delivery_id"] for s in theirs["data"]}.isdisjoint(
            s["delivery_id"] for s in slots
        )
