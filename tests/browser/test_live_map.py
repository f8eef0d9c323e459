"""The live map in a browser: a truck's marker moves when its phone posts a ping, and a
buyer watches its shipment (and no one else's) move with its ETA and timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.clock import FrozenClock, now
from tests.browser.conftest import Tab
from tests.helpers import Device, register_device, signup
from tests.tracking.shipment_factory import PLANT_FRAME, send, shipment
from tests.tracking.shipment_factory import ping as road_ping


async def ping(client: httpx.AsyncClient, device: Device, n: int, lat: float, lon: float) -> None:
    """One position from the device's phone, through the real ingest endpoint; pings are ten
    minutes apart, so the ingest's speed check takes a few km between them as driving."""
    recorded_at = (datetime.now(UTC) - timedelta(minutes=11 - 10 * n)).isoformat()
    response = await client.post(
        "/v1/ingest/pings",
        headers=device.headers,
        json={
            "pings": [
                {"id": f"p{n}", "recorded_at": recorded_at, "lat": lat, "lon": lon, "speed_mps": 20}
            ]
        },
    )
    assert response.status_code == 200, response.text


class TestLiveMap:
    async def test_a_marker_moves_when_a_ping_is_posted(
        self, client: httpx.AsyncClient, tab: Tab
    ) -> None:
        haulier = await signup(client, "Rapid Haulage", ["carrier"])
        truck = await register_device(client, haulier, name="Li Wei's phone")
        other = await signup(client, "Longroad Logistics", ["carrier"])
        stranger = await register_device(client, other, name="Someone else's phone")
        await ping(client, truck, 0, 53.10, 10.40)
        await ping(client, stranger, 0, 53.00, 10.00)
        page = tab.page
        await tab.sign_in_with_token(haulier.token, "/app/map")
        await page.wait_for_selector("#stream-state[data-live='true']")
        marker = page.locator(f".truck-icon[data-device='{truck.id}']")
        await marker.wait_for()
        await page.wait_for_selector(f"li[data-device='{truck.id}'][data-lat='53.1']")
        before = await marker.bounding_box()
        assert before is not None
        await page.evaluate("window.stillHere = true")

        await ping(client, truck, 1, 53.16, 10.52)

        item = page.locator(f"li[data-device='{truck.id}']")
        await page.wait_for_selector(f"li[data-device='{truck.id}'][data-lat='53.16']")
        after = await marker.bounding_box()
        assert after is not None
        # North-east on the map: further right and further up the screen.
        assert after["x"] > before["x"] + 5
        assert after["y"] < before["y"] - 5
        assert await page.evaluate("window.stillHere") is True
        assert "moving" in await item.inner_text()
        # The trail now runs through both positions.
        assert await page.locator("path.leaflet-interactive").count() >= 1
        # Another carrier's truck is not on this carrier's map.
        assert await page.locator(f"[data-device='{stranger.id}']").count() == 0


class TestShipmentsOnTheMap:
    async def test_the_buyer_watches_its_shipment_move_with_its_eta_and_timeline(
        self, client: httpx.AsyncClient, clock: FrozenClock, app: Any, tab: Tab
    ) -> None:
        made = await shipment(client, clock)
        start = now() - timedelta(minutes=10)
        road = [
            road_ping(
                k, start + timedelta(minutes=k), PLANT_FRAME, 0, -12_000 + 1_000 * k, speed_mps=16
            )
            for k in range(5)
        ]
        await send(client, app, made.device, road)
        buyer = made.deal.deal.buyer
        page = tab.page
        await tab.sign_in_with_token(buyer.token, "/app/map")
        item = page.locator(f"#shipments li[data-shipment='{made.id}']")
        await item.wait_for()
        await page.wait_for_selector("#shipments-state[data-live='true']")
        marker = page.locator(f".truck-icon[data-shipment='{made.id}']")
        before = await marker.bounding_box()
        assert before is not None
        assert "ETA" in await item.inner_text()

        nearer = road_ping(5, now(), PLANT_FRAME, 0, -4_000, speed_mps=16)
        await send(client, app, made.device, [nearer])

        await page.wait_for_function(
            "([id, lat]) => Math.abs(document.querySelector(`#shipments li[data-shipment='${id}']`)"
            "?.dataset.lat - lat) < 1e-6",
            arg=[made.id, nearer["lat"]],
        )
        after = await marker.bounding_box()
        assert after is not None
        assert after["y"] < before["y"] - 5  # north, towards the plant: up the screen
        await item.click()
        await page.wait_for_selector(f"#detail[data-shipment='{made.id}']")
        await page.wait_for_selector("#timeline li:nth-child(2)")
        assert "assigned" in (await page.inner_text("#timeline")).lower()

    async def test_another_buyer_sees_no_shipment_of_others(
        self, client: httpx.AsyncClient, clock: FrozenClock, app: Any, tab: Tab
    ) -> None:
        made = await shipment(client, clock)
        await send(client, app, made.device, [road_ping(0, now(), PLANT_FRAME, 0, -5_000)])
        stranger = await signup(client, "Other Foods", ["buyer"])
        page = tab.page
        await tab.sign_in_with_token(stranger.token, "/app/map")
        await page.wait_for_selector("#shipments-state[data-live='true']")
        assert await page.locator("#shipments-empty").is_visible()
        assert await page.locator(f"[data-shipment='{made.id}']").count() == 0


class TestShareLink:
    async def test_a_receiver_follows_the_shared_shipment_without_an_account(
        self,
        client: httpx.AsyncClient,
        clock: FrozenClock,
        app: Any,
        tab: Tab,
        phone: Tab,
    ) -> None:
        made = await shipment(client, clock)
        await send(client, app, made.device, [road_ping(0, now(), PLANT_FRAME, 0, -9_000)])
        page = tab.page
        await tab.sign_in_with_token(made.deal.deal.buyer.token, "/app/map")
        await page.click(f"#shipments li[data-shipment='{made.id}']")
        await page.click("#share")
        link = page.locator("#share-link")
        await link.wait_for()
        url = await link.input_value()
        assert "/app/shared#" in url

        receiver = phone.page
        await receiver.goto(url)
        await receiver.wait_for_selector(f"#detail[data-shipment='{made.id}']")
        await receiver.wait_for_selector("#shipments-state[data-live='true']")
        assert made.delivery["number"] in await receiver.inner_text("#detail-title")
        marker = receiver.locator(f".truck-icon[data-shipment='{made.id}']")
        before = await marker.bounding_box()
        assert before is not None
        later = now() + timedelta(minutes=5)
        await send(client, app, made.device, [road_ping(1, later, PLANT_FRAME, 0, -4_000)])
        await receiver.wait_for_function(
            "y => document.querySelector('.truck-icon.shipment').getBoundingClientRect().y < y",
            arg=before["y"] - 5,
        )
        # The page holds no account: nothing in its storage, nothing else readable with it.
        assert await receiver.evaluate("sessionStorage.length") == 0

    async def test_a_forged_link_shows_nothing(self, phone: Tab) -> None:
        await phone.page.goto(f"{phone.base_url}/app/shared#forged-link-token-123")
        await phone.page.wait_for_selector("#link-error:not([hidden])")
        assert "expired or is not valid" in await phone.page.inner_text("#link-error")
        assert await phone.page.locator("#detail").is_hidden()
