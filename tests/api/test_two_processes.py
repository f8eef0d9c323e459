"""A ping posted to one API process reaches a live subscriber of another, through Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from core.database import Database
from tests.api.live_server import free_port
from tests.helpers import register_device, signup

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def _start(port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:serve_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - our own server


@pytest.fixture
def processes(database_url: str, database: Database, tmp_path: Path) -> Iterator[list[str]]:
    """Two API processes on the test database, sharing the test Redis as their bus."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HAULPOINT_ENVIRONMENT": "test",
        "HAULPOINT_DATA_DIR": str(tmp_path),
        "HAULPOINT_DATABASE__URL": database_url,
        "HAULPOINT_BUS__URL": os.environ["HAULPOINT_TEST_REDIS_URL"],
        "HAULPOINT_TRACKING__LIVE_TICK_MS": "20",
        "HAULPOINT_LOG_LEVEL": "WARNING",
    }
    ports = [free_port(), free_port()]
    servers = [_start(port, env) for port in ports]
    try:
        yield [f"127.0.0.1:{port}" for port in ports]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


async def _ready(address: str) -> None:
    async with httpx.AsyncClient() as http, asyncio.timeout(20):
        while True:
            try:
                if (await http.get(f"http://{address}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


@pytest.fixture
async def addresses(processes: list[str]) -> list[str]:
    await asyncio.gather(*(_ready(address) for address in processes))
    return processes


class TestAcrossProcesses:
    async def test_a_ping_to_one_process_reaches_a_subscriber_of_the_other(
        self, addresses: list[str]
    ) -> None:
        first, second = addresses
        async with httpx.AsyncClient(base_url=f"http://{first}", timeout=10) as api:
            carrier = await signup(api, "Rapid Haulage", ["carrier"])
            device = await register_device(api, carrier)
            url = f"ws://{second}/v1/live/positions"
            async with connect(url, additional_headers=carrier.headers) as ws:
                snapshot = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
                assert snapshot["type"] == "snapshot"
                await asyncio.sleep(0.3)  # the other process's hub subscribes asynchronously
                recorded_at = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
                sent = await api.post(
                    "/v1/ingest/pings",
                    headers=device.headers,
                    json={
                        "pings": [
                            {"id": "a", "recorded_at": recorded_at, "lat": 53.25, "lon": 10.41}
                        ]
                    },
                )
                assert sent.status_code == 200, sent.text
                async with asyncio.timeout(5):
                    while True:
                        frame = orjson.loads(await ws.recv())
                        if frame["type"] == "positions":
                            break
        (position,) = frame["positions"]
        assert position["device_id"] == str(device.id)
        assert position["recorded_at"] == recorded_at
        assert (position["lat"], position["lon"]) == (53.25, 10.41)

    async def test_a_revocation_through_one_process_stops_the_device_at_the_other(
        self, addresses: list[str]
    ) -> None:
        first, second = addresses
        async with (
            httpx.AsyncClient(base_url=f"http://{first}", timeout=10) as api,
            httpx.AsyncClient(base_url=f"http://{second}", timeout=10) as other,
        ):
            carrier = await signup(api, "Rapid Haulage", ["carrier"])
            device = await register_device(api, carrier)

            async def ping(n: int) -> int:
                recorded_at = (datetime.now(UTC) - timedelta(seconds=30 - n)).isoformat()
                body = {
                    "pings": [{"id": str(n), "recorded_at": recorded_at, "lat": 53.0, "lon": 10.0}]
                }
                return (
                    await other.post("/v1/ingest/pings", headers=device.headers, json=body)
                ).status_code

            assert await ping(0) == 200  # now cached by the second process
            revoked = await api.post(f"/v1/devices/{device.id}/revoke", headers=carrier.headers)
            assert revoked.status_code == 200
            statuses: list[int] = []
            async with asyncio.timeout(3):
                while not statuses or statuses[-1] != 401:
                    statuses.append(await ping(len(statuses) + 1))
                    await asyncio.sleep(0.05)
            assert statuses[-1] == 401
