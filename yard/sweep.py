"""The yard's clock: no-shows lose their slot and are re-slotted; called trucks that did not
reach their dock in time go back to the queue. A server's sweeper runs it periodically."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from yard.appointments import NoShowSweep, sweep_no_shows
from yard.visits import LapsedSweep, sweep_lapsed_calls


@dataclass(frozen=True)
class YardSweep:
    """What one sweep of the yard did."""

    no_shows: NoShowSweep
    lapsed: LapsedSweep

    @property
    def total(self) -> int:
        """How many records the sweep changed."""
        return len(self.no_shows.no_shows) + len(self.lapsed.visit_ids)


async def sweep_yard(session: AsyncSession) -> YardSweep:
    """Run the yard's deadlines once, in the caller's transaction."""
    return YardSweep(
        no_shows=await sweep_no_shows(session), lapsed=await sweep_lapsed_calls(session)
    )
