"""Bids on auctioned loads: place, revise, withdraw, the shipper's one counter, and lists.

A bid is for the whole load at a rate per the load's basis. Placing or changing a bid first
bumps the load's ``bid_count`` with a conditional UPDATE that requires the auction to be open:
that row lock orders every bid against the auction's close, so no bid slips in after it.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind
from accounts.principal import Principal
from core.clock import now
from dispatch.fleet import service as fleet
from dispatch.fleet.capability import shortfalls
from dispatch.guards import require_dispatcher, require_kind
from dispatch.market import repository
from dispatch.market.approval_rules import hold, needs_approval
from dispatch.market.enums import (
    ApprovalAction,
    ApprovalState,
    BidState,
    CounterState,
    OfferState,
    PricingMode,
)
from dispatch.market.events import deal_audience, publish, record
from dispatch.market.exceptions import (
    AboveCeiling,
    BidLimitReached,
    BidNotFound,
    BidNotStanding,
    CounterNotAllowed,
    NotQualified,
    OfferNotFound,
    OfferNotOpen,
    OwnLoad,
    WrongPricingMode,
)
from dispatch.market.models import Bid, LoadOffer
from dispatch.market.offers import (
    feed_carriers,
    may_see,
    needs_of,
    shipper_offer,
    visible_offer,
)
from dispatch.market.pricing import amount_cents
from dispatch.market.schemas import BidCreate, CounterCreate

SHIPPER_HIDDEN = frozenset({BidState.PENDING_APPROVAL, BidState.REJECTED})
"""Bid states the shipper never sees: they are the carrier's internal business."""


def bid_amount(offer: LoadOffer, rate_cents: int) -> int:
    """What a bid at ``rate_cents`` costs for the whole load."""
    return amount_cents(
        basis=offer.rate_basis,
        rate_cents=rate_cents,
        quantity=offer.quantity,
        load_quantity=offer.quantity,
        trip_size=offer.min_lot,
    )


