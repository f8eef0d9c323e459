"""The bus: local fan-out, bounded queues, and Redis across connections."""

from __future__ import annotations

import asyncio
import os

import pytest

from core.bus import MemoryBus, open_bus


class TestMemoryBus:
    async def test_delivers_to_subscribers_of_the_channel_only(self) -> None:
        bus = MemoryBus()
        events = await bus.subscribe("events")
        positions = await bus.subscribe("positions")
        await bus.publish("events", b"e1")
        assert await asyncio.wait_for(events.get(), 1) == ("events", b"e1")
        await bus.publish("positions", b"p1")
        assert await asyncio.wait_for(positions.get(), 1) == ("positions", b"p1")

    async def test_a_slow_subscriber_loses_the_oldest_not_the_newest(self) -> None:
        bus = MemoryBus()
        slow = await bus.subscribe("events", maxsize=2)
        for n in range(5):
            await bus.publish("events", str(n).encode())
        assert slow.dropped == 3
        assert [await slow.get() for _ in range(2)] == [("events", b"3"), ("events", b"4")]

    async def test_unsubscribed_queues_get_nothing(self) -> None:
        bus = MemoryBus()
        subscription = await bus.subscribe("events")
        await bus.unsubscribe(subscription)
        await bus.publish("events", b"x")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(subscription.get(), 0.05)

    def test_unknown_scheme_is_refused(self) -> None:
        with pytest.raises(ValueError, match="unsupported bus URL"):
            open_bus("kafka://broker")


@pytest.mark.redis
class TestRedisBus:
    async def test_a_message_crosses_between_two_buses(self) -> None:
        url = os.environ["HAULPOINT_TEST_REDIS_URL"]
        publisher, listener = open_bus(url), open_bus(url)
        await publisher.start()
        await listener.start()
        try:
            subscription = await listener.subscribe("events")
            await asyncio.wait_for(listener.connected.wait(), 5)  # type: ignore[attr-defined]
            await asyncio.sleep(0.1)
            await publisher.publish("events", b"hello")
            assert await asyncio.wait_for(subscription.get(), 5) == ("events", b"hello")
        finally:
            await publisher.close()
            await listener.close()
