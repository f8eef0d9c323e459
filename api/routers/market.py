"""The load market: offers, grabs, bids, awards, tenders, bookings, reliability, approvals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import SessionDep, require_scope
from api.routing import TransactionalRoute
from core.errors import FieldError, RuleViolation
from dispatch.fleet.enums import BodyType
from dispatch.market import (
    approvals,
    awards,
    bids,
    bookings,
    grabs,
    offers,
    tenders,
)
from dispatch.market.enums import (
    ApprovalAction,
    ApprovalState,
    BookingState,
    OfferState,
    PricingMode,
)
from dispatch.market.schemas import (
    ApprovalDecision,
    ApprovalPublic,
    ApprovalRulePublic,
    ApprovalRuleSet,
    ApprovalRulesPublic,
    ApprovalsPublic,
    AwardRequest,
    BidCreate,
    BidPublic,
    BidsPublic,
    BookingCancel,
    BookingPublic,
    BookingsPublic,
    CounterCreate,
    GrabRequest,
    OfferCancel,
    OfferCreate,
    OfferPublic,
    OfferReopen,
    OffersPublic,
    OutcomeReport,
    Ranking,
    RateConfirmation,
    ReliabilityPublic,
    TenderPublic,
)
from dispatch.market.views import (
    approval_public,
    bid_public,
    booking_public,
    offer_public,
    ranked_public,
    reliability_public,
    rule_public,
    tender_step_public,
)
from dispatch.paging import encode_cursor

router = APIRouter(prefix="/v1/market", tags=["market"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.MARKET_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.MARKET_WRITE))]
Limit = Annotated[int, Query(ge=1, le=200)]


@router.post("/offers", status_code=status.HTTP_201_CREATED)
async def post_offer(body: OfferCreate, principal: Writer, session: SessionDep) -> OfferPublic:
    """Put quantity of a sales order on the market (the party arranging transport)."""
    return offer_public(await offers.post_offer(session, principal=principal, data=body))


@router.get("/offers")
async def list_offers(
    principal: Reader,
    session: SessionDep,
    state: OfferState | None = None,
    order_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> OffersPublic:
    """The loads your organization posted, newest first."""
    found = await offers.list_offers(
        session, principal=principal, state=state, order_id=order_id, cursor=cursor, limit=limit
    )
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return OffersPublic(
        data=[offer_public(o) for o in found], count=len(found), next_cursor=next_cursor
    )


def market_filter(
    near_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    near_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    vehicle_id: uuid.UUID | None = None,
    radius_km: Annotated[float, Query(gt=0, le=5000)] = 150.0,
    dest_lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    dest_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    dest_radius_km: Annotated[float, Query(gt=0, le=5000)] = 150.0,
    body_type: BodyType | None = None,
    pricing_mode: PricingMode | None = None,
    pickup_after: datetime | None = None,
    pickup_before: datetime | None = None,
) -> offers.MarketFilter:
    """The market filter from query parameters (the list and the live feed share it)."""
    return offers.MarketFilter(
        near=_point(near_lat, near_lon, "near"),
        radius_km=radius_km,
        vehicle_id=vehicle_id,
        destination=_point(dest_lat, dest_lon, "dest"),
        destination_radius_km=dest_radius_km,
        body_type=body_type,
        pricing_mode=pricing_mode,
        pickup_after=pickup_after,
        pickup_before=pickup_before,
    )


MarketFilterDep = Annotated[offers.MarketFilter, Depends(market_filter)]


@router.get("/loads")
async def list_loads(
    principal: Reader,
    session: SessionDep,
    where: MarketFilterDep,
    cursor: str | None = None,
    limit: Limit = 50,
) -> OffersPublic:
    """Open loads your carrier may see and is qualified for, newest first.

    Narrow by a radius around a point (``near_lat``/``near_lon``) or a vehicle's home base
    (``vehicle_id``), a lane's destination (``dest_lat``/``dest_lon``), dates, body type and
    pricing mode.
    """
    found, next_cursor = await offers.market(
        session, principal=principal, where=where, cursor=cursor, limit=limit
    )
    return OffersPublic(
        data=[offer_public(v) for v in found], count=len(found), next_cursor=next_cursor
    )


def _point(lat: float | None, lon: float | None, name: str) -> tuple[float, float] | None:
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise RuleViolation(
            f"give both {name}_lat and {name}_lon",
            code="invalid_filter",
            errors=[FieldError(("query", f"{name}_lat"), "needs its pair")],
        )
    return lat, lon


@router.get("/offers/{offer_id}")
async def get_offer(offer_id: uuid.UUID, principal: Reader, session: SessionDep) -> OfferPublic:
    """One load you posted, trade, or may see as a carrier."""
    return offer_public(await offers.get_offer(session, principal=principal, offer_id=offer_id))


@router.post("/offers/{offer_id}/cancel")
async def cancel_offer(
    offer_id: uuid.UUID, body: OfferCancel, principal: Writer, session: SessionDep
) -> OfferPublic:
    """Withdraw a load (the shipper); its unbooked quantity goes back to the order."""
    return offer_public(
        await offers.cancel_offer(session, principal=principal, offer_id=offer_id, data=body)
    )


@router.post("/offers/{offer_id}/reopen")
async def reopen_offer(
    offer_id: uuid.UUID, body: OfferReopen, principal: Writer, session: SessionDep
) -> OfferPublic:
    """Put a closed load's unbooked quantity on the open market at a posted rate."""
    return offer_public(
        await offers.reopen_offer(session, principal=principal, offer_id=offer_id, data=body)
    )


