"""Bookings: made by grabs, awards and tenders; confirmed, cancelled, picked up, delivered.

Cancelling gives the quantity back to the load while it is live (a posted load reopens, an
auctioned or tendered one closes for the shipper to reopen), or else to the order.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core.clock import now
from core.errors import Forbidden, InvalidTransition, NotFound, RuleViolation
from core.sql import table_of
from dispatch.guards import require_dispatcher
from dispatch.market import repository
from dispatch.market.enums import (
    BookingSource,
    BookingState,
    OfferState,
    PricingMode,
)
from dispatch.market.events import deal_audience, publish, record
from dispatch.market.exceptions import BookingNotCancellable, BookingNotFound
from dispatch.market.models import Booking, LoadOffer
from dispatch.market.offers import feed_carriers
from dispatch.market.reliability import (
    WINDOW,
    Outcome,
    OutcomeKind,
    Reliability,
    is_late_cancellation,
    reliability,
)
from dispatch.market.schemas import (
    BookingCancel,
    OutcomeReport,
    PartyPublic,
    RateConfirmation,
)
from dispatch.orders import repository as orders_repository
from dispatch.paging import decode_cursor

_INSERT_BOOKING = insert(table_of(Booking))
_COLUMNS = tuple(c.name for c in table_of(Booking).c)
_CONFIRMATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def confirmation_number() -> str:
    """A rate confirmation number people can read out on the phone (no 0/O, 1/I)."""
    return "RC-" + "".join(secrets.choice(_CONFIRMATION_ALPHABET) for _ in range(10))


async def new_booking(
    session: AsyncSession,
    *,
    offer: LoadOffer,
    carrier_id: uuid.UUID,
    dispatcher_id: uuid.UUID | None,
    source: BookingSource,
    quantity: int,
    rate_cents: int,
    amount_cents: int,
    state: BookingState,
    moment: datetime,
    bid_id: uuid.UUID | None = None,
    hold_expires_at: datetime | None = None,
) -> Booking:
    """Insert a booking of ``quantity`` of a load.

    A Core INSERT rather than ``session.add``: the grab's hot path skips the ORM unit of work
    for the row it never changes again in the request.
    """
    booking = Booking(
        offer_id=offer.id,
        order_id=offer.order_id,
        shipper_id=offer.shipper_id,
        carrier_id=carrier_id,
        seller_id=offer.seller_id,
        buyer_id=offer.buyer_id,
        dispatcher_id=dispatcher_id,
        source=source,
        bid_id=bid_id,
        quantity=quantity,
        unit=offer.unit,
        currency=offer.currency,
        rate_basis=offer.rate_basis,
        rate_cents=rate_cents,
        amount_cents=amount_cents,
        pickup_from=offer.pickup_from,
        pickup_until=offer.pickup_until,
        deliver_by=offer.deliver_by,
        state=state,
        confirmation_no=confirmation_number(),
        hold_expires_at=hold_expires_at,
        confirmed_at=moment if state == BookingState.CONFIRMED else None,
        created_at=moment,
    )
    await session.exec(_INSERT_BOOKING, params={name: getattr(booking, name) for name in _COLUMNS})
    return booking


async def get_booking(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID
) -> Booking:
    """A booking the caller's organization holds as carrier or made as shipper."""
    booking = await repository.booking(session, booking_id)
    if booking is None or principal.organization_id not in (
        booking.carrier_id,
        booking.shipper_id,
    ):
        raise BookingNotFound("no such booking")
    return booking


async def list_bookings(
    session: AsyncSession,
    *,
    principal: Principal,
    side: str | None,
    offer_id: uuid.UUID | None,
    state: BookingState | None,
    cursor: str | None,
    limit: int,
) -> list[Booking]:
    """Bookings the caller's organization holds (``side=carrier``) or made (``shipper``)."""
    return list(
        await repository.bookings_for(
            session,
            organization_id=principal.organization_id,
            as_carrier=side in (None, "carrier"),
            as_shipper=side in (None, "shipper"),
            offer_id=offer_id,
            state=state,
            before_id=decode_cursor(cursor),
            limit=limit,
        )
    )


