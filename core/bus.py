"""The bus that carries committed events between components and processes.

Delivery is at most once: a subscriber that falls behind loses the oldest messages and catches
up from the event log by sequence number. ``memory://`` serves one process; ``redis://`` many.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1024


class Subscription:
    """A bounded queue of ``(channel, payload)``; when full, the oldest message is dropped."""

    def __init__(self, channels: frozenset[str], maxsize: int = DEFAULT_QUEUE_SIZE) -> None:
        self.channels = channels
        self.dropped = 0
        self._queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(maxsize)

    def deliver(self, channel: str, payload: bytes) -> None:
        """Queue a message without waiting, dropping the oldest if the subscriber is behind."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait((channel, payload))

    async def get(self) -> tuple[str, bytes]:
        """The next message."""
        return await self._queue.get()

    def __aiter__(self) -> AsyncIterator[tuple[str, bytes]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[tuple[str, bytes]]:
        while True:
            yield await self._queue.get()


class Bus(Protocol):
    """Publish after commit; subscribe to channels."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def subscribe(self, *channels: str, maxsize: int = ...) -> Subscription: ...

    async def unsubscribe(self, subscription: Subscription) -> None: ...


class LocalFanout:
    """Routes messages to this process's subscriptions by channel."""

    def __init__(self) -> None:
        self._by_channel: defaultdict[str, set[Subscription]] = defaultdict(set)

    def add(self, subscription: Subscription) -> set[str]:
        """Register a subscription; returns the channels nobody here listened to before."""
        new = {c for c in subscription.channels if not self._by_channel.get(c)}
        for channel in subscription.channels:
            self._by_channel[channel].add(subscription)
        return new

    def remove(self, subscription: Subscription) -> set[str]:
        """Unregister; returns the channels nobody here listens to any more."""
        gone: set[str] = set()
        for channel in subscription.channels:
            listeners = self._by_channel.get(channel)
            if listeners is None:
                continue
            listeners.discard(subscription)
            if not listeners:
                del self._by_channel[channel]
                gone.add(channel)
        return gone

    def deliver(self, channel: str, payload: bytes) -> None:
        """Hand a message to every local subscriber of its channel."""
        for subscription in self._by_channel.get(channel, ()):
            subscription.deliver(channel, payload)

    @property
    def channels(self) -> set[str]:
        """Channels with at least one local subscriber."""
        return set(self._by_channel)


class MemoryBus:
    """The in-process bus: publish delivers straight to local subscribers."""

    def __init__(self) -> None:
        self._fanout = LocalFanout()

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to disconnect."""

    async def publish(self, channel: str, payload: bytes) -> None:
        """Deliver to this process's subscribers."""
        self._fanout.deliver(channel, payload)

    async def subscribe(self, *channels: str, maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """Listen on channels."""
        subscription = Subscription(frozenset(channels), maxsize)
        self._fanout.add(subscription)
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop listening."""
        self._fanout.remove(subscription)


def open_bus(url: str) -> Bus:
    """The bus for a URL: ``memory://`` or ``redis://host:port/db``."""
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from core.redis_bus import RedisBus

        return RedisBus(url)
    raise ValueError(f"unsupported bus URL {url!r}: use memory:// or redis://")
