"""What tracking keeps for a process's lifetime: the device cache, writer, ingestor, live hub."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

import orjson

from core.bus import Bus, Subscription
from core.database import Database
from core.eventlog import EVENTS_CHANNEL
from core.settings import TrackingSettings
from tracking.devices.identity import DeviceCache
from tracking.devices.lookup import DeviceLookup
from tracking.ingest import Ingestor
from tracking.live.hub import LiveHub
from tracking.live.messages import POSITIONS_CHANNEL, encode_positions
from tracking.positions.writer import Committed, PositionWriter
from tracking.shipments.hub import ShipmentHub
from tracking.shipments.tracker import ShipmentTracker

log = logging.getLogger(__name__)

_CREDENTIAL_CHANGES = frozenset({"device.revoked", "device.rotated"})


@dataclass
class TrackingRuntime:
    """The long-lived parts of tracking in one process.

    Every process evicts a device from its credential cache when the bus says the device was
    revoked or its secrets rotated, so revocation reaches all processes at once; the cache
    time is only the backstop for a message the bus lost. Likewise the shipment tracker
    forgets which delivery a device feeds when a delivery event names that delivery, its
    driver or its vehicle.
    """

    settings: TrackingSettings
    bus: Bus
    devices: DeviceCache
    writer: PositionWriter
    ingestor: Ingestor
    hub: LiveHub
    tracker: ShipmentTracker
    shipments: ShipmentHub
    lookup: DeviceLookup | None = None
    """Batched credential lookups on PostgreSQL; None on SQLite, where a session is cheap."""
    _listener: asyncio.Task[None] | None = field(default=None, repr=False)
    _events: Subscription | None = field(default=None, repr=False)

    @classmethod
    def build(cls, *, database: Database, bus: Bus, settings: TrackingSettings) -> TrackingRuntime:
        """Wire the writer's commits to the bus and the bus to the live hub."""

        async def publish(committed: Committed) -> None:
            await bus.publish(POSITIONS_CHANNEL, encode_positions(committed))

        writer = PositionWriter(
            database,
            linger_s=settings.group_commit_linger_ms / 1000,
            max_rows=settings.group_commit_max_rows,
            max_pending_rows=settings.max_pending_rows,
            on_commit=publish,
            in_flight=settings.group_commits_in_flight if database.dialect == "postgresql" else 1,
        )
        lookup = None
        if database.dialect == "postgresql":
            lookup = DeviceLookup(
                database.url.set(drivername="postgresql").render_as_string(hide_password=False)
            )
        tracker = ShipmentTracker(database, bus)
        return cls(
            lookup=lookup,
            tracker=tracker,
            shipments=ShipmentHub(
                bus,
                heartbeat_s=settings.live_heartbeat_s,
                connections_per_token=settings.live_connections_per_token,
            ),
            settings=settings,
            bus=bus,
            devices=DeviceCache(ttl_s=settings.device_cache_s),
            writer=writer,
            ingestor=Ingestor(writer, observer=tracker.observe),
            hub=LiveHub(
                bus,
                tick_s=settings.live_tick_ms / 1000,
                heartbeat_s=settings.live_heartbeat_s,
                connections_per_token=settings.live_connections_per_token,
            ),
        )

    async def start(self) -> None:
        """Start the writer, the hub and the credential-change listener."""
        await self.writer.start()
        await self.hub.start()
        await self.shipments.start()
        await self.tracker.start()
        if self.lookup is not None:
            await self.lookup.start()
        self._events = await self.bus.subscribe(EVENTS_CHANNEL)
        self._listener = asyncio.create_task(
            self._evict_changed_devices(self._events), name="device-cache-evictions"
        )

    async def close(self) -> None:
        """Commit what is waiting and stop."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._events is not None:
            await self.bus.unsubscribe(self._events)
        await self.hub.close()
        await self.shipments.close()
        await self.writer.close()
        await self.tracker.close()
        if self.lookup is not None:
            await self.lookup.close()

    async def _evict_changed_devices(self, events: Subscription) -> None:
        async for _channel, payload in events:
            # Most events are not about devices or deliveries: look before parsing the entry.
            if b'"device.' not in payload and b'"delivery.' not in payload:
                continue
            try:
                event = orjson.loads(payload)
                kind = event.get("kind")
                if kind in _CREDENTIAL_CHANGES:
                    self.devices.evict_device(uuid.UUID(event["payload"]["device_id"]))
                elif isinstance(kind, str) and kind.startswith("delivery."):
                    self.tracker.resolver.evict(event["payload"])
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                log.warning("an unreadable event on the bus was skipped")
