"""The passes' clock, run by a server process: passes never presented expire, and passes
whose delivery no longer expects them (cancelled, authorization withdrawn, another driver
or vehicle) are revoked and listed, so offline gates refuse them too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from core.clock import now
from core.settings import PassSettings
from dispatch.authorizations import repository
from dispatch.authorizations.events import record_pass
from dispatch.authorizations.withdrawal import revoke_pass_row

SWEEP_ACTOR = "system:passes"
ORPHAN_REASON = "the delivery no longer expects this pass"


@dataclass(frozen=True)
class PassSweep:
    """What one sweep did."""

    expired: int = 0
    revoked: int = 0

    @property
    def total(self) -> int:
        """How many passes changed."""
        return self.expired + self.revoked


async def sweep_passes(
    session: AsyncSession, *, moment: datetime | None = None, policy: PassSettings | None = None
) -> PassSweep:
    """Expire issued passes past their expiry (and the gates' leeway); revoke orphaned ones."""
    policy = policy or PassSettings()
    moment = moment or now()
    expired = await repository.expire_passes(
        session, before=moment - timedelta(seconds=policy.leeway_s), now=moment
    )
    for issued in expired:
        await record_pass(session, issued, "pass.expired", actor=SWEEP_ACTOR)
    revoked = 0
    for issued in await repository.orphaned_passes(session):
        await repository.lock_chain(session, issued.root_id)
        if await revoke_pass_row(
            session, issued, reason=ORPHAN_REASON, actor=SWEEP_ACTOR, now=moment
        ):
            revoked += 1
    return PassSweep(expired=len(expired), revoked=revoked)
