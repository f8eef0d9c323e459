"""Load offers, invitations, tender steps, bids, bookings, approval rules and approvals."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from accounts.work import OpenWork, register_open_work
from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import JSONColumn, enum_type
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


class LoadOffer(Keyed, Timestamped, Versioned, table=True):
    """Quantity of a sales order put on the market by whoever arranges transport.

    ``remaining`` is what carriers can still take; a grab is one conditional UPDATE of it.
    The order's commodity, hazard, sites and coordinates are copied so the market filters
    and matches without joins.
    """

    __tablename__ = "load_offers"
    __table_args__ = (
        Index("ix_load_offers_state_id", "state", "id"),
        Index("ix_load_offers_shipper_id_id", "shipper_id", "id"),
        Index("ix_load_offers_order_id", "order_id"),
    )

    order_id: uuid.UUID = Field(foreign_key="sales_orders.id")
    reference: str = Field(max_length=64)
    shipper_id: uuid.UUID = Field(foreign_key="organizations.id")
    seller_id: uuid.UUID = Field(foreign_key="organizations.id")
    buyer_id: uuid.UUID = Field(foreign_key="organizations.id")
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    commodity: str = Field(max_length=200)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    quantity: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    min_lot: int = Field(sa_type=BigInteger)
    hazard_class: str | None = Field(default=None, max_length=8)
    un_number: str | None = Field(default=None, max_length=8)
    food_grade: bool = False
    body_types: list[BodyType] = Field(default_factory=list, sa_type=JSONColumn)
    origin_site_id: uuid.UUID = Field(foreign_key="sites.id")
    origin_name: str = Field(max_length=200)
    origin_lat: float
    origin_lon: float
    destination_site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id")
    destination_address: str = Field(max_length=500)
    destination_lat: float
    destination_lon: float
    pickup_from: datetime = utc_field()
    pickup_until: datetime = utc_field()
    deliver_by: datetime = utc_field()
    visibility: Visibility = Field(sa_type=enum_type(Visibility))
    pricing_mode: PricingMode = Field(sa_type=enum_type(PricingMode))
    currency: str = Field(max_length=3)
    rate_basis: RateBasis = Field(sa_type=enum_type(RateBasis))
    rate_cents: int | None = Field(default=None, sa_type=BigInteger)
    ceiling_cents: int | None = Field(default=None, sa_type=BigInteger)
    closes_at: datetime | None = utc_field(nullable=True)
    sealed: bool = True
    price_weight_pct: int = 70
    auto_award: bool = True
    confirm_within_s: int = 3600
    max_bids_per_carrier: int = 5
    bid_count: int = 0
    response_timeout_s: int = 3600
    tender_rank: int | None = None
    tender_carrier_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    tender_expires_at: datetime | None = utc_field(nullable=True)
    award_bid_id: uuid.UUID | None = None
    award_expires_at: datetime | None = utc_field(nullable=True)
    state: OfferState = Field(default=OfferState.OPEN, sa_type=enum_type(OfferState))
    notes: str | None = Field(default=None, max_length=2000)


class OfferInvitation(SQLModel, table=True):
    """A carrier invited to see and take an invite-only load."""

    __tablename__ = "offer_invitations"

    offer_id: uuid.UUID = Field(foreign_key="load_offers.id", primary_key=True)
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id", primary_key=True, index=True)


class TenderStep(Keyed, table=True):
    """One carrier's turn in a load's tender waterfall."""

    __tablename__ = "tender_steps"
    __table_args__ = (
        UniqueConstraint("offer_id", "rank"),
        UniqueConstraint("offer_id", "carrier_id"),
    )

    offer_id: uuid.UUID = Field(foreign_key="load_offers.id")
    rank: int
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    state: TenderStepState = Field(
        default=TenderStepState.WAITING, sa_type=enum_type(TenderStepState)
    )
    offered_at: datetime | None = utc_field(nullable=True)
    expires_at: datetime | None = utc_field(nullable=True)
    responded_at: datetime | None = utc_field(nullable=True)


class Bid(Keyed, Timestamped, Versioned, table=True):
    """A carrier's price for a whole auctioned load; one per carrier, revised in place."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("offer_id", "carrier_id"),)

    offer_id: uuid.UUID = Field(foreign_key="load_offers.id")
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    member_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    rate_cents: int = Field(sa_type=BigInteger)
    amount_cents: int = Field(sa_type=BigInteger)
    note: str | None = Field(default=None, max_length=1000)
    state: BidState = Field(sa_type=enum_type(BidState))
    # Placements plus revisions, against the load's per-carrier limit.
    revisions: int = 1
    counter_rate_cents: int | None = Field(default=None, sa_type=BigInteger)
    counter_state: CounterState | None = Field(default=None, sa_type=enum_type(CounterState))
    updated_at: datetime = utc_field()


