from __future__ import annotations

from dataclasses import replace
from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.authorizations.chain import (
    CHAIN_HASH_BYTES,
    ChainReason,
    ChainViolation,
    Grant,
    GrantStatus,
    chain_hash,
    check_chain,
    check_new_grant,
    check_pass_terms,
    check_transition,
    held_quantity,
    hops_below,
)
from tests.dispatch.pass_factory import NOW, make_chain, make_claims


def child_of(parent: Grant, grant_id: str, **terms: Any) -> Grant:
    """An offer from the holder of `parent` to one of its own drivers, unless told otherwise."""
    base = Grant(
        grant_id=grant_id,
        parent_id=parent.grant_id,
        grantor_org_id=parent.grantee_org_id,
        grantee_org_id=parent.grantee_org_id,
        quantity=Decimal(30),
        not_before=parent.not_before,
        not_after=parent.not_after,
        driver_id=f"driver-of-{grant_id}",
        vehicle_plate=f"P{len(grant_id)}",
    )
    return replace(base, **terms)


def to_carrier(parent: Grant, grant_id: str, carrier: str, **terms: Any) -> Grant:
    return child_of(
        parent, grant_id, grantee_org_id=carrier, driver_id=None, vehicle_plate=None, **terms
    )


def reason_of(call: Any) -> ChainReason:
    with pytest.raises(ChainViolation) as caught:
        call()
    return caught.value.reason


def refusal_of(call: Any, *args: Any, **kwargs: Any) -> ChainReason | None:
    try:
        call(*args, **kwargs)
    except ChainViolation as error:
        return error.reason
    return None


ROOT = make_chain()[0]


class TestQuantity:
    def test_a_hop_may_not_grant_more_than_its_parent_has(self) -> None:
        too_much = child_of(ROOT, "g1", quantity=Decimal("500.001"))
        assert (
            reason_of(lambda: check_new_grant(too_much, parent=ROOT, siblings=[]))
            is ChainReason.QUANTITY_EXCEEDS_PARENT
        )

    def test_nor_more_than_what_its_parent_still_holds_after_other_hops(self) -> None:
        given_out = [child_of(ROOT, f"g{i}", quantity=Decimal(100)) for i in range(4)]
        rest = child_of(ROOT, "g-rest", quantity=Decimal(100))
        check_new_grant(rest, parent=ROOT, siblings=given_out)
        one_more = child_of(ROOT, "g-more", quantity=Decimal("100.5"))
        assert (
            reason_of(lambda: check_new_grant(one_more, parent=ROOT, siblings=given_out))
            is ChainReason.QUANTITY_EXCEEDS_PARENT
        )

    def test_declined_and_revoked_hops_give_their_quantity_back(self) -> None:
        siblings = [
            child_of(ROOT, "g-declined", quantity=Decimal(300), status=GrantStatus.DECLINED),
            child_of(ROOT, "g-revoked", quantity=Decimal(150), status=GrantStatus.REVOKED),
            child_of(ROOT, "g-used", quantity=Decimal(20), status=GrantStatus.USED),
        ]
        assert held_quantity(ROOT, siblings) == Decimal(480)
        check_new_grant(child_of(ROOT, "g-new", quantity=Decimal(480)), parent=ROOT, siblings=[])

    def test_re_checking_an_existing_hop_does_not_count_it_twice(self) -> None:
        hop = child_of(ROOT, "g1", quantity=Decimal(500))
        check_new_grant(hop, parent=ROOT, siblings=[hop])

    @given(parts=st.lists(st.integers(min_value=1, max_value=200), min_size=1, max_size=12))
    def test_offers_are_accepted_exactly_while_the_total_stays_within_the_parent(
        self, parts: list[int]
    ) -> None:
        accepted: list[Grant] = []
        for index, part in enumerate(parts):
            offer = child_of(ROOT, f"g{index}", quantity=Decimal(part))
            fits = sum(g.quantity for g in accepted) + offer.quantity <= ROOT.quantity
            refusal = refusal_of(check_new_grant, offer, parent=ROOT, siblings=accepted)
            if fits:
                assert refusal is None
                accepted.append(offer)
            else:
                assert refusal is ChainReason.QUANTITY_EXCEEDS_PARENT
        assert sum(g.quantity for g in accepted) <= ROOT.quantity


class TestValidity:
    @pytest.mark.parametrize(
        "window",
        [
            {"not_after": ROOT.not_after + timedelta(seconds=1)},
            {"not_before": ROOT.not_before - timedelta(seconds=1)},
        ],
        ids=["ends-later", "starts-earlier"],
    )
    def test_a_hop_may_not_be_valid_outside_its_parent(self, window: dict[str, Any]) -> None:
        longer = child_of(ROOT, "g1", **window)
        assert (
            reason_of(lambda: check_new_grant(longer, parent=ROOT, siblings=[]))
            is ChainReason.VALIDITY_EXCEEDS_PARENT
        )

    def test_a_window_inside_the_parent_is_fine(self) -> None:
        inner = child_of(
            ROOT,
            "g1",
            not_before=ROOT.not_before + timedelta(hours=1),
            not_after=ROOT.not_after - timedelta(hours=1),
        )
        check_new_grant(inner, parent=ROOT, siblings=[])


