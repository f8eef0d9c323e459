"""Group commit: the pings of many concurrent requests go into one transaction.

A commit per request caps ingest at the database's commit rate. Instead each process runs one
writer: a request hands its rows over and waits; the writer gathers what arrived during a
short linger (or until ``max_rows``), inserts it all with one statement, moves each device's
newest fix forward, commits, and only then resolves every waiting request. A failed commit
fails every request in it, so no ping is acknowledged that was not stored. While a commit is
in flight the next batch gathers, so batches grow by themselves under load; with
``in_flight`` above one, that next batch may start its own commit on its own connection
instead of waiting (each commit locks newest fixes in device order, so two cannot
deadlock).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from core.clock import now
from core.database import Database
from core.errors import Unavailable
from tracking.devices.identity import DeviceIdentity
from tracking.pings import PingFlag
from tracking.positions.codec import Row
from tracking.positions.stores import PositionStore, store_for

log = logging.getLogger(__name__)

# A fix with these flags is stored but never becomes the device's newest known position.
_NOT_A_LATEST: int = int(PingFlag.IMPLAUSIBLE_JUMP | PingFlag.INVALID_FIX | PingFlag.MOCK)

Committed = list[tuple[DeviceIdentity, Row]]
"""Each device whose newest fix moved in a commit, with that fix."""


@dataclass(slots=True)
class _Waiting:
    device: DeviceIdentity
    rows: Sequence[Row]
    done: asyncio.Future[None]


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since start, for benchmarks and health pages."""

    commits: int
    rows: int
    requests: int
    failures: int


class PositionWriter:
    """One per process: commits the rows of concurrent requests together, then answers them."""

    def __init__(
        self,
        database: Database,
        *,
        linger_s: float = 0.002,
        max_rows: int = 5000,
        max_pending_rows: int = 200_000,
        on_commit: Callable[[Committed], Awaitable[None]] | None = None,
        store: PositionStore | None = None,
        in_flight: int = 1,
    ) -> None:
        # Each commit in flight has its own store (its own connection on PostgreSQL), so the
        # database works on one batch while the next is written.
        self._stores = (
            [store]
            if store is not None
            else [store_for(database) for _ in range(max(1, in_flight))]
        )
        self._linger_s = linger_s
        self._max_rows = max_rows
        self._max_pending_rows = max_pending_rows
        self._on_commit = on_commit
        self._queue: deque[_Waiting] = deque()
        self._pending_rows = 0
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._commits = self._rows = self._requests = self._failures = 0

    @property
    def stats(self) -> WriterStats:
        """How much was committed so far."""
        return WriterStats(self._commits, self._rows, self._requests, self._failures)

    async def start(self) -> None:
        """Start the writer tasks."""
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._run(store), name=f"position-writer-{n}")
                for n, store in enumerate(self._stores)
            ]

    async def close(self) -> None:
        """Commit what is waiting, then stop."""
        if not self._tasks:
            return
        while self._queue:
            await self._flush(self._stores[0])
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for store in self._stores:
            await store.close()

    async def write(self, device: DeviceIdentity, rows: Sequence[Row]) -> None:
        """Store a request's rows; returns once they are committed, raises if they are not."""
        if not rows:
            return
        if not self._tasks:
            raise Unavailable("position storage is not running", code="ingest_stopped")
        if self._pending_rows + len(rows) > self._max_pending_rows:
            raise Unavailable("too many positions waiting to be stored", code="ingest_busy")
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(device, rows, done))
        self._pending_rows += len(rows)
        self._wake.set()
        await done

    async def _run(self, store: PositionStore) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            if self._linger_s > 0 and self._pending_rows < self._max_rows:
                await asyncio.sleep(self._linger_s)
            await self._flush(store)

    async def _flush(self, store: PositionStore) -> None:
        batch: list[_Waiting] = []
        count = 0
        while self._queue and count < self._max_rows:
            waiting = self._queue.popleft()
            batch.append(waiting)
            count += len(waiting.rows)
        self._pending_rows -= count
        if not batch:
            return
        newest: dict[int, Row] = {}
        devices: dict[int, DeviceIdentity] = {}
        rows: list[Row] = []
        for waiting in batch:
            rows.extend(waiting.rows)
            devices[waiting.device.number] = waiting.device
            for row in waiting.rows:
                if row[9] & _NOT_A_LATEST:
                    continue
                best = newest.get(row[1])
                if best is None or row[0] > best[0]:
                    newest[row[1]] = row

        try:
            moved = await store.store(rows, list(newest.values()), received_at=now())
        except Exception as error:
            self._failures += 1
            log.warning("group commit of %d positions failed: %s", count, type(error).__name__)
            for waiting in batch:
                if not waiting.done.done():
                    waiting.done.set_exception(error)
            return
        self._commits += 1
        self._rows += count
        self._requests += len(batch)
        for waiting in batch:
            if not waiting.done.done():
                waiting.done.set_result(None)
        if self._on_commit is not None and moved:
            try:
                await self._on_commit([(devices[n], newest[n]) for n in sorted(moved)])
            except Exception:
                log.exception("publishing committed positions failed")
