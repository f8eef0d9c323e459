"""Closing auctions, awarding by score, and the winner's confirmation (or the next bid's turn).

At ``closes_at`` the auction closes; with ``auto_award`` the best bid by score (see
``scoring``) is awarded at once, else the shipper awards one (or the best) when it likes. The
winner has ``confirm_within_s`` to confirm; a decline or silence passes the award to the next
best standing bid, and when none is left the load stays closed for the shipper to reopen.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind, Role
from accounts.principal import Principal
from core.clock import now
from dispatch.guards import require_dispatcher, require_kind
from dispatch.market import repository
from dispatch.market.approval_rules import hold, needs_approval
from dispatch.market.bookings import new_booking, reliabilities
from dispatch.market.enums import (
    ApprovalAction,
    ApprovalState,
    BidState,
    BookingSource,
    BookingState,
    OfferState,
    PricingMode,
)
from dispatch.market.events import deal_audience, publish, record
from dispatch.market.exceptions import (
    AwardNotYours,
    BidNotFound,
    BidNotStanding,
    OfferNotOpen,
    WrongPricingMode,
)
from dispatch.market.models import Bid, Booking, LoadOffer
from dispatch.market.offers import feed_carriers, shipper_offer
from dispatch.market.scoring import Candidate, Scored, rank

SYSTEM_ACTOR = "system:market"


@dataclass(frozen=True)
class RankedBid:
    """A standing bid with its score and its carrier's name."""

    bid: Bid
    scored: Scored
    carrier_name: str


async def ranked_bids(session: AsyncSession, offer: LoadOffer) -> list[RankedBid]:
    """A load's active bids, best first by the load's score weights."""
    bids = {b.id: b for b in await repository.bids(session, offer.id, states=(BidState.ACTIVE,))}
    carriers = list({b.carrier_id for b in bids.values()})
    scores = await reliabilities(session, carriers)
    names = await repository.organization_names(session, carriers)
    ranked = rank(
        (
            Candidate(
                bid_id=b.id,
                carrier_id=b.carrier_id,
                amount_cents=b.amount_cents,
                reliability=scores[b.carrier_id].score,
                placed_at=b.updated_at,
            )
            for b in bids.values()
        ),
        price_weight_pct=offer.price_weight_pct,
    )
    return [
        RankedBid(
            bid=bids[s.candidate.bid_id],
            scored=s,
            carrier_name=names.get(s.candidate.carrier_id, ""),
        )
        for s in ranked
    ]


