"""Screenshots of every page from the demo world, for the README.

    python -m tests.browser.screenshots docs/screenshots

Seeds the demo world into a fresh SQLite file, serves it on loopback with the clock set to
the demo's pickup day (its yard, six docks and appointments come with the demo), then acts
through the API as its people would: the gate clerk checks the self-pickup truck in on its
pass and calls it to its dock, the phones send positions. Each page is then opened in
headless Chromium (the system's) with the account that uses it, and saved as a small PNG.
No map tiles are fetched: the map shows its plain background.
"""

from __future__ import annotations

import asyncio
import io
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from PIL import Image
from playwright.async_api import Browser, async_playwright

from api.app import create_app
from api.demo import DemoAccount, seed
from api.demo_fleet import DemoTruck, position_at, seed_fleet
from core.clock import FrozenClock, now, use_clock
from core.database import Database
from core.settings import Environment, Settings, WebSettings
from core.signing import KeyRing, generate_private_key
from migrations import upgrade
from tests.api.live_server import serving
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

PAGES = (
    # file, account name, path, phone-sized
    ("sign-in", None, "/app/sign-in", False),
    ("load-board", "Dispatcher Dana", "/app/loads", False),
    ("driver", "Driver Ivan Petrov", "/app/driver", True),
    ("live-map", "Raj Patel", "/app/map", False),
    ("yard-board", "Gate Clerk Ana", "/app/yard", False),
)


def _account(accounts: list[DemoAccount], name: str) -> DemoAccount:
    return next(a for a in accounts if a.name == name)


def _check(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.text}")
    return response.json() if response.content else None


async def _stage(
    http: httpx.AsyncClient, accounts: list[DemoAccount], trucks: list[DemoTruck]
) -> dict[str, str]:
    """Act out the morning through the API; returns query strings for the pages."""
    clerk = {"Authorization": f"Bearer {_account(accounts, 'Gate Clerk Ana').token}"}
    ivan = {"Authorization": f"Bearer {_account(accounts, 'Driver Ivan Petrov').token}"}
    sites = _check(await http.get("/v1/sites", headers=clerk))["data"]
    plant = next(s for s in sites if s["kind"] == "plant")
    site_id = plant["id"]
    day = now().date().isoformat()
    passes = _check(await http.get("/v1/passes", headers=ivan))["data"]
    first = min(passes, key=lambda p: p["not_before"])  # today's truckload
    token = _check(await http.get(f"/v1/passes/{first['id']}/token", headers=ivan))["token"]
    scan = {"token": token, "plate_seen": first["vehicle_plate"]}
    checked = _check(
        await http.post(f"/v1/yard/plants/{site_id}/check-in", headers=clerk, json=scan)
    )
    if not checked["verdict"]["valid"]:
        raise RuntimeError(f"the gate refused the demo pass: {checked['verdict']}")
    slot = _check(await http.get(f"/v1/yard/appointments/{first['delivery_id']}", headers=clerk))
    dock = f"/v1/yard/plants/{site_id}/docks/{slot['dock_id']}/call"
    _check(await http.post(dock, headers=clerk))
    for truck in trucks:
        # Twenty minutes of road, a fix a minute, ending now.
        pings = []
        for k in range(20):
            lat, lon = position_at(truck.route, 4_000.0 + 1_100.0 * k)
            at = now() - timedelta(minutes=19 - k)
            pings.append(
                {
                    "id": f"shot-{k}",
                    "recorded_at": at.isoformat(),
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "speed_mps": 18.0,
                    "accuracy_m": 6.0,
                }
            )
        headers = {"Authorization": f"Bearer {truck.token}"}
        _check(await http.post("/v1/ingest/pings", headers=headers, json={"pings": pings}))
    return {"/app/yard": f"?plant={site_id}&day={day}"}


async def _shoot(
    browser: Browser, base_url: str, out: Path, token: str | None, path: str, phone: bool
) -> Path:
    options: dict[str, Any] = (
        {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
        if phone
        else {"viewport": {"width": 1280, "height": 760}}
    )
    context = await browser.new_context(**options)
    page = await context.new_page()
    await page.goto(f"{base_url}/app/sign-in")
    if token is not None:
        await page.evaluate("t => sessionStorage.setItem('haulpoint.token', t)", token)
    await page.goto(f"{base_url}{path}")
    await asyncio.sleep(2.5)  # live streams connect, trails and QR codes load
    if path.startswith("/app/map"):
        # Open the shipment on the road, to show its timeline beside the map.
        await page.click("#shipments li:not([data-lat=''])")
        await asyncio.sleep(1.0)
    png = await page.screenshot(full_page=phone)
    await context.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    small = image.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    out.parent.mkdir(parents=True, exist_ok=True)
    small.save(out, optimize=True)
    return out


async def main(out_dir: Path) -> None:
    """Seed, stage and photograph every page into ``out_dir``."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        settings = Settings(
            environment=Environment.TEST, data_dir=Path(tmp), web=WebSettings(tile_url="")
        )
        database = Database(url, settings.database, key_ring=KeyRing(active=generate_private_key()))
        await upgrade(database.engine)
        accounts = await seed(database)
        trucks = await seed_fleet(database, accounts)
        pickup_day = now().replace(hour=8, minute=5, second=0, microsecond=0) + timedelta(days=1)
        with use_clock(FrozenClock(pickup_day)):
            app = create_app(settings, database=database)
            async with app.router.lifespan_context(app), serving(app) as host:
                base_url = f"http://{host}"
                async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
                    queries = await _stage(http, accounts, trucks)
                async with async_playwright() as playwright:
                    browser = await playwright.chromium.launch(
                        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
                    )
                    for name, who, path, phone in PAGES:
                        token = None if who is None else _account(accounts, who).token
                        full = path + queries.get(path, "")
                        saved = await _shoot(
                            browser, base_url, out_dir / f"{name}.png", token, full, phone
                        )
                        print(f"{saved} ({saved.stat().st_size // 1024} KiB)")
                    await browser.close()
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
