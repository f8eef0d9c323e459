"""The Redis pub/sub bus: fan-out across API processes, reconnecting after a drop.

One pub/sub connection per process feeds every local subscriber. When it drops (Redis
restarts, the network blips, a proxy closes idle connections), the reader reconnects with
backoff and subscribes again to every channel someone here still listens on, including
channels subscribed to while Redis was away. A connection that goes silent without an error
is caught by periodic health-check pings. Messages published while the connection was down
are lost (the bus is at most once): clients catch up from the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.bus import DEFAULT_QUEUE_SIZE, LocalFanout, Subscription

log = logging.getLogger(__name__)

# Every process listens here so the pub/sub connection always has a subscription to read.
_LIFELINE = "haulpoint:lifeline"
_PREFIX = "haulpoint:"
_REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
_HEALTH_CHECK_S = 10


class RedisBus:
    """Publishes to Redis; one pub/sub connection per process feeds local subscribers."""

    def __init__(self, url: str, *, reconnect_max_s: float = 5.0) -> None:
        # A publish that finds its pooled connection dead reconnects and tries again.
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=5,
            socket_connect_timeout=5,
            socket_keepalive=True,
            health_check_interval=_HEALTH_CHECK_S,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=2),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
        )
        self._fanout = LocalFanout()
        self._reconnect_max_s = reconnect_max_s
        self._pubsub: redis.client.PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self.connected = asyncio.Event()
        self.reconnects = 0

    async def start(self) -> None:
        """Open the pub/sub connection and start reading."""
        self._reader = asyncio.create_task(self._read_forever(), name="redis-bus-reader")

    async def close(self) -> None:
        """Stop reading and close both connections."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._drop_pubsub()
        await self._client.aclose()

    async def publish(self, channel: str, payload: bytes) -> None:
        """Publish to every process; a Redis outage loses the message (clients catch up)."""
        try:
            await self._client.publish(_PREFIX + channel, payload)
        except (*_REDIS_ERRORS, RedisError):
            log.warning("bus publish failed on %s; subscribers will catch up", channel)

    async def subscribe(self, *channels: str, maxsize: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """Listen on channels, subscribing in Redis to those new to this process."""
        subscription = Subscription(frozenset(channels), maxsize)
        async with self._lock:
            new = self._fanout.add(subscription)
            if new and self._pubsub is not None and self.connected.is_set():
                # On failure the reader sees the broken connection and resubscribes everything.
                with contextlib.suppress(*_REDIS_ERRORS):
                    await self._pubsub.subscribe(*(_PREFIX + c for c in new))
        return subscription

    async def unsubscribe(self, subscription: Subscription) -> None:
        """Stop listening; unsubscribe in Redis from channels nobody here wants."""
        async with self._lock:
            gone = self._fanout.remove(subscription)
            if gone and self._pubsub is not None and self.connected.is_set():
                with contextlib.suppress(*_REDIS_ERRORS):
                    await self._pubsub.unsubscribe(*(_PREFIX + c for c in gone))

    async def _connect(self) -> redis.client.PubSub:
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        async with self._lock:
            channels = [_LIFELINE, *(_PREFIX + c for c in self._fanout.channels)]
            await pubsub.subscribe(*channels)
            self._pubsub = pubsub
        return pubsub

    async def _drop_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*_REDIS_ERRORS, RedisError):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read_forever(self) -> None:
        delay = 0.1
        while True:
            try:
                pubsub = await self._connect()
                self.connected.set()
                delay = 0.1
                log.info("bus connected to redis")
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "message":
                        continue
                    channel = message["channel"].decode()
                    if channel.startswith(_PREFIX):
                        self._fanout.deliver(channel[len(_PREFIX) :], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # Connection trouble is expected; anything else is logged loudly, and either
                # way the reader must survive or this process goes deaf.
                if isinstance(error, _REDIS_ERRORS):
                    log.warning("bus lost redis; reconnecting in %.1f s", delay)
                else:
                    log.exception("bus reader failed; reconnecting in %.1f s", delay)
                self.connected.clear()
                self.reconnects += 1
                await self._drop_pubsub()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._reconnect_max_s)
