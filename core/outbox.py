"""Messages a transaction wants published, held on the session until it commits."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

_KEY = "haulpoint_outbox"

Message = tuple[str, bytes]


def enqueue(session: AsyncSession | Session, channel: str, payload: bytes) -> None:
    """Publish ``payload`` on ``channel`` once this session's transaction commits."""
    session.info.setdefault(_KEY, []).append((channel, payload))


def pending_messages(session: AsyncSession | Session) -> list[Message]:
    """Take the messages waiting for this session's commit."""
    messages: list[Message] = session.info.pop(_KEY, [])
    return messages


@event.listens_for(Session, "after_rollback")
def _drop_on_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
