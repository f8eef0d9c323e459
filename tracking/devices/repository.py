"""Every query on devices."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from tracking.devices.identity import DeviceIdentity
from tracking.devices.models import Device


async def next_number(session: AsyncSession) -> int:
    """The next unused device number (a racing registration fails on the unique key)."""
    statement = select(func.coalesce(func.max(col(Device.number)), 0) + 1)
    return int((await session.exec(statement)).one())


async def device_of_organization(
    session: AsyncSession, *, organization_id: uuid.UUID, device_id: uuid.UUID
) -> Device | None:
    """One device of an organization, or None (also for other organizations' devices)."""
    statement = select(Device).where(
        col(Device.id) == device_id, col(Device.organization_id) == organization_id
    )
    return (await session.exec(statement)).first()


async def devices_of_organization(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    include_revoked: bool,
    driver_member_id: uuid.UUID | None = None,
) -> Sequence[Device]:
    """An organization's devices, oldest first."""
    statement = (
        select(Device)
        .where(col(Device.organization_id) == organization_id)
        .order_by(col(Device.number))
    )
    if not include_revoked:
        statement = statement.where(col(Device.revoked_at).is_(None))
    if driver_member_id is not None:
        statement = statement.where(col(Device.driver_member_id) == driver_member_id)
    return (await session.exec(statement)).all()


async def _active_identity(
    session: AsyncSession, *conditions: ColumnElement[bool]
) -> DeviceIdentity | None:
    statement = select(col(Device.id), col(Device.number), col(Device.organization_id)).where(
        col(Device.revoked_at).is_(None), *conditions
    )
    # Core on the session's connection: this runs on every cache miss of the ingest path,
    # and the ORM's result machinery would double its cost for three plain columns.
    row = (await (await session.connection()).execute(statement)).first()
    return None if row is None else DeviceIdentity(id=row[0], number=row[1], organization_id=row[2])


async def identity_by_token_hash(session: AsyncSession, digest: str) -> DeviceIdentity | None:
    """The active device whose bearer token hashes to ``digest``."""
    return await _active_identity(session, col(Device.token_hash) == digest)


async def identity_by_tracker_hash(session: AsyncSession, digest: str) -> DeviceIdentity | None:
    """The active device whose tracker id hashes to ``digest``."""
    return await _active_identity(session, col(Device.tracker_hash) == digest)


async def identity_by_owntracks_login(
    session: AsyncSession, *, user: str, password_hash: str
) -> DeviceIdentity | None:
    """The active device with this OwnTracks user whose token hashes to ``password_hash``."""
    return await _active_identity(
        session,
        col(Device.owntracks_user) == user,
        col(Device.token_hash) == password_hash,
    )
