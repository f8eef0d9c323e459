"""The market's clock: deadlines that pass by themselves.

``sweep`` closes due auctions (and auto-awards them), passes on awards their winners did not
confirm in time, moves tender waterfalls past silent carriers, releases grabs held for
approval too long, and expires loads whose pickup window ended. Every step is a conditional
UPDATE on the state it leaves, so any number of processes may sweep at once: each deadline
fires once. The API process sweeps every few seconds; tests call it after moving the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from core.clock import now
from dispatch.market import repository
from dispatch.market.awards import SYSTEM_ACTOR, auto_award, close_auction, lapse_award
from dispatch.market.bookings import give_back
from dispatch.market.enums import ApprovalState, BookingState, OfferState
from dispatch.market.offers import end_offer
from dispatch.market.tenders import expire_turn

BATCH = 100


@dataclass(frozen=True)
class SweepReport:
    """How many deadlines fired, by kind."""

    auctions_closed: int = 0
    awards_made: int = 0
    awards_lapsed: int = 0
    tender_turns_expired: int = 0
    holds_released: int = 0
    loads_expired: int = 0

    @property
    def total(self) -> int:
        """Everything that happened."""
        return (
            self.auctions_closed
            + self.awards_made
            + self.awards_lapsed
            + self.tender_turns_expired
            + self.holds_released
            + self.loads_expired
        )


async def sweep(session: AsyncSession, *, batch: int = BATCH) -> SweepReport:
    """Fire every deadline that has passed (up to ``batch`` of each kind)."""
    moment = now()
    holds = 0
    for booking in await repository.due_holds(session, now=moment, limit=batch):
        released = await repository.move_booking(
            session,
            booking.id,
            from_states=(BookingState.PENDING_APPROVAL,),
            values={
                "state": BookingState.CANCELLED.value,
                "cancelled_at": moment,
                "cancel_reason": "approval did not come in time",
            },
            where=[repository.booking_column("hold_expires_at") <= moment],
        )
        if released is None:
            continue
        holds += 1
        approval = await repository.pending_approval_for(session, booking_id=booking.id)
        if approval is not None:
            await repository.move_approval(
                session,
                approval.id,
                values={"state": ApprovalState.VOID.value, "decided_at": moment},
            )
        await give_back(session, released, actor=SYSTEM_ACTOR, why="approval_timeout")

    due = await repository.due_offers(session, now=moment, limit=batch)
    expired = 0
    for offer in due["expire"]:
        if await end_offer(session, offer, to_state=OfferState.EXPIRED, actor=SYSTEM_ACTOR):
            expired += 1
    closed = awarded = 0
    for offer in due["close"]:
        if offer.pickup_until <= moment:
            continue
        done = await close_auction(session, offer, actor=SYSTEM_ACTOR, due_only=True)
        if done is not None:
            closed += 1
            awarded += await auto_award(session, done)
    lapsed = 0
    for offer in due["award"]:
        if offer.pickup_until > moment:
            lapsed += await lapse_award(session, offer)
    turns = 0
    for offer in due["tender"]:
        if offer.pickup_until > moment:
            turns += await expire_turn(session, offer)
    return SweepReport(
        auctions_closed=closed,
        awards_made=awarded,
        awards_lapsed=lapsed,
        tender_turns_expired=turns,
        holds_released=holds,
        loads_expired=expired,
    )
