"""Browser tests: the pages in headless Chromium (the system's, driven by Playwright) against
the app on a real socket, sharing the test database and bus with the in-process client.

They skip, saying why, only when no Chromium is installed (``apt-get install chromium``);
``HAULPOINT_TEST_CHROMIUM`` names another binary.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Playwright, async_playwright

from core.settings import Environment, SecuritySettings, Settings, WebSettings
from tests.api.live_server import serving

CHROMIUM = Path(os.environ.get("HAULPOINT_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000
"""How long a test waits for the page to show something live before it fails."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this directory's tests ``browser`` and skip them when there is no Chromium."""
    here = Path(__file__).parent
    for item in items:
        if here not in Path(str(item.fspath)).parents:
            continue
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(
                pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}: apt-get install chromium")
            )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings with no map tiles (the pages must work offline), and login sessions that
    outlive the days a yard test moves the clock."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0, session_ttl_s=14 * 24 * 3600),
        web=WebSettings(tile_url=""),
    )


@pytest.fixture
async def server(app: Any) -> AsyncIterator[str]:
    """The test app on a loopback socket; its base URL."""
    async with serving(app) as host:
        yield f"http://{host}"


@pytest.fixture(scope="session")
async def playwright() -> AsyncIterator[Playwright]:
    """Playwright's driver for the run."""
    async with async_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
async def browser(playwright: Playwright) -> AsyncIterator[Browser]:
    """One headless Chromium for the run."""
    launched = await playwright.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    await launched.close()


@dataclass
class Tab:
    """A browser page and the script errors it raised."""

    page: Page
    base_url: str
    errors: list[str] = field(default_factory=list)

    async def sign_in_with_token(self, token: str, path: str) -> None:
        """Sign in through the sign-in page's token form, then open ``path``."""
        await self.page.goto(f"{self.base_url}/app/sign-in?next={quote(path, safe='/')}")
        await self.page.click("text=Use a token instead")
        await self.page.fill("#token", token)
        await self.page.click("#token-form button")
        await self.page.wait_for_url(f"{self.base_url}{path}", timeout=WAIT_MS)


async def open_tab(browser: Browser, server: str, **options: Any) -> AsyncIterator[Tab]:
    """A fresh browser context and page; after use, fails if a page script threw."""
    context: BrowserContext = await browser.new_context(**options)
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    tab = Tab(page=page, base_url=server)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    try:
        yield tab
    finally:
        await context.close()
    assert tab.errors == [], tab.errors


@pytest.fixture
async def tab(browser: Browser, server: str) -> AsyncIterator[Tab]:
    """A fresh desktop browser tab; the test fails if a page script throws."""
    async for opened in open_tab(browser, server, viewport={"width": 1280, "height": 800}):
        yield opened


@pytest.fixture
async def phone(browser: Browser, server: str) -> AsyncIterator[Tab]:
    """A fresh phone-sized tab (touch, small screen, high density)."""
    async for opened in open_tab(
        browser,
        server,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    ):
        yield opened