class TestCarriers:
    def test_without_subcontracting_no_other_carrier_may_receive_it(self) -> None:
        hop = to_carrier(ROOT, "g-sub", "carrier-south")
        assert (
            reason_of(lambda: check_new_grant(hop, parent=ROOT, siblings=[]))
            is ChainReason.SUBCONTRACTING_NOT_ALLOWED
        )

    def test_only_listed_carriers_may_receive_it(self) -> None:
        parent = replace(
            ROOT, may_subcontract=True, allowed_carrier_ids=frozenset({"carrier-south"})
        )
        check_new_grant(to_carrier(parent, "g-ok", "carrier-south"), parent=parent, siblings=[])
        other = to_carrier(parent, "g-no", "carrier-east")
        assert (
            reason_of(lambda: check_new_grant(other, parent=parent, siblings=[]))
            is ChainReason.CARRIER_NOT_ALLOWED
        )

    def test_subcontracting_with_no_list_allows_any_carrier(self) -> None:
        parent = replace(ROOT, may_subcontract=True)
        check_new_grant(to_carrier(parent, "g-any", "carrier-east"), parent=parent, siblings=[])

    def test_a_carrier_passes_a_pickup_only_to_its_own_drivers(self) -> None:
        hop = child_of(ROOT, "g-driver", grantee_org_id="carrier-south")
        assert (
            reason_of(lambda: check_new_grant(hop, parent=ROOT, siblings=[]))
            is ChainReason.DRIVER_NOT_OWN
        )

    def test_only_the_holder_can_pass_a_grant_on(self) -> None:
        hop = child_of(ROOT, "g1", grantor_org_id="carrier-south", grantee_org_id="carrier-south")
        assert (
            reason_of(lambda: check_new_grant(hop, parent=ROOT, siblings=[]))
            is ChainReason.NOT_HOLDER
        )

    def test_a_driver_hop_cannot_be_passed_on(self) -> None:
        leaf = make_chain()[1]
        hop = child_of(leaf, "g-below-driver")
        assert (
            reason_of(lambda: check_new_grant(hop, parent=leaf, siblings=[]))
            is ChainReason.LEAF_CANNOT_GRANT
        )

    @pytest.mark.parametrize("status", [GrantStatus.OFFERED, GrantStatus.REVOKED])
    def test_a_grant_not_accepted_cannot_be_passed_on(self, status: GrantStatus) -> None:
        parent = replace(ROOT, status=status)
        assert (
            reason_of(lambda: check_new_grant(child_of(parent, "g1"), parent=parent, siblings=[]))
            is ChainReason.PARENT_NOT_ACCEPTED
        )