async def rate_confirmation(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID
) -> RateConfirmation:
    """The terms a booking confirms, for both sides' files."""
    booking = await get_booking(session, principal=principal, booking_id=booking_id)
    offer = await repository.offer(session, booking.offer_id)
    assert offer is not None
    names = await repository.organization_names(session, (booking.shipper_id, booking.carrier_id))
    return RateConfirmation(
        confirmation_no=booking.confirmation_no,
        booking_id=booking.id,
        issued_at=booking.confirmed_at or booking.created_at,
        shipper=PartyPublic(id=booking.shipper_id, name=names.get(booking.shipper_id, "")),
        carrier=PartyPublic(id=booking.carrier_id, name=names.get(booking.carrier_id, "")),
        order_reference=offer.reference,
        commodity=offer.commodity,
        hazard_class=offer.hazard_class,
        un_number=offer.un_number,
        quantity=booking.quantity,
        unit=booking.unit,
        origin=offer.origin_name,
        destination=offer.destination_address,
        pickup_from=booking.pickup_from,
        pickup_until=booking.pickup_until,
        deliver_by=booking.deliver_by,
        currency=booking.currency,
        rate_basis=booking.rate_basis,
        rate_cents=booking.rate_cents,
        amount_cents=booking.amount_cents,
        state=booking.state,
        terms=[
            "The carrier collects within the pickup window and delivers by the deadline.",
            "A cancellation by the carrier within 24 hours of the pickup window, or a no-show, "
            "counts against its reliability score.",
            "Quantities are in the stated base unit; the weighbridge ticket at the plant is "
            "the quantity loaded.",
        ],
    )


async def cancel_booking(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID, data: BookingCancel
) -> Booking:
    """Cancel a booking: the carrier (late ones count against it) or the shipper, with a reason."""
    require_dispatcher(principal)
    booking = await get_booking(session, principal=principal, booking_id=booking_id)
    moment = now()
    by_carrier = principal.organization_id == booking.carrier_id
    if not by_carrier and not data.reason:
        raise RuleViolation("the shipper says why it cancels a booking", code="reason_required")
    late = by_carrier and booking.state == BookingState.CONFIRMED
    late = late and is_late_cancellation(cancelled_at=moment, pickup_from=booking.pickup_from)
    cancelled = await repository.move_booking(
        session,
        booking.id,
        from_states=(BookingState.PENDING_APPROVAL, BookingState.CONFIRMED),
        values={
            "state": BookingState.CANCELLED.value,
            "cancelled_at": moment,
            "cancelled_by_id": principal.organization_id,
            "cancel_reason": data.reason,
            "counts_against_carrier": late,
            "outcome_at": moment if late else None,
        },
    )
    if cancelled is None:
        raise BookingNotCancellable(f"the booking is {booking.state}")
    await give_back(session, cancelled, actor=principal.actor, why="cancelled")
    return cancelled


async def give_back(
    session: AsyncSession, booking: Booking, *, actor: str | None, why: str
) -> None:
    """Return an ended booking's quantity to its load (if live) or its order; record it."""
    moment = now()
    t = repository.offer_column
    reopened = await repository.move_offer(
        session,
        booking.offer_id,
        from_states=(OfferState.OPEN, OfferState.CLOSED, OfferState.AWARDED, OfferState.BOOKED),
        values={
            "remaining": t("remaining") + booking.quantity,
            "state": _state_after_return(),
        },
        where=[t("pickup_until") > moment],
    )
    offer = reopened or await repository.offer(session, booking.offer_id)
    assert offer is not None
    if reopened is None:
        await orders_repository.release_quantity(
            session, order_id=booking.order_id, quantity=booking.quantity
        )
    payload = {
        "booking_id": str(booking.id),
        "quantity": booking.quantity,
        "why": why,
        "counts_against_carrier": booking.counts_against_carrier,
        "remaining": offer.remaining,
    }
    await record(
        session,
        offer,
        "booking.cancelled" if why != "no_show" else "booking.no_show",
        payload,
        audience=deal_audience(offer, booking.carrier_id),
        actor=actor,
    )
    if reopened is not None:
        publish(session, reopened, carriers=await feed_carriers(session, reopened))


def _state_after_return() -> object:
    # A load that was fully booked takes the quantity back: a posted one reopens at once,
    # an auctioned or tendered one closes until its shipper reopens or cancels it.
    t = repository.offer_column
    return case(
        (
            t("state") == OfferState.BOOKED.value,
            case(
                (t("pricing_mode") == PricingMode.POSTED.value, OfferState.OPEN.value),
                else_=OfferState.CLOSED.value,
            ),
        ),
        else_=t("state"),
    )


async def record_pickup(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID, data: OutcomeReport
) -> Booking:
    """The goods were collected (reported by the shipper)."""
    return await _progress(
        session,
        principal,
        booking_id,
        from_state=BookingState.CONFIRMED,
        to_state=BookingState.PICKED_UP,
        column="picked_up_at",
        at=data.at,
    )


