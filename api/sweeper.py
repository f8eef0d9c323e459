"""The background task that fires the market's deadlines, the passes' clock and the yard's
(no-shows, unanswered calls) in a server process."""

from __future__ import annotations

import asyncio
import logging

from sqlmodel.ext.asyncio.session import AsyncSession

from api.runtime import Runtime
from dispatch.authorizations.sweep import PassSweep, sweep_passes
from dispatch.market.sweep import SweepReport, sweep
from yard.sweep import YardSweep, sweep_yard

log = logging.getLogger(__name__)


async def sweep_forever(runtime: Runtime, *, interval_s: float) -> None:
    """Sweep every ``interval_s`` seconds until cancelled; a failed sweep is logged and retried."""

    async def work(session: AsyncSession) -> SweepReport:
        return await sweep(session)

    async def passes(session: AsyncSession) -> PassSweep:
        return await sweep_passes(session, policy=runtime.settings.passes)

    async def yard(session: AsyncSession) -> YardSweep:
        return await sweep_yard(session)

    while True:
        await asyncio.sleep(interval_s)
        try:
            report = await runtime.database.run(work, bus=runtime.bus)
            swept = await runtime.database.run(passes, bus=runtime.bus)
            yard_swept = await runtime.database.run(yard, bus=runtime.bus)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("sweep failed; retrying in %.0f s", interval_s)
            continue
        if report.total:
            log.info("market sweep: %s", report)
        if swept.total:
            log.info("pass sweep: %s", swept)
        if yard_swept.total:
            log.info("yard sweep: %s", yard_swept)
