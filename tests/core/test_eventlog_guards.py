"""The database itself refuses to change or remove log entries and to move a head back."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core import eventlog
from core.database import Database

SUBJECT = "delivery:guarded"


async def _seed(database: Database, count: int = 3) -> None:
    async with database.transaction() as session:
        for n in range(count):
            await eventlog.append(session, subject=SUBJECT, kind="step", payload={"n": n})


async def _refused(database: Database, sql: str) -> str:
    with pytest.raises(DBAPIError) as raised:
        async with database.transaction() as session:
            await (await session.connection()).execute(text(sql), {"s": SUBJECT})
    return str(raised.value.orig)


async def _untouched(database: Database, count: int = 3) -> None:
    assert database.key_ring is not None
    async with database.session() as session:
        report = await eventlog.verify_subject(session, subject=SUBJECT, keys=database.key_ring)
    assert report.ok
    assert (report.entries, report.last_seq) == (count, count)


class TestLogGuards:
    async def test_update_is_refused(self, database: Database) -> None:
        await _seed(database)
        message = await _refused(
            database, "UPDATE event_log SET payload = '{}' WHERE subject = :s AND seq = 2"
        )
        assert "append-only" in message
        await _untouched(database)

    async def test_delete_is_refused(self, database: Database) -> None:
        await _seed(database)
        message = await _refused(database, "DELETE FROM event_log WHERE subject = :s AND seq = 3")
        assert "append-only" in message
        await _untouched(database)

    async def test_deleting_everything_is_refused(self, database: Database) -> None:
        await _seed(database)
        await _refused(database, "DELETE FROM event_log")
        await _untouched(database)

    @pytest.mark.postgres
    async def test_truncate_is_refused(self, database: Database) -> None:
        await _seed(database)
        message = await _refused(database, "TRUNCATE event_log")
        assert "append-only" in message
        await _refused(database, "TRUNCATE event_subjects")
        await _untouched(database)


class TestHeadGuards:
    async def test_a_head_cannot_move_back(self, database: Database) -> None:
        await _seed(database)
        message = await _refused(
            database, "UPDATE event_subjects SET last_seq = 1 WHERE subject = :s"
        )
        assert "only moves forward" in message
        await _untouched(database)

    async def test_a_head_cannot_be_deleted(self, database: Database) -> None:
        await _seed(database)
        await _refused(database, "DELETE FROM event_subjects WHERE subject = :s")
        await _untouched(database)

    async def test_a_head_cannot_jump_ahead(self, database: Database) -> None:
        await _seed(database)
        await _refused(database, "UPDATE event_subjects SET last_seq = 9 WHERE subject = :s")
        await _untouched(database)

    async def test_appends_still_move_it_forward(self, database: Database) -> None:
        await _seed(database, count=3)
        await _seed(database, count=2)
        await _untouched(database, count=5)
