"""The append-only event log: per-subject sequence numbers, a hash chain, signed entries.

Each domain appends its events in the same transaction as the change they record (a
transactional outbox); the entry goes out on the bus only after that transaction commits. The
kernel stores kinds and payloads without interpreting them. ``audience`` names the organizations
that may see an entry, so live streams can filter without knowing any domain.

Every entry carries the hash of the one before it and a detached Ed25519 signature by the
platform key over its own hash (`core.logchain`); the subject's head row holds the last
sequence number and hash. There is no update or delete path in code, and the database refuses
UPDATE, DELETE and TRUNCATE of the log, and any head change other than moving forward, with
triggers (PostgreSQL and SQLite).

Threat model: an operator with full access to the database, but not to the signing key (which
lives in the environment or a key file, never in the database or its backups).

- Can, detected by `verify_subject` and by a bundle's offline check: drop the triggers and
  edit, delete, insert or reorder entries (the first bad entry is reported with its number);
  forge entries (no valid signature); delete the tail while leaving the head (the head shows
  the gap); re-sign nothing, since the key is not in reach.
- Can, detected only against something a party holds: delete the tail *and* roll the head back
  to the new last entry, or delete a whole subject. Each remaining entry is genuine, so the
  database alone cannot tell. Parties hold receipts: every event on a live stream carries its
  sequence number, hash and signature, and a dispute bundle pins the head; `verify_subject`
  takes such `known` entries and reports those no longer in the log, and the platform's own
  signature on a receipt proves the entry existed.
- Can, undetected: read everything (the log is not encrypted), withhold entries from an
  answer, or refuse service; write entries with a false `recorded_at` at the moment they are
  appended (the signature vouches for what the platform recorded, not for the wall clock).
- With the signing key as well (the development key sits in the data directory, which is why
  production refuses it): rewrite and re-sign a whole chain. Only copies held outside
  (bundles, receipts, a trusted JWKS that a forged key is not in) expose that.
"""

from __future__ import annotations

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
from core.database import key_ring_of
from core.errors import NotFound
from core.logchain import (
    GENESIS_HASH,
    ChainHead,
    ChainRecord,
    ChainReport,
    EntryContent,
    KnownEntry,
    check_chain,
    content_hash,
    encode_signature,
    signing_input,
)
from core.outbox import enqueue
from core.signing import KeyRing
from core.sql import json_array_contains, table_of, upsert
from core.types import JSONColumn, UTCDateTime

EVENTS_CHANNEL = "events"
SIGNATURE_CHARS = 128


class SubjectNotFound(NotFound):
    """No such subject, or none of its entries is addressed to the caller's organization."""

    default_code = "subject_not_found"


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
    kid: str = Field(max_length=64, nullable=False)
    signature: str = Field(max_length=SIGNATURE_CHARS, nullable=False)


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
    prev_hash: str
    kid: str
    signature: str

    def to_json(self) -> bytes:
        """The bus and stream form: with hash and signature, a receipt the receiver can keep."""
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
                "prev_hash": self.prev_hash,
                "kid": self.kid,
                "signature": self.signature,
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
    content = EntryContent(
        subject=subject,
        kind=kind,
        payload=payload,
        audience=tuple(audience),
        actor=actor,
        recorded_at=recorded_at.isoformat(),
    )
    return content_hash(prev_hash=prev_hash, seq=seq, content=content)


async def append(
    session: AsyncSession,
    *,
    subject: str,
    kind: str,
    payload: dict[str, Any],
    audience: Sequence[uuid.UUID | str] = (),
    actor: str | None = None,
) -> Event:
    """Append an event to ``subject``'s chain in the caller's transaction, signed."""
    ring = key_ring_of(session)
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
    signed = ring.sign_detached(signing_input(digest))
    signature = encode_signature(signed.signature)
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
            kid=signed.kid,
            signature=signature,
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
        prev_hash=prev_hash,
        kid=signed.kid,
        signature=signature,
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
        prev_hash=entry.prev_hash,
        kid=entry.kid,
        signature=entry.signature,
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


def _addressed_to(session: AsyncSession, organization_id: uuid.UUID | str) -> Any:
    return json_array_contains(session, col(EventEntry.audience), str(organization_id))


