"""The database layer: UTC round trips, optimistic locking, serialized SQLite writers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.orm.exc import StaleDataError

from accounts.enums import OrgKind
from accounts.models import Organization
from core.database import Database, normalize_url


class TestUrls:
    def test_plain_urls_get_async_drivers(self) -> None:
        assert normalize_url("sqlite:///x.db").drivername == "sqlite+aiosqlite"
        assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


class TestTimes:
    async def test_datetimes_come_back_aware_and_utc(self, database: Database) -> None:
        moment = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
        async with database.transaction() as session:
            organization = Organization(name="Tz Co", kinds=[OrgKind.BUYER], created_at=moment)
            session.add(organization)
        async with database.session() as session:
            stored = await session.get(Organization, organization.id)
        assert stored is not None
        assert stored.created_at.tzinfo is UTC
        assert stored.created_at == moment

    async def test_naive_datetimes_are_refused(self, database: Database) -> None:
        async with database.session(write=True) as session:
            session.add(Organization(name="Naive", kinds=[], created_at=datetime(2026, 1, 1)))
            with pytest.raises(Exception, match="naive datetime"):
                await session.flush()


class TestOptimisticLocking:
    async def test_a_stale_write_raises(self, database: Database) -> None:
        async with database.transaction() as session:
            organization = Organization(name="Versioned", kinds=[OrgKind.CARRIER])
            session.add(organization)
        async with database.session() as first_reader:
            first = await first_reader.get(Organization, organization.id)
        async with database.transaction() as session:
            current = await session.get(Organization, organization.id)
            assert current is not None
            current.name = "Changed"
        assert first is not None
        async with database.session(write=True) as session:
            stale = await session.merge(first, load=False)
            stale.name = "Lost update"
            with pytest.raises(StaleDataError):
                await session.flush()


class TestConcurrentWriters:
    async def test_many_writers_all_commit(self, database: Database) -> None:
        async def write(n: int) -> None:
            async with database.transaction() as session:
                session.add(Organization(name=f"Org {n}", kinds=[OrgKind.BUYER]))

        await asyncio.gather(*(write(n) for n in range(40)))
        async with database.session() as session:
            from sqlmodel import func, select

            count = (await session.exec(select(func.count()).select_from(Organization))).one()
        assert count == 40
