"""Positions past the retention period go; the rest and every newest fix stay."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import select

from core.clock import FrozenClock
from core.database import Database
from tracking.devices.identity import DeviceIdentity
from tracking.pings import Ping
from tracking.positions.codec import to_row
from tracking.positions.models import LastPosition, Position
from tracking.positions.service import purge_positions
from tracking.positions.writer import PositionWriter


class TestPurge:
    async def test_old_positions_are_deleted_in_chunks(
        self, database: Database, clock: FrozenClock
    ) -> None:
        writer = PositionWriter(database, linger_s=0)
        await writer.start()
        device = DeviceIdentity(id=uuid.uuid4(), number=1, organization_id=uuid.uuid4())
        start = clock.now() - timedelta(days=40)
        rows = [
            to_row(1, Ping("1", start + timedelta(hours=6 * k), 52.0, 10.0)) for k in range(160)
        ]
        await writer.write(device, rows)
        await writer.close()

        deleted = await purge_positions(database, older_than_days=30)

        async with database.session() as session:
            left = (await session.exec(select(func.count()).select_from(Position))).one()
            oldest = (await session.exec(select(func.min(Position.recorded_at)))).one()
            statement = select(func.count()).select_from(LastPosition)
            newest_fixes = (await session.exec(statement)).one()
        assert deleted == 40  # ten days at four a day
        assert left == 120
        assert oldest is not None
        assert oldest >= clock.now() - timedelta(days=30)
        assert newest_fixes == 1
        assert await purge_positions(database, older_than_days=30) == 0
