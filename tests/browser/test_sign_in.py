"""Signing in in a browser: the password form keeps a token for the tab and sends each account
to its page; a wrong password shows why and keeps nothing; pages without a token go to sign-in."""

from __future__ import annotations

import httpx

from tests.browser.conftest import Tab
from tests.helpers import PASSWORD, signup


class TestSignIn:
    async def test_a_carrier_signs_in_and_lands_on_the_load_board(
        self, client: httpx.AsyncClient, tab: Tab
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        page = tab.page
        await page.goto(f"{tab.base_url}/app/sign-in")
        await page.fill("#login", carrier.email)
        await page.fill("#password", PASSWORD)
        await page.click("#sign-in")
        await page.wait_for_url(f"{tab.base_url}/app/loads")
        await page.wait_for_selector("#who:has-text('Rapid Haulage')")
        token = await page.evaluate("sessionStorage.getItem('haulpoint.token')")
        me = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["organization"]["id"] == str(carrier.id)

        await page.click("#sign-out")
        await page.wait_for_url(f"{tab.base_url}/app/sign-in?next=%2Fapp%2Floads")
        assert await page.evaluate("sessionStorage.length") == 0
        revoked = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401

    async def test_a_wrong_password_says_so_and_keeps_nothing(
        self, client: httpx.AsyncClient, tab: Tab
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        page = tab.page
        await page.goto(f"{tab.base_url}/app/sign-in")
        await page.fill("#login", carrier.email)
        await page.fill("#password", "not the password")
        await page.click("#sign-in")
        await page.wait_for_selector("#sign-in-error:not([hidden])")
        assert page.url == f"{tab.base_url}/app/sign-in"
        assert await page.evaluate("sessionStorage.length") == 0

    async def test_a_page_without_a_token_sends_you_to_sign_in(self, tab: Tab) -> None:
        await tab.page.goto(f"{tab.base_url}/app/map")
        await tab.page.wait_for_url(f"{tab.base_url}/app/sign-in?next=%2Fapp%2Fmap")

    async def test_a_sign_in_link_cannot_send_you_to_another_site(
        self, client: httpx.AsyncClient, tab: Tab
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        page = tab.page
        await page.goto(f"{tab.base_url}/app/sign-in?next=//evil.example/app/")
        await page.fill("#login", carrier.email)
        await page.fill("#password", PASSWORD)
        await page.click("#sign-in")
        await page.wait_for_url(f"{tab.base_url}/app/loads")