async def place_bid(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID, data: BidCreate
) -> Bid:
    """Bid on an auctioned load, or revise the caller's bid."""
    require_kind(principal, OrgKind.CARRIER)
    require_dispatcher(principal)
    carrier_id = principal.organization_id
    moment = now()
    found = await repository.offer_with_threshold(
        session, offer_id=offer_id, organization_id=carrier_id, action=ApprovalAction.BID
    )
    if found is None or not await may_see(session, found[0], carrier_id):
        raise OfferNotFound("no such load")
    offer, threshold = found
    if offer.shipper_id == carrier_id:
        raise OwnLoad("a shipper cannot bid on its own load")
    if offer.pricing_mode != PricingMode.AUCTION:
        raise WrongPricingMode(
            f"this load is priced by {offer.pricing_mode}: bids are for auctions"
        )
    missing = shortfalls(
        needs_of(offer), await fleet.capability(session, carrier_id, moment=moment), moment
    )
    if missing:
        raise NotQualified(
            "your organization lacks what this load needs: " + ", ".join(missing),
            extra={"missing": missing},
        )
    if offer.ceiling_cents is not None and data.rate_cents > offer.ceiling_cents:
        raise AboveCeiling(f"the ceiling is {offer.ceiling_cents} per {offer.rate_basis}")
    amount = bid_amount(offer, data.rate_cents)
    held = needs_approval(role=principal.role, threshold_cents=threshold, amount_cents=amount)
    state = BidState.PENDING_APPROVAL if held else BidState.ACTIVE
    counted = await _count_bid(session, offer, moment)
    existing = await repository.bid_of(session, offer_id=offer.id, carrier_id=carrier_id)
    if existing is None:
        bid = Bid(
            offer_id=offer.id,
            carrier_id=carrier_id,
            member_id=principal.membership_id,
            rate_cents=data.rate_cents,
            amount_cents=amount,
            note=data.note,
            state=state,
            updated_at=moment,
            created_at=moment,
        )
        session.add(bid)
        try:
            async with session.begin_nested():
                await session.flush()
        except IntegrityError:
            # The same carrier bid twice at once: the other insert won; revise it instead.
            existing = await repository.bid_of(session, offer_id=offer.id, carrier_id=carrier_id)
            assert existing is not None
    if existing is not None:
        if existing.state == BidState.PENDING_APPROVAL:
            raise BidNotStanding("your bid waits for approval: withdraw it to change it")
        revised = await repository.move_bid(
            session,
            existing.id,
            from_states=(BidState.ACTIVE, BidState.WITHDRAWN),
            values={
                "rate_cents": data.rate_cents,
                "amount_cents": amount,
                "note": data.note,
                "state": state.value,
                "member_id": principal.membership_id,
                "revisions": repository.bid_column("revisions") + 1,
                "updated_at": moment,
            },
            where=[repository.bid_column("revisions") < offer.max_bids_per_carrier],
        )
        if revised is None:
            if existing.revisions >= offer.max_bids_per_carrier:
                raise BidLimitReached(
                    f"a carrier may bid or revise {offer.max_bids_per_carrier} times on this load"
                )
            raise BidNotStanding(f"your bid is {existing.state}")
        bid = revised
    kind = "bid.revised" if existing is not None else "bid.placed"
    payload = {
        "bid_id": str(bid.id),
        "carrier_id": str(carrier_id),
        "rate_cents": bid.rate_cents,
        "amount_cents": bid.amount_cents,
        "revisions": bid.revisions,
    }
    if held:
        assert threshold is not None
        await record(
            session, offer, "bid.held", payload, audience=[carrier_id], actor=principal.actor
        )
        await hold(
            session,
            organization_id=carrier_id,
            action=ApprovalAction.BID,
            offer=offer,
            amount_cents=amount,
            threshold_cents=threshold,
            requested_by=principal.actor,
            bid_id=bid.id,
        )
    else:
        await record(
            session,
            offer,
            kind,
            payload,
            audience=deal_audience(offer, carrier_id),
            actor=principal.actor,
        )
    publish(session, counted, carriers=await feed_carriers(session, counted))
    return bid


async def _count_bid(session: AsyncSession, offer: LoadOffer, moment: datetime) -> LoadOffer:
    counted = await repository.move_offer(
        session,
        offer.id,
        from_states=(OfferState.OPEN,),
        values={"bid_count": repository.offer_column("bid_count") + 1},
        where=[
            repository.offer_column("pricing_mode") == PricingMode.AUCTION.value,
            repository.offer_column("closes_at") > moment,
        ],
    )
    if counted is None:
        raise OfferNotOpen("the auction is closed")
    return counted


async def withdraw_bid(session: AsyncSession, *, principal: Principal, bid_id: uuid.UUID) -> Bid:
    """Take the caller's bid back while the auction is open."""
    require_dispatcher(principal)
    bid = await _own_bid(session, principal, bid_id)
    moment = now()
    offer = await repository.offer(session, bid.offer_id)
    assert offer is not None
    await _count_bid(session, offer, moment)
    withdrawn = await repository.move_bid(
        session,
        bid.id,
        from_states=(BidState.ACTIVE, BidState.PENDING_APPROVAL),
        values={"state": BidState.WITHDRAWN.value, "updated_at": moment},
    )
    if withdrawn is None:
        raise BidNotStanding(f"the bid is {bid.state}")
    if bid.state == BidState.PENDING_APPROVAL:
        approval = await repository.pending_approval_for(session, bid_id=bid.id)
        if approval is not None:
            await repository.move_approval(
                session,
                approval.id,
                values={"state": ApprovalState.VOID.value, "decided_at": moment},
            )
    await record(
        session,
        offer,
        "bid.withdrawn",
        {"bid_id": str(bid.id)},
        audience=deal_audience(offer, bid.carrier_id)
        if bid.state != BidState.PENDING_APPROVAL
        else [bid.carrier_id],
        actor=principal.actor,
    )
    return withdrawn


