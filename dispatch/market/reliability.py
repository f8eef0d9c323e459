"""A carrier's reliability over its last 20 bookings with an outcome.

An outcome is a delivery, a no-show, or a cancellation by the carrier inside 24 hours of the
pickup window (earlier cancellations and the shipper's do not count). Over those bookings:

- on-time pickup rate: delivered bookings picked up by the end of the pickup window, over
  delivered bookings with a pickup time;
- on-time delivery rate: delivered bookings delivered by the deadline, over delivered ones;
- cancellation rate: late cancellations and no-shows over all outcomes.

    raw   = (1 - cancellation rate) * (on-time pickups + on-time deliveries) / (2 * delivered)
    score = (n * raw + PRIOR_WEIGHT * PRIOR) / (n + PRIOR_WEIGHT)

The prior (0.8, worth 4 bookings) keeps one early event from making or breaking a new carrier;
a carrier without outcomes scores 0.8. Tiers follow Uber Freight's published anchor: top
carriers cancel at most 5 % and are on time at least 95 %.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction

WINDOW = 20
PRIOR = Fraction(4, 5)
PRIOR_WEIGHT = 4
LATE_CANCELLATION_S = 24 * 3600
MIN_BOOKINGS_FOR_TIER = 5


class OutcomeKind(StrEnum):
    """What became of a booking, as far as reliability is concerned."""

    DELIVERED = "delivered"
    NO_SHOW = "no_show"
    LATE_CANCELLATION = "late_cancellation"


class Tier(StrEnum):
    """Where a carrier stands."""

    NEW = "new"  # fewer than 5 outcomes
    TOP = "top"  # <= 5 % cancellations, >= 95 % on time
    GOOD = "good"  # <= 10 % cancellations, >= 85 % on time
    WATCH = "watch"  # below that


@dataclass(frozen=True)
class Outcome:
    """One booking's outcome."""

    kind: OutcomeKind
    at: datetime
    picked_up_on_time: bool | None = None
    delivered_on_time: bool | None = None


@dataclass(frozen=True)
class Reliability:
    """A carrier's rates over the window and the score auctions use."""

    bookings: int
    on_time_pickup_rate: Fraction | None
    on_time_delivery_rate: Fraction | None
    cancellation_rate: Fraction | None
    score: Fraction
    tier: Tier


def is_late_cancellation(*, cancelled_at: datetime, pickup_from: datetime) -> bool:
    """Whether a carrier's cancellation falls inside 24 hours of the pickup window (or later)."""
    return (pickup_from - cancelled_at).total_seconds() < LATE_CANCELLATION_S


def reliability(outcomes: Sequence[Outcome]) -> Reliability:
    """The reliability over the most recent ``WINDOW`` outcomes."""
    recent = sorted(outcomes, key=lambda o: o.at, reverse=True)[:WINDOW]
    n = len(recent)
    if n == 0:
        return Reliability(0, None, None, None, PRIOR, Tier.NEW)
    delivered = [o for o in recent if o.kind == OutcomeKind.DELIVERED]
    failures = n - len(delivered)
    cancellation = Fraction(failures, n)
    pickups = [o.picked_up_on_time for o in delivered if o.picked_up_on_time is not None]
    deliveries = [o.delivered_on_time for o in delivered if o.delivered_on_time is not None]
    pickup_rate = Fraction(sum(pickups), len(pickups)) if pickups else None
    delivery_rate = Fraction(sum(deliveries), len(deliveries)) if deliveries else None
    timed = pickups + deliveries
    # Deliveries without timestamps say nothing about punctuality: count them on time.
    on_time = Fraction(sum(timed), len(timed)) if timed else Fraction(1)
    raw = (1 - cancellation) * on_time
    score = (n * raw + PRIOR_WEIGHT * PRIOR) / (n + PRIOR_WEIGHT)
    return Reliability(
        n, pickup_rate, delivery_rate, cancellation, score, _tier(n, cancellation, on_time)
    )


def _tier(n: int, cancellation: Fraction, on_time: Fraction) -> Tier:
    if n < MIN_BOOKINGS_FOR_TIER:
        return Tier.NEW
    if cancellation <= Fraction(5, 100) and on_time >= Fraction(95, 100):
        return Tier.TOP
    if cancellation <= Fraction(10, 100) and on_time >= Fraction(85, 100):
        return Tier.GOOD
    return Tier.WATCH
