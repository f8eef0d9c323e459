"""Market records as the API shows them."""

from __future__ import annotations

import uuid
from fractions import Fraction

from dispatch.market.awards import RankedBid as RankedRecord
from dispatch.market.models import Approval, ApprovalRule, Bid, Booking, LoadOffer, TenderStep
from dispatch.market.offers import OfferView
from dispatch.market.reliability import Reliability
from dispatch.market.schemas import (
    ApprovalPublic,
    ApprovalRulePublic,
    BidPublic,
    BookingPublic,
    OfferPublic,
    RankedBid,
    ReliabilityPublic,
    TenderStepPublic,
)


def offer_public(view: OfferView | LoadOffer) -> OfferPublic:
    """A load as the API shows it."""
    if isinstance(view, LoadOffer):
        view = OfferView(offer=view)
    public = OfferPublic.model_validate(view.offer, from_attributes=True)
    public.best_bid_cents = view.best_bid_cents
    public.distance_km = None if view.distance_km is None else round(view.distance_km, 1)
    return public


def bid_public(bid: Bid) -> BidPublic:
    """A bid as the API shows it."""
    return BidPublic.model_validate(bid, from_attributes=True)


def booking_public(booking: Booking) -> BookingPublic:
    """A booking as the API shows it."""
    return BookingPublic.model_validate(booking, from_attributes=True)


def tender_step_public(step: TenderStep) -> TenderStepPublic:
    """A tender turn as the API shows it."""
    return TenderStepPublic.model_validate(step, from_attributes=True)


def ranked_public(ranked: RankedRecord) -> RankedBid:
    """A scored bid as the API shows it."""
    scored = ranked.scored
    return RankedBid(
        bid=bid_public(ranked.bid),
        carrier_name=ranked.carrier_name,
        reliability=round(float(scored.candidate.reliability), 4),
        price_part=round(float(scored.price_part), 4),
        reliability_part=round(float(scored.reliability_part), 4),
        score=round(float(scored.score), 4),
    )


def _rate(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def reliability_public(carrier_id: uuid.UUID, found: Reliability) -> ReliabilityPublic:
    """A reliability score as the API shows it."""
    return ReliabilityPublic(
        carrier_id=carrier_id,
        bookings=found.bookings,
        on_time_pickup_rate=_rate(found.on_time_pickup_rate),
        on_time_delivery_rate=_rate(found.on_time_delivery_rate),
        cancellation_rate=_rate(found.cancellation_rate),
        score=round(float(found.score), 4),
        tier=found.tier.value,
    )


def rule_public(rule: ApprovalRule) -> ApprovalRulePublic:
    """An approval rule as the API shows it."""
    return ApprovalRulePublic.model_validate(rule, from_attributes=True)


def approval_public(approval: Approval) -> ApprovalPublic:
    """An approval request as the API shows it."""
    return ApprovalPublic.model_validate(approval, from_attributes=True)
