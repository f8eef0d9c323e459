"""The arrival on a receipt comes from the destination geofence when the driver's phone
crossed it; the phone's own word is kept beside it. The bundle carries the phone's trail."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.bus import MemoryBus
from core.clock import FrozenClock, now
from core.database import Database
from core.settings import Settings
from tests.tracking.evidence_factory import receipt_body
from tests.tracking.shipment_factory import (
    DESTINATION_FRAME,
    move,
    ping,
    send,
    shipment,
    shipment_settings,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the jump to the delivery's day."""
    return shipment_settings(tmp_path)


class TestGeofenceArrival:
    async def test_the_receipt_takes_the_arrival_from_the_destination_fence(
        self,
        client: httpx.AsyncClient,
        app: Any,
        database: Database,
        bus: MemoryBus,
        clock: FrozenClock,
    ) -> None:
        tracked = await shipment(client, clock)
        await move(
            database, bus, tracked.id, "authorized", "slotted", "at_plant", "loaded", "in_transit"
        )
        clock.advance(minutes=30)
        start = now() - timedelta(minutes=20)
        road = [
            ping(
                k,
                start + timedelta(minutes=k),
                DESTINATION_FRAME,
                0,
                -5_000 + 1_000 * k,
                speed_mps=16,
            )
            for k in range(5)
        ]
        parked = [
            ping(10 + k, start + timedelta(minutes=5 + k), DESTINATION_FRAME, 20, 0)
            for k in range(5)
        ]
        await send(client, app, tracked.device, road + parked)
        buyer = tracked.deal.deal.buyer.headers
        logged = await client.get(
            "/v1/events", headers=buyer, params={"subject": f"delivery:{tracked.id}"}
        )
        (arrived,) = [
            e for e in logged.json()["data"] if e["kind"] == "shipment.arrived_destination"
        ]
        response = await client.post(
            f"/v1/deliveries/{tracked.id}/receipt",
            headers=tracked.driver.headers,
            json=receipt_body(24_000),
        )
        assert response.status_code == 201, response.text
        receipt = response.json()
        assert receipt["arrival_source"] == "geofence"
        kept = await client.get(
            "/v1/events", headers=buyer, params={"subject": f"delivery:{tracked.id}", "after": 0}
        )
        recorded = next(e for e in kept.json()["data"] if e["kind"] == "receipt.recorded")
        stamps = recorded["payload"]["receipt"]["stamps"]
        assert stamps["arrival"]["geofence_at"] == arrived["payload"]["at"]
        bundle = await client.get(
            "/v1/events/bundle", headers=buyer, params={"subject": f"delivery:{tracked.id}"}
        )
        with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
            trail = json.loads(archive.read("attachments/trail.geojson"))
        (feature,) = trail["features"]
        assert feature["properties"]["device_id"] == str(tracked.device.id)
        assert len(feature["geometry"]["coordinates"]) >= 5
