"""The engine and sessions, and everything that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel.ext.asyncio.session import AsyncSession

from core.bus import Bus
from core.errors import Unavailable
from core.outbox import pending_messages
from core.settings import DatabaseSettings
from core.signing import KeyRing, SigningKeyError

log = logging.getLogger(__name__)

T = TypeVar("T")

_WRITER = "haulpoint_writer"
_KEY_RING = "haulpoint_key_ring"


def normalize_url(url: str) -> URL:
    """Pick the async driver for a plain ``sqlite://`` or ``postgresql://`` URL."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def is_lock_error(error: BaseException) -> bool:
    """True for SQLite's "database is locked" and PostgreSQL's lock timeouts and deadlocks."""
    if not isinstance(error, OperationalError | DBAPIError):
        return False
    text = str(error.orig).lower()
    return "locked" in text or "deadlock" in text or "lock timeout" in text


def key_ring_of(session: AsyncSession | Session) -> KeyRing:
    """The platform key ring the session's database hands its sessions (it signs log entries)."""
    ring = session.info.get(_KEY_RING)
    if not isinstance(ring, KeyRing):
        raise SigningKeyError("this session has no key ring: open it from a Database given one")
    return ring


class Database:
    """One engine with read and write sessions; SQLite writers begin IMMEDIATE.

    ``key_ring`` (set once at startup) is handed to every session it opens, so the event log
    signs entries without a process-wide global.
    """

    def __init__(
        self,
        url: str,
        settings: DatabaseSettings | None = None,
        *,
        key_ring: KeyRing | None = None,
    ) -> None:
        self.settings = settings or DatabaseSettings()
        self.key_ring = key_ring
        self.url = normalize_url(url)
        self.dialect = self.url.get_backend_name()
        self.engine = self._create_engine()
        self._writer = self.engine.execution_options(**{_WRITER: True})
        self._reads = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._writes = async_sessionmaker(self._writer, class_=AsyncSession, expire_on_commit=False)
        # SQLite has one writer at a time. Queue this process's writers here, in order, rather
        # than in SQLite's busy handler, which sleeps and polls (up to 100 ms a try) and so
        # starves a busy process; other processes still meet at BEGIN IMMEDIATE.
        self._sqlite_writers = asyncio.Lock() if self.dialect == "sqlite" else None

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite database."""
        return self.dialect == "sqlite"

    def _create_engine(self) -> AsyncEngine:
        if self.dialect == "sqlite":
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_async_engine(self.url, echo=self.settings.echo)
            _configure_sqlite(engine, busy_timeout_ms=self.settings.sqlite_busy_timeout_ms)
            return engine
        return create_async_engine(
            self.url,
            echo=self.settings.echo,
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.max_overflow,
            pool_pre_ping=True,
            isolation_level="READ COMMITTED",
        )

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A session; a write session holds SQLite's write lock from its first statement."""
        if write and self._sqlite_writers is not None:
            async with self._sqlite_writer_turn(), self._writes() as session:
                self._hand_key_ring(session)
                await self._begin_with_retry(session)
                yield session
            return
        factory = self._writes if write else self._reads
        async with factory() as session:
            self._hand_key_ring(session)
            yield session

    def _hand_key_ring(self, session: AsyncSession) -> None:
        if self.key_ring is not None:
            session.info[_KEY_RING] = self.key_ring

    @asynccontextmanager
    async def _sqlite_writer_turn(self) -> AsyncIterator[None]:
        assert self._sqlite_writers is not None
        wait_s = max(self.settings.sqlite_busy_timeout_ms / 1000, 0.001)
        try:
            await asyncio.wait_for(self._sqlite_writers.acquire(), wait_s)
        except TimeoutError as error:
            raise Unavailable("the database is busy", code="database_busy") from error
        try:
            yield
        finally:
            self._sqlite_writers.release()

    async def _begin_with_retry(self, session: AsyncSession) -> None:
        # BEGIN IMMEDIATE waits busy_timeout for the lock; past that, back off and retry a few
        # times before telling the client to come back later.
        for attempt in range(self.settings.lock_retries + 1):
            try:
                await session.connection()
                return
            except OperationalError as error:
                await session.rollback()
                if not is_lock_error(error) or attempt == self.settings.lock_retries:
                    raise Unavailable("the database is busy", code="database_busy") from error
                await asyncio.sleep(0.05 * 2**attempt)

    @asynccontextmanager
    async def transaction(self, bus: Bus | None = None) -> AsyncIterator[AsyncSession]:
        """A write session committed at the end of the block, its events published after."""
        async with self.session(write=True) as session:
            yield session
            await commit(session, bus)

    async def run(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, bus: Bus | None = None
    ) -> T:
        """Run ``work`` in a transaction, retrying the whole of it on a lock error."""
        for attempt in range(self.settings.lock_retries + 1):
            try:
                async with self.transaction(bus) as session:
                    return await work(session)
            except (OperationalError, DBAPIError) as error:
                if not is_lock_error(error) or attempt == self.settings.lock_retries:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    async def ping(self) -> None:
        """Raise if the database cannot answer a trivial query."""
        async with self.engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def commit(session: AsyncSession, bus: Bus | None) -> None:
    """Commit, then hand the transaction's messages to the bus (never before the commit)."""
    messages = pending_messages(session)
    await session.commit()
    if bus is not None:
        for channel, payload in messages:
            await bus.publish(channel, payload)


def _configure_sqlite(engine: AsyncEngine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Take BEGIN away from the driver so SQLAlchemy emits it (below), IMMEDIATE for writers.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # FULL: an acknowledged commit survives power loss, not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writer = connection.get_execution_options().get(_WRITER, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