async def list_bids(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> list[Bid]:
    """The shipper sees every bid the carriers stand by; a carrier sees only its own."""
    offer = await visible_offer(session, principal=principal, offer_id=offer_id)
    if offer.shipper_id == principal.organization_id:
        return [
            b for b in await repository.bids(session, offer.id) if b.state not in SHIPPER_HIDDEN
        ]
    own = await repository.bid_of(session, offer_id=offer.id, carrier_id=principal.organization_id)
    return [] if own is None else [own]


async def get_bid(session: AsyncSession, *, principal: Principal, bid_id: uuid.UUID) -> Bid:
    """A bid: the carrier's own, or one the shipper may see."""
    bid = await repository.bid(session, bid_id)
    if bid is None:
        raise BidNotFound("no such bid")
    if bid.carrier_id == principal.organization_id:
        return bid
    offer = await repository.offer(session, bid.offer_id)
    if (
        offer is None
        or offer.shipper_id != principal.organization_id
        or bid.state in SHIPPER_HIDDEN
    ):
        raise BidNotFound("no such bid")
    return bid


async def counter_bid(
    session: AsyncSession, *, principal: Principal, bid_id: uuid.UUID, data: CounterCreate
) -> Bid:
    """The shipper's one counter-offer on a standing bid."""
    require_dispatcher(principal)
    bid = await get_bid(session, principal=principal, bid_id=bid_id)
    offer = await shipper_offer(session, principal, bid.offer_id)
    if offer.state not in (OfferState.OPEN, OfferState.CLOSED):
        raise OfferNotOpen(f"the load is {offer.state}")
    countered = await repository.move_bid(
        session,
        bid.id,
        from_states=(BidState.ACTIVE,),
        values={
            "counter_rate_cents": data.rate_cents,
            "counter_state": CounterState.OFFERED.value,
            "updated_at": now(),
        },
        where=[repository.bid_column("counter_state").is_(None)],
    )
    if countered is None:
        raise CounterNotAllowed("a bid can be countered once, while it stands")
    await record(
        session,
        offer,
        "bid.countered",
        {"bid_id": str(bid.id), "counter_rate_cents": data.rate_cents},
        audience=deal_audience(offer, bid.carrier_id),
        actor=principal.actor,
    )
    return countered


async def answer_counter(
    session: AsyncSession, *, principal: Principal, bid_id: uuid.UUID, accept: bool
) -> Bid:
    """The carrier takes the shipper's counter-offer (its bid moves to that rate) or not."""
    require_dispatcher(principal)
    bid = await _own_bid(session, principal, bid_id)
    offer = await repository.offer(session, bid.offer_id)
    assert offer is not None
    if offer.state not in (OfferState.OPEN, OfferState.CLOSED):
        raise OfferNotOpen(f"the load is {offer.state}")
    values: dict[str, object] = {
        "counter_state": (CounterState.ACCEPTED if accept else CounterState.DECLINED).value,
        "updated_at": now(),
    }
    if accept:
        assert bid.counter_rate_cents is not None
        values["rate_cents"] = bid.counter_rate_cents
        values["amount_cents"] = bid_amount(offer, bid.counter_rate_cents)
    answered = await repository.move_bid(
        session,
        bid.id,
        from_states=(BidState.ACTIVE,),
        values=values,
        where=[repository.bid_column("counter_state") == CounterState.OFFERED.value],
    )
    if answered is None:
        raise CounterNotAllowed("there is no counter-offer waiting on this bid")
    await record(
        session,
        offer,
        "bid.counter_accepted" if accept else "bid.counter_declined",
        {"bid_id": str(bid.id), "rate_cents": answered.rate_cents},
        audience=deal_audience(offer, bid.carrier_id),
        actor=principal.actor,
    )
    return answered


async def _own_bid(session: AsyncSession, principal: Principal, bid_id: uuid.UUID) -> Bid:
    bid = await repository.bid(session, bid_id)
    if bid is None or bid.carrier_id != principal.organization_id:
        raise BidNotFound("no such bid of yours")
    return bid
