"""Crash: a real server process is killed with SIGKILL in the middle of an ingest storm and a
rush of grabs. After a restart every acknowledged ping and booking is there, the offer's
remaining quantity matches its bookings to the kilogram, and the load's signed event log
verifies. Runs on whichever database the suite runs on (SQLite or PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from core.database import Database
from tests.api.live_server import free_port
from tests.dispatch.market_factory import SUGAR_T, Carrier, carrier, grab, post_offer, trade
from tests.helpers import Device, register_device

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
STORM_S = 2.0
DEVICES = 6
CARRIERS = 8
BATCH = 20


@dataclass
class Server:
    """A server process that can be killed and started again on the same port and data."""

    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (migrations already ran on the test database)."""
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:serve_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)  # noqa: S603

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate if still running."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=15)

    async def ready(self) -> None:
        """Wait until the process answers its readiness probe."""
        async with httpx.AsyncClient() as http, asyncio.timeout(30):
            while True:
                try:
                    if (await http.get(f"{self.url}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)


@dataclass
class Acknowledged:
    """What the server said 2xx to before it died."""

    pings: dict[int, set[datetime]] = field(default_factory=dict)
    bookings: dict[str, int] = field(default_factory=dict)
    ping_batches: int = 0
    grabs_refused: int = 0
    errors: int = 0


@pytest.fixture
def server(database_url: str, database: Database, tmp_path: Path) -> Iterator[Server]:
    """One API process on the test database, with the in-process bus."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HAULPOINT_ENVIRONMENT": "test",
        "HAULPOINT_DATA_DIR": str(tmp_path),
        "HAULPOINT_DATABASE__URL": database_url,
        "HAULPOINT_BUS__URL": "memory://",
        "HAULPOINT_LOG_LEVEL": "WARNING",
        "HAULPOINT_TRACKING__INGEST_RATE_PER_S": "100000",
        "HAULPOINT_TRACKING__INGEST_BURST": "100000",
    }
    running = Server(free_port(), env)
    running.start()
    try:
        yield running
    finally:
        running.stop()


async def _storm_pings(
    http: httpx.AsyncClient, device: Device, start: datetime, seen: Acknowledged
) -> None:
    n = 0
    while True:
        moments = [start + timedelta(milliseconds=10 * (n + i)) for i in range(BATCH)]
        n += BATCH
        body = {
            "pings": [
                {
                    "id": f"{device.number}-{m.timestamp()}",
                    "recorded_at": m.isoformat(),
                    "lat": 52.9 + i * 1e-5,
                    "lon": 10.5,
                }
                for i, m in enumerate(moments)
            ]
        }
        try:
            reply = await http.post("/v1/ingest/pings", headers=device.headers, json=body)
        except httpx.TransportError:
            seen.errors += 1
            return
        if reply.status_code == 200 and reply.json()["accepted"] == BATCH:
            seen.pings.setdefault(device.number, set()).update(moments)
            seen.ping_batches += 1


async def _storm_grabs(
    http: httpx.AsyncClient, haulier: Carrier, offer_id: str, seen: Acknowledged
) -> None:
    while True:
        try:
            reply = await grab(http, haulier, offer_id, 5 * SUGAR_T)
        except httpx.TransportError:
            seen.errors += 1
            return
        if reply.status_code == 201:
            seen.bookings[reply.json()["id"]] = reply.json()["quantity"]
        else:
            seen.grabs_refused += 1
            await asyncio.sleep(0.01)


class TestSigkillMidStorm:
    async def test_every_acknowledged_write_survives(
        self, server: Server, database: Database
    ) -> None:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            deal = await trade(http)
            offer = await post_offer(
                http, deal.seller, deal.order["id"], quantity=500 * SUGAR_T, min_lot=5 * SUGAR_T
            )
            hauliers = [await carrier(http, f"Haulier {n}") for n in range(CARRIERS)]
            fleet = hauliers[0]
            devices = [await register_device(http, fleet.org) for _ in range(DEVICES)]

        seen = Acknowledged()
        start = datetime.now(UTC) - timedelta(minutes=5)
        limits = httpx.Limits(max_connections=64)
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as http:
            tasks = [
                asyncio.create_task(_storm_pings(http, d, start + timedelta(minutes=k), seen))
                for k, d in enumerate(devices)
            ] + [asyncio.create_task(_storm_grabs(http, h, offer["id"], seen)) for h in hauliers]
            await asyncio.sleep(STORM_S)
            server.kill()
            _, pending = await asyncio.wait(tasks, timeout=30)
            assert not pending, "clients still waiting on a dead server"
        assert seen.ping_batches > 5, "the storm never got going"
        assert seen.bookings, "no grab was acknowledged before the kill"
        assert seen.errors > 0, "the kill came after the storm: nothing was cut mid-way"
        print(
            f"crash: {seen.ping_batches} ping batches ({seen.ping_batches * BATCH} pings) and "
            f"{len(seen.bookings)} grabs acknowledged, {seen.grabs_refused} refused, "
            f"{seen.errors} requests cut by the kill"
        )

        server.start()
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            seller = deal.seller.headers
            listed = await http.get(
                "/v1/market/bookings",
                headers=seller,
                params={"offer_id": offer["id"], "limit": 200},
            )
            assert listed.status_code == 200, listed.text
            stored = {b["id"]: b for b in listed.json()["data"]}
            missing = set(seen.bookings) - set(stored)
            assert missing == set(), "acknowledged bookings lost"
            after = (await http.get(f"/v1/market/offers/{offer['id']}", headers=seller)).json()
            booked = sum(b["quantity"] for b in stored.values() if b["state"] == "confirmed")
            assert after["quantity"] - after["remaining"] == booked
            verified = await http.get(
                "/v1/events/verify", headers=seller, params={"subject": f"load:{offer['id']}"}
            )
            assert verified.status_code == 200, verified.text
            assert verified.json()["ok"] is True, verified.json()
            # The server takes new work after the crash.
            more = await grab(http, hauliers[1], offer["id"], 5 * SUGAR_T)
            assert more.status_code in (201, 409), more.text

        async with database.engine.connect() as session:
            for number, moments in seen.pings.items():
                rows = await session.execute(
                    text("SELECT recorded_at FROM positions WHERE device_no = :n"), {"n": number}
                )
                kept = {_utc(r[0]) for r in rows}
                lost = {m for m in moments if m not in kept}
                assert lost == set(), f"device {number}: {len(lost)} acknowledged pings lost"


def _utc(value: datetime | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
