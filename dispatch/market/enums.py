"""States of offers, bids, tender steps, bookings and approvals, and what may follow what.

Every state change is one conditional UPDATE whose WHERE names the state it leaves (the
tables below say which moves exist); zero rows means someone else moved first.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class PricingMode(StrEnum):
    """How a load finds its carrier."""

    POSTED = "posted"  # a posted rate: grab all or part, first come first served
    AUCTION = "auction"  # a reverse auction: bids until a deadline, award by score
    TENDER = "tender"  # a waterfall: ranked carriers, one at a time, then the open market


class Visibility(StrEnum):
    """Which carriers see a load."""

    OPEN = "open"  # every qualified carrier
    INVITED = "invited"  # invited carriers only
    TENDER = "tender"  # the carrier the waterfall currently offers it to


class RateBasis(StrEnum):
    """What a rate is per: a tonne (kg loads), a cubic metre (litre loads), a pallet or piece,
    a trip (the offer's minimum lot is the trip size), or the whole load (prorated)."""

    PER_TONNE = "per_tonne"
    PER_M3 = "per_m3"
    PER_UNIT = "per_unit"
    PER_TRIP = "per_trip"
    PER_LOAD = "per_load"


class OfferState(StrEnum):
    """Where a load offer stands."""

    OPEN = "open"  # grabbable, biddable, or with the current tender carrier
    CLOSED = "closed"  # bidding over, no award in force (or an award waits for approval)
    AWARDED = "awarded"  # a winner has until the award deadline to confirm
    BOOKED = "booked"  # every unit is booked
    EXPIRED = "expired"  # the pickup window ended with quantity unbooked
    CANCELLED = "cancelled"  # the shipper withdrew it


OFFER_TRANSITIONS: Mapping[OfferState, frozenset[OfferState]] = {
    OfferState.OPEN: frozenset(
        {
            OfferState.CLOSED,
            OfferState.AWARDED,
            OfferState.BOOKED,
            OfferState.EXPIRED,
            OfferState.CANCELLED,
        }
    ),
    OfferState.CLOSED: frozenset(
        {OfferState.AWARDED, OfferState.OPEN, OfferState.EXPIRED, OfferState.CANCELLED}
    ),
    # AWARDED -> AWARDED passes the award to the next bid.
    OfferState.AWARDED: frozenset(
        {
            OfferState.AWARDED,
            OfferState.CLOSED,
            OfferState.BOOKED,
            OfferState.EXPIRED,
            OfferState.CANCELLED,
        }
    ),
    # A cancelled booking gives its quantity back: a posted load reopens, others close.
    OfferState.BOOKED: frozenset({OfferState.OPEN, OfferState.CLOSED}),
    OfferState.EXPIRED: frozenset(),
    OfferState.CANCELLED: frozenset(),
}

LIVE_OFFER_STATES = frozenset({OfferState.OPEN, OfferState.CLOSED, OfferState.AWARDED})
"""States in which unbooked quantity is still on the market."""


class BidState(StrEnum):
    """Where a carrier's bid on an auctioned load stands."""

    PENDING_APPROVAL = "pending_approval"  # waits for the carrier's owner or an admin
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    AWARDED = "awarded"  # won; the carrier must confirm before the deadline
    ACCEPTED = "accepted"  # confirmed: a booking exists
    DECLINED = "declined"  # the winner said no
    LAPSED = "lapsed"  # the winner did not answer in time, or approval came too late
    REJECTED = "rejected"  # the carrier's owner refused it
    LOST = "lost"  # another bid was booked, or the load ended


BID_TRANSITIONS: Mapping[BidState, frozenset[BidState]] = {
    BidState.PENDING_APPROVAL: frozenset({BidState.ACTIVE, BidState.REJECTED, BidState.LAPSED}),
    # ACTIVE -> ACTIVE is a revision or an accepted counter-offer.
    BidState.ACTIVE: frozenset(
        {BidState.ACTIVE, BidState.WITHDRAWN, BidState.AWARDED, BidState.LOST}
    ),
    BidState.WITHDRAWN: frozenset({BidState.ACTIVE, BidState.PENDING_APPROVAL, BidState.LOST}),
    BidState.AWARDED: frozenset(
        {BidState.ACCEPTED, BidState.DECLINED, BidState.LAPSED, BidState.LOST}
    ),
    BidState.ACCEPTED: frozenset(),
    BidState.DECLINED: frozenset(),
    BidState.LAPSED: frozenset(),
    BidState.REJECTED: frozenset(),
    BidState.LOST: frozenset(),
}


class CounterState(StrEnum):
    """The shipper's one counter-offer on a bid."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class TenderStepState(StrEnum):
    """One carrier's turn in a tender waterfall."""

    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # no answer before the response timeout
    SKIPPED = "skipped"  # the load was cancelled or booked before this turn


TENDER_STEP_TRANSITIONS: Mapping[TenderStepState, frozenset[TenderStepState]] = {
    TenderStepState.WAITING: frozenset({TenderStepState.OFFERED, TenderStepState.SKIPPED}),
    TenderStepState.OFFERED: frozenset(
        {
            TenderStepState.ACCEPTED,
            TenderStepState.DECLINED,
            TenderStepState.EXPIRED,
            TenderStepState.SKIPPED,
        }
    ),
    TenderStepState.ACCEPTED: frozenset(),
    TenderStepState.DECLINED: frozenset(),
    TenderStepState.EXPIRED: frozenset(),
    TenderStepState.SKIPPED: frozenset(),
}


class BookingSource(StrEnum):
    """How a booking came about."""

    GRAB = "grab"
    AUCTION = "auction"
    TENDER = "tender"


class BookingState(StrEnum):
    """Where a booking stands."""

    PENDING_APPROVAL = "pending_approval"  # quantity held while the carrier's owner decides
    CONFIRMED = "confirmed"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


BOOKING_TRANSITIONS: Mapping[BookingState, frozenset[BookingState]] = {
    BookingState.PENDING_APPROVAL: frozenset({BookingState.CONFIRMED, BookingState.CANCELLED}),
    BookingState.CONFIRMED: frozenset(
        {BookingState.PICKED_UP, BookingState.CANCELLED, BookingState.NO_SHOW}
    ),
    BookingState.PICKED_UP: frozenset({BookingState.DELIVERED}),
    BookingState.DELIVERED: frozenset(),
    BookingState.CANCELLED: frozenset(),
    BookingState.NO_SHOW: frozenset(),
}


class ApprovalAction(StrEnum):
    """What an organization's owner may hold for approval above an amount."""

    BID = "bid"
    GRAB = "grab"
    AWARD = "award"


class ApprovalState(StrEnum):
    """Where an approval request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    VOID = "void"  # what it would approve ended first (the load expired, say)


APPROVAL_TRANSITIONS: Mapping[ApprovalState, frozenset[ApprovalState]] = {
    ApprovalState.PENDING: frozenset(
        {ApprovalState.APPROVED, ApprovalState.REJECTED, ApprovalState.VOID}
    ),
    ApprovalState.APPROVED: frozenset(),
    ApprovalState.REJECTED: frozenset(),
    ApprovalState.VOID: frozenset(),
}
