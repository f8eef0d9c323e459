"""Grabbing a posted load, and accepting a tender turn: the market's hot path.

A grab reads the load and the carrier's approval threshold (one query), checks the carrier's
qualifications (two small queries), takes the quantity with one conditional UPDATE of
``remaining``, inserts the booking and appends one event. Two grabs of the last unit both
pass the checks, and exactly one UPDATE matches a row: the other gets 409.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind
from accounts.principal import Principal
from core.clock import now
from core.errors import FieldError
from dispatch.fleet import service as fleet
from dispatch.fleet.capability import shortfalls
from dispatch.guards import require_dispatcher, require_kind
from dispatch.market import repository
from dispatch.market.approval_rules import hold, needs_approval
from dispatch.market.bookings import new_booking
from dispatch.market.enums import (
    ApprovalAction,
    BookingSource,
    BookingState,
    OfferState,
    PricingMode,
    RateBasis,
    TenderStepState,
    Visibility,
)
from dispatch.market.events import deal_audience, publish, record
from dispatch.market.exceptions import (
    BelowMinimumLot,
    NotQualified,
    OfferNotFound,
    OfferNotOpen,
    OwnLoad,
    QuantityUnavailable,
    TenderNotYours,
    WrongPricingMode,
)
from dispatch.market.models import Booking, LoadOffer
from dispatch.market.offers import feed_carriers, needs_of
from dispatch.market.pricing import amount_cents

APPROVAL_HOLD = timedelta(hours=4)
"""How long a grab waiting for approval holds its quantity (never past the pickup window)."""


async def grab(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID, quantity: int
) -> Booking:
    """Take ``quantity`` of a posted load; all that remains or a part of at least the lot."""
    return await _take(session, principal=principal, offer_id=offer_id, quantity=quantity)


async def accept_tender(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> Booking:
    """Take the whole load the tender waterfall offers the caller now, at the tendered rate."""
    return await _take(session, principal=principal, offer_id=offer_id, quantity=None)


async def _take(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID, quantity: int | None
) -> Booking:
    require_kind(principal, OrgKind.CARRIER)
    require_dispatcher(principal)
    carrier_id = principal.organization_id
    moment = now()
    found = await repository.offer_with_threshold(
        session, offer_id=offer_id, organization_id=carrier_id, action=ApprovalAction.GRAB
    )
    if found is None:
        raise OfferNotFound("no such load")
    offer, threshold = found
    tender = quantity is None
    await _check_access(session, offer, carrier_id, tender=tender, moment=moment)
    wanted = offer.remaining if quantity is None else quantity
    _check_quantity(offer, wanted)
    missing = shortfalls(
        needs_of(offer), await fleet.capability(session, carrier_id, moment=moment), moment
    )
    if missing:
        raise NotQualified(
            "your organization lacks what this load needs: " + ", ".join(missing),
            extra={"missing": missing},
        )
    assert offer.rate_cents is not None
    amount = amount_cents(
        basis=offer.rate_basis,
        rate_cents=offer.rate_cents,
        quantity=wanted,
        load_quantity=offer.quantity,
        trip_size=offer.min_lot,
    )
    held = needs_approval(role=principal.role, threshold_cents=threshold, amount_cents=amount)
    taken = await repository.take(
        session,
        offer_id=offer.id,
        quantity=wanted,
        min_lot=offer.min_lot,
        rate_cents=offer.rate_cents,
        whole_trips=offer.rate_basis == RateBasis.PER_TRIP,
        now=moment,
        tender_carrier_id=carrier_id if tender else None,
    )
    if taken is None:
        raise await _why_not_taken(session, offer.id, wanted, tender=tender)
    remaining, state, version = taken
    booking = await new_booking(
        session,
        offer=offer,
        carrier_id=carrier_id,
        dispatcher_id=principal.membership_id,
        source=BookingSource.TENDER if tender else BookingSource.GRAB,
        quantity=wanted,
        rate_cents=offer.rate_cents,
        amount_cents=amount,
        state=BookingState.PENDING_APPROVAL if held else BookingState.CONFIRMED,
        moment=moment,
        hold_expires_at=min(moment + APPROVAL_HOLD, offer.pickup_until) if held else None,
    )
    await record(
        session,
        offer,
        "tender.accepted" if tender else "load.grabbed",
        {
            "booking_id": str(booking.id),
            "carrier_id": str(carrier_id),
            "quantity": wanted,
            "remaining": remaining,
            "rate_cents": offer.rate_cents,
            "amount_cents": amount,
            "booking_state": booking.state,
        },
        audience=deal_audience(offer, carrier_id),
        actor=principal.actor,
    )
    if held:
        assert threshold is not None
        await hold(
            session,
            organization_id=carrier_id,
            action=ApprovalAction.GRAB,
            offer=offer,
            amount_cents=amount,
            threshold_cents=threshold,
            requested_by=principal.actor,
            booking_id=booking.id,
        )
    if tender:
        await _close_waterfall(session, offer.id, moment)
    carriers = None if offer.visibility == Visibility.OPEN else await feed_carriers(session, offer)
    publish(session, offer, carriers=carriers, remaining=remaining, state=state, version=version)
    return booking


async def _check_access(
    session: AsyncSession,
    offer: LoadOffer,
    carrier_id: uuid.UUID,
    *,
    tender: bool,
    moment: datetime,
) -> None:
    if offer.shipper_id == carrier_id:
        raise OwnLoad("a shipper cannot take its own load")
    if tender:
        if offer.pricing_mode != PricingMode.TENDER:
            raise WrongPricingMode("this load is not tendered", code="wrong_pricing_mode")
        if offer.tender_carrier_id != carrier_id or (
            offer.tender_expires_at is not None and offer.tender_expires_at <= moment
        ):
            if not await repository.carrier_involved(
                session, offer_id=offer.id, carrier_id=carrier_id
            ):
                raise OfferNotFound("no such load")
            raise TenderNotYours("the tender is not offered to you now")
        return
    if offer.visibility == Visibility.INVITED and not await repository.is_invited(
        session, offer_id=offer.id, carrier_id=carrier_id
    ):
        raise OfferNotFound("no such load")
    if offer.visibility == Visibility.TENDER:
        if offer.tender_carrier_id == carrier_id:
            raise WrongPricingMode("the load is tendered to you: accept the tender instead")
        raise OfferNotFound("no such load")
    if offer.pricing_mode != PricingMode.POSTED:
        raise WrongPricingMode(f"this load is priced by {offer.pricing_mode}: it cannot be grabbed")


def _check_quantity(offer: LoadOffer, quantity: int) -> None:
    # A friendly early answer; the conditional UPDATE decides for real.
    if offer.state == OfferState.BOOKED:
        raise _taken(offer)
    if offer.state != OfferState.OPEN:
        raise OfferNotOpen(f"the load is {offer.state}")
    whole = quantity == offer.remaining
    if not whole and quantity < offer.min_lot:
        raise BelowMinimumLot(
            f"take at least {offer.min_lot} {offer.unit}, or all {offer.remaining} that remain",
            errors=[FieldError(("body", "quantity"), f"below the minimum lot {offer.min_lot}")],
        )
    if not whole and offer.rate_basis == RateBasis.PER_TRIP and quantity % offer.min_lot:
        raise BelowMinimumLot(
            f"a per-trip load is taken in whole trips of {offer.min_lot} {offer.unit}",
            errors=[FieldError(("body", "quantity"), "not a whole number of trips")],
        )


async def _why_not_taken(
    session: AsyncSession, offer_id: uuid.UUID, quantity: int, *, tender: bool
) -> Exception:
    offer = await repository.offer(session, offer_id)
    assert offer is not None
    if offer.state == OfferState.OPEN and offer.pickup_until <= now():
        return OfferNotOpen("the pickup window is over")
    if tender and offer.state == OfferState.OPEN:
        return TenderNotYours("the tender is not offered to you now")
    if offer.remaining == 0 or offer.state == OfferState.BOOKED:
        return _taken(offer)
    if offer.state != OfferState.OPEN:
        return OfferNotOpen(f"the load is {offer.state}")
    return QuantityUnavailable(
        f"only {offer.remaining} {offer.unit} remain (you asked for {quantity})",
        extra={"remaining": offer.remaining},
    )


def _taken(offer: LoadOffer) -> QuantityUnavailable:
    return QuantityUnavailable(
        "the load was taken first", code="load_taken", extra={"remaining": offer.remaining}
    )


async def _close_waterfall(session: AsyncSession, offer_id: uuid.UUID, moment: datetime) -> None:
    await repository.move_tender_steps(
        session,
        offer_id=offer_id,
        from_states=(TenderStepState.OFFERED,),
        values={"state": TenderStepState.ACCEPTED.value, "responded_at": moment},
    )
    await repository.move_tender_steps(
        session,
        offer_id=offer_id,
        from_states=(TenderStepState.WAITING,),
        values={"state": TenderStepState.SKIPPED.value},
    )
