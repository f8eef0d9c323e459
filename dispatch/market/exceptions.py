"""Errors of the load market, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, Forbidden, InvalidTransition, NotFound, RuleViolation


class OfferNotFound(NotFound):
    """No such load, or not one the caller may see."""

    default_code = "offer_not_found"


class BidNotFound(NotFound):
    """No such bid, or not one the caller may see."""

    default_code = "bid_not_found"


class BookingNotFound(NotFound):
    """No such booking, or not one the caller is party to."""

    default_code = "booking_not_found"


class ApprovalNotFound(NotFound):
    """No such approval request in the caller's organization."""

    default_code = "approval_not_found"


class NotQualified(Forbidden):
    """The carrier lacks a qualification or a vehicle the load needs."""

    default_code = "carrier_not_qualified"


class NotArranger(Forbidden):
    """Only the party that arranges transport for the order may post its loads."""

    default_code = "not_transport_arranger"


class OwnLoad(Forbidden):
    """A shipper cannot take its own load."""

    default_code = "own_load"


class OfferNotOpen(InvalidTransition):
    """The load is not open for this (closed, awarded, booked, expired or cancelled)."""

    default_code = "offer_not_open"


class WrongPricingMode(InvalidTransition):
    """The action belongs to another pricing mode (grab a posted load, bid on an auction)."""

    default_code = "wrong_pricing_mode"


class QuantityUnavailable(Conflict):
    """Someone else took the quantity first; the reply says what remains."""

    default_code = "quantity_unavailable"


class BelowMinimumLot(RuleViolation):
    """A grab smaller than the load's minimum lot (and not its last remainder)."""

    default_code = "below_minimum_lot"


class AboveCeiling(RuleViolation):
    """A bid above the auction's ceiling price."""

    default_code = "above_ceiling"


class BidLimitReached(RuleViolation):
    """The carrier used up the load's limit of bids and revisions."""

    default_code = "bid_limit_reached"


class BidNotStanding(InvalidTransition):
    """The bid is not in a state that allows this."""

    default_code = "bid_not_standing"


class CounterNotAllowed(InvalidTransition):
    """The shipper already countered this bid, or there is no counter to answer."""

    default_code = "counter_not_allowed"


class AwardNotYours(Forbidden):
    """Only the carrier that won may confirm or decline the award."""

    default_code = "award_not_yours"


class TenderNotYours(Forbidden):
    """The tender is not (or no longer) offered to the caller."""

    default_code = "tender_not_yours"


class BookingNotCancellable(InvalidTransition):
    """The booking is past the point of cancelling."""

    default_code = "booking_not_cancellable"


class ApprovalDecided(InvalidTransition):
    """The approval request was decided already."""

    default_code = "approval_decided"


class InvalidOffer(RuleViolation):
    """Offer terms that contradict each other or the order."""

    default_code = "invalid_offer"
