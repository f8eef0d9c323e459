"""Idempotency keys: a retried write with the same key is applied once and answered the same."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import LargeBinary, delete
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.clock import now
from core.errors import Conflict, RuleViolation
from core.sql import table_of, upsert
from core.types import UTCDateTime

MAX_KEY_LENGTH = 255


class IdempotencyRecord(SQLModel, table=True):
    """A claimed key and, once its transaction commits, the reply it produced."""

    __tablename__ = "idempotency_keys"

    scope: str = Field(primary_key=True, max_length=80)
    key: str = Field(primary_key=True, max_length=MAX_KEY_LENGTH)
    fingerprint: str = Field(max_length=64, nullable=False)
    status_code: int | None = None
    media_type: str | None = Field(default=None, max_length=100)
    body: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


@dataclass(frozen=True)
class StoredReply:
    """The reply a key's first request got."""

    status_code: int
    media_type: str | None
    body: bytes


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same request" for one key."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def claim(
    session: AsyncSession, *, scope: str, key: str, request_fingerprint: str
) -> StoredReply | None:
    """Claim a key for this transaction, or return the reply stored for it.

    The claim is an insert that does nothing on conflict: a concurrent request with the same
    key waits on the unique key until the first one commits, then reads its reply.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise RuleViolation(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
            code="invalid_idempotency_key",
        )
    table = table_of(IdempotencyRecord)
    statement = (
        upsert(session, table)
        .values(scope=scope, key=key, fingerprint=request_fingerprint, created_at=now())
        .on_conflict_do_nothing(index_elements=[table.c.scope, table.c.key])
        .returning(table.c.key)
    )
    if (await session.exec(statement)).first() is not None:
        return None
    stored = (
        await session.exec(
            select(IdempotencyRecord).where(
                col(IdempotencyRecord.scope) == scope,
                col(IdempotencyRecord.key) == key,
            )
        )
    ).one()
    if stored.fingerprint != request_fingerprint:
        raise RuleViolation(
            "this Idempotency-Key was used for a different request", code="idempotency_key_reused"
        )
    if stored.status_code is None:
        raise Conflict("a request with this Idempotency-Key is in progress", code="in_progress")
    return StoredReply(stored.status_code, stored.media_type, stored.body or b"")


async def record(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    status_code: int,
    media_type: str | None,
    body: bytes,
) -> None:
    """Store the reply for a claimed key, in the same transaction as the work it answers."""
    record_row = await session.get(IdempotencyRecord, (scope, key))
    if record_row is None:
        raise RuntimeError("record() without claim()")
    record_row.status_code = status_code
    record_row.media_type = media_type
    record_row.body = body
    session.add(record_row)
    await session.flush()


async def purge(session: AsyncSession, *, older_than: timedelta) -> int:
    """Forget keys older than a retention period; returns how many."""
    result = await session.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now() - older_than)
    )
    return int(result.rowcount or 0)
