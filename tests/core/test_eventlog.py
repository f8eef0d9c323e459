"""The event log: per-subject sequence, hash chain, publish only after commit."""

from __future__ import annotations

import asyncio

import orjson
from sqlalchemy import text
from sqlmodel import col, select

from core import eventlog
from core.bus import MemoryBus
from core.database import Database
from core.eventlog import EventEntry, verify_chain


async def _entries(database: Database, subject: str) -> list[EventEntry]:
    async with database.session() as session:
        statement = (
            select(EventEntry)
            .where(col(EventEntry.subject) == subject)
            .order_by(col(EventEntry.seq))
        )
        return list((await session.exec(statement)).all())


class TestAppend:
    async def test_sequence_numbers_per_subject(self, database: Database) -> None:
        async with database.transaction() as session:
            a1 = await eventlog.append(session, subject="delivery:a", kind="created", payload={})
            b1 = await eventlog.append(session, subject="delivery:b", kind="created", payload={})
            a2 = await eventlog.append(session, subject="delivery:a", kind="slotted", payload={})
        assert (a1.seq, a2.seq, b1.seq) == (1, 2, 1)
        assert a2.hash != a1.hash
        assert verify_chain(await _entries(database, "delivery:a")) is None

    async def test_concurrent_appenders_never_share_a_sequence_number(
        self, database: Database
    ) -> None:
        async def append_one(n: int) -> None:
            async def work(session: object) -> None:
                await eventlog.append(
                    session,  # type: ignore[arg-type]
                    subject="load:hot",
                    kind="bid",
                    payload={"n": n},
                )

            await database.run(work)

        await asyncio.gather(*(append_one(n) for n in range(30)))
        entries = await _entries(database, "load:hot")
        assert [e.seq for e in entries] == list(range(1, 31))
        assert verify_chain(entries) is None

    async def test_rolled_back_events_are_neither_stored_nor_published(
        self, database: Database
    ) -> None:
        bus = MemoryBus()
        subscription = await bus.subscribe(eventlog.EVENTS_CHANNEL)
        async with database.session(write=True) as session:
            await eventlog.append(session, subject="delivery:x", kind="created", payload={})
            await session.rollback()
        async with database.transaction(bus) as session:
            await eventlog.append(session, subject="delivery:y", kind="created", payload={"q": 1})
        _, payload = await asyncio.wait_for(subscription.get(), 1)
        message = orjson.loads(payload)
        assert (message["subject"], message["seq"], message["payload"]) == (
            "delivery:y",
            1,
            {"q": 1},
        )
        assert await _entries(database, "delivery:x") == []


class TestVerify:
    async def _chain(self, database: Database, subject: str, count: int) -> None:
        async with database.transaction() as session:
            for n in range(count):
                await eventlog.append(
                    session, subject=subject, kind="step", payload={"n": n}, audience=["org-1"]
                )

    async def test_an_edited_entry_is_found(self, database: Database) -> None:
        await self._chain(database, "delivery:e", 4)
        async with database.transaction() as session:
            await (await session.connection()).execute(
                text("UPDATE event_log SET payload = :p WHERE subject = :s AND seq = 3"),
                {"p": '{"n":9}', "s": "delivery:e"},
            )
        broken = verify_chain(await _entries(database, "delivery:e"))
        assert broken is not None
        assert (broken.seq, broken.problem) == (3, "entry was altered")

    async def test_a_deleted_entry_is_found(self, database: Database) -> None:
        await self._chain(database, "delivery:d", 4)
        async with database.transaction() as session:
            await (await session.connection()).execute(
                text("DELETE FROM event_log WHERE subject = :s AND seq = 2"),
                {"s": "delivery:d"},
            )
        broken = verify_chain(await _entries(database, "delivery:d"))
        assert broken is not None
        assert (broken.seq, broken.problem) == (2, "missing entry")
