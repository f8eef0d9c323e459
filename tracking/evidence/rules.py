"""What a receipt shows against the delivery: the discrepancies that open a dispute.

Pure: no session, no I/O. Bulk goods measured by weight or volume get a relative tolerance
(two weighbridges, or a weighbridge and a flow meter, never agree to the kilogram); counted
goods (pallets, pieces) get none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from dispatch.orders.enums import QuantityUnit
from tracking.evidence.enums import Condition, DisputeReason

MEASURED_TOLERANCE: Final = 0.005
"""0.5 % of the loaded quantity, either way, for goods weighed or metered (kg, litres)."""

_MEASURED = frozenset({QuantityUnit.KG, QuantityUnit.LITRE})


@dataclass(frozen=True)
class SealSeen:
    """A seal the receiver checked: its number and whether it was intact."""

    number: str
    intact: bool


@dataclass(frozen=True)
class Findings:
    """The discrepancies a receipt shows, with the figures behind them."""

    reasons: tuple[DisputeReason, ...]
    details: Mapping[str, Any]

    @property
    def disputed(self) -> bool:
        """Whether anything is beyond tolerance."""
        return bool(self.reasons)


def allowed_difference(loaded: int, unit: QuantityUnit) -> int:
    """How far the received quantity may be from the loaded one without a dispute."""
    if unit in _MEASURED:
        return int(loaded * MEASURED_TOLERANCE)
    return 0


def seal_key(number: str) -> str:
    """A seal number as compared: letters and digits only, upper case (``s 1001`` is
    ``S-1001``), since receivers type what the tag shows with their own separators."""
    return "".join(c for c in number if c.isalnum()).upper()


def examine(
    *,
    loaded: int | None,
    received: int,
    unit: QuantityUnit,
    condition: Condition,
    seals_expected: Sequence[str] | None,
    seals_seen: Sequence[SealSeen],
) -> Findings:
    """The discrepancies between what was loaded and sealed and what the receiver found.

    With no loaded quantity (nothing weighed the truck) no quantity can be disputed; with no
    seals from the plant only the seals found broken count.
    """
    reasons: list[DisputeReason] = []
    details: dict[str, Any] = {}
    if loaded is not None:
        difference = received - loaded
        allowed = allowed_difference(loaded, unit)
        details |= {
            "loaded_quantity": loaded,
            "received_quantity": received,
            "difference": difference,
            "allowed_difference": allowed,
            "unit": unit.value,
        }
        if difference < -allowed:
            reasons.append(DisputeReason.SHORT_DELIVERY)
        elif difference > allowed:
            reasons.append(DisputeReason.OVER_DELIVERY)
    if condition == Condition.DAMAGED:
        reasons.append(DisputeReason.DAMAGE)
    elif condition == Condition.CONTAMINATED:
        reasons.append(DisputeReason.CONTAMINATION)
    broken = sorted(s.number for s in seals_seen if not s.intact)
    if broken:
        reasons.append(DisputeReason.SEAL_BROKEN)
        details["seals_broken"] = broken
    if seals_expected is not None:
        expected = {seal_key(n): n for n in seals_expected}
        seen = {seal_key(s.number): s.number for s in seals_seen}
        missing = sorted(n for key, n in expected.items() if key not in seen)
        unknown = sorted(n for key, n in seen.items() if key not in expected)
        if missing or unknown:
            reasons.append(DisputeReason.SEAL_MISMATCH)
            details["seals_missing"] = missing
            details["seals_unexpected"] = unknown
    return Findings(reasons=tuple(reasons), details=details)
