"""The event log: per-subject sequence, hash chain, signatures, publish only after commit, and
verification that finds what an operator with database access changed."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import TextClause, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

from core import eventlog
from core.bus import MemoryBus
from core.clock import now
from core.database import Database
from core.logchain import (
    EntryContent,
    KnownEntry,
    Problem,
    check_chain,
    content_hash,
    decode_signature,
    encode_signature,
    signing_input,
)
from core.signing import JwksKeys, KeyRing, SigningKeyError, generate_private_key, verify_raw
from core.types import UTCDateTime
from tests.dbadmin import guards_lifted

SUBJECT = "delivery:t"


async def _chain(database: Database, count: int, subject: str = SUBJECT) -> None:
    async with database.transaction() as session:
        for n in range(count):
            await eventlog.append(
                session, subject=subject, kind="step", payload={"n": n}, audience=["org-1"]
            )


async def _verify(database: Database, subject: str = SUBJECT, **kwargs: Any) -> Any:
    assert database.key_ring is not None
    async with database.session() as session:
        return await eventlog.verify_subject(
            session, subject=subject, keys=database.key_ring, **kwargs
        )


Statement = tuple[str | TextClause, dict[str, Any]]


async def _as_operator(database: Database, *statements: Statement) -> None:
    """Run SQL the way someone with full database access can: guards lifted."""
    async with database.transaction() as session:
        connection = await session.connection()
        async with guards_lifted(connection):
            for sql, params in statements:
                await connection.execute(text(sql) if isinstance(sql, str) else sql, params)


async def _row(database: Database, seq: int, subject: str = SUBJECT) -> dict[str, Any]:
    async with database.session() as session:
        entries = await eventlog.entries_of(session, subject)
    entry = next(e for e in entries if e.seq == seq)
    return entry.model_dump()


def _forged_insert(
    *, seq: int, prev_hash: str, payload: str, recorded_at: datetime, kid: str
) -> Statement:
    """An entry the operator computes correctly, but cannot sign with the platform key."""
    content = EntryContent(
        subject=SUBJECT,
        kind="step",
        payload=payload,
        audience=("org-1",),
        actor=None,
        recorded_at=recorded_at.isoformat(),
    )
    digest = content_hash(prev_hash=prev_hash, seq=seq, content=content)
    forger = KeyRing(active=generate_private_key())
    statement = text(
        "INSERT INTO event_log (subject, seq, kind, payload, audience, actor, recorded_at,"
        " prev_hash, hash, kid, signature) VALUES (:s, :seq, 'step', :p, :a, NULL, :t, :prev,"
        " :h, :kid, :sig)"
    ).bindparams(bindparam("t", type_=UTCDateTime()))
    return (
        statement,
        {
            "s": SUBJECT,
            "seq": seq,
            "p": payload,
            "a": '["org-1"]',
            "t": recorded_at,
            "prev": prev_hash,
            "h": digest,
            "kid": kid,
            "sig": encode_signature(forger.active.sign(signing_input(digest))),
        },
    )


class TestAppend:
    async def test_sequence_numbers_per_subject(self, database: Database) -> None:
        async with database.transaction() as session:
            a1 = await eventlog.append(session, subject="delivery:a", kind="created", payload={})
            b1 = await eventlog.append(session, subject="delivery:b", kind="created", payload={})
            a2 = await eventlog.append(session, subject="delivery:a", kind="slotted", payload={})
        assert (a1.seq, a2.seq, b1.seq) == (1, 2, 1)
        assert a2.hash != a1.hash
        assert a2.prev_hash == a1.hash
        assert (await _verify(database, "delivery:a")).ok

    async def test_concurrent_appenders_never_share_a_sequence_number(
        self, database: Database
    ) -> None:
        async def append_one(n: int) -> None:
            async def work(session: AsyncSession) -> None:
                await eventlog.append(session, subject="load:hot", kind="bid", payload={"n": n})

            await database.run(work)

        await asyncio.gather(*(append_one(n) for n in range(30)))
        report = await _verify(database, "load:hot")
        assert report.ok
        assert (report.entries, report.last_seq) == (30, 30)

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
        async with database.session() as session:
            assert await eventlog.entries_of(session, "delivery:x") == []

    async def test_a_session_without_a_key_ring_cannot_append(self, database: Database) -> None:
        unsigned = Database(str(database.url.render_as_string(hide_password=False)))
        try:
            async with unsigned.session(write=True) as session:
                with pytest.raises(SigningKeyError, match="no key ring"):
                    await eventlog.append(session, subject=SUBJECT, kind="x", payload={})
        finally:
            await unsigned.dispose()
        async with database.session() as session:
            assert await eventlog.entries_of(session, SUBJECT) == []


class TestVerifyWhileAppending:
    async def test_concurrent_appends_never_look_like_tampering(self, database: Database) -> None:
        await _chain(database, 1)
        reports: list[Any] = []

        async def append_one(n: int) -> None:
            async def work(session: AsyncSession) -> None:
                await eventlog.append(session, subject=SUBJECT, kind="ping", payload={"n": n})

            await database.run(work)

        async def verify_repeatedly() -> None:
            for _ in range(15):
                reports.append(await _verify(database))
                await asyncio.sleep(0)

        await asyncio.gather(verify_repeatedly(), *(append_one(n) for n in range(40)))
        assert [r.finding for r in reports if not r.ok] == []
        assert (await _verify(database)).entries == 41


class TestSignatures:
    async def test_an_entry_verifies_with_the_published_key_and_not_with_another(
        self, database: Database
    ) -> None:
        assert database.key_ring is not None
        bus = MemoryBus()
        subscription = await bus.subscribe(eventlog.EVENTS_CHANNEL)
        async with database.transaction(bus) as session:
            await eventlog.append(session, subject=SUBJECT, kind="weighed", payload={"kg": 24010})
        _, message = await asyncio.wait_for(subscription.get(), 1)
        receipt = orjson.loads(message)
        published = JwksKeys.from_document(database.key_ring.jwks(now=receipt["recorded_at"]))
        key = published.keys[receipt["kid"]]
        signature = decode_signature(receipt["signature"])
        assert signature is not None
        assert verify_raw(key, signing_input(receipt["hash"]), signature)
        other = KeyRing(active=generate_private_key()).active.public_key()
        assert not verify_raw(other, signing_input(receipt["hash"]), signature)

    async def test_the_chain_fails_against_another_key_set(self, database: Database) -> None:
        await _chain(database, 3)
        async with database.session() as session:
            records = [
                eventlog.chain_record(e) for e in await eventlog.entries_of(session, SUBJECT)
            ]
            head = await eventlog.head_of(session, SUBJECT)
        stranger = KeyRing(active=generate_private_key())
        report = check_chain(records, subject=SUBJECT, head=head, key_for=stranger.known_key)
        assert report.finding is not None
        assert report.finding.seq == 1
        assert "unknown key" in report.finding.detail

    async def test_a_retired_key_still_verifies_old_entries(self, database: Database) -> None:
        ring = database.key_ring
        assert ring is not None
        await _chain(database, 2)
        rotated = ring.rotate(generate_private_key(), now=now(), publish_for_s=0)
        async with database.session() as session:
            report = await eventlog.verify_subject(session, subject=SUBJECT, keys=rotated)
        assert report.ok
        assert ring.active_kid not in {k["kid"] for k in rotated.jwks(now=now())["keys"]}
        assert ring.active_kid in {k["kid"] for k in rotated.archive_jwks()["keys"]}


class TestTampering:
    """An operator lifts the guards and changes rows; verification names the first bad entry."""

    async def test_an_edited_entry(self, database: Database) -> None:
        await _chain(database, 4)
        await _as_operator(
            database,
            (
                "UPDATE event_log SET payload = :p WHERE subject = :s AND seq = 3",
                {"p": '{"n":9}', "s": SUBJECT},
            ),
        )
        report = await _verify(database)
        assert not report.ok
        assert (report.finding.seq, report.finding.problem) == (3, Problem.MODIFIED)
        assert "no longer match its hash" in report.finding.detail

    async def test_an_edit_with_a_recomputed_hash_fails_on_the_signature(
        self, database: Database
    ) -> None:
        await _chain(database, 4)
        row = await _row(database, 3)
        content = EntryContent(
            subject=SUBJECT,
            kind="step",
            payload='{"n":9}',
            audience=("org-1",),
            actor=None,
            recorded_at=row["recorded_at"].isoformat(),
        )
        digest = content_hash(prev_hash=row["prev_hash"], seq=3, content=content)
        await _as_operator(
            database,
            (
                "UPDATE event_log SET payload = :p, hash = :h WHERE subject = :s AND seq = 3",
                {"p": '{"n":9}', "h": digest, "s": SUBJECT},
            ),
            (
                "UPDATE event_log SET prev_hash = :h WHERE subject = :s AND seq = 4",
                {"h": digest, "s": SUBJECT},
            ),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (3, Problem.MODIFIED)
        assert "signature does not verify" in report.finding.detail

    async def test_a_deleted_entry(self, database: Database) -> None:
        await _chain(database, 4)
        await _as_operator(
            database,
            ("DELETE FROM event_log WHERE subject = :s AND seq = 2", {"s": SUBJECT}),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (2, Problem.DELETED)

    async def test_a_deleted_entry_with_the_rest_renumbered(self, database: Database) -> None:
        await _chain(database, 4)
        await _as_operator(
            database,
            ("DELETE FROM event_log WHERE subject = :s AND seq = 2", {"s": SUBJECT}),
            ("UPDATE event_log SET seq = seq - 1 WHERE subject = :s AND seq > 2", {"s": SUBJECT}),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (2, Problem.DELETED)

    async def test_a_deleted_tail_is_caught_by_the_head(self, database: Database) -> None:
        await _chain(database, 5)
        await _as_operator(
            database,
            ("DELETE FROM event_log WHERE subject = :s AND seq >= 4", {"s": SUBJECT}),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (4, Problem.DELETED)
        assert "entries 4 to 5 are missing" in report.finding.detail

    async def test_a_tail_deleted_with_the_head_rolled_back_is_caught_by_a_receipt(
        self, database: Database
    ) -> None:
        await _chain(database, 5)
        last = await _row(database, 5)
        third = await _row(database, 3)
        await _as_operator(
            database,
            ("DELETE FROM event_log WHERE subject = :s AND seq >= 4", {"s": SUBJECT}),
            (
                "UPDATE event_subjects SET last_seq = 3, last_hash = :h WHERE subject = :s",
                {"h": third["hash"], "s": SUBJECT},
            ),
        )
        # Every remaining entry is genuine: the database alone cannot tell.
        assert (await _verify(database)).ok
        held = [KnownEntry(seq=5, hash=last["hash"])]
        report = await _verify(database, known=held)
        assert (report.finding.seq, report.finding.problem) == (5, Problem.DELETED)

    async def test_an_inserted_entry(self, database: Database) -> None:
        await _chain(database, 4)
        first = await _row(database, 1)
        await _as_operator(
            database,
            (
                "UPDATE event_log SET seq = seq + 100 WHERE subject = :s AND seq >= 2",
                {"s": SUBJECT},
            ),
            (
                "UPDATE event_log SET seq = seq - 99 WHERE subject = :s AND seq > 100",
                {"s": SUBJECT},
            ),
            _forged_insert(
                seq=2,
                prev_hash=first["hash"],
                payload='{"n":"forged"}',
                recorded_at=first["recorded_at"],
                kid=first["kid"],
            ),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (2, Problem.INSERTED)

    async def test_an_entry_appended_past_the_head(self, database: Database) -> None:
        await _chain(database, 3)
        last = await _row(database, 3)
        await _as_operator(
            database,
            _forged_insert(
                seq=4,
                prev_hash=last["hash"],
                payload='{"n":"late"}',
                recorded_at=last["recorded_at"],
                kid=last["kid"],
            ),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (4, Problem.INSERTED)

    async def test_reordered_entries(self, database: Database) -> None:
        await _chain(database, 4)
        await _as_operator(
            database,
            ("UPDATE event_log SET seq = 99 WHERE subject = :s AND seq = 2", {"s": SUBJECT}),
            ("UPDATE event_log SET seq = 2 WHERE subject = :s AND seq = 3", {"s": SUBJECT}),
            ("UPDATE event_log SET seq = 3 WHERE subject = :s AND seq = 99", {"s": SUBJECT}),
        )
        report = await _verify(database)
        assert (report.finding.seq, report.finding.problem) == (2, Problem.REORDERED)

    async def test_a_deleted_head(self, database: Database) -> None:
        await _chain(database, 2)
        await _as_operator(
            database, ("DELETE FROM event_subjects WHERE subject = :s", {"s": SUBJECT})
        )
        report = await _verify(database)
        assert report.finding is not None
        assert report.finding.problem is Problem.HEAD

    async def test_other_subjects_are_untouched(self, database: Database) -> None:
        await _chain(database, 3)
        await _chain(database, 3, subject="delivery:other")
        await _as_operator(
            database,
            ("DELETE FROM event_log WHERE subject = :s AND seq = 2", {"s": SUBJECT}),
        )
        assert not (await _verify(database)).ok
        assert (await _verify(database, "delivery:other")).ok
