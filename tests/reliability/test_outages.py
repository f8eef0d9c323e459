"""Outages: the bus's Redis stops while subscribers are connected, and the database becomes
unreachable. The first uses a Redis server of the test's own on a free port (never the shared
one); the second puts a TCP proxy of the test's own between the app and PostgreSQL and cuts it.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from websockets.asyncio.client import ClientConnection, connect

from api.app import create_app
from core.database import Database
from core.settings import (
    BusSettings,
    DatabaseSettings,
    Environment,
    SecuritySettings,
    Settings,
    TrackingSettings,
)
from core.signing import KeyRing, generate_private_key
from tests.api.live_server import free_port, serving
from tests.helpers import Device, Org, register_device, signup

pytestmark = pytest.mark.slow


class RedisProcess:
    """A throwaway redis-server on a free port, stopped and started by the test."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it (no persistence) and wait until it answers."""
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(  # noqa: S603 - a fixed local binary
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        """Stop it at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    """A Redis server only this test talks to."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisProcess(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _redis_up(url: str) -> None:
    import redis.asyncio as redis

    client = redis.from_url(url)
    try:
        async with asyncio.timeout(10):
            while True:
                try:
                    if await client.ping():
                        return
                except redis.ConnectionError:
                    await asyncio.sleep(0.05)
    finally:
        await client.aclose()


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0),
        tracking=TrackingSettings(live_tick_ms=20, live_heartbeat_s=0.3),
        **extra,
    )


async def _ping(client: httpx.AsyncClient, device: Device, seconds_ago: float) -> httpx.Response:
    moment = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return await client.post(
        "/v1/ingest/pings",
        headers=device.headers,
        json={
            "pings": [
                {
                    "id": f"{moment.timestamp()}",
                    "recorded_at": moment.isoformat(),
                    "lat": 52.5,
                    "lon": 10.1,
                }
            ]
        },
    )


async def _positions(ws: ClientConnection, within_s: float) -> list[dict[str, Any]]:
    """The position frames a socket gets within a time."""
    frames: list[dict[str, Any]] = []
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within_s):
            while True:
                frame = orjson.loads(await ws.recv())
                if frame["type"] in ("positions", "snapshot"):
                    frames.append(frame)
                    if frame["type"] == "positions":
                        return frames
    return frames


class TestRedisStops:
    async def test_rest_and_ingest_go_on_and_streams_resume(
        self, own_redis: RedisProcess, database: Database, tmp_path: Path
    ) -> None:
        await _redis_up(own_redis.url)
        app = create_app(_settings(tmp_path, bus=BusSettings(url=own_redis.url)), database=database)
        async with (
            app.router.lifespan_context(app),
            serving(app) as address,
            httpx.AsyncClient(base_url=f"http://{address}", timeout=30) as client,
        ):
            carrier: Org = await signup(client, "Rapid Haulage", ["carrier"])
            device = await register_device(client, carrier)
            url = f"ws://{address}/v1/live/positions"
            async with connect(url, additional_headers=carrier.headers) as ws:
                assert (await _positions(ws, 2.0))[0]["type"] == "snapshot"
                assert (await _ping(client, device, 30)).status_code == 200
                before = await _positions(ws, 3.0)
                assert before, "no frame via Redis"
                assert before[-1]["type"] == "positions", "no frame via Redis"

                own_redis.stop()
                during = await _ping(client, device, 20)
                assert during.status_code == 200, during.text
                assert during.json()["accepted"] == 1
                assert (await client.get("/v1/me", headers=carrier.headers)).status_code == 200
                wrote = await client.post(
                    "/v1/sites",
                    headers=carrier.headers,
                    json={"name": "Depot", "kind": "depot", "lat": 53.0, "lon": 10.0},
                )
                assert wrote.status_code == 201, wrote.text

                own_redis.start()
                await _redis_up(own_redis.url)
                # The bus reconnects with a capped back-off: the socket hears new pings again.
                resumed = False
                async with asyncio.timeout(20):
                    while not resumed:
                        assert (await _ping(client, device, 1)).status_code == 200
                        frames = await _positions(ws, 1.0)
                        resumed = any(f["type"] == "positions" for f in frames)
                assert resumed
            # Catching up: what was stored during the outage is there for a client that asks.
            latest = await client.get("/v1/positions/latest", headers=carrier.headers)
            assert latest.status_code == 200
            assert latest.json()["count"] == 1
            async with database.engine.connect() as session:
                stored = await session.execute(
                    text("SELECT count(*) FROM positions WHERE device_no = :n"),
                    {"n": device.number},
                )
                assert stored.scalar_one() >= 3


class Proxy:
    """A TCP proxy that can be cut: connections open then are dropped and refused."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Accept connections and pass bytes both ways."""
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        """Stop listening and drop every open connection."""
        assert self.server is not None
        self.server.close()
        for writer in list(self.links):
            writer.transport.abort()
        self.links.clear()
        await self.server.wait_closed()
        self.server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.links -= {writer, up_writer}


@dataclass
class Outcome:
    """What the clients saw while the database was away."""

    statuses: list[int] = field(default_factory=list)
    retry_after: set[str] = field(default_factory=set)


@pytest.fixture
async def proxied(database_url: str, database: Database) -> AsyncIterator[tuple[Proxy, Database]]:
    """The test's PostgreSQL, reached through a proxy the test can cut."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("the database outage is a network outage: PostgreSQL only")
    proxy = Proxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = Database(
        through,
        DatabaseSettings(pool_size=5, max_overflow=5),
        key_ring=KeyRing(active=generate_private_key()),
    )
    try:
        yield proxy, db
    finally:
        await db.dispose()
        if proxy.server is not None:
            await proxy.cut()


@pytest.mark.postgres
class TestDatabaseUnreachable:
    async def test_503_with_retry_after_then_recovery(
        self, proxied: tuple[Proxy, Database], tmp_path: Path
    ) -> None:
        proxy, db = proxied
        app = create_app(_settings(tmp_path), database=db)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                seller = await signup(client, "Sweet Sugar Mill", ["seller"])
                site = {"name": "Mill", "kind": "plant", "lat": 52.9, "lon": 10.5}
                first = await client.post("/v1/sites", headers=seller.headers, json=site)
                assert first.status_code == 201

                await proxy.cut()
                seen = Outcome()
                for _ in range(3):
                    async with asyncio.timeout(30):
                        for call in (
                            client.get("/v1/sites", headers=seller.headers),
                            client.post("/v1/sites", headers=seller.headers, json=site),
                            client.get("/readyz"),
                        ):
                            answer = await call
                            seen.statuses.append(answer.status_code)
                            if "retry-after" in answer.headers:
                                seen.retry_after.add(answer.headers["retry-after"])
                            assert answer.headers["content-type"] == "application/problem+json"
                assert set(seen.statuses) == {503}, seen.statuses
                assert seen.retry_after
                assert all(int(v) > 0 for v in seen.retry_after)

                await proxy.start()
                async with asyncio.timeout(30):
                    while (await client.get("/readyz")).status_code != 200:  # noqa: ASYNC110
                        await asyncio.sleep(0.2)
                listed = await client.get("/v1/sites", headers=seller.headers)
                assert listed.status_code == 200
                # Nothing written while the database was away, nothing half-written either.
                assert listed.json()["count"] == 1
                again = await client.post("/v1/sites", headers=seller.headers, json=site)
                assert again.status_code == 201
