"""API shapes of the event log: entries, pages of them, and the chain check's report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from core.eventlog import Event
from core.logchain import ChainReport, Problem


class EventPublic(BaseModel):
    """One log entry, with what a reader needs to keep it as a receipt and check it later."""

    subject: str
    seq: int
    kind: str
    payload: dict[str, Any]
    recorded_at: datetime
    actor: str | None
    audience: list[str]
    prev_hash: str
    hash: str
    kid: str
    signature: str


class EventsPublic(BaseModel):
    """A page of a subject's entries, oldest first; pass ``next_after`` as ``after`` for more."""

    data: list[EventPublic]
    count: int
    next_after: int | None


class ChainFindingPublic(BaseModel):
    """Where a chain is wrong: the entry (None when only the head is), the kind, and why."""

    seq: int | None
    problem: Problem
    detail: str


class ChainReportPublic(BaseModel):
    """The outcome of checking a subject's chain."""

    subject: str
    ok: bool
    entries: int
    last_seq: int | None
    last_hash: str | None
    signed_by: list[str]
    finding: ChainFindingPublic | None
    checked_at: datetime


def event_public(event: Event) -> EventPublic:
    """An entry as the API shows it."""
    return EventPublic(
        subject=event.subject,
        seq=event.seq,
        kind=event.kind,
        payload=event.payload,
        recorded_at=event.recorded_at,
        actor=event.actor,
        audience=list(event.audience),
        prev_hash=event.prev_hash,
        hash=event.hash,
        kid=event.kid,
        signature=event.signature,
    )


def chain_report_public(report: ChainReport, *, checked_at: datetime) -> ChainReportPublic:
    """A chain report as the API shows it."""
    finding = report.finding
    return ChainReportPublic(
        subject=report.subject,
        ok=report.ok,
        entries=report.entries,
        last_seq=report.last_seq,
        last_hash=report.last_hash,
        signed_by=list(report.signed_by),
        finding=None
        if finding is None
        else ChainFindingPublic(seq=finding.seq, problem=finding.problem, detail=finding.detail),
        checked_at=checked_at,
    )
