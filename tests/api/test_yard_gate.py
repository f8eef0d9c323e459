"""Check-in (geofence, the gate's code, the clerk's scan), the weighbridge's tolerance and
the pass, refusals, unplanned trucks, and who sees what: the plant's board only for its own
organization, a driver's slot only for that driver."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.dispatch.authz_factory import long_session_settings
from tests.helpers import signup
from tests.yard.yard_factory import GATE_CODE, Yard, gate_scan, plant_yard, schedule, yard_world
from yard.visits import check_in_by_geofence, plant_gate_fences

INSIDE = (52.979, 10.558)
OUTSIDE = (52.990, 10.558)  # about 1.2 km north of the gate


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


async def _slotted(client: httpx.AsyncClient, world: Yard, clock: FrozenClock) -> dict[str, Any]:
    """Schedule the day and move the clock to the first slot; returns that appointment."""
    plan = await schedule(client, world)
    first: dict[str, Any] = min(plan["appointments"], key=lambda a: a["starts_at"])
    clock.set(datetime.fromisoformat(first["starts_at"]))
    return first


def _index(world: Yard, delivery_id: str) -> int:
    return world.delivery_ids().index(delivery_id)


async def _weigh_in(client: httpx.AsyncClient, world: Yard, index: int, dock_id: str) -> str:
    scanned = await gate_scan(client, world, index)
    assert scanned.status_code == 200, scanned.text
    visit_id: str = scanned.json()["visit"]["id"]
    called = await client.post(
        f"/v1/yard/plants/{world.site_id}/docks/{dock_id}/call", headers=world.clerk
    )
    assert called.json()["visit"]["id"] == visit_id, called.text
    tare = await client.post(
        f"/v1/yard/visits/{visit_id}/tare", headers=world.clerk, json={"weight_kg": 14_000}
    )
    assert tare.status_code == 201, tare.text
    docked = await client.post(f"/v1/yard/visits/{visit_id}/at-dock", headers=world.clerk)
    assert docked.status_code == 200, docked.text
    return visit_id


class TestGeofenceCheckIn:
    async def test_an_arrival_inside_the_fence_opens_one_visit(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        delivery_id = uuid.UUID(first["delivery_id"])
        async with database.transaction() as session:
            outside = await check_in_by_geofence(
                session, delivery_id=delivery_id, at=clock.now(), lat=OUTSIDE[0], lon=OUTSIDE[1]
            )
            visit = await check_in_by_geofence(
                session, delivery_id=delivery_id, at=clock.now(), lat=INSIDE[0], lon=INSIDE[1]
            )
        assert outside is None
        assert visit is not None
        assert (visit.source, visit.standing) == ("geofence", "due")
        async with database.transaction() as session:
            again = await check_in_by_geofence(
                session, delivery_id=delivery_id, at=clock.now(), lat=INSIDE[0], lon=INSIDE[1]
            )
        assert again is None
        delivery = await client.get(f"/v1/deliveries/{delivery_id}", headers=world.operator)
        assert delivery.json()["state"] == "at_plant"
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        assert [v["id"] for v in board.json()["columns"]["arrived"]] == [str(visit.id)]
        # the gate's scan then verifies the pass and links it to the same visit
        scanned = await gate_scan(client, world, _index(world, first["delivery_id"]))
        assert scanned.json()["visit"]["id"] == str(visit.id)
        assert scanned.json()["visit"]["pass_id"] is not None

    async def test_tracking_gets_each_plants_gate_polygon(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        world = await yard_world(client, database)
        async with database.session() as session:
            fences = await plant_gate_fences(session)
        assert [(str(f.site_id), f.geojson["type"]) for f in fences] == [(world.site_id, "Polygon")]
        assert fences[0].organization_id == world.pickup.booked.deal.seller.id


class TestGateCodeCheckIn:
    async def test_the_driver_checks_in_with_the_posted_code_once(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        driver = world.pickup.drivers[_index(world, first["delivery_id"])]
        path = f"/v1/yard/mine/{first['delivery_id']}/check-in"
        wrong = await client.post(path, headers=driver.headers, json={"code": "NOT-IT"})
        assert wrong.status_code == 422
        assert wrong.json()["code"] == "wrong_gate_code"
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        assert "arrived" not in board.json()["columns"]
        right = await client.post(path, headers=driver.headers, json={"code": GATE_CODE})
        assert right.status_code == 200, right.text
        assert right.json()["source"] == "gate_code"
        again = await client.post(path, headers=driver.headers, json={"code": GATE_CODE})
        assert again.json()["id"] == right.json()["id"]

    async def test_another_driver_cannot_check_in_someone_elses_truck(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        other = world.pickup.drivers[1 - _index(world, first["delivery_id"])]
        response = await client.post(
            f"/v1/yard/mine/{first['delivery_id']}/check-in",
            headers=other.headers,
            json={"code": GATE_CODE},
        )
        assert response.status_code == 404


class TestWeighbridge:
    async def test_an_underloaded_truck_is_flagged_and_its_pass_used_up(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        index = _index(world, first["delivery_id"])
        visit_id = await _weigh_in(client, world, index, first["dock_id"])
        planned = world.pickup.deliveries[index]["quantity"]
        gross = await client.post(
            f"/v1/yard/visits/{visit_id}/gross",
            headers=world.clerk,
            json={"weight_kg": 14_000 + planned - 1_000, "seal_numbers": ["S-77"]},
        )
        assert gross.status_code == 200, gross.text
        ticket = gross.json()
        assert (ticket["tare_kg"], ticket["net_kg"], ticket["planned_kg"]) == (
            14_000,
            planned - 1_000,
            planned,
        )
        assert ticket["out_of_tolerance"] is True
        assert ticket["seal_numbers"] == ["S-77"]
        used = await client.get(
            f"/v1/passes/{world.pickup.passes[index]['id']}", headers=world.pickup.carrier
        )
        assert used.json()["state"] == "consumed"
        assert used.json()["loaded_quantity"] == planned - 1_000
        delivery = await client.get(
            f"/v1/deliveries/{first['delivery_id']}", headers=world.operator
        )
        assert (delivery.json()["state"], delivery.json()["loaded_quantity"]) == (
            "loaded",
            planned - 1_000,
        )

    async def test_more_than_the_pass_allows_is_refused_and_changes_nothing(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        index = _index(world, first["delivery_id"])
        visit_id = await _weigh_in(client, world, index, first["dock_id"])
        planned = world.pickup.deliveries[index]["quantity"]
        over = await client.post(
            f"/v1/yard/visits/{visit_id}/gross",
            headers=world.clerk,
            json={"weight_kg": 14_000 + planned + 2_000},
        )
        assert over.status_code == 422, over.text
        assert over.json()["code"] == "quantity_exceeded"
        visit = await client.get(f"/v1/yard/visits/{visit_id}", headers=world.clerk)
        assert visit.json()["state"] == "at_dock"
        still = await client.get(
            f"/v1/passes/{world.pickup.passes[index]['id']}", headers=world.pickup.carrier
        )
        assert still.json()["state"] == "presented"
        exact = await client.post(
            f"/v1/yard/visits/{visit_id}/gross",
            headers=world.clerk,
            json={"weight_kg": 14_000 + planned},
        )
        assert exact.status_code == 200, exact.text
        assert exact.json()["out_of_tolerance"] is False

    async def test_a_truck_not_scanned_at_the_gate_cannot_leave_loaded(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        index = _index(world, first["delivery_id"])
        driver = world.pickup.drivers[index]
        checked = await client.post(
            f"/v1/yard/mine/{first['delivery_id']}/check-in",
            headers=driver.headers,
            json={"code": GATE_CODE},
        )
        visit_id = checked.json()["id"]
        await client.post(
            f"/v1/yard/plants/{world.site_id}/docks/{first['dock_id']}/call", headers=world.clerk
        )
        await client.post(
            f"/v1/yard/visits/{visit_id}/tare", headers=world.clerk, json={"weight_kg": 14_000}
        )
        await client.post(f"/v1/yard/visits/{visit_id}/at-dock", headers=world.clerk)
        gross = await client.post(
            f"/v1/yard/visits/{visit_id}/gross",
            headers=world.clerk,
            json={"weight_kg": 14_000 + world.pickup.deliveries[index]["quantity"]},
        )
        assert gross.status_code == 409
        assert gross.json()["code"] == "pass_not_presented"


class TestRefusalsAndUnplanned:
    async def test_a_refused_truck_frees_its_dock(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        visit_id = await _weigh_in(
            client, world, _index(world, first["delivery_id"]), first["dock_id"]
        )
        refused = await client.post(
            f"/v1/yard/visits/{visit_id}/refuse",
            headers=world.clerk,
            json={"reason": "silo body not clean: food-grade certificate missing"},
        )
        assert refused.status_code == 200, refused.text
        assert refused.json()["state"] == "refused"
        docks = await client.get(f"/v1/yard/plants/{world.site_id}/docks", headers=world.clerk)
        assert {d["state"] for d in docks.json()["data"]} == {"free"}
        again = await client.post(
            f"/v1/yard/visits/{visit_id}/refuse", headers=world.clerk, json={"reason": "again"}
        )
        assert again.status_code == 409

    async def test_an_unplanned_truck_waits_and_fills_a_free_dock(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        clock.set(world.at(9))
        made = await client.post(
            f"/v1/yard/plants/{world.site_id}/visits",
            headers=world.clerk,
            json={
                "plate": "UE-XY 99",
                "product": "sugar EU2",
                "body": "silo",
                "quantity_kg": 24_000,
            },
        )
        assert made.status_code == 201, made.text
        assert (made.json()["standing"], made.json()["delivery_id"]) == ("unplanned", None)
        called = await client.post(
            f"/v1/yard/plants/{world.site_id}/docks/{world.docks['Silo 1']['id']}/call",
            headers=world.clerk,
        )
        assert called.json()["visit"]["id"] == made.json()["id"]


class TestWhoSeesWhat:
    async def test_another_organization_sees_no_board_plant_dock_or_visit(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = await _slotted(client, world, clock)
        visit_id = await _weigh_in(
            client, world, _index(world, first["delivery_id"]), first["dock_id"]
        )
        rival = await signup(client, "Other Sugar Works", ["seller", "plant_operator"])
        day = {"day": world.day.isoformat()}
        site = world.site_id
        for response in (
            await client.get(f"/v1/yard/plants/{site}/board", headers=rival.headers, params=day),
            await client.get(f"/v1/yard/plants/{site}", headers=rival.headers),
            await client.get(f"/v1/yard/plants/{site}/docks", headers=rival.headers),
            await client.get(f"/v1/yard/plants/{site}/kpis", headers=rival.headers, params=day),
            await client.get(f"/v1/yard/visits/{visit_id}", headers=rival.headers),
            await client.post(f"/v1/yard/visits/{visit_id}/leave", headers=rival.headers),
            await client.post(
                f"/v1/yard/plants/{site}/docks/{first['dock_id']}/call", headers=rival.headers
            ),
            await plant_yard(client, rival.headers, site),
            # the carrier is party to the deliveries, not to the plant's yard
            await client.get(
                f"/v1/yard/plants/{site}/board", headers=world.pickup.carrier, params=day
            ),
        ):
            assert response.status_code == 404, response.text
        driver = world.pickup.drivers[0]
        refused = await client.get(
            f"/v1/yard/plants/{site}/board", headers=driver.headers, params=day
        )
        assert refused.status_code == 403

    async def test_drivers_see_only_their_own_slot(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        await schedule(client, world)
        ids = world.delivery_ids(world.day)
        for index, driver in enumerate(world.pickup.drivers[:2]):
            mine = await client.get("/v1/yard/mine", headers=driver.headers)
            assert mine.status_code == 200, mine.text
            slots = mine.json()["data"]
            assert [s["delivery_id"] for s in slots] == [ids[index]]
            slot = slots[0]
            assert slot["dock"] in {"Silo 1", "Silo 2"}
            assert slot["pass_id"] == world.pickup.passes[index]["id"]
            assert "parking area P2" in slot["gate_instructions"]
            other = ids[1 - index]
            assert (
                await client.get(f"/v1/yard/mine/{other}", headers=driver.headers)
            ).status_code == 404
            theirs = await client.get(f"/v1/yard/appointments/{other}", headers=driver.headers)
            assert theirs.status_code == 404
            queue = await client.get(f"/v1/yard/mine/{other}/queue", headers=driver.headers)
            assert queue.status_code == 404
