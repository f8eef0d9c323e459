"""Live positions for websocket and SSE subscribers, coalesced per subscriber per tick.

One hub per process listens on the bus's ``positions`` channel (fed by every process's group
commits). Subscribers are grouped by what they watch (an organization's devices, or one
device). A group sends at most one frame per tick: the first position after a quiet tick
goes out at once, later ones collect (newest per device) until the tick is over; each frame
is encoded once and offered to each of the group's subscribers. A subscriber that is still
sending its previous frame does not queue frames: it keeps the newest position per device
in a backlog and sends that as one frame when it is ready. Memory per subscriber is
therefore bounded by the number of devices it may see, whatever the consumer's speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

import orjson

from core.bus import Bus, Subscription
from core.clock import now
from core.errors import TooManyRequests
from tracking.live.messages import POSITIONS_CHANNEL, decode_positions

log = logging.getLogger(__name__)

_BUS_QUEUE: Final = 4096

GroupKey = tuple[str, str | None]
"""(organization id, device id or None for all of the organization's devices)."""


class TooManyConnections(TooManyRequests):
    """The token already holds as many live connections as it may."""

    default_code = "too_many_connections"


def positions_frame(positions: Iterable[dict[str, Any]]) -> bytes:
    """A frame of positions as the streams send it."""
    return orjson.dumps({"type": "positions", "positions": list(positions)})


class Subscriber:
    """One live connection's mailbox: at most one frame waiting, plus a coalesced backlog."""

    __slots__ = (
        "_closed",
        "_event",
        "_heartbeat",
        "backlog",
        "coalesced",
        "device_id",
        "key",
        "organization_id",
        "ready",
        "token_id",
    )

    def __init__(self, *, organization_id: str, device_id: str | None, token_id: uuid.UUID) -> None:
        self.organization_id = organization_id
        self.device_id = device_id
        self.token_id = token_id
        self.key: GroupKey = (organization_id, device_id)
        self.ready: bytes | None = None
        self.backlog: dict[str, dict[str, Any]] = {}
        self.coalesced = 0
        self._heartbeat = False
        self._closed = False
        self._event = asyncio.Event()

    def offer(self, frame: bytes, positions: dict[str, dict[str, Any]]) -> None:
        """Hand over a tick's frame, or fold its positions into the backlog if still busy."""
        if self.ready is None and not self.backlog:
            self.ready = frame
        else:
            self.coalesced += len(positions)
            self.backlog.update(positions)
        self._event.set()

    def heartbeat(self) -> None:
        """Ask for a heartbeat if nothing else is waiting to be sent."""
        if self.ready is None and not self.backlog:
            self._heartbeat = True
            self._event.set()

    def close(self) -> None:
        """Wake the sender so it can stop."""
        self._closed = True
        self._event.set()

    async def next_frame(self) -> bytes | None:
        """The next frame to send; a heartbeat frame when idle; None once closed."""
        while True:
            if self._closed:
                return None
            if self.ready is not None:
                frame, self.ready = self.ready, None
                return frame
            if self.backlog:
                frame = positions_frame(self.backlog.values())
                self.backlog = {}
                return frame
            if self._heartbeat:
                self._heartbeat = False
                return orjson.dumps({"type": "heartbeat", "at": now()})
            self._event.clear()
            await self._event.wait()


class _Group:
    __slots__ = ("pending", "sent_at", "subscribers")

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.pending: dict[str, dict[str, Any]] = {}
        self.sent_at = -math.inf


class LiveHub:
    """Routes committed positions from the bus to this process's live subscribers."""

    def __init__(
        self,
        bus: Bus,
        *,
        tick_s: float = 0.05,
        heartbeat_s: float = 15.0,
        connections_per_token: int = 5,
    ) -> None:
        self._bus = bus
        self._tick_s = tick_s
        self._heartbeat_s = heartbeat_s
        self._per_token = connections_per_token
        self._groups: dict[GroupKey, _Group] = {}
        self._by_token: Counter[uuid.UUID] = Counter()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.frames = 0

    @property
    def subscribers(self) -> int:
        """How many live connections this process holds."""
        return sum(self._by_token.values())

    async def start(self) -> None:
        """Listen on the bus and start ticking."""
        self._subscription = await self._bus.subscribe(POSITIONS_CHANNEL, maxsize=_BUS_QUEUE)
        self._tasks = [
            asyncio.create_task(self._read(self._subscription), name="live-hub-reader"),
            asyncio.create_task(self._tick(), name="live-hub-ticker"),
        ]

    async def close(self) -> None:
        """Stop listening and release every subscriber."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._subscription is not None:
            await self._bus.unsubscribe(self._subscription)
            self._subscription = None
        for group in self._groups.values():
            for subscriber in group.subscribers:
                subscriber.close()
        self._groups.clear()
        self._by_token.clear()

    def open(
        self, *, organization_id: uuid.UUID, device_id: uuid.UUID | None, token_id: uuid.UUID
    ) -> Subscriber:
        """A subscriber for an organization's devices (or one of them), within the token's cap."""
        if self._by_token[token_id] >= self._per_token:
            raise TooManyConnections(
                f"this token already holds {self._per_token} live connections: close one first"
            )
        subscriber = Subscriber(
            organization_id=str(organization_id),
            device_id=None if device_id is None else str(device_id),
            token_id=token_id,
        )
        self._by_token[token_id] += 1
        self._groups.setdefault(subscriber.key, _Group()).subscribers.add(subscriber)
        return subscriber

    def release(self, subscriber: Subscriber) -> None:
        """Forget a subscriber whose connection ended."""
        subscriber.close()
        group = self._groups.get(subscriber.key)
        if group is None or subscriber not in group.subscribers:
            return
        group.subscribers.discard(subscriber)
        if not group.subscribers:
            del self._groups[subscriber.key]
        self._by_token[subscriber.token_id] -= 1
        if self._by_token[subscriber.token_id] <= 0:
            del self._by_token[subscriber.token_id]

    def deliver(self, items: Iterable[tuple[str, dict[str, Any]]], *, at: float) -> None:
        """Hand positions to each group that watches them.

        A group that sent nothing for a tick sends at once (a quiet fleet's first move is not
        held back); otherwise the positions wait, coalesced, for the group's next tick.
        """
        groups = self._groups
        touched: list[_Group] = []
        for organization_id, position in items:
            device_id = position.get("device_id")
            if not isinstance(device_id, str):
                continue
            for key in ((organization_id, None), (organization_id, device_id)):
                group = groups.get(key)
                if group is not None:
                    group.pending[device_id] = position
                    touched.append(group)
        for group in touched:
            if group.pending and at - group.sent_at >= self._tick_s:
                self._send(group, at)

    def flush(self, *, at: float) -> None:
        """Send each group's pending positions whose tick has come."""
        for group in self._groups.values():
            if group.pending and at - group.sent_at >= self._tick_s:
                self._send(group, at)

    def _send(self, group: _Group, at: float) -> None:
        pending, group.pending = group.pending, {}
        group.sent_at = at
        frame = positions_frame(pending.values())
        self.frames += 1
        for subscriber in group.subscribers:
            subscriber.offer(frame, pending)

    async def _read(self, subscription: Subscription) -> None:
        loop = asyncio.get_running_loop()
        async for _channel, payload in subscription:
            try:
                self.deliver(decode_positions(payload), at=loop.time())
            except Exception:
                log.exception("a live positions message could not be routed")

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        next_heartbeat = loop.time() + self._heartbeat_s
        while True:
            # Half-tick steps: a coalesced position waits at most a tick and a half.
            await asyncio.sleep(self._tick_s / 2)
            self.flush(at=loop.time())
            if loop.time() >= next_heartbeat:
                next_heartbeat = loop.time() + self._heartbeat_s
                for group in self._groups.values():
                    for subscriber in group.subscribers:
                        subscriber.heartbeat()
