"""The shipment tracker: takes committed pings off the ingest path and works them through.

Ingest hands every stored batch to :meth:`ShipmentTracker.observe`, which only queues it (a
deque append). A background task drains the queue: it maps devices to their active
deliveries (:mod:`tracking.shipments.resolver`, cached; a device with no delivery costs a
dictionary lookup), publishes each shipment's newest position on the bus for the shipment
streams, and applies the pings to the delivery's detectors in one transaction per delivery
(:mod:`tracking.shipments.watching`), whose events the database publishes after commit.
The queue is bounded: when the tracker falls behind, the oldest batches are dropped and
counted (their positions are stored regardless; only their detector input is lost).

Each process tracks the pings it received; the detector state is in the database, so a
truck's pings may arrive at any process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from core.bus import Bus
from core.clock import now
from core.database import Database
from tracking.devices.identity import DeviceIdentity
from tracking.live.messages import position_public
from tracking.pings import EVENT_BLOCKING_FLAGS
from tracking.positions.codec import Row
from tracking.shipments import repository
from tracking.shipments.hooks import ShipmentHooks
from tracking.shipments.messages import SHIPMENT_POSITIONS_CHANNEL, encode_shipment_positions
from tracking.shipments.policy import DEFAULT_SHIPMENT_POLICY, ShipmentPolicy
from tracking.shipments.resolver import ActiveDelivery, DeliveryResolver
from tracking.shipments.watching import apply_pings, sweep_silent

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrackerStats:
    """Counters since start."""

    batches: int
    dropped: int
    applied: int
    failures: int
    lookups: int


class ShipmentTracker:
    """One per process: pings in, shipment positions and events out."""

    def __init__(
        self,
        database: Database,
        bus: Bus,
        *,
        policy: ShipmentPolicy = DEFAULT_SHIPMENT_POLICY,
        hooks: ShipmentHooks | None = None,
        sweep: bool = True,
    ) -> None:
        self.database = database
        self.bus = bus
        self.policy = policy
        self.hooks = hooks or ShipmentHooks()
        self.resolver = DeliveryResolver(ttl_s=policy.resolve_ttl_s)
        self._sweep = sweep
        self._pending: deque[tuple[int, uuid.UUID, Sequence[Row]]] = deque()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._batches = self._dropped = self._applied = self._failures = 0

    @property
    def stats(self) -> TrackerStats:
        """How much was tracked so far."""
        return TrackerStats(
            self._batches, self._dropped, self._applied, self._failures, self.resolver.lookups
        )

    def observe(self, device: DeviceIdentity, rows: Sequence[Row]) -> None:
        """Queue a device's committed rows; never waits."""
        if not rows:
            return
        if len(self._pending) >= self.policy.max_pending:
            self._pending.popleft()
            self._dropped += 1
        self._pending.append((device.number, device.id, rows))
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        """Start draining (and sweeping for silent trucks)."""
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._run(), name="shipment-tracker"))
        if self._sweep:
            self._tasks.append(asyncio.create_task(self._sweep_forever(), name="shipment-sweep"))

    async def close(self) -> None:
        """Stop; what is still queued is dropped."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def drain(self) -> None:
        """Wait until everything queued so far was worked through."""
        await self._idle.wait()

    async def sweep(self) -> list[uuid.UUID]:
        """Raise silence alerts now; returns the deliveries alerted."""

        async def work(session: AsyncSession) -> list[uuid.UUID]:
            return await sweep_silent(session, at=now(), policy=self.policy)

        return await self.database.run(work, bus=self.bus)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.policy.sweep_every_s)
            try:
                await self.sweep()
            except Exception:
                log.exception("the silence sweep failed")

    async def _run(self) -> None:
        while True:
            if not self._pending:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                # Let a burst gather: one pass over many requests' pings costs far less than
                # a pass per request, and positions still reach streams within a tick.
                await asyncio.sleep(self.policy.linger_s)
                continue
            batch = list(self._pending)
            self._pending.clear()
            self._batches += 1
            try:
                await self._process(batch)
            except Exception:
                self._failures += 1
                log.exception("tracking %d ping batches failed", len(batch))

    async def _process(self, batch: list[tuple[int, uuid.UUID, Sequence[Row]]]) -> None:
        device_of = {number: device_id for number, device_id, _ in batch}
        resolver = self.resolver
        active: dict[int, ActiveDelivery] = {}
        missing: list[int] = []
        for number in device_of:
            known, found = resolver.cached(number)
            if not known:
                missing.append(number)
            elif found is not None:
                active[number] = found
        if missing:
            async with self.database.session() as session:
                resolved = await resolver.resolve(session, missing, today=now().date())
            active.update({n: found for n, found in resolved.items() if found is not None})
        if not active:
            return
        rows_of: dict[int, list[Row]] = {}
        for number, _, rows in batch:
            if number in active:
                rows_of.setdefault(number, []).extend(rows)
        published: list[tuple[str, tuple[str, ...], int, dict[str, object]]] = []
        for number, delivery in active.items():
            rows = rows_of[number]
            try:
                seq, newest = await self._apply(delivery, number, rows)
            except Exception:
                self._failures += 1
                log.exception("tracking delivery %s failed", delivery.delivery_id)
                continue
            if newest is not None:
                published.append(
                    (
                        str(delivery.delivery_id),
                        delivery.parties,
                        seq,
                        position_public(device_of[number], newest),
                    )
                )
        if published:
            await self.bus.publish(SHIPMENT_POSITIONS_CHANNEL, encode_shipment_positions(published))

    async def _apply(
        self, delivery: ActiveDelivery, number: int, rows: list[Row]
    ) -> tuple[int, Row | None]:
        async def work(session: AsyncSession) -> tuple[int, Row | None, bool]:
            applied = await apply_pings(
                session,
                delivery_id=delivery.delivery_id,
                device_no=number,
                rows=rows,
                policy=self.policy,
                hooks=self.hooks,
                at=now(),
            )
            seqs = await repository.last_seqs(session, [delivery.delivery_id])
            if applied is None:
                return seqs.get(delivery.delivery_id, 0), None, False
            return seqs.get(delivery.delivery_id, 0), applied.newest, True

        seq, newest, tracked = await self.database.run(work, bus=self.bus)
        if not tracked:
            # The delivery moved on (delivered, cancelled): ask again next time.
            self.resolver.evict({"delivery_id": str(delivery.delivery_id)})
            return seq, None
        self._applied += 1
        if newest is not None and newest[9] & EVENT_BLOCKING_FLAGS:
            newest = None
        return seq, newest
