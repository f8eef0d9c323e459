"""Contended yard paths raced: two bookings of one slot, two docks calling one truck, a
geofence arrival and a gate-code check-in of the same truck at once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.dispatch.authz_factory import long_session_settings
from tests.yard.yard_factory import GATE_CODE, gate_scan, schedule, yard_world
from yard.visits import check_in_by_geofence


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


class TestRaces:
    async def test_two_bookings_of_the_last_free_slot_give_one_truck(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, docks={"Silo 1": None})
        first, second = world.delivery_ids(world.day)
        answers = await asyncio.gather(
            *(
                client.post(
                    "/v1/yard/appointments",
                    headers=world.pickup.carrier,
                    json={"delivery_id": d, "starts_at": world.at(10).isoformat()},
                )
                for d in (first, second)
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 409]
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        assert len(board.json()["columns"]["expected"]) == 1

    async def test_two_docks_calling_at_once_call_the_one_truck_once(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        clock.set(datetime.fromisoformat(first["starts_at"]))
        assert (
            await gate_scan(client, world, world.delivery_ids().index(first["delivery_id"]))
        ).status_code == 200
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/v1/yard/plants/{world.site_id}/docks/{d['id']}/call", headers=world.clerk
                )
                for d in world.docks.values()
            )
        )
        assert [a.status_code for a in answers] == [200, 200]
        called = [a.json()["visit"] for a in answers if a.json()["visit"] is not None]
        assert len(called) == 1
        docks = await client.get(f"/v1/yard/plants/{world.site_id}/docks", headers=world.clerk)
        assert sorted(d["state"] for d in docks.json()["data"]) == ["called", "free"]

    async def test_a_geofence_arrival_and_a_gate_code_open_one_visit(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        clock.set(datetime.fromisoformat(first["starts_at"]))
        driver = world.pickup.drivers[world.delivery_ids().index(first["delivery_id"])]

        async def geofence() -> None:
            async with database.transaction() as session:
                await check_in_by_geofence(
                    session,
                    delivery_id=uuid.UUID(first["delivery_id"]),
                    at=clock.now(),
                    lat=52.979,
                    lon=10.558,
                )

        _, by_code = await asyncio.gather(
            geofence(),
            client.post(
                f"/v1/yard/mine/{first['delivery_id']}/check-in",
                headers=driver.headers,
                json={"code": GATE_CODE},
            ),
        )
        assert by_code.status_code == 200, by_code.text
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        arrived = board.json()["columns"]["arrived"]
        assert [v["id"] for v in arrived] == [by_code.json()["id"]]
