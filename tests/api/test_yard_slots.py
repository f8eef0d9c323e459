"""Slots over time (the test clock): carriers book within the plant's rules, a late truck
is re-slotted, a no-show frees its slot and is re-slotted, a driver reschedules."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.dispatch.authz_factory import events_of, long_session_settings
from tests.yard.yard_factory import GATE_CODE, Yard, schedule, yard_world
from yard.appointments import sweep_no_shows


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


async def _book(
    client: httpx.AsyncClient, world: Yard, delivery_id: str, starts_at: datetime
) -> httpx.Response:
    return await client.post(
        "/v1/yard/appointments",
        headers=world.pickup.carrier,
        json={"delivery_id": delivery_id, "starts_at": starts_at.isoformat()},
    )


async def _appointment(client: httpx.AsyncClient, world: Yard, delivery_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/yard/appointments/{delivery_id}", headers=world.operator)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


class TestCarrierBooking:
    async def test_a_booking_within_the_rules_takes_a_free_silo(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first, second = world.delivery_ids(world.day)
        booked = await _book(client, world, first, world.at(10))
        assert booked.status_code == 200, booked.text
        # the same start again goes to the other silo; a third truck there finds none free
        other = await _book(client, world, second, world.at(10))
        assert other.status_code == 200, other.text
        assert {booked.json()["dock_id"], other.json()["dock_id"]} == {
            d["id"] for d in world.docks.values()
        }
        delivery = await client.get(f"/v1/deliveries/{first}", headers=world.pickup.carrier)
        assert delivery.json()["state"] == "slotted"
        assert datetime.fromisoformat(delivery.json()["slot_starts_at"]) == world.at(10)

    async def test_the_rules_refuse_a_bad_slot_and_change_nothing(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, carrier_daily_limit=1)
        first, second = world.delivery_ids(world.day)
        sunday = world.day + timedelta(days=(6 - world.day.weekday()) % 7)
        cases = [
            (world.at(10, 5), "off_slot_grid"),
            (world.at(23), "outside_hours"),
            (
                datetime(sunday.year, sunday.month, sunday.day, 10, tzinfo=world.at(0).tzinfo),
                "plant_closed",
            ),
        ]
        for starts_at, code in cases:
            refused = await _book(client, world, first, starts_at)
            assert refused.status_code == 422, refused.text
            assert refused.json()["code"] == code
        clock.set(world.at(9, 30))
        late = await _book(client, world, first, world.at(10))
        assert late.json()["code"] == "lead_time"
        clock.set(world.at(6))
        assert (await _book(client, world, first, world.at(10))).status_code == 200
        limit = await _book(client, world, second, world.at(12))
        assert (limit.status_code, limit.json()["code"]) == (422, "carrier_limit")
        clock.set(world.at(8, 30))
        frozen = await _book(client, world, first, world.at(14))
        assert (frozen.status_code, frozen.json()["code"]) == (422, "frozen")
        kept = await _appointment(client, world, first)
        assert datetime.fromisoformat(kept["starts_at"]) == world.at(10)
        assert kept["history"] == []

    async def test_a_full_slot_is_refused(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, docks=None)
        block = world.docks["Silo 2"]["id"]
        blocked = await client.post(
            f"/v1/yard/plants/{world.site_id}/docks/{block}/block",
            headers=world.operator,
            json={"blocked": True, "reason": "auger repair"},
        )
        assert blocked.status_code == 200, blocked.text
        first, second = world.delivery_ids(world.day)
        assert (await _book(client, world, first, world.at(10))).status_code == 200
        clash = await _book(client, world, second, world.at(10, 15))
        assert (clash.status_code, clash.json()["code"]) == (409, "no_free_dock")
        # 26 t at 1 t/min plus 5 min handling: the silo is busy until 10:31
        assert (await _book(client, world, second, world.at(10, 30))).status_code == 409
        assert (await _book(client, world, second, world.at(10, 45))).status_code == 200


class TestCancelledDeliveries:
    async def test_a_cancelled_deliverys_slot_is_free_and_no_no_show(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database, docks={"Silo 1": None})
        first, second = world.delivery_ids(world.day)
        assert (await _book(client, world, first, world.at(10))).status_code == 200
        taken = await _book(client, world, second, world.at(10))
        assert taken.json()["code"] == "no_free_dock"
        current = await client.get(f"/v1/deliveries/{first}", headers=world.pickup.carrier)
        cancelled = await client.post(
            f"/v1/deliveries/{first}/cancel",
            headers=world.pickup.carrier,
            json={"version": current.json()["version"], "reason": "truck broke down"},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert (await _book(client, world, second, world.at(10))).status_code == 200
        day = {"day": world.day.isoformat()}
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board", headers=world.clerk, params=day
        )
        assert [a["delivery_id"] for a in board.json()["columns"]["expected"]] == [second]
        clock.set(world.at(10, 20))
        async with database.transaction() as session:
            swept = await sweep_no_shows(session)
        assert [str(d) for d in swept.no_shows] == [second]
        gone = await _appointment(client, world, first)
        assert (gone["state"], gone["no_shows"]) == ("cancelled", 0)


class TestLateTrucks:
    async def test_a_truck_late_past_the_tolerance_is_reslotted(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        starts = datetime.fromisoformat(first["starts_at"])
        driver = world.pickup.drivers[world.delivery_ids().index(first["delivery_id"])]
        clock.set(starts - timedelta(hours=1))
        path = f"/v1/yard/mine/{first['delivery_id']}/on-my-way"
        on_time = await client.post(
            path,
            headers=driver.headers,
            json={"eta_at": (starts + timedelta(minutes=10)).isoformat()},
        )
        assert on_time.status_code == 200, on_time.text
        assert datetime.fromisoformat(on_time.json()["starts_at"]) == starts
        eta = starts + timedelta(minutes=50)
        late = await client.post(path, headers=driver.headers, json={"eta_at": eta.isoformat()})
        assert late.status_code == 200, late.text
        moved = await _appointment(client, world, first["delivery_id"])
        assert datetime.fromisoformat(moved["starts_at"]) >= eta
        assert [h["reason"] for h in moved["history"]] == ["late"]
        assert datetime.fromisoformat(moved["history"][0]["starts_at"]) == starts
        board = await client.get(
            f"/v1/yard/plants/{world.site_id}/board",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        assert first["delivery_id"] in [
            a["delivery_id"] for a in board.json()["columns"]["en_route"]
        ]


class TestNoShows:
    async def test_a_no_show_frees_its_slot_and_is_reslotted(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first, second = sorted(plan["appointments"], key=lambda a: a["starts_at"])
        starts = datetime.fromisoformat(first["starts_at"])
        clock.set(starts + timedelta(minutes=10))
        came = world.pickup.drivers[world.delivery_ids().index(second["delivery_id"])]
        checked = await client.post(
            f"/v1/yard/mine/{second['delivery_id']}/check-in",
            headers=came.headers,
            json={"code": GATE_CODE},
        )
        assert checked.status_code == 200, checked.text
        async with database.transaction() as session:
            early = await sweep_no_shows(session)
        assert early.no_shows == ()
        clock.set(starts + timedelta(minutes=16))
        async with database.transaction() as session:
            swept = await sweep_no_shows(session)
        assert [str(d) for d in swept.no_shows] == [first["delivery_id"]]
        assert [str(d) for d in swept.reslotted] == [first["delivery_id"]]
        moved = await _appointment(client, world, first["delivery_id"])
        assert datetime.fromisoformat(moved["starts_at"]) >= clock.now()
        assert moved["no_shows"] == 1
        assert [h["reason"] for h in moved["history"]] == ["no_show"]
        kinds = [
            e["kind"]
            for e in await events_of(client, world.operator, f"delivery:{first['delivery_id']}")
        ]
        assert kinds[-3:] == ["yard.no_show", "delivery.slotted", "yard.slotted"]
        async with database.transaction() as session:
            again = await sweep_no_shows(session)
        assert again.no_shows == ()
        kpis = await client.get(
            f"/v1/yard/plants/{world.site_id}/kpis",
            headers=world.clerk,
            params={"day": world.day.isoformat()},
        )
        assert kpis.json()["no_shows"] == 1


class TestDriverReschedule:
    async def test_the_driver_moves_the_slot_outside_the_freeze_window(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        first = world.delivery_ids(world.day)[0]
        driver = world.pickup.drivers[0]
        assert (await _book(client, world, first, world.at(10))).status_code == 200
        moved = await client.post(
            f"/v1/yard/mine/{first}/reschedule",
            headers=driver.headers,
            json={"starts_at": world.at(15).isoformat()},
        )
        assert moved.status_code == 200, moved.text
        assert datetime.fromisoformat(moved.json()["starts_at"]) == world.at(15)
        history = (await _appointment(client, world, first))["history"]
        assert [h["reason"] for h in history] == ["rescheduled"]