async def is_visible_to(
    session: AsyncSession, *, subject: str, organization_id: uuid.UUID | str
) -> bool:
    """Whether any entry of ``subject`` is addressed to the organization."""
    statement = (
        select(col(EventEntry.seq))
        .where(col(EventEntry.subject) == subject, _addressed_to(session, organization_id))
        .limit(1)
    )
    return (await session.exec(statement)).first() is not None


async def require_visible(
    session: AsyncSession, *, subject: str, organization_id: uuid.UUID | str
) -> None:
    """Raise SubjectNotFound unless some entry of ``subject`` is addressed to the organization."""
    if not await is_visible_to(session, subject=subject, organization_id=organization_id):
        raise SubjectNotFound(f"no subject {subject!r} among your organization's records")


async def read_visible(
    session: AsyncSession,
    *,
    subject: str,
    organization_id: uuid.UUID | str,
    after: int = 0,
    limit: int = 100,
) -> list[Event]:
    """The entries after ``after`` addressed to the organization, oldest first."""
    statement = (
        select(EventEntry)
        .where(
            col(EventEntry.subject) == subject,
            col(EventEntry.seq) > after,
            _addressed_to(session, organization_id),
        )
        .order_by(col(EventEntry.seq))
        .limit(limit)
    )
    return [to_event(entry) for entry in (await session.exec(statement)).all()]


async def entries_of(session: AsyncSession, subject: str) -> list[EventEntry]:
    """Every stored entry of a subject, in sequence order."""
    statement = (
        select(EventEntry).where(col(EventEntry.subject) == subject).order_by(col(EventEntry.seq))
    )
    return list((await session.exec(statement)).all())


async def head_of(session: AsyncSession, subject: str) -> ChainHead | None:
    """The subject's head (last sequence number and hash), if it has one."""
    found = await session.get(EventSubject, subject)
    return None if found is None else ChainHead(last_seq=found.last_seq, last_hash=found.last_hash)


async def chain_of(
    session: AsyncSession, subject: str
) -> tuple[list[EventEntry], ChainHead | None]:
    """A subject's entries and its head, read in one statement.

    Under READ COMMITTED two statements could straddle a concurrent append and show a head
    one entry ahead of the entries read, which would look like a deleted tail.
    """
    statement = (
        select(EventEntry, EventSubject.last_seq, EventSubject.last_hash)
        .outerjoin(EventSubject, col(EventSubject.subject) == col(EventEntry.subject))
        .where(col(EventEntry.subject) == subject)
        .order_by(col(EventEntry.seq))
    )
    rows = (await session.exec(statement)).all()
    if not rows:
        return [], await head_of(session, subject)
    entries = [row[0] for row in rows]
    last_seq, last_hash = rows[0][1], rows[0][2]
    head = None if last_seq is None else ChainHead(last_seq=last_seq, last_hash=last_hash)
    return entries, head


def entry_content(entry: EventEntry) -> EntryContent:
    """What an entry says, in the form its hash covers."""
    return EntryContent(
        subject=entry.subject,
        kind=entry.kind,
        payload=entry.payload,
        audience=tuple(entry.audience),
        actor=entry.actor,
        recorded_at=entry.recorded_at.isoformat(),
    )


def chain_record(entry: EventEntry, *, withheld: bool = False) -> ChainRecord:
    """A stored entry as the chain check sees it; ``withheld`` keeps only hashes and signature."""
    return ChainRecord(
        seq=entry.seq,
        prev_hash=entry.prev_hash,
        hash=entry.hash,
        kid=entry.kid,
        signature=entry.signature,
        content=None if withheld else entry_content(entry),
    )


async def verify_subject(
    session: AsyncSession,
    *,
    subject: str,
    keys: KeyRing,
    known: Sequence[KnownEntry] = (),
) -> ChainReport:
    """Check a subject's stored chain: the first modified, deleted, inserted or reordered entry.

    ``keys`` is the platform ring (every key it ever signed with, retired ones included);
    ``known`` are entries a party received earlier, which must still be in the log unchanged.
    """
    entries, head = await chain_of(session, subject)
    return check_chain(
        [chain_record(entry) for entry in entries],
        subject=subject,
        head=head,
        key_for=keys.known_key,
        known=known,
    )
