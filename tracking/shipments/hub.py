"""Shipment streams: each party's live view of the shipments it is party to, or of one.

One hub per process listens on the bus for committed log entries (``events``) and for the
tracker's shipment positions (``shipment_positions``). A subscriber watches an
organization's shipments (all, or one) or, through a share link, one shipment. Entries of a
delivery go to the organizations in its audience and to that delivery's link viewers; so do
its positions.

Every event frame carries the shipment's sequence number, positions carry the latest one
at the time. A subscriber never queues without bound: positions are coalesced (the newest
per shipment waits while the client is busy), and events wait in a bounded queue; a client
too slow for that gets one ``resync`` frame instead and catches up over REST with
``?after=<seq>``, which is what a reconnecting client does anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter, deque
from typing import Any, Final

import orjson

from core.bus import Bus, Subscription
from core.clock import now
from core.eventlog import EVENTS_CHANNEL
from tracking.live.hub import TooManyConnections
from tracking.shipments.messages import (
    SHIPMENT_POSITIONS_CHANNEL,
    decode_shipment_positions,
    event_frame_body,
)

log = logging.getLogger(__name__)

_BUS_QUEUE: Final = 4096
_LINK: Final = "link"
_ORG: Final = "org"

GroupKey = tuple[str, str, str | None]
"""(``org`` or ``link``, organization id or "", shipment id or None for all of them)."""


class ShipmentSubscriber:
    """One connection's mailbox: a bounded queue of events, coalesced positions."""

    __slots__ = (
        "_closed",
        "_event",
        "_heartbeat",
        "cap_key",
        "events",
        "key",
        "max_events",
        "positions",
        "resync",
        "shared",
    )

    def __init__(self, key: GroupKey, *, cap_key: uuid.UUID, max_events: int) -> None:
        self.key = key
        self.cap_key = cap_key
        self.shared = key[0] == _LINK
        self.max_events = max_events
        self.events: deque[bytes] = deque()
        self.positions: dict[str, dict[str, Any]] = {}
        self.resync = False
        self._heartbeat = False
        self._closed = False
        self._event = asyncio.Event()

    def offer_event(self, frame: bytes) -> None:
        """Queue an event frame; past the bound, drop the queue and ask for a resync."""
        if self.resync:
            return
        if len(self.events) >= self.max_events:
            self.events.clear()
            self.resync = True
        else:
            self.events.append(frame)
        self._event.set()

    def offer_position(self, shipment_id: str, position: dict[str, Any]) -> None:
        """Keep the newest position of a shipment until the next frame goes out."""
        self.positions[shipment_id] = position
        self._event.set()

    def heartbeat(self) -> None:
        """Ask for a heartbeat if nothing else is waiting to be sent."""
        if not self.events and not self.positions and not self.resync:
            self._heartbeat = True
            self._event.set()

    def close(self) -> None:
        """Wake the sender so it can stop."""
        self._closed = True
        self._event.set()

    async def next_frame(self) -> bytes | None:
        """The next frame: events in order, then positions, else a heartbeat; None once closed."""
        while True:
            if self._closed:
                return None
            if self.resync:
                self.resync = False
                return orjson.dumps(
                    {
                        "type": "resync",
                        "detail": "events were dropped: catch up with GET "
                        "/v1/shipments/{id}/events?after=<last seq you hold>",
                    }
                )
            if self.events:
                return self.events.popleft()
            if self.positions:
                frame = orjson.dumps(
                    {"type": "positions", "positions": list(self.positions.values())}
                )
                self.positions = {}
                return frame
            if self._heartbeat:
                self._heartbeat = False
                return orjson.dumps({"type": "heartbeat", "at": now()})
            self._event.clear()
            await self._event.wait()


