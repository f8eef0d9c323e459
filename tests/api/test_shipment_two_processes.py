"""A ping posted to one API process reaches a shipment subscriber of another, through Redis:
its position, and the events the first process's tracker wrote to the shipment's log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.api.test_two_processes import _ready, processes  # noqa: F401 - a fixture
from tests.dispatch.delivery_factory import SILO, booked, driver, split
from tests.dispatch.market_factory import SUGAR_T
from tests.helpers import register_device
from tests.tracking.shipment_factory import PLANT_FRAME, ping

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
async def addresses(processes: list[str]) -> list[str]:  # noqa: F811 - wraps the fixture
    """Both processes, once they answer; a loaded machine may take a while to start them."""
    for _ in range(3):
        try:
            await asyncio.gather(*(_ready(address) for address in processes))
            return processes
        except TimeoutError:
            continue
    pytest.fail("the API processes did not start within a minute")


class TestShipmentsAcrossProcesses:
    async def test_a_ping_to_one_process_reaches_a_shipment_subscriber_of_the_other(
        self,
        addresses: list[str],
    ) -> None:
        first, second = addresses
        async with httpx.AsyncClient(base_url=f"http://{first}", timeout=20) as api:
            deal = await booked(
                api, quantity=25 * SUGAR_T, vehicles=(SILO,), starts_in=timedelta(minutes=1)
            )
            who = await driver(api, deal)
            (delivery,) = await split(api, deal)
            if delivery["planned_day"] != datetime.now(UTC).date().isoformat():
                pytest.skip("the pickup window starts after midnight UTC: no delivery today")
            assigned = await api.post(
                f"/v1/deliveries/{delivery['id']}/assign",
                headers=deal.carrier.headers,
                json={"version": delivery["version"], "driver_id": who.id},
            )
            assert assigned.status_code == 200, assigned.text
            phone = await register_device(api, deal.carrier.org, driver_member_id=who.member_id)
            buyer = deal.deal.buyer
            url = f"ws://{second}/v1/live/shipments?shipment_id={delivery['id']}"
            async with connect(url, additional_headers=buyer.headers) as ws:
                snapshot = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                assert snapshot["type"] == "snapshot"
                assert snapshot["shipments"][0]["position"] is None
                await asyncio.sleep(0.3)  # the other process's hub subscribes asynchronously
                start = datetime.now(UTC) - timedelta(minutes=3)
                pings = [
                    ping(
                        k,
                        start + timedelta(minutes=k),
                        PLANT_FRAME,
                        0,
                        -9_000 + 900 * k,
                        speed_mps=15,
                    )
                    for k in range(3)
                ]
                sent = await api.post(
                    "/v1/ingest/pings", headers=phone.headers, json={"pings": pings}
                )
                assert sent.status_code == 200, sent.text
                seen: dict[str, dict[str, Any]] = {}
                async with asyncio.timeout(10):
                    while not {"positions", "event"} <= set(seen):
                        frame = orjson.loads(await ws.recv())
                        seen.setdefault(frame["type"], frame)
        (position,) = seen["positions"]["positions"]
        assert position["shipment_id"] == delivery["id"]
        assert position["device_id"] == str(phone.id)
        assert datetime.fromisoformat(position["recorded_at"]) == start + timedelta(minutes=2)
        assert seen["event"]["kind"] == "shipment.eta"
        assert seen["event"]["seq"] > snapshot["shipments"][0]["last_seq"]
