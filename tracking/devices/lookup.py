"""Device credential lookups on PostgreSQL, batched on a dedicated connection.

A credential the process has not seen lately costs a database lookup. Through the shared
pool that took four round trips (liveness ping, BEGIN, the query, the rollback) and about a
millisecond of CPU here, and a fleet of phones arriving at once (a restart, a new process
behind the load balancer) makes thousands of them. This holds one autocommit connection and
answers every miss waiting at the same moment with one ``= ANY(...)`` query.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Final, Literal

from tracking.devices.identity import DeviceIdentity

log = logging.getLogger(__name__)

Column = Literal["token_hash", "tracker_hash"]

_QUERIES: Final[dict[Column, str]] = {
    column: (
        f"SELECT {column}, id, number, organization_id FROM devices "  # noqa: S608 - fixed names
        f"WHERE revoked_at IS NULL AND {column} = ANY(%s)"
    )
    for column in ("token_hash", "tracker_hash")
}
_MAX_KEYS: Final = 500


class DeviceLookup:
    """Looks credential hashes up in batches; one instance per process."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: Any = None
        self._pending: dict[Column, dict[str, asyncio.Future[DeviceIdentity | None]]] = {
            "token_hash": {},
            "tracker_hash": {},
        }
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start answering lookups."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="device-lookups")

    async def close(self) -> None:
        """Stop and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for waiting in self._pending.values():
            for future in waiting.values():
                if not future.done():
                    future.cancel()
            waiting.clear()
        await self._disconnect()

    async def find(self, column: Column, digest: str) -> DeviceIdentity | None:
        """The active device whose ``column`` is ``digest``, or None."""
        waiting = self._pending[column]
        future = waiting.get(digest)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            waiting[digest] = future
            self._wake.set()
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            for column, waiting in self._pending.items():
                while waiting:
                    batch = dict(list(waiting.items())[:_MAX_KEYS])
                    for digest in batch:
                        del waiting[digest]
                    await self._answer(column, batch)

    async def _answer(
        self, column: Column, batch: dict[str, asyncio.Future[DeviceIdentity | None]]
    ) -> None:
        import psycopg

        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
            cursor = await self._connection.execute(_QUERIES[column], (list(batch),))
            found = {
                row[0]: DeviceIdentity(id=row[1], number=row[2], organization_id=row[3])
                for row in await cursor.fetchall()
            }
        except Exception as error:
            if isinstance(error, psycopg.OperationalError):
                await self._disconnect()
            for future in batch.values():
                if not future.done():
                    future.set_exception(error)
            return
        for digest, future in batch.items():
            if not future.done():
                future.set_result(found.get(digest))

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            with contextlib.suppress(Exception):
                await connection.close()