@router.post(
    "/offers/{offer_id}/grab",
    status_code=status.HTTP_201_CREATED,
    response_model=BookingPublic,
    responses={409: {"description": "Taken first: the problem says what remains"}},
)
async def grab(
    offer_id: uuid.UUID, body: GrabRequest, principal: Writer, session: SessionDep
) -> Response:
    """Grab all or part of a posted load; exactly one grab gets each unit."""
    booking = await grabs.grab(
        session, principal=principal, offer_id=offer_id, quantity=body.quantity
    )
    # The hot path: the schema serializes itself once, with no second validation pass.
    return Response(
        booking_public(booking).model_dump_json(),
        status_code=status.HTTP_201_CREATED,
        media_type="application/json",
    )


@router.post("/offers/{offer_id}/bids", status_code=status.HTTP_201_CREATED)
async def place_bid(
    offer_id: uuid.UUID, body: BidCreate, principal: Writer, session: SessionDep
) -> BidPublic:
    """Bid on an auctioned load, or revise your bid."""
    return bid_public(
        await bids.place_bid(session, principal=principal, offer_id=offer_id, data=body)
    )


@router.get("/offers/{offer_id}/bids")
async def list_bids(offer_id: uuid.UUID, principal: Reader, session: SessionDep) -> BidsPublic:
    """The shipper sees every standing bid; a carrier sees only its own."""
    found = await bids.list_bids(session, principal=principal, offer_id=offer_id)
    return BidsPublic(data=[bid_public(b) for b in found], count=len(found))


@router.get("/offers/{offer_id}/ranking")
async def get_ranking(offer_id: uuid.UUID, principal: Reader, session: SessionDep) -> Ranking:
    """An auction's standing bids best first, with the score parts (the shipper)."""
    offer, ranked = await awards.ranking(session, principal=principal, offer_id=offer_id)
    data = [ranked_public(r) for r in ranked]
    return Ranking(price_weight_pct=offer.price_weight_pct, data=data, count=len(data))


@router.post("/offers/{offer_id}/award")
async def award(
    offer_id: uuid.UUID, body: AwardRequest, principal: Writer, session: SessionDep
) -> OfferPublic:
    """Award an auctioned load to a bid, or to the best by score (closing it if open)."""
    return offer_public(
        await awards.award(session, principal=principal, offer_id=offer_id, bid_id=body.bid_id)
    )


@router.get("/offers/{offer_id}/tender")
async def get_tender(offer_id: uuid.UUID, principal: Reader, session: SessionDep) -> TenderPublic:
    """A load's tender waterfall (the shipper)."""
    steps = await offers.tender_steps(session, principal=principal, offer_id=offer_id)
    return TenderPublic(data=[tender_step_public(s) for s in steps], count=len(steps))


