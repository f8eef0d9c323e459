"""The carrier's load board in a browser: live loads without a reload, grab books them."""

from __future__ import annotations

import httpx

from core.clock import FrozenClock
from tests.browser.conftest import Tab
from tests.dispatch.market_factory import SUGAR_T, auction, carrier, post_offer, trade
from tests.helpers import bearer


class TestLoadBoard:
    async def test_a_new_load_appears_live_and_grabbing_it_books_it(
        self, client: httpx.AsyncClient, clock: FrozenClock, tab: Tab
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        page = tab.page
        await tab.sign_in_with_token(haulier.dispatcher_token, "/app/loads")
        await page.wait_for_selector("#feed-state[data-live='true']")
        await page.wait_for_selector("#loads tbody[data-loaded='true']", state="attached")
        assert await page.locator("#loads tbody tr").count() == 0
        # A mark on the window survives only if the page is never reloaded.
        await page.evaluate("window.stillHere = true")

        offer = await post_offer(client, deal.seller, deal.order_id)

        row = page.locator(f"tr[data-offer='{offer['id']}']")
        await row.wait_for()
        assert offer["reference"] in await row.inner_text()
        assert "25 t" in await row.locator(".remaining").inner_text()
        assert await page.evaluate("window.stillHere") is True

        await row.locator("input").fill("10")
        await row.locator("button.grab").click()
        booked = page.locator("#bookings tbody tr")
        await booked.first.wait_for()
        assert "10 t" in await booked.first.inner_text()
        bookings = await client.get(
            "/v1/market/bookings?side=carrier", headers=bearer(haulier.dispatcher_token)
        )
        [booking] = bookings.json()["data"]
        assert (booking["offer_id"], booking["quantity"]) == (offer["id"], 10 * SUGAR_T)
        assert booking["confirmation_no"] in await booked.first.inner_text()
        # The feed brings the load's new remainder to the board as well.
        await page.wait_for_function(
            "id => document.querySelector(`tr[data-offer='${id}'] .remaining`)"
            ".textContent.startsWith('15 t')",
            arg=offer["id"],
        )

    async def test_a_load_taken_elsewhere_leaves_the_board(
        self, client: httpx.AsyncClient, clock: FrozenClock, tab: Tab
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        rival = await carrier(client, "Longroad Logistics")
        offer = await post_offer(client, deal.seller, deal.order_id)
        page = tab.page
        await tab.sign_in_with_token(haulier.dispatcher_token, "/app/loads")
        row = page.locator(f"tr[data-offer='{offer['id']}']")
        await row.locator("button.grab").wait_for()
        await page.wait_for_selector("#feed-state[data-live='true']")

        taken = await client.post(
            f"/v1/market/offers/{offer['id']}/grab",
            headers=bearer(rival.dispatcher_token),
            json={"quantity": offer["remaining"]},
        )
        assert taken.status_code == 201, taken.text

        await page.wait_for_selector(f"tr.gone[data-offer='{offer['id']}']")
        assert await row.locator("button.grab").count() == 0

    async def test_a_bid_on_an_auction_stands_and_a_bad_one_changes_nothing(
        self, client: httpx.AsyncClient, clock: FrozenClock, tab: Tab
    ) -> None:
        deal = await trade(client)
        haulier = await carrier(client, "Rapid Haulage")
        offer = await auction(client, deal.seller, deal.order_id)
        page = tab.page
        await tab.sign_in_with_token(haulier.dispatcher_token, "/app/loads")
        row = page.locator(f"tr[data-offer='{offer['id']}']")
        await row.locator("button.bid").wait_for()

        await row.locator("input").fill("-3")
        await row.locator("button.bid").click()
        await page.wait_for_selector("#notice[data-kind='bad']:not([hidden])")
        mine = await client.get(
            f"/v1/market/offers/{offer['id']}/bids", headers=bearer(haulier.dispatcher_token)
        )
        assert mine.json()["data"] == []

        await row.locator("input").fill("17.25")
        await row.locator("button.bid").click()
        await page.wait_for_selector("#notice[data-kind='good']:not([hidden])")
        mine = await client.get(
            f"/v1/market/offers/{offer['id']}/bids", headers=bearer(haulier.dispatcher_token)
        )
        [bid] = mine.json()["data"]
        assert (bid["rate_cents"], bid["state"]) == (1725, "active")
