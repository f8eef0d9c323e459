"""Scheduling a plant's day through the service: every load on a dock that can take it,
no dock loading two trucks at once, and each slot after the truck's pass is valid."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.dispatch.authz_factory import long_session_settings
from tests.dispatch.market_factory import SUGAR_T
from tests.yard.yard_factory import SILO_DOCK, schedule, yard_world

BAGS = {
    "products": ["sugar 25 kg bags"],
    "bodies": ["curtainsider"],
    "fixed_duration_min": 40,
}
TANKER = {
    "products": ["ethanol"],
    "bodies": ["tanker"],
    "hazardous": True,
    "loading_rate_kg_per_min": 800,
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


def _overlaps(a: dict[str, str], b: dict[str, str]) -> bool:
    return a["starts_at"] < b["ends_at"] and b["starts_at"] < a["ends_at"]


class TestScheduleDay:
    async def test_one_silo_takes_every_sugar_load_in_turn(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(
            client,
            database,
            quantity=100 * SUGAR_T,
            docks={"Bag bay": BAGS, "Silo 1": SILO_DOCK, "Tanker bay": TANKER},
        )
        plan = await schedule(client, world)
        silo = world.docks["Silo 1"]["id"]
        placed = plan["appointments"]
        assert sorted(a["delivery_id"] for a in placed) == sorted(world.delivery_ids(world.day))
        assert {a["dock_id"] for a in placed} == {silo}
        for i, a in enumerate(placed):
            for b in placed[i + 1 :]:
                assert not _overlaps(a, b), (a, b)
        passes = {p["delivery_id"]: p for p in world.pickup.passes}
        for a in placed:
            valid_from = datetime.fromisoformat(passes[a["delivery_id"]]["not_before"])
            assert datetime.fromisoformat(a["starts_at"]) >= valid_from

    async def test_two_silos_share_the_loads_without_double_booking(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, quantity=100 * SUGAR_T)
        plan = await schedule(client, world)
        placed = plan["appointments"]
        assert len(placed) == len(world.delivery_ids(world.day)) == 2
        for i, a in enumerate(placed):
            for b in placed[i + 1 :]:
                if a["dock_id"] == b["dock_id"]:
                    assert not _overlaps(a, b), (a, b)
        deliveries = await client.get(
            "/v1/deliveries", headers=world.operator, params={"state": "slotted"}
        )
        assert deliveries.json()["count"] == len(placed)

    async def test_a_load_no_dock_can_take_stays_unscheduled(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, docks={"Bag bay": BAGS})
        plan = await schedule(client, world)
        assert plan["appointments"] == []
        assert sorted(plan["unscheduled"]) == sorted(world.delivery_ids(world.day))

    async def test_another_plants_operator_cannot_schedule_it(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        response = await client.post(
            f"/v1/yard/plants/{world.site_id}/schedule",
            headers=world.pickup.carrier,
            json={"day": world.day.isoformat()},
        )
        assert response.status_code == 404
        assert response.json()["code"] == "plant_not_found"
