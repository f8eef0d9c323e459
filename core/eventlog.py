"""The append-only event log: per-subject sequence numbers and a hash chain.

Each domain appends its events in the same transaction as the change they record (a
transactional outbox); the entry goes out on the bus only after that transaction commits. The
kernel stores kinds and payloads without interpreting them. ``audience`` names the organizations
that may see an entry, so live streams can filter without knowing any domain.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import BigInteger, Index, Integer, Text, UniqueConstraint, update
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.clock import now
from core.outbox import enqueue
from core.sql import table_of, upsert
from core.types import JSONColumn, UTCDateTime

EVENTS_CHANNEL = "events"
GENESIS_HASH = "0" * 64


class EventSubject(SQLModel, table=True):
    """The head of one subject's chain: its last sequence number and hash."""

    __tablename__ = "event_subjects"

    subject: str = Field(primary_key=True, max_length=80)
    last_seq: int = Field(default=0, nullable=False)
    last_hash: str = Field(default=GENESIS_HASH, max_length=64, nullable=False)


class EventEntry(SQLModel, table=True):
    """One thing that happened to a subject; never updated, never deleted."""

    __tablename__ = "event_log"
    __table_args__ = (
        UniqueConstraint("subject", "seq"),
        Index("ix_event_log_recorded_at", "recorded_at"),
    )

    id: int | None = Field(
        default=None,
        primary_key=True,
        # SQLite makes only INTEGER PRIMARY KEY an alias of its rowid.
        sa_type=BigInteger().with_variant(Integer(), "sqlite"),
    )
    subject: str = Field(max_length=80, nullable=False)
    seq: int = Field(nullable=False)
    kind: str = Field(max_length=80, nullable=False)
    payload: str = Field(sa_type=Text, nullable=False)
    audience: list[str] = Field(default_factory=list, sa_type=JSONColumn, nullable=False)
    actor: str | None = Field(default=None, max_length=80)
    recorded_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    prev_hash: str = Field(max_length=64, nullable=False)
    hash: str = Field(max_length=64, nullable=False)


@dataclass(frozen=True)
class Event:
    """An entry as readers and streams see it."""

    subject: str
    seq: int
    kind: str
    payload: dict[str, Any]
    recorded_at: datetime
    actor: str | None
    audience: tuple[str, ...]
    hash: str

    def to_json(self) -> bytes:
        """The bus and stream form."""
        return orjson.dumps(
            {
                "subject": self.subject,
                "seq": self.seq,
                "kind": self.kind,
                "payload": self.payload,
                "recorded_at": self.recorded_at,
                "actor": self.actor,
                "audience": self.audience,
                "hash": self.hash,
            }
        )


def subject_key(kind: str, subject_id: uuid.UUID | str) -> str:
    """The subject string for a record, e.g. ``delivery:0190…``."""
    return f"{kind}:{subject_id}"


def canonical_payload(payload: dict[str, Any]) -> str:
    """Payload as canonical JSON text: sorted keys, no spaces, UUIDs and datetimes as strings."""
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def entry_hash(
    *,
    prev_hash: str,
    subject: str,
    seq: int,
    kind: str,
    payload: str,
    audience: Sequence[str],
    actor: str | None,
    recorded_at: datetime,
) -> str:
    """SHA-256 over the previous hash and every field of the entry, in a fixed layout."""
    body = orjson.dumps(
        [prev_hash, subject, seq, kind, payload, sorted(audience), actor, recorded_at.isoformat()]
    )
    return hashlib.sha256(body).hexdigest()


async def append(
    session: AsyncSession,
    *,
    subject: str,
    kind: str,
    payload: dict[str, Any],
    audience: Sequence[uuid.UUID | str] = (),
    actor: str | None = None,
) -> Event:
    """Append an event to ``subject``'s chain in the caller's transaction."""
    seq, prev_hash = await _advance_head(session, subject)
    recorded_at = now()
    text = canonical_payload(payload)
    viewers = sorted({str(org) for org in audience})
    digest = entry_hash(
        prev_hash=prev_hash,
        subject=subject,
        seq=seq,
        kind=kind,
        payload=text,
        audience=viewers,
        actor=actor,
        recorded_at=recorded_at,
    )
    session.add(
        EventEntry(
            subject=subject,
            seq=seq,
            kind=kind,
            payload=text,
            audience=viewers,
            actor=actor,
            recorded_at=recorded_at,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    await session.exec(
        update(EventSubject).where(col(EventSubject.subject) == subject).values(last_hash=digest)
    )
    event = Event(
        subject=subject,
        seq=seq,
        kind=kind,
        payload=orjson.loads(text),
        recorded_at=recorded_at,
        actor=actor,
        audience=tuple(viewers),
        hash=digest,
    )
    enqueue(session, EVENTS_CHANNEL, event.to_json())
    return event


async def _advance_head(session: AsyncSession, subject: str) -> tuple[int, str]:
    # One upsert both creates the head and takes its row lock, so concurrent appenders to the
    # same subject queue up here instead of racing for the same sequence number.
    table = table_of(EventSubject)
    statement = (
        upsert(session, table)
        .values(subject=subject, last_seq=1, last_hash=GENESIS_HASH)
        .on_conflict_do_update(
            index_elements=[table.c.subject], set_={"last_seq": table.c.last_seq + 1}
        )
        .returning(table.c.last_seq, table.c.last_hash)
    )
    row = (await session.exec(statement)).one()
    return int(row.last_seq), str(row.last_hash)


def to_event(entry: EventEntry) -> Event:
    """The reader's view of a stored entry."""
    return Event(
        subject=entry.subject,
        seq=entry.seq,
        kind=entry.kind,
        payload=orjson.loads(entry.payload),
        recorded_at=entry.recorded_at,
        actor=entry.actor,
        audience=tuple(entry.audience),
        hash=entry.hash,
    )


async def read(
    session: AsyncSession, *, subject: str, after: int = 0, limit: int = 500
) -> list[Event]:
    """A subject's events after a sequence number, oldest first."""
    statement = (
        select(EventEntry)
        .where(col(EventEntry.subject) == subject, col(EventEntry.seq) > after)
        .order_by(col(EventEntry.seq))
        .limit(limit)
    )
    return [to_event(entry) for entry in (await session.exec(statement)).all()]


@dataclass(frozen=True)
class ChainBreak:
    """Where a subject's chain stops matching its entries, and how."""

    seq: int
    problem: str


def verify_chain(entries: Sequence[EventEntry]) -> ChainBreak | None:
    """Check a subject's entries in sequence order: the first gap, reorder or altered entry."""
    prev_hash = GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        if entry.seq != expected_seq:
            problem = "missing entry" if entry.seq > expected_seq else "entry out of order"
            return ChainBreak(seq=expected_seq, problem=problem)
        if entry.prev_hash != prev_hash:
            return ChainBreak(seq=entry.seq, problem="entry does not follow the one before")
        recomputed = entry_hash(
            prev_hash=entry.prev_hash,
            subject=entry.subject,
            seq=entry.seq,
            kind=entry.kind,
            payload=entry.payload,
            audience=entry.audience,
            actor=entry.actor,
            recorded_at=entry.recorded_at,
        )
        if recomputed != entry.hash:
            return ChainBreak(seq=entry.seq, problem="entry was altered")
        prev_hash = entry.hash
    return None
