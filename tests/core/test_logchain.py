"""The chain check on its own: every single tampering is found at the entry where it happened."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from core.logchain import (
    GENESIS_HASH,
    ChainHead,
    ChainRecord,
    EntryContent,
    KnownEntry,
    Problem,
    check_chain,
    content_hash,
    encode_signature,
    signing_input,
)
from core.signing import KeyRing, generate_private_key

SUBJECT = "delivery:p"
RING = KeyRing(active=generate_private_key())
FORGER = KeyRing(active=generate_private_key())


def _content(n: int) -> EntryContent:
    return EntryContent(
        subject=SUBJECT,
        kind="step",
        payload=f'{{"n":{n}}}',
        audience=("org-a", "org-b"),
        actor="member:1",
        recorded_at=f"2026-03-02T08:{n:02d}:00+00:00",
    )


def _sealed(seq: int, prev_hash: str, content: EntryContent, ring: KeyRing = RING) -> ChainRecord:
    digest = content_hash(prev_hash=prev_hash, seq=seq, content=content)
    signature = ring.sign_detached(signing_input(digest))
    return ChainRecord(
        seq=seq,
        prev_hash=prev_hash,
        hash=digest,
        kid=signature.kid,
        signature=encode_signature(signature.signature),
        content=content,
    )


def _chain(count: int) -> list[ChainRecord]:
    records: list[ChainRecord] = []
    prev_hash = GENESIS_HASH
    for seq in range(1, count + 1):
        records.append(_sealed(seq, prev_hash, _content(seq)))
        prev_hash = records[-1].hash
    return records


def _head(records: list[ChainRecord]) -> ChainHead:
    return ChainHead(last_seq=records[-1].seq, last_hash=records[-1].hash)


def _check(
    records: list[ChainRecord], head: ChainHead, known: list[KnownEntry] | None = None
) -> tuple[int, Problem]:
    report = check_chain(
        records, subject=SUBJECT, head=head, key_for=RING.known_key, known=known or []
    )
    assert report.finding is not None, "the tampering went unnoticed"
    assert report.finding.seq is not None
    return report.finding.seq, report.finding.problem


def _renumbered(records: list[ChainRecord], start: int, delta: int) -> list[ChainRecord]:
    return [
        dataclasses.replace(r, seq=r.seq + delta) if index >= start else r
        for index, r in enumerate(records)
    ]


def _edit(records: list[ChainRecord], k: int) -> list[ChainRecord]:
    content = records[k - 1].content
    assert content is not None
    changed = dataclasses.replace(content, payload='{"n":-1}')
    return [*records[: k - 1], dataclasses.replace(records[k - 1], content=changed), *records[k:]]


def _edit_and_rehash(records: list[ChainRecord], k: int) -> list[ChainRecord]:
    # The operator recomputes the hash and relinks the rest; only the signature gives it away.
    out = list(records[: k - 1])
    prev_hash = out[-1].hash if out else GENESIS_HASH
    for index, record in enumerate(records[k - 1 :]):
        content = record.content
        assert content is not None
        if index == 0:
            content = dataclasses.replace(content, payload='{"n":-1}')
        digest = content_hash(prev_hash=prev_hash, seq=record.seq, content=content)
        out.append(dataclasses.replace(record, prev_hash=prev_hash, hash=digest, content=content))
        prev_hash = digest
    return out


def _delete(records: list[ChainRecord], k: int) -> list[ChainRecord]:
    return [*records[: k - 1], *records[k:]]


def _delete_and_renumber(records: list[ChainRecord], k: int) -> list[ChainRecord]:
    return _renumbered(_delete(records, k), k - 1, -1)


def _insert(records: list[ChainRecord], k: int) -> list[ChainRecord]:
    prev_hash = records[k - 2].hash if k > 1 else GENESIS_HASH
    forged = _sealed(k, prev_hash, _content(99), ring=FORGER)
    forged = dataclasses.replace(forged, kid=RING.active_kid)
    return [*records[: k - 1], forged, *_renumbered(records[k - 1 :], 0, 1)]


def _swap(records: list[ChainRecord], k: int) -> list[ChainRecord]:
    a, b = records[k - 1], records[k]
    return [
        *records[: k - 1],
        dataclasses.replace(b, seq=a.seq),
        dataclasses.replace(a, seq=b.seq),
        *records[k + 1 :],
    ]


Tamper = Callable[[list[ChainRecord], int], list[ChainRecord]]
# (tampering, the category reported, whether it needs an entry after k)
TAMPERINGS: list[tuple[Tamper, Problem, bool]] = [
    (_edit, Problem.MODIFIED, False),
    (_edit_and_rehash, Problem.MODIFIED, False),
    (_delete, Problem.DELETED, False),
    (_delete_and_renumber, Problem.DELETED, False),
    (_insert, Problem.INSERTED, False),
    (_swap, Problem.REORDERED, True),
]


class TestEveryTamperingIsFound:
    @settings(max_examples=150, deadline=None)
    @given(data=st.data(), count=st.integers(min_value=2, max_value=9))
    def test_at_the_entry_it_touched(self, data: st.DataObject, count: int) -> None:
        tamper, expected, needs_next = data.draw(st.sampled_from(TAMPERINGS))
        k = data.draw(st.integers(min_value=1, max_value=count - 1 if needs_next else count))
        records = _chain(count)
        assert check_chain(records, subject=SUBJECT, head=_head(records), key_for=RING.known_key).ok
        assert _check(tamper(records, k), _head(records)) == (k, expected)

    def test_a_deleted_tail_with_the_head_kept(self) -> None:
        records = _chain(6)
        assert _check(records[:3], _head(records)) == (4, Problem.DELETED)

    def test_a_deleted_tail_with_the_head_rolled_back_needs_a_receipt(self) -> None:
        records = _chain(6)
        kept = records[:3]
        assert check_chain(kept, subject=SUBJECT, head=_head(kept), key_for=RING.known_key).ok
        receipt = KnownEntry(seq=5, hash=records[4].hash)
        assert _check(kept, _head(kept), known=[receipt]) == (5, Problem.DELETED)

    def test_a_receipt_that_differs(self) -> None:
        records = _chain(4)
        receipt = KnownEntry(seq=2, hash=records[3].hash)
        assert _check(records, _head(records), known=[receipt]) == (2, Problem.MODIFIED)


class TestWithheldEntries:
    def test_a_withheld_entry_still_links_and_verifies(self) -> None:
        records = _chain(4)
        withheld = [dataclasses.replace(r, content=None) if r.seq == 2 else r for r in records]
        report = check_chain(withheld, subject=SUBJECT, head=_head(records), key_for=RING.known_key)
        assert report.ok
        assert report.withheld == 1

    def test_a_withheld_entry_with_a_changed_hash_fails(self) -> None:
        records = _chain(4)
        second = dataclasses.replace(records[1], content=None, hash="f" * 64)
        changed = [records[0], second, *records[2:]]
        assert _check(changed, _head(records))[0] == 2


class TestSignatures:
    def test_an_unsigned_entry(self) -> None:
        records = _chain(3)
        unsigned = [dataclasses.replace(r, signature="") if r.seq == 2 else r for r in records]
        report = check_chain(unsigned, subject=SUBJECT, head=_head(records), key_for=RING.known_key)
        assert report.finding is not None
        assert report.finding.seq == 2
        assert "not signed" in report.finding.detail

    def test_a_signature_by_an_unknown_key(self) -> None:
        records = _chain(3)
        report = check_chain(
            records, subject=SUBJECT, head=_head(records), key_for=FORGER.known_key
        )
        assert report.finding is not None
        assert (report.finding.seq, report.finding.problem) == (1, Problem.MODIFIED)
        assert "unknown key" in report.finding.detail
