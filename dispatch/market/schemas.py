"""API shapes of the load market."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from accounts.schemas import Strict
from dispatch.fleet.enums import BodyType
from dispatch.market.enums import (
    ApprovalAction,
    ApprovalState,
    BidState,
    BookingSource,
    BookingState,
    CounterState,
    OfferState,
    PricingMode,
    RateBasis,
    TenderStepState,
    Visibility,
)
from dispatch.orders.enums import QuantityUnit

Cents = Annotated[int, Field(gt=0, le=10**13)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
Quantity = Annotated[int, Field(gt=0, le=10**12)]


class OfferCreate(Strict):
    """Put quantity of a sales order on the market.

    Quantities are whole base units of the order (kg, l, pallets, pieces); rates are minor
    units of ``currency`` per ``rate_basis``. A posted rate needs ``rate_cents``; an auction
    ``closes_at`` (and optionally ``ceiling_cents``); a tender ``tender_carrier_ids`` in rank
    order and the ``rate_cents`` offered to them. The pickup window defaults to the order's.
    """

    order_id: uuid.UUID
    quantity: Quantity
    min_lot: Quantity | None = None
    body_types: Annotated[list[BodyType], Field(max_length=7)] = []
    pickup_from: AwareDatetime | None = None
    pickup_until: AwareDatetime | None = None
    deliver_by: AwareDatetime | None = None
    pricing_mode: PricingMode
    visibility: Visibility | None = None
    invited_carrier_ids: Annotated[list[uuid.UUID], Field(max_length=200)] = []
    tender_carrier_ids: Annotated[list[uuid.UUID], Field(max_length=50)] = []
    currency: Currency = "EUR"
    rate_basis: RateBasis
    rate_cents: Cents | None = None
    ceiling_cents: Cents | None = None
    closes_at: AwareDatetime | None = None
    sealed: bool = True
    price_weight_pct: Annotated[int, Field(ge=0, le=100)] = 70
    auto_award: bool = True
    confirm_within_s: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 3600
    max_bids_per_carrier: Annotated[int, Field(ge=1, le=50)] = 5
    response_timeout_s: Annotated[int, Field(ge=60, le=7 * 24 * 3600)] = 3600
    notes: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OfferCreate:
        mode = self.pricing_mode
        if mode in (PricingMode.POSTED, PricingMode.TENDER) and self.rate_cents is None:
            raise ValueError("a posted or tendered load needs rate_cents")
        if mode == PricingMode.AUCTION and self.closes_at is None:
            raise ValueError("an auction needs closes_at")
        if mode != PricingMode.AUCTION and (self.closes_at or self.ceiling_cents):
            raise ValueError("closes_at and ceiling_cents belong to auctions")
        if mode == PricingMode.TENDER:
            if not self.tender_carrier_ids:
                raise ValueError("a tender needs tender_carrier_ids, best first")
            if len(set(self.tender_carrier_ids)) != len(self.tender_carrier_ids):
                raise ValueError("a carrier appears twice in tender_carrier_ids")
            if self.visibility not in (None, Visibility.TENDER):
                raise ValueError("a tendered load's visibility is the tender list")
            self.visibility = Visibility.TENDER
        elif self.tender_carrier_ids or self.visibility == Visibility.TENDER:
            raise ValueError("tender_carrier_ids and tender visibility belong to tenders")
        self.visibility = self.visibility or Visibility.OPEN
        if self.visibility == Visibility.INVITED and not self.invited_carrier_ids:
            raise ValueError("an invite-only load needs invited_carrier_ids")
        if self.visibility != Visibility.INVITED and self.invited_carrier_ids:
            raise ValueError("invited_carrier_ids need visibility 'invited'")
        if self.min_lot is not None and self.min_lot > self.quantity:
            raise ValueError("min_lot cannot exceed quantity")
        if self.rate_basis == RateBasis.PER_TRIP and self.min_lot is None:
            raise ValueError("a per-trip rate needs min_lot: the quantity of one trip")
        return self


class OfferReopen(Strict):
    """Put a closed load's unbooked quantity on the open market at a posted rate."""

    rate_cents: Cents
    min_lot: Quantity | None = None


class OfferCancel(Strict):
    """Withdraw a load; bookings already made stay until cancelled themselves."""

    reason: Reason


class OfferPublic(BaseModel):
    """A load offer. ``best_bid_cents`` shows in open auctions (and to the shipper)."""

    id: uuid.UUID
    version: int
    order_id: uuid.UUID
    reference: str
    shipper_id: uuid.UUID
    commodity: str
    unit: QuantityUnit
    quantity: int
    remaining: int
    min_lot: int
    hazard_class: str | None
    un_number: str | None
    food_grade: bool
    body_types: list[BodyType]
    origin_site_id: uuid.UUID
    origin_name: str
    origin_lat: float
    origin_lon: float
    destination_site_id: uuid.UUID | None
    destination_address: str
    destination_lat: float
    destination_lon: float
    pickup_from: datetime
    pickup_until: datetime
    deliver_by: datetime
    visibility: Visibility
    pricing_mode: PricingMode
    currency: str
    rate_basis: RateBasis
    rate_cents: int | None
    ceiling_cents: int | None
    closes_at: datetime | None
    sealed: bool
    price_weight_pct: int
    auto_award: bool
    confirm_within_s: int
    max_bids_per_carrier: int
    bid_count: int
    response_timeout_s: int
    tender_expires_at: datetime | None
    award_expires_at: datetime | None
    best_bid_cents: int | None = None
    state: OfferState
    created_at: datetime
    distance_km: float | None = None


