"""In the demo, the first truck of the day is on the road and its shipment moves."""

from __future__ import annotations

from typing import Any

import httpx

from api.demo import seed
from api.demo_fleet import drive, seed_fleet
from core.database import Database
from tests.helpers import bearer


class TestDemoShipment:
    async def test_the_buyer_sees_the_loaded_truck_move_towards_it(
        self, client: httpx.AsyncClient, database: Database, app: Any
    ) -> None:
        accounts = await seed(database)
        trucks = await seed_fleet(database, accounts)
        (moving,) = [t for t in trucks if t.shipment_id is not None]
        buyer = next(a for a in accounts if a.organization == "Acme Foods" and a.role == "owner")
        path = f"/v1/shipments/{moving.shipment_id}"
        before = (await client.get(path, headers=bearer(buyer.token))).json()
        assert before["state"] == "in_transit"
        assert before["position"] is None
        await drive(client, trucks, rounds=2, interval_s=0.01)
        await app.state.runtime.tracking.tracker.drain()
        after = (await client.get(path, headers=bearer(buyer.token))).json()
        assert after["position"] is not None
        assert after["eta"]["leg"] == "destination"
        assert 40_000 < after["eta"]["remaining_m"] < 120_000
        events = (await client.get(f"{path}/events", headers=bearer(buyer.token))).json()
        assert "shipment.eta" in [e["kind"] for e in events["data"]]