class TestWholeChain:
    def test_an_accepted_chain_to_a_driver_in_its_window_holds(self) -> None:
        check_chain(make_chain(), now=NOW + timedelta(hours=1))

    def test_a_revoked_hop_anywhere_invalidates_the_hops_below_it(self) -> None:
        root, leaf = make_chain()
        sub = replace(
            to_carrier(replace(root, may_subcontract=True), "g-sub", "carrier-south"),
            status=GrantStatus.ACCEPTED,
        )
        chain = [
            replace(root, may_subcontract=True),
            replace(sub, status=GrantStatus.REVOKED),
            replace(
                leaf,
                parent_id="g-sub",
                grantor_org_id="carrier-south",
                grantee_org_id="carrier-south",
            ),
        ]
        with pytest.raises(ChainViolation) as caught:
            check_chain(chain, now=NOW + timedelta(hours=1))
        assert caught.value.reason is ChainReason.GRANT_REVOKED
        assert caught.value.grant_id == "g-sub"

    def test_a_hop_still_offered_does_not_back_a_pass(self) -> None:
        chain = make_chain(status=GrantStatus.OFFERED)
        assert (
            reason_of(lambda: check_chain(chain, now=NOW + timedelta(hours=1)))
            is ChainReason.GRANT_NOT_ACCEPTED
        )

    def test_outside_the_leaf_window_the_chain_does_not_hold(self) -> None:
        chain = make_chain()
        assert (
            reason_of(lambda: check_chain(chain, now=NOW + timedelta(hours=8)))
            is ChainReason.GRANT_EXPIRED
        )
        assert (
            reason_of(lambda: check_chain(chain, now=NOW - timedelta(seconds=1)))
            is ChainReason.GRANT_NOT_YET_VALID
        )

    def test_the_rules_hold_along_the_chain_too(self) -> None:
        chain = make_chain(quantity=Decimal(501))
        assert (
            reason_of(lambda: check_chain(chain, now=NOW + timedelta(hours=1)))
            is ChainReason.QUANTITY_EXCEEDS_PARENT
        )

    @pytest.mark.parametrize(
        "chain",
        [[], make_chain()[1:], [make_chain()[1], make_chain()[0]], make_chain()[:1]],
        ids=["empty", "no-root", "reversed", "no-driver"],
    )
    def test_an_incomplete_chain_does_not_hold(self, chain: list[Grant]) -> None:
        with pytest.raises(ChainViolation):
            check_chain(chain, now=NOW + timedelta(hours=1))

    def test_revoking_a_hop_reaches_every_hop_below_it_and_nothing_else(self) -> None:
        sub_parent = replace(ROOT, may_subcontract=True)
        sub = to_carrier(sub_parent, "g-sub", "carrier-south", may_subcontract=True)
        sub_sub = to_carrier(sub, "g-sub-sub", "carrier-east")
        grants = [
            sub_parent,
            sub,
            sub_sub,
            child_of(sub_sub, "g-east-driver"),
            child_of(sub, "g-south-driver"),
            child_of(sub_parent, "g-north-driver"),
        ]
        assert hops_below("g-sub", grants) == {"g-sub-sub", "g-east-driver", "g-south-driver"}
        assert hops_below("g-north-driver", grants) == frozenset()

    def test_a_pass_must_keep_to_its_leaf(self) -> None:
        leaf = make_chain()[1]
        check_pass_terms(make_claims(driver_id="driver-7", max_quantity=leaf.quantity), leaf=leaf)
        bigger = make_claims(driver_id="driver-7", max_quantity=leaf.quantity + 1)
        assert (
            reason_of(lambda: check_pass_terms(bigger, leaf=leaf))
            is ChainReason.QUANTITY_EXCEEDS_PARENT
        )
        longer = make_claims(driver_id="driver-7", expires_at=leaf.not_after + timedelta(hours=1))
        assert (
            reason_of(lambda: check_pass_terms(longer, leaf=leaf))
            is ChainReason.VALIDITY_EXCEEDS_PARENT
        )
        other_driver = make_claims(driver_id="driver-8")
        assert (
            reason_of(lambda: check_pass_terms(other_driver, leaf=leaf))
            is ChainReason.INVALID_GRANT
        )


class TestTransitions:
    def test_a_grant_is_revocable_until_used(self) -> None:
        check_transition(GrantStatus.OFFERED, GrantStatus.REVOKED)
        check_transition(GrantStatus.ACCEPTED, GrantStatus.REVOKED)
        assert (
            reason_of(lambda: check_transition(GrantStatus.USED, GrantStatus.REVOKED))
            is ChainReason.INVALID_TRANSITION
        )

    def test_a_declined_offer_cannot_be_accepted_later(self) -> None:
        assert (
            reason_of(lambda: check_transition(GrantStatus.DECLINED, GrantStatus.ACCEPTED))
            is ChainReason.INVALID_TRANSITION
        )


class TestChainHash:
    def test_it_is_short_stable_and_blind_to_representation(self) -> None:
        chain = make_chain()
        same = [
            replace(chain[0], quantity=Decimal("500.000")),
            replace(
                chain[1],
                not_before=chain[1].not_before.astimezone(timezone(timedelta(hours=8))),
                vehicle_plate="ab12cde",
            ),
        ]
        assert chain_hash(chain) == chain_hash(same)
        assert len(chain_hash(chain)) == (CHAIN_HASH_BYTES * 8 + 5) // 6

    def test_status_is_not_part_of_it(self) -> None:
        chain = make_chain()
        used = replace(chain[1], status=GrantStatus.USED)
        assert chain_hash(chain) == chain_hash([chain[0], used])

    @pytest.mark.parametrize(
        "change",
        [
            {"grant_id": "g-other"},
            {"grantor_org_id": "carrier-x", "grantee_org_id": "carrier-x"},
            {"quantity": Decimal("32.4")},
            {"not_after": NOW + timedelta(hours=8, seconds=1)},
            {"not_before": NOW + timedelta(microseconds=1)},
            {"driver_id": "driver-8"},
            {"vehicle_plate": "AB12CDF"},
            {"may_subcontract": True},
            {"allowed_carrier_ids": frozenset({"carrier-x"})},
        ],
    )
    def test_changing_any_term_of_any_hop_changes_it(self, change: dict[str, Any]) -> None:
        root, leaf = make_chain()
        assert chain_hash([root, leaf]) != chain_hash([root, replace(leaf, **change)])
        if not {"driver_id", "vehicle_plate"} & set(change):
            assert chain_hash([root, leaf]) != chain_hash([replace(root, **change), leaf])

    def test_the_same_leaf_under_another_parent_hashes_differently(self) -> None:
        root, leaf = make_chain()
        assert chain_hash([root, leaf]) != chain_hash(
            [replace(root, grantor_org_id="buyer-other"), leaf]
        )
