"""Taking a pass out of force: revoked (or used up) passes go on their plant's revocation
list, and a delivery whose pass is revoked before it was slotted waits for a new one."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from dispatch.authorizations import repository
from dispatch.authorizations.enums import LIVE_PASS_STATES, PassState
from dispatch.authorizations.events import record_pass
from dispatch.authorizations.models import PassRevocation, PickupPass
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState


async def list_pass(session: AsyncSession, issued: PickupPass, *, now: datetime) -> None:
    """Put a pass on its plant's revocation list, unless it is there already."""
    if await repository.is_listed(session, issued.id):
        return
    seq = await repository.take_revocation_seq(session, issued.plant_site_id)
    await repository.add_revocation(
        session,
        PassRevocation(
            plant_site_id=issued.plant_site_id,
            seq=seq,
            pass_id=issued.id,
            expires_at=issued.expires_at,
            recorded_at=now,
        ),
    )


async def revoke_pass_row(
    session: AsyncSession,
    issued: PickupPass,
    *,
    reason: str,
    actor: str | None,
    now: datetime,
    cause: dict[str, str] | None = None,
) -> PickupPass | None:
    """Revoke a pass in force: list it, record it, and send an authorized delivery back to
    assigned. Returns None if the pass was no longer in force."""
    moved = await repository.move_pass(
        session,
        issued.id,
        from_states=LIVE_PASS_STATES,
        values={
            "state": PassState.REVOKED.value,
            "revoked_at": now,
            "revoke_reason": reason[:500],
            "updated_at": now,
        },
    )
    if moved is None:
        return None
    await list_pass(session, moved, now=now)
    # The delivery's row before its log: the yard takes them in that order too.
    delivery = await deliveries.delivery(session, moved.delivery_id)
    if delivery is not None and delivery.state is DeliveryState.AUTHORIZED:
        await transitions.withdraw_authorization(
            session, delivery_id=delivery.id, actor=actor, reason=f"pass revoked: {reason}"
        )
    await record_pass(
        session, moved, "pass.revoked", {"reason": reason, **(cause or {})}, actor=actor
    )
    return moved