@router.post("/offers/{offer_id}/tender/accept", status_code=status.HTTP_201_CREATED)
async def accept_tender(
    offer_id: uuid.UUID, principal: Writer, session: SessionDep
) -> BookingPublic:
    """Take the whole tendered load while it is your turn."""
    return booking_public(
        await grabs.accept_tender(session, principal=principal, offer_id=offer_id)
    )


@router.post("/offers/{offer_id}/tender/decline")
async def decline_tender(
    offer_id: uuid.UUID, principal: Writer, session: SessionDep
) -> OfferPublic:
    """Pass on your tender turn; the next carrier gets it."""
    return offer_public(
        await tenders.decline_tender(session, principal=principal, offer_id=offer_id)
    )


@router.get("/bids/{bid_id}")
async def get_bid(bid_id: uuid.UUID, principal: Reader, session: SessionDep) -> BidPublic:
    """One bid: yours, or a standing one on your load."""
    return bid_public(await bids.get_bid(session, principal=principal, bid_id=bid_id))


@router.post("/bids/{bid_id}/withdraw")
async def withdraw_bid(bid_id: uuid.UUID, principal: Writer, session: SessionDep) -> BidPublic:
    """Take your bid back while the auction is open."""
    return bid_public(await bids.withdraw_bid(session, principal=principal, bid_id=bid_id))


@router.post("/bids/{bid_id}/counter")
async def counter_bid(
    bid_id: uuid.UUID, body: CounterCreate, principal: Writer, session: SessionDep
) -> BidPublic:
    """Counter a bid once (the shipper)."""
    return bid_public(
        await bids.counter_bid(session, principal=principal, bid_id=bid_id, data=body)
    )


@router.post("/bids/{bid_id}/counter/accept")
async def accept_counter(bid_id: uuid.UUID, principal: Writer, session: SessionDep) -> BidPublic:
    """Take the shipper's counter-offer: your bid moves to its rate."""
    return bid_public(
        await bids.answer_counter(session, principal=principal, bid_id=bid_id, accept=True)
    )


@router.post("/bids/{bid_id}/counter/decline")
async def decline_counter(bid_id: uuid.UUID, principal: Writer, session: SessionDep) -> BidPublic:
    """Turn down the shipper's counter-offer: your bid stands as it was."""
    return bid_public(
        await bids.answer_counter(session, principal=principal, bid_id=bid_id, accept=False)
    )


@router.post("/bids/{bid_id}/confirm", status_code=status.HTTP_201_CREATED)
async def confirm_award(bid_id: uuid.UUID, principal: Writer, session: SessionDep) -> BookingPublic:
    """Confirm the award your bid won, before its deadline: the load is booked."""
    return booking_public(await awards.confirm_award(session, principal=principal, bid_id=bid_id))


@router.post("/bids/{bid_id}/decline")
async def decline_award(bid_id: uuid.UUID, principal: Writer, session: SessionDep) -> BidPublic:
    """Decline the award your bid won; it passes to the next bid."""
    return bid_public(await awards.decline_award(session, principal=principal, bid_id=bid_id))


@router.get("/bookings")
async def list_bookings(
    principal: Reader,
    session: SessionDep,
    side: Literal["carrier", "shipper"] | None = None,
    offer_id: uuid.UUID | None = None,
    state: BookingState | None = None,
    cursor: str | None = None,
    limit: Limit = 50,
) -> BookingsPublic:
    """Bookings your organization holds as carrier or made as shipper, newest first."""
    found = await bookings.list_bookings(
        session,
        principal=principal,
        side=side,
        offer_id=offer_id,
        state=state,
        cursor=cursor,
        limit=limit,
    )
    next_cursor = encode_cursor(found[-1].id) if len(found) == limit else None
    return BookingsPublic(
        data=[booking_public(b) for b in found], count=len(found), next_cursor=next_cursor
    )


@router.get("/bookings/{booking_id}")
async def get_booking(
    booking_id: uuid.UUID, principal: Reader, session: SessionDep
) -> BookingPublic:
    """One booking you hold or made."""
    return booking_public(
        await bookings.get_booking(session, principal=principal, booking_id=booking_id)
    )


