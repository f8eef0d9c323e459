"""Approval rules and decisions: the owner sets the amounts; the owner or an admin decides.

Approving a held bid makes it active (if the auction is still open), a held grab confirms
its booking, a held award goes to the bid (if the load is still closed and the bid stands).
Rejecting a bid or an award drops it; rejecting a grab cancels the booking and gives the
quantity back. A decision that comes too late voids the request instead.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import Role
from accounts.exceptions import RoleRequired
from accounts.principal import Principal
from core.clock import now
from dispatch.guards import require_manager
from dispatch.market import repository
from dispatch.market.awards import award_bid
from dispatch.market.bookings import give_back
from dispatch.market.enums import (
    ApprovalAction,
    ApprovalState,
    BidState,
    BookingState,
    OfferState,
    PricingMode,
)
from dispatch.market.events import deal_audience, record
from dispatch.market.exceptions import ApprovalDecided, ApprovalNotFound
from dispatch.market.models import Approval, ApprovalRule, LoadOffer
from dispatch.market.schemas import ApprovalRuleSet


def _require_owner(principal: Principal) -> None:
    if principal.role != Role.OWNER:
        raise RoleRequired("only the owner sets approval rules")


async def set_rule(
    session: AsyncSession, *, principal: Principal, data: ApprovalRuleSet
) -> ApprovalRule:
    """Require approval for an action above an amount (the owner); replaces the old amount."""
    _require_owner(principal)
    found = await repository.rule(
        session,
        organization_id=principal.organization_id,
        action=data.action,
        currency=data.currency,
    )
    if found is None:
        found = ApprovalRule(
            organization_id=principal.organization_id,
            action=data.action,
            currency=data.currency,
            threshold_cents=data.threshold_cents,
        )
    else:
        found.threshold_cents = data.threshold_cents
    session.add(found)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as error:
        raise ApprovalDecided(
            "the rule was just set by someone else", code="rule_exists"
        ) from error
    return found


async def list_rules(session: AsyncSession, *, principal: Principal) -> list[ApprovalRule]:
    """The caller's organization's approval rules."""
    return list(await repository.rules(session, principal.organization_id))


async def delete_rule(
    session: AsyncSession, *, principal: Principal, action: ApprovalAction, currency: str
) -> None:
    """Stop requiring approval for an action (the owner)."""
    _require_owner(principal)
    found = await repository.rule(
        session, organization_id=principal.organization_id, action=action, currency=currency
    )
    if found is None:
        raise ApprovalNotFound("no such rule", code="rule_not_found")
    await session.delete(found)
    await session.flush()


async def list_approvals(
    session: AsyncSession, *, principal: Principal, state: ApprovalState | None, limit: int
) -> list[Approval]:
    """The organization's approval requests (the owner and admins)."""
    require_manager(principal)
    return list(
        await repository.approvals(
            session, organization_id=principal.organization_id, state=state, limit=limit
        )
    )


async def approve(
    session: AsyncSession, *, principal: Principal, approval_id: uuid.UUID
) -> Approval:
    """Let a held action go ahead; void if what it held has ended meanwhile."""
    approval, offer = await _pending(session, principal, approval_id)
    carried = await _carry_out(session, approval, offer, principal)
    state = ApprovalState.APPROVED if carried else ApprovalState.VOID
    return await _decide(session, approval, offer, principal, state, reason=None)


async def reject(
    session: AsyncSession, *, principal: Principal, approval_id: uuid.UUID, reason: str | None
) -> Approval:
    """Refuse a held action."""
    approval, offer = await _pending(session, principal, approval_id)
    moment = now()
    if approval.action == ApprovalAction.BID and approval.bid_id is not None:
        await repository.move_bid(
            session,
            approval.bid_id,
            from_states=(BidState.PENDING_APPROVAL,),
            values={"state": BidState.REJECTED.value, "updated_at": moment},
        )
    elif approval.action == ApprovalAction.GRAB and approval.booking_id is not None:
        cancelled = await repository.move_booking(
            session,
            approval.booking_id,
            from_states=(BookingState.PENDING_APPROVAL,),
            values={
                "state": BookingState.CANCELLED.value,
                "cancelled_at": moment,
                "cancelled_by_id": principal.organization_id,
                "cancel_reason": reason or "not approved",
            },
        )
        if cancelled is not None:
            await give_back(session, cancelled, actor=principal.actor, why="not_approved")
    return await _decide(session, approval, offer, principal, ApprovalState.REJECTED, reason=reason)


