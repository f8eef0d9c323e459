"""The Redis bus survives a dropped connection and an outage, and resubscribes after them.

A small TCP proxy sits between the bus and Redis so the test can cut this bus's connections
(and refuse new ones for a while) without touching anyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from core.bus import Subscription
from core.redis_bus import RedisBus

pytestmark = pytest.mark.redis


class Proxy:
    """Forwards TCP to Redis; can cut every connection and refuse new ones."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.refusing = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._writers.discard(writer)


@pytest.fixture
async def redis_url() -> str:
    return os.environ["HAULPOINT_TEST_REDIS_URL"]


@pytest.fixture
async def proxy(redis_url: str) -> AsyncIterator[Proxy]:
    parts = urlsplit(redis_url)
    relay = Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await relay.start()
    yield relay
    await relay.close()


@pytest.fixture
async def buses(redis_url: str, proxy: Proxy) -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    """A listener behind the proxy and a publisher straight to Redis."""
    parts = urlsplit(redis_url)
    listener = RedisBus(f"redis://127.0.0.1:{proxy.port}{parts.path}", reconnect_max_s=0.2)
    publisher = RedisBus(redis_url)
    await listener.start()
    await publisher.start()
    yield listener, publisher
    await listener.close()
    await publisher.close()


async def arrives(
    publisher: RedisBus, subscription: Subscription, channel: str, payload: bytes
) -> bool:
    """Publish until the subscription hears it (a subscribe settles asynchronously)."""
    for _ in range(60):
        await publisher.publish(channel, payload)
        with contextlib.suppress(TimeoutError):
            while True:
                got = await asyncio.wait_for(subscription.get(), 0.05)
                if got == (channel, payload):
                    return True
    return False


class TestReconnect:
    async def test_a_cut_connection_is_reopened_and_resubscribed(
        self, buses: tuple[RedisBus, RedisBus], proxy: Proxy
    ) -> None:
        listener, publisher = buses
        subscription = await listener.subscribe("events")
        await asyncio.wait_for(listener.connected.wait(), 5)
        assert await arrives(publisher, subscription, "events", b"before")
        proxy.cut()
        assert await arrives(publisher, subscription, "events", b"after")

    async def test_channels_taken_during_an_outage_are_subscribed_on_return(
        self, buses: tuple[RedisBus, RedisBus], proxy: Proxy
    ) -> None:
        listener, publisher = buses
        await asyncio.wait_for(listener.connected.wait(), 5)
        proxy.refusing = True
        proxy.cut()
        async with asyncio.timeout(5):
            while listener.connected.is_set():  # noqa: ASYNC110 - no "lost" event to await
                await asyncio.sleep(0.02)
        late = await listener.subscribe("positions")
        await asyncio.sleep(0.3)  # a few failed reconnects
        assert not listener.connected.is_set()
        proxy.refusing = False
        await asyncio.wait_for(listener.connected.wait(), 5)
        assert await arrives(publisher, late, "positions", b"back")

    async def test_publishing_through_a_cut_connection_reconnects(
        self, redis_url: str, proxy: Proxy
    ) -> None:
        parts = urlsplit(redis_url)
        publisher = RedisBus(f"redis://127.0.0.1:{proxy.port}{parts.path}")
        listener = RedisBus(redis_url)
        await publisher.start()
        await listener.start()
        try:
            subscription = await listener.subscribe("events")
            await asyncio.wait_for(listener.connected.wait(), 5)
            assert await arrives(publisher, subscription, "events", b"one")
            proxy.cut()
            await publisher.publish("events", b"two")  # retried on a fresh connection
            got = await asyncio.wait_for(subscription.get(), 2)
            assert got == ("events", b"two")
        finally:
            await publisher.close()
            await listener.close()
