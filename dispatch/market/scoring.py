"""How an auction picks its winner: a score of price and carrier reliability.

For the standing bids of a load, with total amounts ``a_i`` (minor units) and carrier
reliability scores ``r_i`` in [0, 1]:

    score_i = w * (min_j a_j / a_i) + (1 - w) * r_i,    w = price_weight_pct / 100

The cheapest bid gets a full price part (1); a bid twice as dear gets half. The shipper sets
``w`` per load (70 % price by default; 100 % is a pure lowest-price auction). Ties go to the
lower amount, then the earlier bid. Computed with fractions, so the order never depends on
float rounding.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction


@dataclass(frozen=True)
class Candidate:
    """A standing bid as the ranking sees it."""

    bid_id: uuid.UUID
    carrier_id: uuid.UUID
    amount_cents: int
    reliability: Fraction
    placed_at: datetime


@dataclass(frozen=True)
class Scored:
    """A bid with its score and the two parts it is made of."""

    candidate: Candidate
    price_part: Fraction
    reliability_part: Fraction
    score: Fraction


def rank(candidates: Iterable[Candidate], *, price_weight_pct: int) -> list[Scored]:
    """Bids best first."""
    pool = list(candidates)
    if not pool:
        return []
    if not 0 <= price_weight_pct <= 100:
        raise ValueError("price_weight_pct is between 0 and 100")
    weight = Fraction(price_weight_pct, 100)
    cheapest = min(c.amount_cents for c in pool)
    scored = []
    for candidate in pool:
        if candidate.amount_cents <= 0:
            raise ValueError("a bid amount is positive")
        price = Fraction(cheapest, candidate.amount_cents)
        reliability = min(Fraction(1), max(Fraction(0), candidate.reliability))
        scored.append(
            Scored(
                candidate=candidate,
                price_part=weight * price,
                reliability_part=(1 - weight) * reliability,
                score=weight * price + (1 - weight) * reliability,
            )
        )
    scored.sort(
        key=lambda s: (
            -s.score,
            s.candidate.amount_cents,
            s.candidate.placed_at,
            s.candidate.bid_id,
        )
    )
    return scored
