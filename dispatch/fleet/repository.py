"""Every query of carriers and fleets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Membership, Site, User
from core.sql import table_of
from dispatch.fleet.enums import VehicleStatus
from dispatch.fleet.models import CarrierProfile, Driver, Qualification, Vehicle


async def profile(session: AsyncSession, organization_id: uuid.UUID) -> CarrierProfile | None:
    """A carrier's profile, if it wrote one."""
    statement = select(CarrierProfile).where(col(CarrierProfile.organization_id) == organization_id)
    return (await session.exec(statement)).first()


async def qualifications(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[Qualification]:
    """A carrier's qualifications, latest expiry first."""
    statement = (
        select(Qualification)
        .where(col(Qualification.organization_id) == organization_id)
        .order_by(col(Qualification.expires_at).desc())
    )
    return (await session.exec(statement)).all()


async def live_qualifications(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID], moment: datetime
) -> Sequence[Qualification]:
    """Unrevoked, unexpired qualifications of some carriers."""
    statement = select(Qualification).where(
        col(Qualification.organization_id).in_(organization_ids),
        col(Qualification.revoked_at).is_(None),
        col(Qualification.expires_at) > moment,
    )
    return (await session.exec(statement)).all()


async def vehicle_classes(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, str, bool, list[str]]]:
    """(carrier, body, food grade, hazard classes) of every vehicle in service, one row per
    vehicle; the caller folds them into classes."""
    statement = select(
        col(Vehicle.organization_id),
        col(Vehicle.body_type),
        col(Vehicle.food_grade),
        col(Vehicle.hazard_classes),
    ).where(
        col(Vehicle.organization_id).in_(organization_ids),
        col(Vehicle.status) != VehicleStatus.RETIRED,
    )
    return [
        (row[0], str(row[1]), bool(row[2]), list(row[3] or []))
        for row in (await session.exec(statement)).all()
    ]


async def home_bases(
    session: AsyncSession, organization_id: uuid.UUID
) -> list[tuple[uuid.UUID, float, float]]:
    """(vehicle, lat, lon) of the home base of each vehicle in service that has one."""
    statement = (
        select(col(Vehicle.id), col(Site.lat), col(Site.lon))
        .join(Site, col(Site.id) == col(Vehicle.home_site_id))
        .where(
            col(Vehicle.organization_id) == organization_id,
            col(Vehicle.status) != VehicleStatus.RETIRED,
        )
    )
    return [(row[0], float(row[1]), float(row[2])) for row in (await session.exec(statement)).all()]


async def vehicles(session: AsyncSession, organization_id: uuid.UUID) -> Sequence[Vehicle]:
    """A carrier's vehicles by plate."""
    statement = (
        select(Vehicle)
        .where(col(Vehicle.organization_id) == organization_id)
        .order_by(col(Vehicle.plate_key))
    )
    return (await session.exec(statement)).all()


async def vehicle(
    session: AsyncSession, *, organization_id: uuid.UUID, vehicle_id: uuid.UUID
) -> Vehicle | None:
    """One vehicle of a carrier."""
    found = await session.get(Vehicle, vehicle_id)
    return found if found is not None and found.organization_id == organization_id else None


async def drivers_with_names(
    session: AsyncSession, organization_id: uuid.UUID, *, driver_id: uuid.UUID | None = None
) -> list[tuple[Driver, str, uuid.UUID | None]]:
    """A carrier's drivers with each member's name and paired vehicle."""
    statement = (
        select(Driver, col(User.name), col(Vehicle.id))
        .join(Membership, col(Membership.id) == col(Driver.membership_id))
        .join(User, col(User.id) == col(Membership.user_id))
        .outerjoin(Vehicle, col(Vehicle.driver_id) == col(Driver.id))
        .where(col(Driver.organization_id) == organization_id)
        .order_by(col(User.name))
    )
    if driver_id is not None:
        statement = statement.where(col(Driver.id) == driver_id)
    return [(row[0], str(row[1]), row[2]) for row in (await session.exec(statement)).all()]


async def unpair_driver(session: AsyncSession, driver_id: uuid.UUID) -> None:
    """Take a driver off whichever vehicle it drives."""
    table = table_of(Vehicle)
    await session.exec(
        update(table)
        .where(table.c.driver_id == driver_id)
        .values(driver_id=None, version=table.c.version + 1)
    )
