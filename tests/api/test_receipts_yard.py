"""A receipt after a real day at the plant: the seals checked against the yard's weighbridge
ticket, the loaded quantity from its net weight, and the bundle carrying the ticket and the
sample."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.bundle import verify_bundle
from core.clock import FrozenClock, now
from core.database import Database
from core.settings import Settings
from tests.dispatch.authz_factory import long_session_settings
from tests.tracking.evidence_factory import receipt_body
from tests.yard.yard_factory import Yard, gate_scan, schedule, yard_world


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the days the tests move the clock."""
    return long_session_settings(tmp_path)


async def through_the_yard(
    client: httpx.AsyncClient, world: Yard, clock: FrozenClock, seals: list[str]
) -> tuple[str, int]:
    """Check the first truck in, load it, seal it, sample it and let it go; returns the
    delivery id and its net."""
    plan = await schedule(client, world)
    first = min(plan["appointments"], key=lambda a: a["starts_at"])
    index = world.delivery_ids().index(first["delivery_id"])
    clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=1))
    visit = (await gate_scan(client, world, index)).json()["visit"]
    base = f"/v1/yard/visits/{visit['id']}"
    called = await client.post(
        f"/v1/yard/plants/{world.site_id}/docks/{first['dock_id']}/call", headers=world.clerk
    )
    assert called.status_code == 200, called.text
    steps: list[tuple[str, dict[str, Any] | None]] = [
        ("tare", {"weight_kg": 14_000}),
        ("at-dock", None),
        (
            "gross",
            {
                "weight_kg": 14_000 + world.pickup.deliveries[index]["quantity"] - 40,
                "seal_numbers": seals,
            },
        ),
        ("samples", {"sample_code": "SMP-9", "retention_location": "Shelf 4", "lab": "SGS"}),
        ("leave", None),
    ]
    net = 0
    for step, body in steps:
        response = await client.post(f"{base}/{step}", headers=world.clerk, json=body)
        assert response.status_code in (200, 201), (step, response.text)
        if step == "gross":
            net = response.json()["net_kg"]
    clock.advance(hours=2)
    return first["delivery_id"], net


class TestReceiptAfterTheYard:
    async def test_broken_and_missing_seals_and_a_short_load_open_one_dispute(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        delivery_id, net = await through_the_yard(client, world, clock, ["S-1001", "S-1002"])
        body = receipt_body(
            net - 900,
            seals=[{"number": "S 1001", "intact": False}],
            condition_note="seal S-1001 cut, S-1002 not on the hatch",
        )
        response = await client.post(
            f"/v1/deliveries/{delivery_id}/receipt", headers=world.pickup.buyer, json=body
        )
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert receipt["loaded_quantity"] == net
        assert receipt["difference"] == -900
        assert receipt["seals_expected"] == ["S-1001", "S-1002"]
        assert receipt["reasons"] == ["short_delivery", "seal_broken", "seal_mismatch"]
        for party in (world.pickup.seller, world.pickup.carrier):
            seen = await client.get(f"/v1/disputes/{receipt['dispute_id']}", headers=party)
            assert seen.json()["details"]["seals_missing"] == ["S-1002"]
            assert seen.json()["details"]["seals_broken"] == ["S 1001"]
        bundle = await client.get(
            f"/v1/disputes/{receipt['dispute_id']}/bundle", headers=world.pickup.buyer
        )
        keys = (await client.get("/v1/keys", params={"include_retired": "true"})).json()
        assert verify_bundle(bundle.content, trusted_jwks=keys, now=now()).ok
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            weighing = json.loads(archive.read("attachments/weighbridge.json"))
        kinds = [w["kind"] for w in weighing]
        assert {"yard.tared", "yard.weighed", "delivery.loaded", "yard.sampled"} <= set(kinds)
        weighed = next(w for w in weighing if w["kind"] == "yard.weighed")
        assert weighed["payload"]["seal_numbers"] == ["S-1001", "S-1002"]

    async def test_intact_seals_and_the_right_quantity_open_nothing(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        world = await yard_world(client, database)
        delivery_id, net = await through_the_yard(client, world, clock, ["S-7"])
        body = receipt_body(net, seals=[{"number": "S-7", "intact": True}])
        response = await client.post(
            f"/v1/deliveries/{delivery_id}/receipt", headers=world.pickup.carrier, json=body
        )
        assert response.status_code == 201, response.text
        assert (response.json()["reasons"], response.json()["dispute_id"]) == ([], None)
