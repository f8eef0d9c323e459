"""Checking one subject's chain of log entries: hashes, links, signatures and the head.

Pure: no database, no clock. The server checks its own log with it and `haulpoint verify`
checks a dispute bundle offline with the same code.

Each entry's hash is SHA-256 over a fixed JSON layout of the previous entry's hash and every
field of the entry (so it fixes the entry's content, its sequence number and everything before
it); the platform signs that hash with Ed25519 (`signing_input`). A record whose content is
withheld from a reader (another party's entry in a bundle) keeps its hashes and signature: its
place in the chain and its authenticity still verify, its content cannot be read or checked.

The check reports the first entry that is wrong, in chain order, with its sequence number and
a category. The sequence number and the detail are exact; the category is the likeliest way
the fault came about (an entry rewritten with a recomputed hash and one replaced by a forged
entry look the same: neither carries the platform's signature).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.signing import verify_raw

GENESIS_HASH = "0" * 64
# Signatures cover this prefix and the hex hash, so an entry signature can never be mistaken
# for a signature over anything else the platform key signs (passes, bundle manifests).
SIGNATURE_CONTEXT = b"haulpoint-event-log-v1:"

KeyLookup = Callable[[str], Ed25519PublicKey | None]


class Problem(StrEnum):
    """How a chain went wrong."""

    MODIFIED = "modified"
    DELETED = "deleted"
    INSERTED = "inserted"
    REORDERED = "reordered"
    HEAD = "head"


@dataclass(frozen=True)
class EntryContent:
    """What an entry says; `payload` is the canonical JSON text exactly as it was hashed."""

    subject: str
    kind: str
    payload: str
    audience: tuple[str, ...]
    actor: str | None
    recorded_at: str


@dataclass(frozen=True)
class ChainRecord:
    """One entry as stored or bundled; `content` is None when it is withheld from the reader."""

    seq: int
    prev_hash: str
    hash: str
    kid: str
    signature: str
    content: EntryContent | None


@dataclass(frozen=True)
class ChainHead:
    """The last sequence number and hash the log recorded for a subject."""

    last_seq: int
    last_hash: str


@dataclass(frozen=True)
class KnownEntry:
    """An entry a reader received earlier (from a stream or a bundle): its number and hash."""

    seq: int
    hash: str


@dataclass(frozen=True)
class Finding:
    """The first fault: which entry (None when only the head is wrong), what kind, and why."""

    seq: int | None
    problem: Problem
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """The outcome of checking one subject's chain."""

    subject: str
    entries: int
    withheld: int
    last_seq: int | None
    last_hash: str | None
    signed_by: tuple[str, ...]
    finding: Finding | None

    @property
    def ok(self) -> bool:
        """Whether every entry, link, signature and the head check out."""
        return self.finding is None


def content_hash(*, prev_hash: str, seq: int, content: EntryContent) -> str:
    """SHA-256 over the previous hash and every field of the entry, in a fixed layout."""
    body = orjson.dumps(
        [
            prev_hash,
            content.subject,
            seq,
            content.kind,
            content.payload,
            sorted(content.audience),
            content.actor,
            content.recorded_at,
        ]
    )
    return hashlib.sha256(body).hexdigest()


def signing_input(entry_hash: str) -> bytes:
    """The bytes the platform signs for an entry: a fixed prefix and the hex hash."""
    return SIGNATURE_CONTEXT + entry_hash.encode("ascii")


def encode_signature(signature: bytes) -> str:
    """A signature as stored: base64url without padding."""
    return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def decode_signature(text: str) -> bytes | None:
    """The raw signature, or None if the text is not base64url."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


def signature_fault(record: ChainRecord, key_for: KeyLookup) -> str | None:
    """Why the record's signature does not hold, or None when it does."""
    if not record.kid or not record.signature:
        return "the entry is not signed"
    key = key_for(record.kid)
    if key is None:
        return f"the entry is signed with an unknown key {record.kid!r}"
    raw = decode_signature(record.signature)
    if raw is None or not verify_raw(key, signing_input(record.hash), raw):
        return f"the signature does not verify with key {record.kid!r}"
    return None


def check_chain(
    records: Sequence[ChainRecord],
    *,
    subject: str,
    head: ChainHead | None,
    key_for: KeyLookup,
    known: Sequence[KnownEntry] = (),
) -> ChainReport:
    """Check a subject's records in the order given (sequence order from a store)."""
    finding = (
        _first_fault(records, head=head, key_for=key_for)
        or _head_fault(records, head)
        or _known_fault(records, known)
    )
    last = records[-1] if records else None
    return ChainReport(
        subject=subject,
        entries=len(records),
        withheld=sum(1 for r in records if r.content is None),
        last_seq=head.last_seq if head else (last.seq if last else None),
        last_hash=head.last_hash if head else (last.hash if last else None),
        signed_by=tuple(sorted({r.kid for r in records if r.kid})),
        finding=finding,
    )


