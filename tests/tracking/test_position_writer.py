"""Group commit: many requests' pings in one transaction, answered only after it commits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import col, select

from core.database import Database
from core.errors import Unavailable
from tracking.devices.identity import DeviceIdentity
from tracking.pings import Ping, PingFlag
from tracking.positions import repository
from tracking.positions.codec import Row, to_row
from tracking.positions.models import LastPosition, Position
from tracking.positions.stores import PositionStore, SessionStore, store_for
from tracking.positions.writer import Committed, PositionWriter

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ORG = uuid.uuid4()


def device(number: int) -> DeviceIdentity:
    return DeviceIdentity(id=uuid.uuid4(), number=number, organization_id=ORG)


def rows(number: int, seconds: range, *, flags: int = 0) -> list[Row]:
    return [
        to_row(
            number,
            Ping(str(number), T0 + timedelta(seconds=s), 52.0 + s * 1e-4, 10.0, flags=flags),
        )
        for s in seconds
    ]


async def count_positions(database: Database) -> int:
    async with database.session() as session:
        return int((await session.exec(select(func.count()).select_from(Position))).one())


async def latest_times(database: Database) -> dict[int, datetime]:
    async with database.session() as session:
        statement = select(col(LastPosition.device_no), col(LastPosition.recorded_at))
        return dict((await session.exec(statement)).all())


class FailingOnce:
    """A store whose first commit fails before anything is stored."""

    def __init__(self, inner: PositionStore) -> None:
        self.inner = inner
        self.calls = 0

    async def store(
        self, batch: Sequence[Row], newest: Sequence[Row], *, received_at: datetime
    ) -> set[int]:
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("the database went away mid-commit")
        return await self.inner.store(batch, newest, received_at=received_at)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture
async def published() -> list[Committed]:
    return []


@pytest.fixture
async def writer(database: Database, published: list[Committed]) -> AsyncIterator[PositionWriter]:
    async def collect(committed: Committed) -> None:
        published.append(committed)

    position_writer = PositionWriter(database, linger_s=0.002, on_commit=collect)
    await position_writer.start()
    yield position_writer
    await position_writer.close()


class TestGroupCommit:
    async def test_a_hundred_concurrent_requests_share_a_few_commits(
        self, writer: PositionWriter, database: Database
    ) -> None:
        await asyncio.gather(
            *(writer.write(device(n), rows(n, range(0, 50, 10))) for n in range(1, 101))
        )
        assert await count_positions(database) == 500
        stats = writer.stats
        assert stats.requests == 100
        assert stats.commits < 20
        assert len(await latest_times(database)) == 100

    async def test_two_commits_in_flight_store_overlapping_devices_once(
        self, database: Database
    ) -> None:
        writer = PositionWriter(database, linger_s=0.001, in_flight=2)
        await writer.start()
        try:
            # Twenty devices, each written by several racing requests with overlapping fixes.
            await asyncio.gather(
                *(
                    writer.write(device(n % 20 + 1), rows(n % 20 + 1, range(k, k + 10)))
                    for n in range(120)
                    for k in (0, 5)
                )
            )
        finally:
            await writer.close()
        assert await count_positions(database) == 20 * 15
        newest = await latest_times(database)
        assert newest == {n: T0 + timedelta(seconds=14) for n in range(1, 21)}

    async def test_every_answered_write_is_already_committed(
        self, writer: PositionWriter, database: Database
    ) -> None:
        async def write_then_count(n: int) -> int:
            await writer.write(device(n), rows(n, range(3)))
            async with database.session() as session:
                statement = select(func.count()).where(col(Position.device_no) == n)
                return int((await session.exec(statement)).one())

        counts = await asyncio.gather(*(write_then_count(n) for n in range(1, 31)))
        assert counts == [3] * 30

    async def test_retries_and_overlaps_are_stored_once(
        self, writer: PositionWriter, database: Database
    ) -> None:
        truck = device(7)
        await asyncio.gather(
            writer.write(truck, rows(7, range(0, 10))),
            writer.write(truck, rows(7, range(5, 15))),
            writer.write(truck, rows(7, range(0, 10))),
        )
        assert await count_positions(database) == 15

    async def test_a_failed_commit_fails_every_request_in_it(self, database: Database) -> None:
        flaky = FailingOnce(store_for(database))
        writer = PositionWriter(database, linger_s=0.01, store=flaky)
        await writer.start()
        try:
            outcomes = await asyncio.gather(
                *(writer.write(device(n), rows(n, range(2))) for n in range(1, 6)),
                return_exceptions=True,
            )
            assert all(isinstance(o, ConnectionError) for o in outcomes), outcomes
            assert flaky.calls == 1  # one commit held all five requests
            assert await count_positions(database) == 0
            await writer.write(device(9), rows(9, range(2)))
            assert await count_positions(database) == 2
        finally:
            await writer.close()

    async def test_a_session_transaction_rolls_back_whole(
        self, database: Database, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        async def broken(*_args: Any, **_kwargs: Any) -> set[int]:
            raise ConnectionError("the database went away before the commit")

        monkeypatch.setattr(repository, "advance_latest", broken)
        writer = PositionWriter(database, linger_s=0, store=SessionStore(database))
        await writer.start()
        try:
            with pytest.raises(ConnectionError):
                await writer.write(device(1), rows(1, range(3)))
            assert await count_positions(database) == 0  # the inserted rows rolled back
        finally:
            await writer.close()

    async def test_too_much_waiting_is_refused_not_queued(self, database: Database) -> None:
        small = PositionWriter(database, linger_s=0.05, max_pending_rows=10)
        await small.start()
        try:
            first = asyncio.ensure_future(small.write(device(1), rows(1, range(8))))
            await asyncio.sleep(0)
            with pytest.raises(Unavailable):
                await small.write(device(2), rows(2, range(8)))
            await first
        finally:
            await small.close()


class TestNewestFix:
    async def test_the_newest_fix_only_moves_forward_and_is_published_when_it_does(
        self, writer: PositionWriter, database: Database, published: list[Committed]
    ) -> None:
        truck = device(3)
        await writer.write(truck, rows(3, range(100, 110)))
        await writer.write(truck, rows(3, range(0, 10)))  # a late batch from the phone's queue
        assert (await latest_times(database))[3] == T0 + timedelta(seconds=109)
        assert [[row[0] for _, row in batch] for batch in published] == [
            [T0 + timedelta(seconds=109)]
        ]

    async def test_a_jump_is_stored_but_never_becomes_the_newest_fix(
        self, writer: PositionWriter, database: Database
    ) -> None:
        truck = device(4)
        await writer.write(truck, rows(4, range(0, 5)))
        await writer.write(truck, rows(4, range(50, 51), flags=int(PingFlag.IMPLAUSIBLE_JUMP)))
        assert await count_positions(database) == 6
        assert (await latest_times(database))[4] == T0 + timedelta(seconds=4)
