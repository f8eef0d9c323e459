from __future__ import annotations

import json
import socket
from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.signing import KeyRing, generate_private_key
from dispatch.authorizations.chain import hops_below
from dispatch.authorizations.offline import (
    RevocationDelta,
    RevocationEntry,
    RevocationList,
    RevocationSyncError,
    verify_offline,
)
from dispatch.authorizations.passes import PassReason, issue_pass
from tests.dispatch.pass_factory import NOW, PLANT, PLATE, make_chain, make_claims

RING = KeyRing(active=generate_private_key())
AT_GATE = NOW + timedelta(hours=1)


def entry(seq: int, pass_id: str | None = None, *, hours: int = 8) -> RevocationEntry:
    return RevocationEntry(
        seq=seq, pass_id=pass_id or f"pass-{seq}", expires_at=NOW + timedelta(hours=hours)
    )


def delta(after: int, up_to: int, *seqs: int) -> RevocationDelta:
    return RevocationDelta(after=after, up_to=up_to, entries=tuple(entry(s) for s in seqs))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("offline verification opened a network connection")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


class TestVerifyOffline:
    def test_a_valid_pass_verifies_with_only_the_jwks_and_the_revocation_list(
        self, no_network: None
    ) -> None:
        jwks = json.loads(json.dumps(RING.jwks(now=NOW)))
        token = issue_pass(make_claims(), ring=RING)
        result = verify_offline(
            token,
            jwks=jwks,
            revocations=RevocationList(),
            plate_seen=PLATE,
            plant_id=PLANT,
            now=AT_GATE,
        )
        assert result.valid
        assert result.claims is not None
        assert result.claims.driver_name == "Zhang Wei 张伟"

    def test_a_pass_on_the_synced_revocation_list_is_refused(self, no_network: None) -> None:
        claims = make_claims()
        revocations = RevocationList().merge(
            RevocationDelta(after=0, up_to=7, entries=(entry(7, claims.pass_id),))
        )
        result = verify_offline(
            issue_pass(claims, ring=RING),
            jwks=RING.jwks(now=NOW),
            revocations=revocations,
            plate_seen=PLATE,
            plant_id=PLANT,
            now=AT_GATE,
        )
        assert result.reason is PassReason.REVOKED

    def test_revoking_a_hop_revokes_the_passes_issued_below_it(self) -> None:
        root, leaf = make_chain()
        claims = make_claims()
        passes_by_grant = {leaf.grant_id: [claims.pass_id]}
        revoked_hops = {root.grant_id} | hops_below(root.grant_id, [root, leaf])
        revoked_passes = [p for g in sorted(revoked_hops) for p in passes_by_grant.get(g, [])]
        result = verify_offline(
            issue_pass(claims, ring=RING),
            jwks=RING.jwks(now=NOW),
            revocations=revoked_passes,
            plate_seen=PLATE,
            plant_id=PLANT,
            now=AT_GATE,
        )
        assert result.reason is PassReason.REVOKED

    def test_a_key_missing_from_the_cached_jwks_is_unknown(self) -> None:
        newer = RING.rotate(generate_private_key(), now=NOW, publish_for_s=3600)
        result = verify_offline(
            issue_pass(make_claims(), ring=newer),
            jwks=RING.jwks(now=NOW),
            revocations=RevocationList(),
            plate_seen=PLATE,
            plant_id=PLANT,
            now=AT_GATE,
        )
        assert result.reason is PassReason.UNKNOWN_KEY


class TestRevocationSync:
    def test_deltas_advance_the_high_mark_and_collect_entries(self) -> None:
        local = RevocationList().merge(delta(0, 3, 1, 3)).merge(delta(3, 6, 4, 5, 6))
        assert local.high_seq == 6
        assert {e.pass_id for e in local.entries.values()} == {f"pass-{s}" for s in (1, 3, 4, 5, 6)}
        assert "pass-4" in local
        assert "pass-2" not in local

    def test_merging_the_same_delta_twice_changes_nothing(self) -> None:
        once = RevocationList().merge(delta(0, 3, 1, 2, 3))
        assert once.merge(delta(0, 3, 1, 2, 3)) == once

    def test_a_late_answer_to_an_old_request_does_not_move_the_mark_back(self) -> None:
        local = RevocationList().merge(delta(0, 5, 1, 2, 5))
        replayed = local.merge(delta(0, 2, 1, 2))
        assert replayed.high_seq == 5
        assert replayed.entries == local.entries

    def test_a_delta_that_would_leave_a_gap_is_refused(self) -> None:
        local = RevocationList().merge(delta(0, 3, 1))
        with pytest.raises(RevocationSyncError, match="after=3"):
            local.merge(delta(5, 9, 6))

    def test_an_empty_delta_still_records_how_far_the_device_is(self) -> None:
        local = RevocationList().merge(delta(0, 40), synced_at=NOW)
        assert local.high_seq == 40
        assert local.synced_at == NOW
        assert len(local) == 0

    @pytest.mark.parametrize(
        ("after", "up_to", "seq"), [(3, 2, None), (0, 5, 6), (2, 5, 2), (-1, 0, None)]
    )
    def test_a_delta_with_entries_outside_its_range_is_refused(
        self, after: int, up_to: int, seq: int | None
    ) -> None:
        with pytest.raises(RevocationSyncError):
            RevocationDelta(
                after=after, up_to=up_to, entries=(entry(seq),) if seq is not None else ()
            )

    def test_a_pass_revoked_twice_keeps_its_first_entry_whatever_the_order(self) -> None:
        first = RevocationDelta(after=0, up_to=4, entries=(entry(4, "p"),))
        second = RevocationDelta(after=0, up_to=9, entries=(entry(9, "p"),))
        a = RevocationList().merge(first).merge(second)
        b = RevocationList().merge(second).merge(first)
        assert a == b
        assert a.entries["p"].seq == 4

    def test_expired_passes_are_pruned(self) -> None:
        local = RevocationList().merge(
            RevocationDelta(after=0, up_to=2, entries=(entry(1, hours=1), entry(2, hours=9)))
        )
        pruned = local.pruned(now=NOW + timedelta(hours=2))
        assert set(pruned.entries) == {"pass-2"}
        assert pruned.high_seq == 2

    def test_the_list_survives_the_device_storage_round_trip(self) -> None:
        local = RevocationList().merge(delta(0, 12, 3, 7, 12), synced_at=NOW)
        assert RevocationList.from_json(local.to_json()) == local

    def test_corrupt_storage_is_an_error(self) -> None:
        with pytest.raises(RevocationSyncError):
            RevocationList.from_json('{"high_seq": 1}')

    @given(
        seqs=st.lists(st.integers(min_value=1, max_value=60), unique=True, max_size=30),
        cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=6),
        replays=st.lists(st.integers(min_value=0, max_value=10), max_size=4),
    )
    def test_any_paging_with_replays_ends_in_the_same_list_as_one_big_delta(
        self, seqs: list[int], cuts: list[int], replays: list[int]
    ) -> None:
        ordered = sorted(seqs)
        bounds = sorted({0, 60, *cuts})
        pages = [
            delta(lo, hi, *[s for s in ordered if lo < s <= hi]) for lo, hi in pairwise(bounds)
        ]
        local = RevocationList()
        for index, page in enumerate(pages):
            local = local.merge(page)
            for replay in replays:
                local = local.merge(pages[min(replay, index)])
        assert local == RevocationList().merge(delta(0, 60, *ordered))