async def ranking(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> tuple[LoadOffer, list[RankedBid]]:
    """The shipper's view of an auction: standing bids best first, with their scores."""
    offer = await shipper_offer(session, principal, offer_id)
    if offer.pricing_mode != PricingMode.AUCTION:
        raise WrongPricingMode("only auctions rank bids")
    return offer, await ranked_bids(session, offer)


async def close_auction(
    session: AsyncSession, offer: LoadOffer, *, actor: str, due_only: bool
) -> LoadOffer | None:
    """Close an open auction (when due, or early by the shipper); held bids lapse."""
    moment = now()
    where = [repository.offer_column("pricing_mode") == PricingMode.AUCTION.value]
    if due_only:
        where.append(repository.offer_column("closes_at") <= moment)
    closed = await repository.move_offer(
        session,
        offer.id,
        from_states=(OfferState.OPEN,),
        values={
            "state": OfferState.CLOSED.value,
            "closes_at": min(moment, offer.closes_at or moment),
        },
        where=where,
    )
    if closed is None:
        return None
    for held in await repository.bids(session, offer.id, states=(BidState.PENDING_APPROVAL,)):
        await repository.move_bid(
            session,
            held.id,
            from_states=(BidState.PENDING_APPROVAL,),
            values={"state": BidState.LAPSED.value, "updated_at": moment},
        )
        approval = await repository.pending_approval_for(session, bid_id=held.id)
        if approval is not None:
            await repository.move_approval(
                session,
                approval.id,
                values={"state": ApprovalState.VOID.value, "decided_at": moment},
            )
    standing = await repository.bids(session, offer.id, states=(BidState.ACTIVE,))
    await record(
        session,
        closed,
        "auction.closed",
        {"standing_bids": len(standing)},
        audience=[closed.shipper_id],
        actor=actor,
    )
    publish(session, closed, carriers=await feed_carriers(session, closed))
    return closed


async def award(
    session: AsyncSession,
    *,
    principal: Principal,
    offer_id: uuid.UUID,
    bid_id: uuid.UUID | None,
) -> LoadOffer:
    """Award an auctioned load to a bid, or to the best by score (closing it early if open)."""
    require_dispatcher(principal)
    offer = await shipper_offer(session, principal, offer_id)
    if offer.pricing_mode != PricingMode.AUCTION:
        raise WrongPricingMode("only auctions are awarded")
    if offer.state == OfferState.OPEN:
        offer = await close_auction(session, offer, actor=principal.actor, due_only=False) or offer
    if offer.state != OfferState.CLOSED:
        raise OfferNotOpen(f"the load is {offer.state}: only a closed auction is awarded")
    chosen = await _choose(session, offer, bid_id)
    return await award_bid(
        session, offer, chosen, actor=principal.actor, role=principal.role, previous_bid_id=None
    )


async def _choose(session: AsyncSession, offer: LoadOffer, bid_id: uuid.UUID | None) -> Bid:
    if bid_id is None:
        ranked = await ranked_bids(session, offer)
        if not ranked:
            raise BidNotStanding("no bid stands on this load", code="no_standing_bids")
        return ranked[0].bid
    chosen = await repository.bid(session, bid_id)
    if chosen is None or chosen.offer_id != offer.id:
        raise BidNotFound("no such bid on this load")
    if chosen.state != BidState.ACTIVE:
        raise BidNotStanding(f"the bid is {chosen.state}")
    return chosen


async def award_bid(
    session: AsyncSession,
    offer: LoadOffer,
    bid: Bid,
    *,
    actor: str,
    role: Role | None,
    previous_bid_id: uuid.UUID | None,
    approved: bool = False,
) -> LoadOffer:
    """Give the award to a bid, or hold it for the shipper's approval if the rule says so.

    ``previous_bid_id`` names the award in force (when passing it on); the conditional UPDATE
    requires it, so two passes of the same award cannot both happen.
    """
    moment = now()
    in_force = repository.offer_column("award_bid_id")
    previous = in_force.is_(None) if previous_bid_id is None else in_force == previous_bid_id
    if not approved:
        rule = await repository.rule(
            session,
            organization_id=offer.shipper_id,
            action=ApprovalAction.AWARD,
            currency=offer.currency,
        )
        threshold = None if rule is None else rule.threshold_cents
        if needs_approval(role=role, threshold_cents=threshold, amount_cents=bid.amount_cents):
            assert threshold is not None
            waiting = await repository.move_offer(
                session,
                offer.id,
                from_states=(OfferState.CLOSED, OfferState.AWARDED),
                values={
                    "state": OfferState.CLOSED.value,
                    "award_bid_id": None,
                    "award_expires_at": None,
                },
                where=[previous],
            )
            if waiting is None:
                raise OfferNotOpen("the award changed meanwhile")
            await hold(
                session,
                organization_id=offer.shipper_id,
                action=ApprovalAction.AWARD,
                offer=waiting,
                amount_cents=bid.amount_cents,
                threshold_cents=threshold,
                requested_by=actor,
                bid_id=bid.id,
            )
            return waiting
    expires = moment + timedelta(seconds=offer.confirm_within_s)
    awarded = await repository.move_offer(
        session,
        offer.id,
        from_states=(OfferState.CLOSED, OfferState.AWARDED),
        values={
            "state": OfferState.AWARDED.value,
            "award_bid_id": bid.id,
            "award_expires_at": min(expires, offer.pickup_until),
        },
        where=[previous],
    )
    if awarded is None:
        raise OfferNotOpen("the award changed meanwhile")
    if (
        await repository.move_bid(
            session,
            bid.id,
            from_states=(BidState.ACTIVE,),
            values={"state": BidState.AWARDED.value, "updated_at": moment},
        )
        is None
    ):
        raise BidNotStanding("the bid no longer stands")
    await record(
        session,
        awarded,
        "award.offered",
        {
            "bid_id": str(bid.id),
            "carrier_id": str(bid.carrier_id),
            "amount_cents": bid.amount_cents,
            "confirm_by": awarded.award_expires_at,
        },
        audience=deal_audience(awarded, bid.carrier_id),
        actor=actor,
    )
    return awarded


async def confirm_award(
    session: AsyncSession, *, principal: Principal, bid_id: uuid.UUID
) -> Booking:
    """The winner confirms: the whole load is booked at its bid."""
    require_kind(principal, OrgKind.CARRIER)
    require_dispatcher(principal)
    bid = await _winning_bid(session, principal, bid_id)
    moment = now()
    offer = await repository.offer(session, bid.offer_id)
    assert offer is not None
    booked = await repository.move_offer(
        session,
        offer.id,
        from_states=(OfferState.AWARDED,),
        values={"state": OfferState.BOOKED.value, "remaining": 0},
        where=[
            repository.offer_column("award_bid_id") == bid.id,
            repository.offer_column("award_expires_at") > moment,
        ],
    )
    if booked is None:
        raise OfferNotOpen("the award lapsed or moved on", code="award_lapsed")
    if (
        await repository.move_bid(
            session,
            bid.id,
            from_states=(BidState.AWARDED,),
            values={"state": BidState.ACCEPTED.value, "updated_at": moment},
        )
        is None
    ):
        raise BidNotStanding("the bid is no longer awarded")
    booking = await new_booking(
        session,
        offer=offer,
        carrier_id=bid.carrier_id,
        dispatcher_id=principal.membership_id,
        source=BookingSource.AUCTION,
        quantity=offer.remaining,
        rate_cents=bid.rate_cents,
        amount_cents=bid.amount_cents,
        state=BookingState.CONFIRMED,
        moment=moment,
        bid_id=bid.id,
    )
    await record(
        session,
        booked,
        "award.confirmed",
        {
            "bid_id": str(bid.id),
            "booking_id": str(booking.id),
            "quantity": booking.quantity,
            "amount_cents": booking.amount_cents,
        },
        audience=deal_audience(booked, bid.carrier_id),
        actor=principal.actor,
    )
    for lost in await repository.lose_bids(session, offer_id=offer.id, keep=bid.id, now=moment):
        await record(
            session,
            booked,
            "bid.lost",
            {"bid_id": str(lost.id), "why": "booked"},
            audience=deal_audience(booked, lost.carrier_id),
            actor=SYSTEM_ACTOR,
        )
    publish(session, booked, carriers=await feed_carriers(session, booked))
    return booking


async def decline_award(session: AsyncSession, *, principal: Principal, bid_id: uuid.UUID) -> Bid:
    """The winner declines: the award passes to the next best bid."""
    require_dispatcher(principal)
    bid = await _winning_bid(session, principal, bid_id)
    declined = await repository.move_bid(
        session,
        bid.id,
        from_states=(BidState.AWARDED,),
        values={"state": BidState.DECLINED.value, "updated_at": now()},
    )
    if declined is None:
        raise BidNotStanding("the bid is no longer awarded")
    offer = await repository.offer(session, bid.offer_id)
    assert offer is not None
    await record(
        session,
        offer,
        "award.declined",
        {"bid_id": str(bid.id)},
        audience=deal_audience(offer, bid.carrier_id),
        actor=principal.actor,
    )
    await pass_award(session, offer, from_bid_id=bid.id)
    return declined


async def lapse_award(session: AsyncSession, offer: LoadOffer) -> bool:
    """The winner did not confirm in time: its bid lapses, the award passes on."""
    moment = now()
    if offer.award_bid_id is None or (
        offer.award_expires_at is not None and offer.award_expires_at > moment
    ):
        return False
    lapsed = await repository.move_bid(
        session,
        offer.award_bid_id,
        from_states=(BidState.AWARDED,),
        values={"state": BidState.LAPSED.value, "updated_at": moment},
    )
    if lapsed is None:
        return False
    await record(
        session,
        offer,
        "award.lapsed",
        {"bid_id": str(lapsed.id)},
        audience=deal_audience(offer, lapsed.carrier_id),
        actor=SYSTEM_ACTOR,
    )
    await pass_award(session, offer, from_bid_id=lapsed.id)
    return True


async def pass_award(session: AsyncSession, offer: LoadOffer, *, from_bid_id: uuid.UUID) -> None:
    """Award the next best standing bid, or close the load when none is left."""
    ranked = await ranked_bids(session, offer)
    if ranked:
        await award_bid(
            session,
            offer,
            ranked[0].bid,
            actor=SYSTEM_ACTOR,
            role=None,
            previous_bid_id=from_bid_id,
        )
        return
    closed = await repository.move_offer(
        session,
        offer.id,
        from_states=(OfferState.AWARDED,),
        values={"state": OfferState.CLOSED.value, "award_bid_id": None, "award_expires_at": None},
        where=[repository.offer_column("award_bid_id") == from_bid_id],
    )
    if closed is not None:
        await record(
            session,
            closed,
            "award.exhausted",
            {"remaining": closed.remaining},
            audience=[closed.shipper_id],
            actor=SYSTEM_ACTOR,
        )


async def auto_award(session: AsyncSession, offer: LoadOffer) -> bool:
    """Award a just-closed auction to its best bid, if it has one and asks for it."""
    if not offer.auto_award:
        return False
    ranked = await ranked_bids(session, offer)
    if not ranked:
        return False
    await award_bid(
        session, offer, ranked[0].bid, actor=SYSTEM_ACTOR, role=None, previous_bid_id=None
    )
    return True


async def _winning_bid(session: AsyncSession, principal: Principal, bid_id: uuid.UUID) -> Bid:
    bid = await repository.bid(session, bid_id)
    if bid is None or bid.carrier_id != principal.organization_id:
        raise BidNotFound("no such bid of yours")
    if bid.state != BidState.AWARDED:
        raise AwardNotYours(f"your bid is {bid.state}, not awarded")
    return bid
