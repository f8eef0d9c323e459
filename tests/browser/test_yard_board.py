"""The yard board and the driver's phone together in a browser: the clerk checks a truck in
on its pass, calls it to a dock (the phone shows the call at once), sees it at the dock and
weighs it in and out; a pass held up to the camera is read and checked."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from PIL import Image
from playwright.async_api import Playwright

from core.clock import FrozenClock
from core.database import Database
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, Tab, open_tab
from tests.dispatch.authz_factory import token_of
from tests.yard.yard_factory import GATE_CODE, schedule, yard_world


class TestYardBoard:
    async def test_a_called_truck_goes_to_the_dock_and_the_driver_sees_the_call(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        tab: Tab,
        phone: Tab,
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=1))
        driver = world.pickup.drivers[index]
        plate = world.pickup.passes[index]["vehicle_plate"]
        token = await token_of(client, world.pickup, index)
        [dock_name] = [n for n, d in world.docks.items() if d["id"] == first["dock_id"]]

        await phone.sign_in_with_token(driver.token, "/app/driver")
        await phone.page.wait_for_selector("#next[data-live='true']")
        await phone.page.wait_for_selector("#yard:not([hidden])")
        assert await phone.page.locator("#call").is_hidden()

        board = tab.page
        path = f"/app/yard?plant={world.site_id}&day={world.day.isoformat()}"
        await tab.sign_in_with_token(world.clerk_token, path)
        expected = f".column[data-column='expected'] [data-delivery='{first['delivery_id']}']"
        await board.wait_for_selector(expected)

        await board.fill("#pass-token", token)
        await board.fill("#plate-seen", plate)
        await board.click("#verify button[type='submit']")
        await board.wait_for_selector("#verdict[data-valid='true']")
        waiting = board.locator(".column[data-column='waiting'] .truck-card[data-visit]")
        await waiting.wait_for()
        visit_id = await waiting.get_attribute("data-visit")

        await board.click(f".dock[data-dock='{first['dock_id']}'] button.call-next")
        card = f".truck-card[data-visit='{visit_id}']"
        await board.wait_for_selector(f".column[data-column='called'] {card}")
        call = phone.page.locator("#call")
        await call.wait_for()
        assert dock_name in await call.inner_text()

        await board.click(f".column[data-column='called'] {card} button.at-dock")
        await board.wait_for_selector(f".column[data-column='at_dock'] {card}")
        visit = await client.get(f"/v1/yard/visits/{visit_id}", headers=world.clerk)
        assert visit.json()["state"] == "at_dock"

        planned = world.pickup.deliveries[index]["quantity"]
        await board.fill(f"{card} form.tare input", "14000")
        await board.click(f"{card} form.tare button")
        await board.wait_for_selector(f"{card} form.tare", state="detached")
        await board.fill(f"{card} form.gross input[type='number']", str(14_000 + planned))
        await board.fill(f"{card} form.gross input[aria-label='seal numbers']", "S-1, S-2")
        await board.click(f"{card} form.gross button")
        await board.wait_for_selector(f".column[data-column='loaded'] {card}")
        delivery = await client.get(
            f"/v1/deliveries/{first['delivery_id']}", headers=world.operator
        )
        assert (delivery.json()["state"], delivery.json()["loaded_quantity"]) == ("loaded", planned)

    async def test_a_pass_for_another_plate_is_refused_and_nothing_moves(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock, tab: Tab
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=1))
        token = await token_of(client, world.pickup, index)
        board = tab.page
        await tab.sign_in_with_token(
            world.clerk_token, f"/app/yard?plant={world.site_id}&day={world.day.isoformat()}"
        )
        await board.wait_for_selector(".column[data-column='expected'] .truck-card")
        await board.fill("#pass-token", token)
        await board.fill("#plate-seen", "XX-999")
        await board.click("#verify button[type='submit']")
        await board.wait_for_selector("#verdict[data-valid='false']")
        assert "plate" in (await board.inner_text("#verdict")).lower()
        assert await board.locator(".column[data-column='waiting'] .truck-card").count() == 0
        assert await board.locator(".column[data-column='arrived'] .truck-card").count() == 0


def camera_film(png: bytes, path: Path, *, width: int = 640, height: int = 480) -> Path:
    """A Y4M video (what Chromium's fake camera plays) of a QR code held up to the camera."""
    code = Image.open(io.BytesIO(png)).convert("L")
    side = min(width, height) - 40
    code = code.resize((side, side), Image.Resampling.NEAREST)
    frame = Image.new("L", (width, height), 255)
    frame.paste(code, ((width - side) // 2, (height - side) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (width // 2 * height // 2)
    header = f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + (b"FRAME\n" + luma + chroma + chroma) * 10)
    return path


class TestCameraScan:
    async def test_the_clerk_scans_a_pass_with_the_camera_and_checks_the_truck_in(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        playwright: Playwright,
        server: str,
        tmp_path: Path,
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=1))
        shown = world.pickup.passes[index]
        driver = world.pickup.drivers[index]
        png = await client.get(f"/v1/passes/{shown['id']}/qr.png", headers=driver.headers)
        film = camera_film(png.content, tmp_path / "pass.y4m")
        token = await token_of(client, world.pickup, index)
        camera = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={film}",
            ],
            headless=True,
        )
        try:
            async for tab in open_tab(camera, server, viewport={"width": 1280, "height": 900}):
                await tab.page.context.grant_permissions(["camera"], origin=server)
                path = f"/app/yard?plant={world.site_id}&day={world.day.isoformat()}"
                await tab.sign_in_with_token(world.clerk_token, path)
                board = tab.page
                await board.click("#scan")
                await board.wait_for_function(
                    "t => document.getElementById('pass-token').value === t", arg=token
                )
                await board.fill("#plate-seen", shown["vehicle_plate"])
                await board.click("#verify button[type='submit']")
                await board.wait_for_selector("#verdict[data-valid='true']")
                await board.wait_for_selector(".column[data-column='waiting'] .truck-card")
        finally:
            await camera.close()


class TestDriverCheckIn:
    async def test_the_driver_checks_in_with_the_gate_code_and_sees_the_queue(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock, phone: Tab
    ) -> None:
        world = await yard_world(client, database)
        plan = await schedule(client, world)
        first = min(plan["appointments"], key=lambda a: a["starts_at"])
        index = world.delivery_ids().index(first["delivery_id"])
        clock.set(datetime.fromisoformat(first["starts_at"]) - timedelta(minutes=5))
        driver = world.pickup.drivers[index]
        page = phone.page
        await phone.sign_in_with_token(driver.token, "/app/driver")
        await page.wait_for_selector("#check-in:not([hidden])")

        await page.fill("#gate-code", "WRONG-CODE")
        await page.click("#check-in button")
        await page.wait_for_selector("#notice[data-kind='bad']:not([hidden])")
        assert await page.locator("#check-in").is_visible()

        await page.fill("#gate-code", GATE_CODE)
        await page.click("#check-in button")
        await page.wait_for_selector("#yard[data-visit-state='waiting']")
        assert await page.locator("#check-in").is_hidden()
        assert "Queue" in await page.inner_text("#yard-facts")
        place = await client.get(
            f"/v1/yard/mine/{first['delivery_id']}/queue", headers=driver.headers
        )
        assert place.json()["state"] == "waiting"
