"""Test fixtures: a real database (SQLite by default, PostgreSQL by URL), migrated once and
emptied between tests, the app on an in-process bus, and helpers that sign up organizations.

Set HAULPOINT_TEST_DATABASE_URL=postgresql://… to run the suite on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

import accounts.credentials
from api.app import create_app
from core.bus import MemoryBus
from core.clock import FrozenClock, use_clock
from core.database import Database, normalize_url
from core.settings import DatabaseSettings, Environment, SecuritySettings, Settings
from core.signing import KeyRing, generate_private_key
from migrations import upgrade
from migrations.metadata import metadata
from tests.dbadmin import guards_lifted

# Cheap hashing keeps the suite fast; production uses argon2-cffi's defaults.
accounts.credentials._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get("HAULPOINT_TEST_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only and Redis tests unless their services were configured."""
    on_postgres = os.environ.get("HAULPOINT_TEST_DATABASE_URL", "").startswith("postgres")
    redis_url = os.environ.get("HAULPOINT_TEST_REDIS_URL")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(
                pytest.mark.skip(reason="needs HAULPOINT_TEST_DATABASE_URL=postgresql://…")
            )
        if "redis" in item.keywords and not redis_url:
            item.add_marker(pytest.mark.skip(reason="needs HAULPOINT_TEST_REDIS_URL=redis://…"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The test database's URL."""
    return _database_url(tmp_path_factory)


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    """The test database, reset and migrated to head once per run."""
    url = normalize_url(database_url)
    if url.get_backend_name() == "postgresql":
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        await engine.dispose()
    else:
        Path(url.database or "").unlink(missing_ok=True)  # noqa: ASYNC240 - once, at start
    db = Database(
        database_url,
        DatabaseSettings(pool_size=20, max_overflow=120),
        key_ring=KeyRing(active=generate_private_key()),
    )
    await upgrade(db.engine)
    yield db
    await db.dispose()


@pytest.fixture(autouse=True)
async def _empty_tables(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Every test starts from empty tables (only when it uses the database)."""
    yield
    if "database" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("database")
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with db.engine.begin() as connection, guards_lifted(connection):
        if db.is_sqlite:
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608
        else:
            quoted = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a test app."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0),
    )


@pytest.fixture
def bus() -> MemoryBus:
    """The in-process bus."""
    return MemoryBus()


@pytest.fixture
async def app(settings: Settings, database: Database, bus: MemoryBus) -> AsyncIterator[Any]:
    """The app with its lifespan running."""
    application = create_app(settings, database=database, bus=bus)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://haulpoint.test") as http:
        yield http


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    """A frozen clock at a fixed moment, moved by the test."""
    with use_clock(FrozenClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))) as frozen:
        assert isinstance(frozen, FrozenClock)
        yield frozen
