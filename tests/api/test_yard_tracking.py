"""Tracking's arrival at the plant checks the truck in at the yard: pings from the driver's
phone cross the plant's fence and the delivery gets its visit, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.helpers import register_device
from tests.tracking.shipment_factory import PLANT_FRAME, ping, send, shipment_settings
from tests.yard.yard_factory import schedule, yard_world


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Long sessions, as the tracking tests use."""
    return shipment_settings(tmp_path)


class TestArrivalChecksIn:
    async def test_pings_at_the_gate_open_the_visit(
        self, client: httpx.AsyncClient, app: Any, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        driver = world.pickup.drivers[index]
        phone = await register_device(
            client,
            world.pickup.booked.carrier.org,
            driver_member_id=driver.member_id,
            name="Driver's phone",
        )
        clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=5))
        start = clock.now() - timedelta(minutes=20)
        road = [
            ping(k, start + timedelta(minutes=k), PLANT_FRAME, 0, -6_000 + 1_000 * k, speed_mps=16)
            for k in range(6)
        ]
        gate = [
            ping(10 + k, start + timedelta(minutes=6 + k), PLANT_FRAME, 0, -50) for k in range(6)
        ]
        await send(client, app, phone, road)
        await send(client, app, phone, gate)
        await send(
            client, app, phone, [ping(30, start + timedelta(minutes=13), PLANT_FRAME, 5, -45)]
        )
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        arrived = board.json()["columns"]["arrived"]
        assert [(v["delivery_id"], v["source"]) for v in arrived] == [
            (first["delivery_id"], "geofence")
        ]
        assert arrived[0]["arrived_at"] == (start + timedelta(minutes=6)).isoformat().replace(
            "+00:00", "Z"
        )
        delivery = await client.get(
            f"/v1/deliveries/{first['delivery_id']}", headers=world.operator
        )
        assert delivery.json()["state"] == "at_plant"