def _first_fault(
    records: Sequence[ChainRecord], *, head: ChainHead | None, key_for: KeyLookup
) -> Finding | None:
    present = {r.seq for r in records}
    all_hashes = {r.hash for r in records}
    prev_hash = GENESIS_HASH
    for index, record in enumerate(records):
        expected = index + 1
        following = records[index + 1] if index + 1 < len(records) else None
        skips_over = following is not None and following.prev_hash == prev_hash
        if record.seq != expected:
            if record.seq > expected and expected not in present:
                return Finding(
                    expected,
                    Problem.DELETED,
                    f"entry {expected} is missing: the chain goes from {expected - 1}"
                    f" to {record.seq}",
                )
            return Finding(
                expected,
                Problem.REORDERED,
                f"entry {record.seq} stands where entry {expected} belongs",
            )
        if record.prev_hash != prev_hash:
            later = {r.hash for r in records[index + 1 :]}
            if record.prev_hash in later:
                return Finding(
                    expected,
                    Problem.REORDERED,
                    f"entry {expected} follows an entry that now stands after it",
                )
            if skips_over:
                return Finding(
                    expected,
                    Problem.INSERTED,
                    f"entry {expected} was inserted: the entry after it follows entry"
                    f" {expected - 1}",
                )
            if record.prev_hash not in all_hashes and signature_fault(record, key_for) is None:
                return Finding(
                    expected,
                    Problem.DELETED,
                    f"the entry that entry {expected} follows is missing",
                )
            return Finding(
                expected, Problem.MODIFIED, f"entry {expected} does not follow the entry before it"
            )
        altered = record.content is not None and record.hash != content_hash(
            prev_hash=prev_hash, seq=record.seq, content=record.content
        )
        fault = "its fields no longer match its hash" if altered else None
        fault = fault or signature_fault(record, key_for)
        if fault is not None:
            if skips_over:
                return Finding(
                    expected,
                    Problem.INSERTED,
                    f"entry {expected} was inserted ({fault}): the entry after it follows"
                    f" entry {expected - 1}",
                )
            if head is not None and record.seq > head.last_seq:
                return Finding(
                    expected,
                    Problem.INSERTED,
                    f"entry {expected} was appended past the subject's head"
                    f" ({head.last_seq}): {fault}",
                )
            if altered:
                return Finding(expected, Problem.MODIFIED, f"entry {expected} was altered: {fault}")
            return Finding(
                expected,
                Problem.MODIFIED,
                f"entry {expected} was rewritten without the platform's key: {fault}",
            )
        prev_hash = record.hash
    return None


def _head_fault(records: Sequence[ChainRecord], head: ChainHead | None) -> Finding | None:
    last = records[-1] if records else None
    if head is None:
        if last is None:
            return None
        return Finding(None, Problem.HEAD, "the subject's head record is missing")
    last_seq = last.seq if last else 0
    if head.last_seq > last_seq:
        missing = (
            f"entry {head.last_seq} is"
            if head.last_seq == last_seq + 1
            else f"entries {last_seq + 1} to {head.last_seq} are"
        )
        return Finding(
            last_seq + 1,
            Problem.DELETED,
            f"{missing} missing: the head records {head.last_seq} entries, the log ends"
            f" at {last_seq}",
        )
    if head.last_seq < last_seq:
        return Finding(
            None,
            Problem.HEAD,
            f"the head records {head.last_seq} entries but the log holds {last_seq}",
        )
    if last is not None and head.last_hash != last.hash:
        return Finding(
            last.seq,
            Problem.MODIFIED,
            f"entry {last.seq} is not the last entry the head records",
        )
    return None


def _known_fault(records: Sequence[ChainRecord], known: Sequence[KnownEntry]) -> Finding | None:
    by_seq = {r.seq: r for r in records}
    for entry in sorted(known, key=lambda k: k.seq):
        record = by_seq.get(entry.seq)
        if record is None:
            return Finding(
                entry.seq,
                Problem.DELETED,
                f"entry {entry.seq}, which you hold, is no longer in the log",
            )
        if record.hash != entry.hash:
            return Finding(
                entry.seq,
                Problem.MODIFIED,
                f"entry {entry.seq} differs from the one you hold",
            )
    return None