@router.get("/bookings/{booking_id}/rate-confirmation")
async def get_rate_confirmation(
    booking_id: uuid.UUID, principal: Reader, session: SessionDep
) -> RateConfirmation:
    """The rate confirmation of a booking."""
    return await bookings.rate_confirmation(session, principal=principal, booking_id=booking_id)


@router.post("/bookings/{booking_id}/cancel")
async def cancel_booking(
    booking_id: uuid.UUID, body: BookingCancel, principal: Writer, session: SessionDep
) -> BookingPublic:
    """Cancel a booking (the carrier: inside 24 h of pickup it counts; the shipper: say why)."""
    return booking_public(
        await bookings.cancel_booking(
            session, principal=principal, booking_id=booking_id, data=body
        )
    )


@router.post("/bookings/{booking_id}/pickup")
async def record_pickup(
    booking_id: uuid.UUID, body: OutcomeReport, principal: Writer, session: SessionDep
) -> BookingPublic:
    """Record that the goods were collected (the shipper)."""
    return booking_public(
        await bookings.record_pickup(session, principal=principal, booking_id=booking_id, data=body)
    )


@router.post("/bookings/{booking_id}/delivery")
async def record_delivery(
    booking_id: uuid.UUID, body: OutcomeReport, principal: Writer, session: SessionDep
) -> BookingPublic:
    """Record that the goods arrived (the shipper)."""
    return booking_public(
        await bookings.record_delivery(
            session, principal=principal, booking_id=booking_id, data=body
        )
    )


@router.post("/bookings/{booking_id}/no-show")
async def record_no_show(
    booking_id: uuid.UUID, principal: Writer, session: SessionDep
) -> BookingPublic:
    """Record that the carrier did not come (the shipper); it counts against the carrier."""
    return booking_public(
        await bookings.record_no_show(session, principal=principal, booking_id=booking_id)
    )


@router.get("/carriers/{carrier_id}/reliability")
async def get_reliability(
    carrier_id: uuid.UUID, principal: Reader, session: SessionDep
) -> ReliabilityPublic:
    """A carrier's on-time and cancellation rates over its last 20 bookings, and its score."""
    found = await bookings.carrier_reliability(session, principal=principal, carrier_id=carrier_id)
    return reliability_public(carrier_id, found)


@router.get("/approval-rules")
async def list_approval_rules(principal: Reader, session: SessionDep) -> ApprovalRulesPublic:
    """Your organization's approval rules."""
    found = await approvals.list_rules(session, principal=principal)
    return ApprovalRulesPublic(data=[rule_public(r) for r in found], count=len(found))


@router.put("/approval-rules")
async def set_approval_rule(
    body: ApprovalRuleSet, principal: Writer, session: SessionDep
) -> ApprovalRulePublic:
    """Hold bids, grabs or awards above an amount for approval (the owner)."""
    return rule_public(await approvals.set_rule(session, principal=principal, data=body))


@router.delete("/approval-rules/{action}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_approval_rule(
    action: ApprovalAction,
    principal: Writer,
    session: SessionDep,
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "EUR",
) -> None:
    """Stop holding an action for approval (the owner)."""
    await approvals.delete_rule(session, principal=principal, action=action, currency=currency)


@router.get("/approvals")
async def list_approvals(
    principal: Reader,
    session: SessionDep,
    state: ApprovalState | None = None,
    limit: Limit = 50,
) -> ApprovalsPublic:
    """Held bids, grabs and awards of your organization (the owner and admins)."""
    found = await approvals.list_approvals(session, principal=principal, state=state, limit=limit)
    return ApprovalsPublic(data=[approval_public(a) for a in found], count=len(found))


@router.post("/approvals/{approval_id}/approve")
async def approve(approval_id: uuid.UUID, principal: Writer, session: SessionDep) -> ApprovalPublic:
    """Let a held action go ahead (the owner or an admin)."""
    return approval_public(
        await approvals.approve(session, principal=principal, approval_id=approval_id)
    )


@router.post("/approvals/{approval_id}/reject")
async def reject(
    approval_id: uuid.UUID, body: ApprovalDecision, principal: Writer, session: SessionDep
) -> ApprovalPublic:
    """Refuse a held action (the owner or an admin)."""
    return approval_public(
        await approvals.reject(
            session, principal=principal, approval_id=approval_id, reason=body.reason
        )
    )
