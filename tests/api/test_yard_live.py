"""Call-forward reaches the driver's phone: the yard stream of the called truck's driver
carries the call (dock and deadline), another driver's stream does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.api.live_server import serving
from tests.dispatch.authz_factory import long_session_settings
from tests.yard.yard_factory import gate_scan, schedule, yard_world
from yard.sweep import sweep_yard

WAIT_S = 5.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


async def sse_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """(event, data) pairs from an event stream's lines; comments are skipped."""
    kind, data = "message", ""
    async for line in lines:
        if line.startswith("event: "):
            kind = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            yield kind, orjson.loads(data)
            kind, data = "message", ""


class TestCallForward:
    async def test_the_call_reaches_the_called_drivers_stream_only(
        self, app: Any, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        called_driver = world.pickup.drivers[index]
        other_driver = world.pickup.drivers[1 - index]
        clock.set(datetime.fromisoformat(first["starts_at"]))
        scanned = await gate_scan(client, world, index)
        assert scanned.status_code == 200, scanned.text
        async with (
            serving(app) as host,
            httpx.AsyncClient(base_url=f"http://{host}", timeout=WAIT_S) as http,
            http.stream("GET", "/v1/live/yard", headers=called_driver.headers) as mine,
            http.stream(
                "GET", "/v1/live/yard", params={"access_token": other_driver.token}
            ) as theirs,
        ):
            assert mine.headers["content-type"].startswith("text/event-stream")
            my_events = sse_events(mine.aiter_lines())
            their_events = sse_events(theirs.aiter_lines())
            assert (await anext(my_events))[0] == "ready"
            assert (await anext(their_events))[0] == "ready"
            call = await client.post(
                f"/v1/yard/plants/{world.site_id}/docks/{first['dock_id']}/call",
                headers=world.clerk,
            )
            assert call.status_code == 200, call.text
            kind, data = await asyncio.wait_for(anext(my_events), WAIT_S)
            assert kind == "called"
            assert data["delivery_id"] == first["delivery_id"]
            assert data["dock_id"] == first["dock_id"]
            assert data["visit_id"] == scanned.json()["visit"]["id"]
            assert datetime.fromisoformat(data["respond_by"]) > clock.now()
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(anext(their_events), 0.5)
        place = await client.get(
            f"/v1/yard/mine/{first['delivery_id']}/queue", headers=called_driver.headers
        )
        assert place.json()["state"] == "called"
        assert place.json()["dock"] == next(
            name for name, d in world.docks.items() if d["id"] == first["dock_id"]
        )

    async def test_the_yard_stream_is_for_drivers(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        world = await yard_world(client, database)
        response = await client.get("/v1/live/yard", headers=world.clerk)
        assert response.status_code == 403
        assert (await client.get("/v1/live/yard")).status_code == 401


class TestUnansweredCalls:
    async def test_a_truck_that_misses_its_call_goes_back_to_the_queue(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        clock.set(datetime.fromisoformat(first["starts_at"]))
        scanned = await gate_scan(client, world, world.delivery_ids().index(first["delivery_id"]))
        visit_id = scanned.json()["visit"]["id"]
        call = await client.post(
            f"/v1/yard/plants/{world.site_id}/docks/{first['dock_id']}/call", headers=world.clerk
        )
        assert call.json()["visit"]["id"] == visit_id
        clock.advance(minutes=9)
        async with database.transaction() as session:
            assert (await sweep_yard(session)).lapsed.visit_ids == ()
        clock.advance(minutes=2)
        async with database.transaction() as session:
            swept = await sweep_yard(session)
        assert [str(v) for v in swept.lapsed.visit_ids] == [visit_id]
        visit = (await client.get(f"/v1/yard/visits/{visit_id}", headers=world.clerk)).json()
        assert (visit["state"], visit["missed_calls"], visit["dock_id"]) == ("waiting", 1, None)
        docks = await client.get(f"/v1/yard/plants/{world.site_id}/docks", headers=world.clerk)
        assert {d["state"] for d in docks.json()["data"]} == {"free"}
        late_arrival = await client.post(f"/v1/yard/visits/{visit_id}/at-dock", headers=world.clerk)
        assert late_arrival.status_code == 409


class TestQueuePlace:
    async def test_a_waiting_truck_learns_its_place_and_expected_call(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, docks={"Silo 1": None})
        plan = await schedule(client, world)
        first, second = sorted(plan["appointments"], key=lambda a: a["starts_at"])
        clock.set(datetime.fromisoformat(first["starts_at"]))
        for appointment in (first, second):
            index = world.delivery_ids().index(appointment["delivery_id"])
            assert (await gate_scan(client, world, index)).status_code == 200
        places = []
        for appointment in (first, second):
            index = world.delivery_ids().index(appointment["delivery_id"])
            response = await client.get(
                f"/v1/yard/mine/{appointment['delivery_id']}/queue",
                headers=world.pickup.drivers[index].headers,
            )
            assert response.status_code == 200, response.text
            places.append(response.json())
        assert [p["position"] for p in places] == [1, 2]
        assert all(p["dock"] == "Silo 1" for p in places)
        first_call = datetime.fromisoformat(places[0]["expected_call_at"])
        second_call = datetime.fromisoformat(places[1]["expected_call_at"])
        # one silo: the second truck waits for the first one's loading (31 min) to end
        assert (second_call - first_call).total_seconds() / 60 >= 25
