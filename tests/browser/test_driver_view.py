"""The driver's phone view in a browser: the next delivery and a pass QR code a gate can scan."""

from __future__ import annotations

import io

import httpx
import zxingcpp
from PIL import Image

from core.database import Database
from tests.browser.conftest import Tab
from tests.dispatch.authz_factory import prepared


class TestDriverView:
    async def test_the_pass_shows_as_a_qr_code_that_decodes_to_the_pass(
        self, client: httpx.AsyncClient, database: Database, phone: Tab
    ) -> None:
        pickup = await prepared(client, database)
        driver = pickup.drivers[0]
        shown = pickup.passes[0]
        page = phone.page
        await phone.sign_in_with_token(driver.token, "/app/driver")

        await page.wait_for_selector(f"#next[data-delivery='{shown['delivery_id']}']")
        [delivery] = [d for d in pickup.deliveries if d["id"] == shown["delivery_id"]]
        assert delivery["vehicle_plate"] in await page.locator("#next-facts").inner_text()
        qr = page.locator(f"#pass-qr[data-pass='{shown['id']}']")
        await qr.wait_for()
        await page.wait_for_function("document.getElementById('pass-qr').naturalWidth > 0")
        png = await qr.screenshot()

        # QR codes only: a linear-barcode reader may see a false code in the finder patterns.
        [found] = zxingcpp.read_barcodes(
            Image.open(io.BytesIO(png)),
            formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode),
        )
        token = await client.get(f"/v1/passes/{shown['id']}/token", headers=driver.headers)
        assert found.text == token.json()["token"]

    async def test_a_driver_sees_only_their_own_pass(
        self, client: httpx.AsyncClient, database: Database, phone: Tab
    ) -> None:
        pickup = await prepared(client, database)
        first, second = pickup.drivers[:2]
        page = phone.page
        await phone.sign_in_with_token(second.token, "/app/driver")
        await page.wait_for_selector("#pass-qr[data-pass]")
        mine = await page.get_attribute("#pass-qr", "data-pass")
        theirs = await client.get(f"/v1/passes/{mine}", headers=first.headers)
        assert theirs.status_code == 404
        own = await client.get(f"/v1/passes/{mine}", headers=second.headers)
        assert own.json()["driver_member_id"] == second.member_id
