"""What a receipt shows against the loaded quantity and the plant's seals."""

from __future__ import annotations

import pytest

from dispatch.orders.enums import QuantityUnit
from tracking.evidence.enums import Condition, DisputeReason
from tracking.evidence.rules import SealSeen, allowed_difference, examine, seal_key


def _reasons(**fields: object) -> tuple[DisputeReason, ...]:
    terms: dict[str, object] = {
        "loaded": 24_000,
        "received": 24_000,
        "unit": QuantityUnit.KG,
        "condition": Condition.GOOD,
        "seals_expected": None,
        "seals_seen": [],
    }
    terms.update(fields)
    return examine(**terms).reasons  # type: ignore[arg-type]


class TestQuantity:
    @pytest.mark.parametrize(
        ("received", "reasons"),
        [
            (24_000 - 120, ()),  # 0.5 % short: what two weighbridges may disagree by
            (24_000 - 121, (DisputeReason.SHORT_DELIVERY,)),
            (24_000 + 120, ()),
            (24_000 + 121, (DisputeReason.OVER_DELIVERY,)),
        ],
    )
    def test_weighed_goods_have_a_tolerance_either_way(
        self, received: int, reasons: tuple[DisputeReason, ...]
    ) -> None:
        assert _reasons(received=received) == reasons

    def test_counted_goods_have_none(self) -> None:
        assert allowed_difference(33, QuantityUnit.PALLET) == 0
        assert _reasons(loaded=33, received=32, unit=QuantityUnit.PALLET) == (
            DisputeReason.SHORT_DELIVERY,
        )

    def test_nothing_weighed_nothing_to_dispute_on_quantity(self) -> None:
        found = examine(
            loaded=None,
            received=1,
            unit=QuantityUnit.KG,
            condition=Condition.GOOD,
            seals_expected=None,
            seals_seen=[],
        )
        assert (found.reasons, dict(found.details)) == ((), {})


class TestConditionAndSeals:
    def test_damage_and_contamination(self) -> None:
        assert _reasons(condition=Condition.DAMAGED) == (DisputeReason.DAMAGE,)
        assert _reasons(condition=Condition.CONTAMINATED) == (DisputeReason.CONTAMINATION,)

    def test_seal_numbers_match_whatever_separators_were_typed(self) -> None:
        assert seal_key("s 1001") == seal_key("S-1001") == "S1001"
        seen = [SealSeen("s1001", True), SealSeen("S.1002", True)]
        assert _reasons(seals_expected=["S-1001", "S-1002"], seals_seen=seen) == ()

    def test_a_broken_a_missing_and_an_unknown_seal(self) -> None:
        found = examine(
            loaded=24_000,
            received=24_000,
            unit=QuantityUnit.KG,
            condition=Condition.GOOD,
            seals_expected=["S-1", "S-2"],
            seals_seen=[SealSeen("S-1", False), SealSeen("X-9", True)],
        )
        assert found.reasons == (DisputeReason.SEAL_BROKEN, DisputeReason.SEAL_MISMATCH)
        assert found.details["seals_broken"] == ["S-1"]
        assert found.details["seals_missing"] == ["S-2"]
        assert found.details["seals_unexpected"] == ["X-9"]

    def test_without_the_plant_seals_only_a_broken_one_counts(self) -> None:
        assert _reasons(seals_seen=[SealSeen("S-1", True)]) == ()
        assert _reasons(seals_seen=[SealSeen("S-1", False)]) == (DisputeReason.SEAL_BROKEN,)
