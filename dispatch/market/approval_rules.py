"""When an action waits for approval, and how the hold is recorded.

An owner sets, per action (bid, grab, award) and currency, an amount above which the action
waits. The owner and admins are the approvers, so their own actions never wait; everyone
else's (dispatchers, API keys, and automatic awards) do.
"""

from __future__ import annotations

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import MANAGERS, Role
from dispatch.market.enums import ApprovalAction
from dispatch.market.events import record
from dispatch.market.models import Approval, LoadOffer


def needs_approval(*, role: Role | None, threshold_cents: int | None, amount_cents: int) -> bool:
    """Whether an action of ``amount_cents`` by ``role`` (None: automatic) must wait."""
    if threshold_cents is None or amount_cents <= threshold_cents:
        return False
    return role not in MANAGERS


async def hold(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    action: ApprovalAction,
    offer: LoadOffer,
    amount_cents: int,
    threshold_cents: int,
    requested_by: str | None,
    bid_id: uuid.UUID | None = None,
    booking_id: uuid.UUID | None = None,
) -> Approval:
    """Record an action waiting for the organization's owner or an admin."""
    approval = Approval(
        organization_id=organization_id,
        action=action,
        offer_id=offer.id,
        bid_id=bid_id,
        booking_id=booking_id,
        amount_cents=amount_cents,
        currency=offer.currency,
        threshold_cents=threshold_cents,
        requested_by=requested_by,
    )
    session.add(approval)
    await record(
        session,
        offer,
        "approval.requested",
        {
            "approval_id": str(approval.id),
            "action": action,
            "amount_cents": amount_cents,
            "threshold_cents": threshold_cents,
            "bid_id": str(bid_id) if bid_id else None,
            "booking_id": str(booking_id) if booking_id else None,
        },
        audience=[organization_id],
        actor=requested_by,
    )
    return approval
