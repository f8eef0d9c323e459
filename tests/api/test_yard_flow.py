"""A truck's day at the plant through the API: scheduled, checked in at the gate, called
forward, weighed in and out (the pass used up, the delivery loaded), sampled, gone."""

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
from tests.yard.yard_factory import gate_scan, schedule, yard_world


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


class TestOneTruck:
    async def test_scheduled_checked_in_called_weighed_and_gone(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        assert len(plan["appointments"]) == 2, plan
        assert plan["unscheduled"] == []
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=1))
        scanned = await gate_scan(client, world, index)
        assert scanned.status_code == 200, scanned.text
        visit: dict[str, Any] = scanned.json()["visit"]
        assert scanned.json()["verdict"]["valid"] is True, scanned.json()["verdict"]
        assert visit["state"] == "waiting"
        dock_id = first["dock_id"]
        called = await client.post(
            f"/v1/yard/plants/{world.site_id}/docks/{dock_id}/call", headers=world.clerk
        )
        assert called.status_code == 200, called.text
        assert called.json()["visit"]["id"] == visit["id"]
        assert called.json()["dock"]["state"] == "called"
        tare = await client.post(
            f"/v1/yard/visits/{visit['id']}/tare", headers=world.clerk, json={"weight_kg": 14_000}
        )
        assert tare.status_code == 201, tare.text
        docked = await client.post(f"/v1/yard/visits/{visit['id']}/at-dock", headers=world.clerk)
        assert docked.status_code == 200, docked.text
        planned = world.pickup.deliveries[index]["quantity"]
        clock.advance(minutes=35)
        path = f"/v1/yard/visits/{visit['id']}/gross"
        body = {"weight_kg": 14_000 + planned - 40, "seal_numbers": ["S-1001", "S-1002"]}
        retry = {**world.clerk, "Idempotency-Key": "weigh-out-1"}
        gross = await client.post(path, headers=retry, json=body)
        assert gross.status_code == 200, gross.text
        # the tablet's retry is answered the same, and nothing is weighed or used up twice
        retried = await client.post(path, headers=retry, json=body)
        assert retried.headers.get("Idempotent-Replayed") == "true"
        assert retried.json() == gross.json()
        ticket = gross.json()
        assert ticket["net_kg"] == planned - 40
        assert ticket["out_of_tolerance"] is False
        sample = await client.post(
            f"/v1/yard/visits/{visit['id']}/samples",
            headers=world.clerk,
            json={"sample_code": "SMP-1", "retention_location": "Lab shelf 4", "lab": "SGS"},
        )
        assert sample.status_code == 201, sample.text
        record = await client.get(f"/v1/yard/visits/{visit['id']}/record", headers=world.clerk)
        assert record.json()["ticket"]["number"] == ticket["number"]
        assert [s["sample_code"] for s in record.json()["samples"]] == ["SMP-1"]
        assert record.json()["samples"][0]["lab"] == "SGS"
        clock.advance(minutes=5)
        left = await client.post(f"/v1/yard/visits/{visit['id']}/leave", headers=world.clerk)
        assert left.status_code == 200, left.text
        day = {"day": world.day.isoformat()}
        kpis = await client.get(
            f"/v1/yard/plants/{world.site_id}/kpis", headers=world.clerk, params=day
        )
        assert kpis.status_code == 200, kpis.text
        figures = kpis.json()
        assert (figures["trucks"], figures["called"], figures["left"]) == (1, 1, 1)
        assert figures["mean_wait_min"] == 0
        assert figures["mean_turn_min"] == 40
        assert figures["on_time_rate"] == 1
        assert (figures["appointments"], figures["no_shows"]) == (2, 0)
        # one truck loaded for 35 minutes on two docks open 16 hours each
        assert figures["dock_utilization"] == round(35 / (2 * 16 * 60), 4)
        csv = await client.get(
            f"/v1/yard/plants/{world.site_id}/kpis.csv", headers=world.clerk, params=day
        )
        assert csv.headers["content-type"].startswith("text/csv")
        header, row = csv.text.strip().splitlines()
        assert header.split(",")[:4] == ["site_id", "day", "trucks", "called"]
        assert row.split(",")[2:5] == ["1", "1", "1"]
        delivery = await client.get(
            f"/v1/deliveries/{first['delivery_id']}", headers=world.operator
        )
        assert delivery.json()["state"] == "in_transit"
        assert delivery.json()["loaded_quantity"] == planned - 40
        kinds = [
            e["kind"]
            for e in await events_of(client, world.operator, f"delivery:{first['delivery_id']}")
        ]
        assert "pass.consumed" in kinds
        assert (
            kinds.index("yard.checked_in")
            < kinds.index("yard.called")
            < kinds.index("yard.weighed")
        )
