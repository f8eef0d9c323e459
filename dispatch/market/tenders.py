"""The tender waterfall: ranked carriers get the load one at a time, then the open market.

The carrier whose turn it is sees the load and may accept it whole (``grabs.accept_tender``)
or decline it. A decline, or silence until ``response_timeout_s``, gives the next carrier its
turn; after the last, the load goes to the open market at the tendered rate as a posted load.
Each move is one conditional UPDATE on the load naming the turn it ends, so a decline and a
timeout racing for the same turn move the waterfall once.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind
from accounts.principal import Principal
from core.clock import now
from dispatch.guards import require_dispatcher, require_kind
from dispatch.market import repository
from dispatch.market.enums import OfferState, PricingMode, TenderStepState, Visibility
from dispatch.market.events import deal_audience, publish, record, trade_audience
from dispatch.market.exceptions import OfferNotFound, TenderNotYours
from dispatch.market.models import LoadOffer

SYSTEM_ACTOR = "system:market"


async def decline_tender(
    session: AsyncSession, *, principal: Principal, offer_id: uuid.UUID
) -> LoadOffer:
    """The carrier whose turn it is passes; the next carrier gets the load."""
    require_kind(principal, OrgKind.CARRIER)
    require_dispatcher(principal)
    offer = await repository.offer(session, offer_id)
    if offer is None or not await repository.carrier_involved(
        session, offer_id=offer_id, carrier_id=principal.organization_id
    ):
        raise OfferNotFound("no such load")
    if (
        offer.state != OfferState.OPEN
        or offer.pricing_mode != PricingMode.TENDER
        or offer.tender_carrier_id != principal.organization_id
        or offer.tender_rank is None
    ):
        raise TenderNotYours("the tender is not offered to you now")
    moved = await advance(
        session, offer, ending=TenderStepState.DECLINED, actor=principal.actor, due_only=False
    )
    if moved is None:
        raise TenderNotYours("your turn ended meanwhile")
    return moved


async def advance(
    session: AsyncSession,
    offer: LoadOffer,
    *,
    ending: TenderStepState,
    actor: str,
    due_only: bool,
) -> LoadOffer | None:
    """End the current turn (declined or expired) and give the next one, or open the market.

    None when the turn had already ended (someone else moved the waterfall first).
    """
    moment = now()
    rank = offer.tender_rank
    carrier_id = offer.tender_carrier_id
    if rank is None or carrier_id is None:
        return None
    steps = await repository.tender_steps(session, offer.id)
    following = [s for s in steps if s.rank > rank and s.state == TenderStepState.WAITING]
    nxt = following[0] if following else None
    where = [
        repository.offer_column("pricing_mode") == PricingMode.TENDER.value,
        repository.offer_column("tender_rank") == rank,
    ]
    if due_only:
        where.append(repository.offer_column("tender_expires_at") <= moment)
    if nxt is not None:
        expires = min(moment + timedelta(seconds=offer.response_timeout_s), offer.pickup_until)
        values: dict[str, object] = {
            "tender_rank": nxt.rank,
            "tender_carrier_id": nxt.carrier_id,
            "tender_expires_at": expires,
        }
    else:
        values = {
            "tender_rank": None,
            "tender_carrier_id": None,
            "tender_expires_at": None,
            "pricing_mode": PricingMode.POSTED.value,
            "visibility": Visibility.OPEN.value,
        }
    moved = await repository.move_offer(
        session, offer.id, from_states=(OfferState.OPEN,), values=values, where=where
    )
    if moved is None:
        return None
    await repository.move_tender_steps(
        session,
        offer_id=offer.id,
        rank=rank,
        from_states=(TenderStepState.OFFERED,),
        values={"state": ending.value, "responded_at": moment},
    )
    await record(
        session,
        moved,
        f"tender.{ending.value}",
        {"rank": rank, "carrier_id": str(carrier_id)},
        audience=deal_audience(moved, carrier_id),
        actor=actor,
    )
    if nxt is not None:
        await repository.move_tender_steps(
            session,
            offer_id=offer.id,
            rank=nxt.rank,
            from_states=(TenderStepState.WAITING,),
            values={
                "state": TenderStepState.OFFERED.value,
                "offered_at": moment,
                "expires_at": moved.tender_expires_at,
            },
        )
        await record(
            session,
            moved,
            "tender.offered",
            {
                "rank": nxt.rank,
                "carrier_id": str(nxt.carrier_id),
                "expires_at": moved.tender_expires_at,
            },
            audience=deal_audience(moved, nxt.carrier_id),
            actor=actor,
        )
        # The carrier whose turn ended hears the load is gone; the next one sees it.
        publish(session, moved, carriers=[carrier_id, nxt.carrier_id])
    else:
        await record(
            session,
            moved,
            "load.opened_to_market",
            {"rate_cents": moved.rate_cents, "remaining": moved.remaining},
            audience=trade_audience(moved),
            actor=actor,
        )
        publish(session, moved)
    return moved


async def expire_turn(session: AsyncSession, offer: LoadOffer) -> bool:
    """A tender turn timed out: the next carrier's turn (called by the sweep)."""
    moved = await advance(
        session, offer, ending=TenderStepState.EXPIRED, actor=SYSTEM_ACTOR, due_only=True
    )
    return moved is not None