async def record_delivery(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID, data: OutcomeReport
) -> Booking:
    """The goods arrived (reported by the shipper); the outcome counts for reliability."""
    return await _progress(
        session,
        principal,
        booking_id,
        from_state=BookingState.PICKED_UP,
        to_state=BookingState.DELIVERED,
        column="delivered_at",
        at=data.at,
    )


async def record_no_show(
    session: AsyncSession, *, principal: Principal, booking_id: uuid.UUID
) -> Booking:
    """The carrier did not come (reported by the shipper once the window opened)."""
    require_dispatcher(principal)
    booking = await _shipper_booking(session, principal, booking_id)
    moment = now()
    if moment < booking.pickup_from:
        raise RuleViolation("a no-show is reported once the pickup window opened", code="too_early")
    moved = await repository.move_booking(
        session,
        booking.id,
        from_states=(BookingState.CONFIRMED,),
        values={
            "state": BookingState.NO_SHOW.value,
            "counts_against_carrier": True,
            "outcome_at": moment,
        },
    )
    if moved is None:
        raise BookingNotCancellable(f"the booking is {booking.state}")
    await give_back(session, moved, actor=principal.actor, why="no_show")
    return moved


async def _progress(
    session: AsyncSession,
    principal: Principal,
    booking_id: uuid.UUID,
    *,
    from_state: BookingState,
    to_state: BookingState,
    column: str,
    at: datetime | None,
) -> Booking:
    require_dispatcher(principal)
    booking = await _shipper_booking(session, principal, booking_id)
    moment = now()
    at = at or moment
    if at > moment:
        raise RuleViolation("that time is in the future", code="future_time")
    values: dict[str, object] = {"state": to_state.value, column: at}
    if to_state == BookingState.DELIVERED:
        values["outcome_at"] = at
    moved = await repository.move_booking(
        session, booking.id, from_states=(from_state,), values=values
    )
    if moved is None:
        raise InvalidTransition(
            f"the booking is {booking.state}, not {from_state}", code="booking_not_" + from_state
        )
    offer = await repository.offer(session, moved.offer_id)
    assert offer is not None
    await record(
        session,
        offer,
        f"booking.{to_state.value}",
        {"booking_id": str(moved.id), "at": at},
        audience=deal_audience(offer, moved.carrier_id),
        actor=principal.actor,
    )
    return moved


async def _shipper_booking(
    session: AsyncSession, principal: Principal, booking_id: uuid.UUID
) -> Booking:
    booking = await get_booking(session, principal=principal, booking_id=booking_id)
    if booking.shipper_id != principal.organization_id:
        raise Forbidden("the shipper reports pickups, deliveries and no-shows", code="shipper_only")
    return booking


async def reliabilities(
    session: AsyncSession, carrier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Reliability]:
    """Each carrier's reliability over its last 20 outcomes, in one query."""
    outcomes: defaultdict[uuid.UUID, list[Outcome]] = defaultdict(list)
    for booking in await repository.recent_outcomes(session, carrier_ids, window=WINDOW):
        outcomes[booking.carrier_id].append(outcome_of(booking))
    return {carrier_id: reliability(outcomes[carrier_id]) for carrier_id in carrier_ids}


async def carrier_reliability(
    session: AsyncSession, *, principal: Principal, carrier_id: uuid.UUID
) -> Reliability:
    """A carrier's reliability (any organization may look: it is the market's public record)."""
    names = await repository.organization_names(session, (carrier_id,))
    if not names:
        raise NotFound("no such carrier", code="carrier_not_found")
    return (await reliabilities(session, [carrier_id]))[carrier_id]


def outcome_of(booking: Booking) -> Outcome:
    """A booking's outcome as the reliability score reads it."""
    assert booking.outcome_at is not None
    if booking.state == BookingState.DELIVERED:
        return Outcome(
            kind=OutcomeKind.DELIVERED,
            at=booking.outcome_at,
            picked_up_on_time=(
                None
                if booking.picked_up_at is None
                else booking.picked_up_at <= booking.pickup_until
            ),
            delivered_on_time=(
                None if booking.delivered_at is None else booking.delivered_at <= booking.deliver_by
            ),
        )
    if booking.state == BookingState.NO_SHOW:
        return Outcome(kind=OutcomeKind.NO_SHOW, at=booking.outcome_at)
    return Outcome(kind=OutcomeKind.LATE_CANCELLATION, at=booking.outcome_at)