class ShipmentHub:
    """Routes committed log entries and shipment positions to this process's subscribers."""

    def __init__(
        self,
        bus: Bus,
        *,
        heartbeat_s: float = 15.0,
        connections_per_token: int = 5,
        max_events: int = 500,
    ) -> None:
        self._bus = bus
        self._heartbeat_s = heartbeat_s
        self._per_token = connections_per_token
        self._max_events = max_events
        self._groups: dict[GroupKey, set[ShipmentSubscriber]] = {}
        self._by_token: Counter[uuid.UUID] = Counter()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def subscribers(self) -> int:
        """How many shipment streams this process holds."""
        return sum(self._by_token.values())

    async def start(self) -> None:
        """Listen on the bus and start the heartbeat."""
        self._subscription = await self._bus.subscribe(
            EVENTS_CHANNEL, SHIPMENT_POSITIONS_CHANNEL, maxsize=_BUS_QUEUE
        )
        self._tasks = [
            asyncio.create_task(self._read(self._subscription), name="shipment-hub-reader"),
            asyncio.create_task(self._beat(), name="shipment-hub-heartbeat"),
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
            for subscriber in group:
                subscriber.close()
        self._groups.clear()
        self._by_token.clear()

    def open(
        self,
        *,
        organization_id: uuid.UUID | None,
        shipment_id: uuid.UUID | None,
        cap_key: uuid.UUID,
    ) -> ShipmentSubscriber:
        """A subscriber for an organization's shipments (all or one), or a link's one."""
        if organization_id is None and shipment_id is None:
            raise ValueError("a share link watches one shipment")
        if self._by_token[cap_key] >= self._per_token:
            raise TooManyConnections(
                f"this token already holds {self._per_token} live connections: close one first"
            )
        key: GroupKey = (
            (_LINK, "", str(shipment_id))
            if organization_id is None
            else (_ORG, str(organization_id), None if shipment_id is None else str(shipment_id))
        )
        subscriber = ShipmentSubscriber(key, cap_key=cap_key, max_events=self._max_events)
        self._by_token[cap_key] += 1
        self._groups.setdefault(key, set()).add(subscriber)
        return subscriber

    def release(self, subscriber: ShipmentSubscriber) -> None:
        """Forget a subscriber whose connection ended."""
        subscriber.close()
        group = self._groups.get(subscriber.key)
        if group is None or subscriber not in group:
            return
        group.discard(subscriber)
        if not group:
            del self._groups[subscriber.key]
        self._by_token[subscriber.cap_key] -= 1
        if self._by_token[subscriber.cap_key] <= 0:
            del self._by_token[subscriber.cap_key]

    def _watchers(self, shipment_id: str, audience: Any) -> list[set[ShipmentSubscriber]]:
        groups = self._groups
        found = []
        link = groups.get((_LINK, "", shipment_id))
        if link:
            found.append(link)
        if isinstance(audience, list | tuple):
            for organization_id in audience:
                for key in (
                    (_ORG, str(organization_id), None),
                    (_ORG, str(organization_id), shipment_id),
                ):
                    group = groups.get(key)
                    if group:
                        found.append(group)
        return found

    def deliver_event(self, payload: bytes) -> None:
        """Route one committed log entry (bus form) to the subscribers that may see it."""
        if b'"delivery:' not in payload or not self._groups:
            return
        event = orjson.loads(payload)
        subject = event.get("subject")
        if not isinstance(subject, str) or not subject.startswith("delivery:"):
            return
        shipment_id = subject.partition(":")[2]
        frames: dict[bool, bytes] = {}
        for group in self._watchers(shipment_id, event.get("audience")):
            for subscriber in group:
                frame = frames.get(subscriber.shared)
                if frame is None:
                    frame = frames[subscriber.shared] = orjson.dumps(
                        event_frame_body(event, shared=subscriber.shared)
                    )
                subscriber.offer_event(frame)

    def deliver_positions(self, payload: bytes) -> None:
        """Route one tracker pass's shipment positions."""
        if not self._groups:
            return
        for shipment_id, parties, seq, position in decode_shipment_positions(payload):
            public = {"shipment_id": shipment_id, "seq": seq, **position}
            for group in self._watchers(shipment_id, list(parties)):
                for subscriber in group:
                    subscriber.offer_position(shipment_id, public)

    async def _read(self, subscription: Subscription) -> None:
        async for channel, payload in subscription:
            try:
                if channel == SHIPMENT_POSITIONS_CHANNEL:
                    self.deliver_positions(payload)
                else:
                    self.deliver_event(payload)
            except Exception:
                log.exception("a shipment stream message could not be routed")

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            for group in self._groups.values():
                for subscriber in group:
                    subscriber.heartbeat()