async def _pending(
    session: AsyncSession, principal: Principal, approval_id: uuid.UUID
) -> tuple[Approval, LoadOffer]:
    require_manager(principal)
    approval = await session.get(Approval, approval_id)
    if approval is None or approval.organization_id != principal.organization_id:
        raise ApprovalNotFound("no such approval request in your organization")
    if approval.state != ApprovalState.PENDING:
        raise ApprovalDecided(f"the request was {approval.state} already")
    offer = await repository.offer(session, approval.offer_id)
    assert offer is not None
    return approval, offer


async def _carry_out(
    session: AsyncSession, approval: Approval, offer: LoadOffer, principal: Principal
) -> bool:
    moment = now()
    if approval.action == ApprovalAction.BID and approval.bid_id is not None:
        open_auction = (
            offer.state == OfferState.OPEN
            and offer.pricing_mode == PricingMode.AUCTION
            and offer.closes_at is not None
            and offer.closes_at > moment
        )
        if not open_auction:
            await repository.move_bid(
                session,
                approval.bid_id,
                from_states=(BidState.PENDING_APPROVAL,),
                values={"state": BidState.LAPSED.value, "updated_at": moment},
            )
            return False
        # Touching the load orders this against the auction's close, like a new bid.
        counted = await repository.move_offer(
            session,
            offer.id,
            from_states=(OfferState.OPEN,),
            values={"bid_count": repository.offer_column("bid_count") + 1},
            where=[repository.offer_column("closes_at") > moment],
        )
        bid = await repository.move_bid(
            session,
            approval.bid_id,
            from_states=(BidState.PENDING_APPROVAL,),
            values={
                "state": (BidState.ACTIVE if counted else BidState.LAPSED).value,
                "updated_at": moment,
            },
        )
        if bid is None or counted is None:
            return False
        await record(
            session,
            offer,
            "bid.placed",
            {
                "bid_id": str(bid.id),
                "carrier_id": str(bid.carrier_id),
                "rate_cents": bid.rate_cents,
                "amount_cents": bid.amount_cents,
                "revisions": bid.revisions,
            },
            audience=deal_audience(offer, bid.carrier_id),
            actor=principal.actor,
        )
        return True
    if approval.action == ApprovalAction.GRAB and approval.booking_id is not None:
        booking = await repository.move_booking(
            session,
            approval.booking_id,
            from_states=(BookingState.PENDING_APPROVAL,),
            values={
                "state": BookingState.CONFIRMED.value,
                "confirmed_at": moment,
                "hold_expires_at": None,
            },
            where=[repository.booking_column("hold_expires_at") > moment],
        )
        if booking is None:
            return False
        await record(
            session,
            offer,
            "booking.confirmed",
            {"booking_id": str(booking.id), "quantity": booking.quantity},
            audience=deal_audience(offer, booking.carrier_id),
            actor=principal.actor,
        )
        return True
    if approval.action == ApprovalAction.AWARD and approval.bid_id is not None:
        bid = await repository.bid(session, approval.bid_id)
        if offer.state != OfferState.CLOSED or bid is None or bid.state != BidState.ACTIVE:
            return False
        await award_bid(
            session,
            offer,
            bid,
            actor=principal.actor,
            role=principal.role,
            previous_bid_id=None,
            approved=True,
        )
        return True
    return False


async def _decide(
    session: AsyncSession,
    approval: Approval,
    offer: LoadOffer,
    principal: Principal,
    state: ApprovalState,
    *,
    reason: str | None,
) -> Approval:
    decided = await repository.move_approval(
        session,
        approval.id,
        values={
            "state": state.value,
            "decided_by_id": principal.membership_id,
            "decided_at": now(),
            "reason": reason,
        },
    )
    if decided is None:
        raise ApprovalDecided("the request was decided meanwhile")
    await record(
        session,
        offer,
        f"approval.{state.value}",
        {"approval_id": str(approval.id), "action": approval.action},
        audience=[principal.organization_id],
        actor=principal.actor,
    )
    return decided