class OffersPublic(BaseModel):
    """A page of loads; pass ``next_cursor`` as ``cursor`` for the next."""

    data: list[OfferPublic]
    count: int
    next_cursor: str | None = None


class GrabRequest(Strict):
    """Take ``quantity`` of a posted load (all that remains, or part of it)."""

    quantity: Quantity


class BidCreate(Strict):
    """Bid for the whole auctioned load at a rate per the load's basis; a second call
    revises your bid (placements and revisions count against the load's limit)."""

    rate_cents: Cents
    note: Annotated[str, Field(max_length=1000)] | None = None


class CounterCreate(Strict):
    """The shipper's one counter-offer on a bid."""

    rate_cents: Cents


class AwardRequest(Strict):
    """Award the load to a bid, or to the best by score when ``bid_id`` is null."""

    bid_id: uuid.UUID | None = None


class BidPublic(BaseModel):
    """A bid: its carrier sees its own, the shipper sees all standing ones."""

    id: uuid.UUID
    version: int
    offer_id: uuid.UUID
    carrier_id: uuid.UUID
    rate_cents: int
    amount_cents: int
    note: str | None
    state: BidState
    revisions: int
    counter_rate_cents: int | None
    counter_state: CounterState | None
    created_at: datetime
    updated_at: datetime


class BidsPublic(BaseModel):
    """A list of bids."""

    data: list[BidPublic]
    count: int


class RankedBid(BaseModel):
    """A standing bid with its auction score (see the scoring rule in the docs)."""

    bid: BidPublic
    carrier_name: str
    reliability: float
    price_part: float
    reliability_part: float
    score: float


class Ranking(BaseModel):
    """The standing bids of an auctioned load, best first."""

    price_weight_pct: int
    data: list[RankedBid]
    count: int


class TenderStepPublic(BaseModel):
    """One carrier's turn in a tender waterfall."""

    rank: int
    carrier_id: uuid.UUID
    state: TenderStepState
    offered_at: datetime | None
    expires_at: datetime | None
    responded_at: datetime | None


class TenderPublic(BaseModel):
    """A load's tender waterfall, in rank order."""

    data: list[TenderStepPublic]
    count: int


class BookingPublic(BaseModel):
    """A booking: a carrier's share of a load at a rate."""

    id: uuid.UUID
    version: int
    offer_id: uuid.UUID
    order_id: uuid.UUID
    shipper_id: uuid.UUID
    carrier_id: uuid.UUID
    seller_id: uuid.UUID
    buyer_id: uuid.UUID
    source: BookingSource
    bid_id: uuid.UUID | None
    quantity: int
    unit: QuantityUnit
    currency: str
    rate_basis: RateBasis
    rate_cents: int
    amount_cents: int
    pickup_from: datetime
    pickup_until: datetime
    deliver_by: datetime
    state: BookingState
    confirmation_no: str
    hold_expires_at: datetime | None
    confirmed_at: datetime | None
    picked_up_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    counts_against_carrier: bool
    created_at: datetime


class BookingsPublic(BaseModel):
    """A page of bookings, newest first."""

    data: list[BookingPublic]
    count: int
    next_cursor: str | None = None


class BookingCancel(Strict):
    """Cancel a booking; the shipper must give a reason, the carrier may."""

    reason: Reason | None = None


class OutcomeReport(Strict):
    """When a pickup or delivery happened (now when omitted)."""

    at: AwareDatetime | None = None


class PartyPublic(BaseModel):
    """An organization in a rate confirmation."""

    id: uuid.UUID
    name: str


class RateConfirmation(BaseModel):
    """The terms a booking confirms, as both sides keep them."""

    confirmation_no: str
    booking_id: uuid.UUID
    issued_at: datetime
    shipper: PartyPublic
    carrier: PartyPublic
    order_reference: str
    commodity: str
    hazard_class: str | None
    un_number: str | None
    quantity: int
    unit: QuantityUnit
    origin: str
    destination: str
    pickup_from: datetime
    pickup_until: datetime
    deliver_by: datetime
    currency: str
    rate_basis: RateBasis
    rate_cents: int
    amount_cents: int
    state: BookingState
    terms: list[str]


class ReliabilityPublic(BaseModel):
    """A carrier's reliability over its last 20 bookings with an outcome."""

    carrier_id: uuid.UUID
    bookings: int
    on_time_pickup_rate: float | None
    on_time_delivery_rate: float | None
    cancellation_rate: float | None
    score: float
    tier: str


class ApprovalRuleSet(Strict):
    """Hold the organization's bids, grabs or awards above an amount for approval."""

    action: ApprovalAction
    currency: Currency = "EUR"
    threshold_cents: Annotated[int, Field(ge=0, le=10**13)]


class ApprovalRulePublic(BaseModel):
    """An approval rule."""

    id: uuid.UUID
    version: int
    action: ApprovalAction
    currency: str
    threshold_cents: int


class ApprovalRulesPublic(BaseModel):
    """The organization's approval rules."""

    data: list[ApprovalRulePublic]
    count: int


class ApprovalDecision(Strict):
    """Approve or reject a held action; a rejection may say why."""

    reason: Reason | None = None


class ApprovalPublic(BaseModel):
    """A held bid, grab or award."""

    id: uuid.UUID
    version: int
    action: ApprovalAction
    offer_id: uuid.UUID
    bid_id: uuid.UUID | None
    booking_id: uuid.UUID | None
    amount_cents: int
    currency: str
    threshold_cents: int
    requested_by: str | None
    state: ApprovalState
    decided_by_id: uuid.UUID | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime


class ApprovalsPublic(BaseModel):
    """A list of approval requests, newest first."""

    data: list[ApprovalPublic]
    count: int


Side = Literal["carrier", "shipper"]
