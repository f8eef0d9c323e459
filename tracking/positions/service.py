"""Use cases on stored positions: a device's trail, the newest fixes, and the retention purge."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from core.clock import now
from core.database import Database
from core.errors import FieldError, RuleViolation
from tracking.devices import service as devices
from tracking.live.messages import position_public
from tracking.positions import repository
from tracking.positions.codec import to_ping
from tracking.trails import trail_feature

MAX_TRAIL_ROWS: Final = 50_000
MAX_TRAIL_SPAN: Final = timedelta(days=31)
DEFAULT_TRAIL_SPAN: Final = timedelta(hours=24)


async def trail(
    session: AsyncSession,
    *,
    principal: Principal,
    device_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    tolerance_m: float = 0.0,
) -> dict[str, Any]:
    """A device's trail in a time range as a GeoJSON Feature with a LineString (RFC 7946).

    The geometry is null when the range holds fewer than two distinct positions.
    """
    device = await devices.get_device(session, principal=principal, device_id=device_id)
    end = until or now()
    start = since or end - DEFAULT_TRAIL_SPAN
    if start > end:
        raise RuleViolation(
            "since must not be after until",
            code="invalid_range",
            errors=[FieldError(loc=("query", "since"), msg="after until")],
        )
    if end - start > MAX_TRAIL_SPAN:
        raise RuleViolation(
            f"a trail spans at most {MAX_TRAIL_SPAN.days} days",
            code="range_too_long",
            errors=[FieldError(loc=("query", "since"), msg="range too long")],
        )
    rows = await repository.trail_rows(
        session, device_no=device.number, since=start, until=end, limit=MAX_TRAIL_ROWS
    )
    key = str(device.id)
    feature = trail_feature([to_ping(key, row) for row in rows], tolerance_m=tolerance_m)
    properties: dict[str, Any] = {
        "device_id": key,
        "since": start.isoformat(),
        "until": end.isoformat(),
        "stored": len(rows),
        "truncated": len(rows) == MAX_TRAIL_ROWS,
        "tolerance_m": tolerance_m,
    }
    if feature is None:
        return {"type": "Feature", "geometry": None, "properties": properties}
    feature["properties"].pop("device_key", None)
    feature["properties"].update(properties)
    return feature


async def latest_positions(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """The newest known position of each of the organization's devices (or of one)."""
    if device_id is not None:
        await devices.get_device(session, principal=principal, device_id=device_id)
    visible = None
    if device_id is None and principal.membership_id is not None:
        mine = await devices.list_devices(session, principal=principal)
        visible = {device.id for device in mine}
    found = await repository.latest_of_organization(
        session, organization_id=principal.organization_id, device_id=device_id
    )
    return [
        position_public(found_id, row)
        for found_id, row in found
        if visible is None or found_id in visible
    ]


async def purge_positions(database: Database, *, older_than_days: int) -> int:
    """Delete positions recorded more than ``older_than_days`` ago, in chunks; returns the count."""
    cutoff = now() - timedelta(days=older_than_days)
    total = 0
    while True:

        async def chunk(session: AsyncSession) -> int:
            return await repository.purge_before(session, cutoff=cutoff)

        deleted = await database.run(chunk)
        total += deleted
        if deleted == 0:
            return total
