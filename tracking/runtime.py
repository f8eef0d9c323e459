"""What tracking keeps for a process's lifetime: the device cache, writer, ingestor, live hub."""

from __future__ import annotations

from dataclasses import dataclass

from core.bus import Bus
from core.database import Database
from core.settings import TrackingSettings
from tracking.devices.identity import DeviceCache
from tracking.ingest import Ingestor
from tracking.live.hub import LiveHub
from tracking.live.messages import POSITIONS_CHANNEL, encode_positions
from tracking.positions.writer import Committed, PositionWriter


@dataclass
class TrackingRuntime:
    """The long-lived parts of tracking in one process."""

    settings: TrackingSettings
    devices: DeviceCache
    writer: PositionWriter
    ingestor: Ingestor
    hub: LiveHub

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
        )
        return cls(
            settings=settings,
            devices=DeviceCache(ttl_s=settings.device_cache_s),
            writer=writer,
            ingestor=Ingestor(writer),
            hub=LiveHub(
                bus,
                tick_s=settings.live_tick_ms / 1000,
                heartbeat_s=settings.live_heartbeat_s,
                connections_per_token=settings.live_connections_per_token,
            ),
        )

    async def start(self) -> None:
        """Start the writer and the hub."""
        await self.writer.start()
        await self.hub.start()

    async def close(self) -> None:
        """Commit what is waiting and stop."""
        await self.hub.close()
        await self.writer.close()
