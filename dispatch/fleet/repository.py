"""Every query of carriers and fleets."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Select, String, bindparam, literal, type_coerce, union_all, update
from sqlalchemy import select as sql_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Membership, Site, User
from core.sql import table_of
from core.types import UTCDateTime
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


def _standing_statement() -> Any:
    carriers: Any = bindparam("carrier_ids", expanding=True)
    qualifications: Select[*tuple[Any, ...]] = sql_select(
        col(Qualification.organization_id).label("organization_id"),
        literal("q").label("source"),
        type_coerce(col(Qualification.kind), String).label("kind"),
        col(Qualification.hazard_classes).label("hazard_classes"),
        col(Qualification.valid_from).label("valid_from"),
        col(Qualification.expires_at).label("expires_at"),
        literal(None, Boolean).label("food_grade"),
    ).where(
        col(Qualification.organization_id).in_(carriers),
        col(Qualification.revoked_at).is_(None),
        col(Qualification.expires_at) > bindparam("moment", type_=UTCDateTime),
    )
    vehicles = sql_select(
        col(Vehicle.organization_id),
        literal("v"),
        type_coerce(col(Vehicle.body_type), String),
        col(Vehicle.hazard_classes),
        literal(None, UTCDateTime),
        literal(None, UTCDateTime),
        col(Vehicle.food_grade),
    ).where(
        col(Vehicle.organization_id).in_(carriers),
        col(Vehicle.status) != VehicleStatus.RETIRED,
    )
    return union_all(qualifications, vehicles)


# Built once: every grab and bid runs it.
_STANDING = _standing_statement()


async def standing(
    session: AsyncSession, organization_ids: Sequence[uuid.UUID], moment: datetime
) -> list[tuple[Any, ...]]:
    """Carriers' live qualifications and vehicles in service, in one round trip.

    Rows of (organization_id, source, kind, hazard_classes, valid_from, expires_at,
    food_grade): ``source`` is ``q`` for a qualification (``kind`` its kind) or ``v`` for a
    vehicle (``kind`` its body type, ``food_grade`` set).
    """
    connection = await session.connection()
    params = {"carrier_ids": list(organization_ids), "moment": moment}
    return [tuple(row) for row in (await connection.execute(_STANDING, params)).all()]


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