class Booking(Keyed, Timestamped, Versioned, table=True):
    """Quantity of a load a carrier holds at a rate: the contract the split works from.

    The terms (window, deadline, rate) are copied from the load when booked, so the rate
    confirmation and the reliability score read one row.
    """

    __tablename__ = "bookings"
    __table_args__ = (
        Index("ix_bookings_carrier_id_id", "carrier_id", "id"),
        Index("ix_bookings_shipper_id_id", "shipper_id", "id"),
        Index("ix_bookings_carrier_outcome", "carrier_id", "outcome_at"),
        Index("ix_bookings_offer_id", "offer_id"),
    )

    offer_id: uuid.UUID = Field(foreign_key="load_offers.id")
    order_id: uuid.UUID = Field(foreign_key="sales_orders.id")
    shipper_id: uuid.UUID = Field(foreign_key="organizations.id")
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id")
    seller_id: uuid.UUID = Field(foreign_key="organizations.id")
    buyer_id: uuid.UUID = Field(foreign_key="organizations.id")
    dispatcher_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    source: BookingSource = Field(sa_type=enum_type(BookingSource))
    bid_id: uuid.UUID | None = None
    quantity: int = Field(sa_type=BigInteger)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    currency: str = Field(max_length=3)
    rate_basis: RateBasis = Field(sa_type=enum_type(RateBasis))
    rate_cents: int = Field(sa_type=BigInteger)
    amount_cents: int = Field(sa_type=BigInteger)
    pickup_from: datetime = utc_field()
    pickup_until: datetime = utc_field()
    deliver_by: datetime = utc_field()
    state: BookingState = Field(sa_type=enum_type(BookingState))
    confirmation_no: str = Field(max_length=32, unique=True)
    hold_expires_at: datetime | None = utc_field(nullable=True)
    confirmed_at: datetime | None = utc_field(nullable=True)
    picked_up_at: datetime | None = utc_field(nullable=True)
    delivered_at: datetime | None = utc_field(nullable=True)
    cancelled_at: datetime | None = utc_field(nullable=True)
    cancelled_by_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    cancel_reason: str | None = Field(default=None, max_length=500)
    # Set when the booking's outcome counts for the carrier's reliability: delivered, a
    # no-show, or a cancellation by the carrier inside 24 h of the pickup window.
    outcome_at: datetime | None = utc_field(nullable=True)
    counts_against_carrier: bool = False


class ApprovalRule(Keyed, Timestamped, Versioned, table=True):
    """An owner's rule: actions of this kind above the amount wait for approval."""

    __tablename__ = "approval_rules"
    __table_args__ = (UniqueConstraint("organization_id", "action", "currency"),)

    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    action: ApprovalAction = Field(sa_type=enum_type(ApprovalAction))
    currency: str = Field(max_length=3)
    threshold_cents: int = Field(sa_type=BigInteger)


class Approval(Keyed, Timestamped, Versioned, table=True):
    """A held bid, grab or award, waiting for the organization's owner or an admin."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_org_state", "organization_id", "state"),)

    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    action: ApprovalAction = Field(sa_type=enum_type(ApprovalAction))
    offer_id: uuid.UUID = Field(foreign_key="load_offers.id")
    bid_id: uuid.UUID | None = Field(default=None, foreign_key="bids.id")
    booking_id: uuid.UUID | None = Field(default=None, foreign_key="bookings.id")
    amount_cents: int = Field(sa_type=BigInteger)
    currency: str = Field(max_length=3)
    threshold_cents: int = Field(sa_type=BigInteger)
    requested_by: str | None = Field(default=None, max_length=80)
    state: ApprovalState = Field(default=ApprovalState.PENDING, sa_type=enum_type(ApprovalState))
    decided_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    decided_at: datetime | None = utc_field(nullable=True)
    reason: str | None = Field(default=None, max_length=500)


register_open_work(
    OpenWork(
        name="load_offers",
        model=LoadOffer,
        member_column="manager_id",
        organization_column="shipper_id",
        is_open=lambda: col(LoadOffer.state).in_(
            [OfferState.OPEN, OfferState.CLOSED, OfferState.AWARDED]
        ),
    )
)
register_open_work(
    OpenWork(
        name="bookings",
        model=Booking,
        member_column="dispatcher_id",
        organization_column="carrier_id",
        is_open=lambda: col(Booking.state).in_(
            [BookingState.PENDING_APPROVAL, BookingState.CONFIRMED, BookingState.PICKED_UP]
        ),
    )
)
