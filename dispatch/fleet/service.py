"""Use cases of carriers: profile, qualifications, vehicles, drivers, and what they qualify for."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import OrgKind, Role
from accounts.models import Membership, Site
from accounts.principal import Principal
from core import eventlog
from core.clock import now
from core.errors import FieldError
from core.eventlog import subject_key
from dispatch.authorizations.passes import normalize_plate
from dispatch.fleet import repository
from dispatch.fleet.capability import CarrierCapability, HeldQualification, VehicleClass
from dispatch.fleet.enums import BodyType, QualificationKind
from dispatch.fleet.exceptions import (
    DriverNotFound,
    DriverTaken,
    InvalidVehicle,
    NotADriver,
    PlateTaken,
    QualificationNotFound,
    VehicleNotFound,
)
from dispatch.fleet.models import CarrierProfile, Driver, Qualification, Vehicle
from dispatch.fleet.schemas import (
    DriverCreate,
    DriverUpdate,
    PairDriver,
    ProfileUpdate,
    QualificationCreate,
    VehicleCreate,
    VehicleUpdate,
)
from dispatch.guards import check_version, require_dispatcher, require_kind


def carrier_subject(organization_id: uuid.UUID) -> str:
    """The event-log subject of a carrier's standing (its qualifications)."""
    return subject_key("carrier", organization_id)


def _require_carrier_dispatcher(principal: Principal) -> None:
    require_kind(principal, OrgKind.CARRIER)
    require_dispatcher(principal)


async def get_profile(session: AsyncSession, *, principal: Principal) -> CarrierProfile:
    """The caller's carrier profile (an empty one if none was written)."""
    require_kind(principal, OrgKind.CARRIER)
    found = await repository.profile(session, principal.organization_id)
    return found or CarrierProfile(organization_id=principal.organization_id, version=0)


async def update_profile(
    session: AsyncSession, *, principal: Principal, data: ProfileUpdate
) -> CarrierProfile:
    """Write the caller's carrier profile."""
    _require_carrier_dispatcher(principal)
    profile = await repository.profile(session, principal.organization_id)
    check_version(profile.version if profile else 0, data.version)
    if profile is None:
        profile = CarrierProfile(organization_id=principal.organization_id)
    for field, value in data.model_dump(exclude={"version"}, exclude_none=True).items():
        setattr(profile, field, value)
    session.add(profile)
    await session.flush()
    return profile


async def add_qualification(
    session: AsyncSession, *, principal: Principal, data: QualificationCreate
) -> Qualification:
    """Record a permit, certificate, licence or insurance of the caller's organization."""
    _require_carrier_dispatcher(principal)
    qualification = Qualification(
        organization_id=principal.organization_id,
        **data.model_dump(),
    )
    session.add(qualification)
    await session.flush()
    await eventlog.append(
        session,
        subject=carrier_subject(principal.organization_id),
        kind="qualification.added",
        payload={
            "qualification_id": str(qualification.id),
            "kind": qualification.kind,
            "hazard_classes": qualification.hazard_classes,
            "expires_at": qualification.expires_at.isoformat(),
        },
        audience=[principal.organization_id],
        actor=principal.actor,
    )
    return qualification


async def list_qualifications(
    session: AsyncSession, *, principal: Principal
) -> list[Qualification]:
    """The caller's qualifications."""
    return list(await repository.qualifications(session, principal.organization_id))


async def revoke_qualification(
    session: AsyncSession, *, principal: Principal, qualification_id: uuid.UUID
) -> Qualification:
    """Withdraw a qualification (a permit lapsed, a certificate was withdrawn)."""
    _require_carrier_dispatcher(principal)
    qualification = await session.get(Qualification, qualification_id)
    if qualification is None or qualification.organization_id != principal.organization_id:
        raise QualificationNotFound("no such qualification in your organization")
    if qualification.revoked_at is None:
        qualification.revoked_at = now()
        session.add(qualification)
        await session.flush()
        await eventlog.append(
            session,
            subject=carrier_subject(principal.organization_id),
            kind="qualification.revoked",
            payload={"qualification_id": str(qualification.id), "kind": qualification.kind},
            audience=[principal.organization_id],
            actor=principal.actor,
        )
    return qualification


async def create_vehicle(
    session: AsyncSession, *, principal: Principal, data: VehicleCreate
) -> Vehicle:
    """Add a vehicle to the caller's fleet."""
    _require_carrier_dispatcher(principal)
    await _check_home(session, principal, data.home_site_id)
    vehicle = Vehicle(
        organization_id=principal.organization_id,
        plate_key=normalize_plate(data.plate),
        **data.model_dump(),
    )
    session.add(vehicle)
    await _flush_unique(session, PlateTaken(f"your fleet already has the plate {data.plate}"))
    return vehicle


async def list_vehicles(session: AsyncSession, *, principal: Principal) -> list[Vehicle]:
    """The caller's fleet."""
    return list(await repository.vehicles(session, principal.organization_id))


async def get_vehicle(
    session: AsyncSession, *, principal: Principal, vehicle_id: uuid.UUID
) -> Vehicle:
    """One vehicle of the caller's fleet."""
    vehicle = await repository.vehicle(
        session, organization_id=principal.organization_id, vehicle_id=vehicle_id
    )
    if vehicle is None:
        raise VehicleNotFound("no such vehicle in your fleet")
    return vehicle


async def update_vehicle(
    session: AsyncSession, *, principal: Principal, vehicle_id: uuid.UUID, data: VehicleUpdate
) -> Vehicle:
    """Change a vehicle's status or capacities."""
    _require_carrier_dispatcher(principal)
    vehicle = await get_vehicle(session, principal=principal, vehicle_id=vehicle_id)
    check_version(vehicle.version, data.version)
    values = data.model_dump(exclude={"version"}, exclude_none=True)
    if "home_site_id" in values:
        await _check_home(session, principal, values["home_site_id"])
    if vehicle.compartments_l and values.get("volume_l", vehicle.volume_l) != sum(
        vehicle.compartments_l
    ):
        raise InvalidVehicle(
            "a tanker's volume is the sum of its compartments",
            errors=[FieldError(("body", "volume_l"), "must equal the compartments' sum")],
        )
    for field, value in values.items():
        setattr(vehicle, field, value)
    session.add(vehicle)
    await session.flush()
    return vehicle


async def pair_driver(
    session: AsyncSession, *, principal: Principal, vehicle_id: uuid.UUID, data: PairDriver
) -> Vehicle:
    """Put a driver on a vehicle (taking it off any other), or take the driver off."""
    _require_carrier_dispatcher(principal)
    vehicle = await get_vehicle(session, principal=principal, vehicle_id=vehicle_id)
    check_version(vehicle.version, data.version)
    if data.driver_id is not None:
        driver = await session.get(Driver, data.driver_id)
        if driver is None or driver.organization_id != principal.organization_id:
            raise DriverNotFound("no such driver in your organization")
        if not driver.active:
            raise NotADriver("the driver is inactive", code="driver_inactive")
        if vehicle.driver_id != driver.id:
            await repository.unpair_driver(session, driver.id)
    vehicle.driver_id = data.driver_id
    session.add(vehicle)
    await _flush_unique(session, DriverTaken("the driver was just put on another vehicle"))
    return vehicle


async def create_driver(
    session: AsyncSession, *, principal: Principal, data: DriverCreate
) -> tuple[Driver, str, uuid.UUID | None]:
    """Record one of the caller's driver accounts as a driver."""
    _require_carrier_dispatcher(principal)
    member = await session.get(Membership, data.membership_id)
    if member is None or member.organization_id != principal.organization_id:
        raise DriverNotFound("no such member in your organization", code="member_not_found")
    if member.role != Role.DRIVER or not member.active:
        raise NotADriver("only an active account with the driver role can be a driver")
    driver = Driver(organization_id=principal.organization_id, **data.model_dump())
    session.add(driver)
    await _flush_unique(session, DriverTaken("this member is already a driver"))
    return await get_driver(session, principal=principal, driver_id=driver.id)


async def list_drivers(
    session: AsyncSession, *, principal: Principal
) -> list[tuple[Driver, str, uuid.UUID | None]]:
    """The caller's drivers with names and paired vehicles."""
    return await repository.drivers_with_names(session, principal.organization_id)


async def get_driver(
    session: AsyncSession, *, principal: Principal, driver_id: uuid.UUID
) -> tuple[Driver, str, uuid.UUID | None]:
    """One of the caller's drivers."""
    found = await repository.drivers_with_names(
        session, principal.organization_id, driver_id=driver_id
    )
    if not found:
        raise DriverNotFound("no such driver in your organization")
    return found[0]


async def update_driver(
    session: AsyncSession, *, principal: Principal, driver_id: uuid.UUID, data: DriverUpdate
) -> tuple[Driver, str, uuid.UUID | None]:
    """Change a driver's licence, training, phone or whether it drives."""
    _require_carrier_dispatcher(principal)
    driver, _, _ = await get_driver(session, principal=principal, driver_id=driver_id)
    check_version(driver.version, data.version)
    for field, value in data.model_dump(exclude={"version"}, exclude_none=True).items():
        setattr(driver, field, value)
    session.add(driver)
    await session.flush()
    if not driver.active:
        await repository.unpair_driver(session, driver.id)
    return await get_driver(session, principal=principal, driver_id=driver_id)


async def capabilities(
    session: AsyncSession, carrier_ids: Sequence[uuid.UUID], *, moment: datetime | None = None
) -> dict[uuid.UUID, CarrierCapability]:
    """What each carrier is qualified and equipped for, in one query however many.

    Home bases are left out (only the feed's radius filter needs them: ``home_bases``).
    """
    moment = moment or now()
    held: dict[uuid.UUID, list[HeldQualification]] = {cid: [] for cid in carrier_ids}
    classes: dict[uuid.UUID, set[VehicleClass]] = {cid: set() for cid in carrier_ids}
    for carrier_id, source, kind, hazard, valid_from, expires_at, food in await repository.standing(
        session, carrier_ids, moment
    ):
        if source == "q":
            held[carrier_id].append(
                HeldQualification(
                    kind=QualificationKind(kind),
                    valid_from=valid_from,
                    expires_at=expires_at,
                    hazard_classes=frozenset(hazard or ()),
                )
            )
        else:
            classes[carrier_id].add(
                VehicleClass(BodyType(kind), bool(food), frozenset(hazard or ()))
            )
    return {
        cid: CarrierCapability(
            carrier_id=cid,
            qualifications=tuple(held[cid]),
            vehicle_classes=frozenset(classes[cid]),
        )
        for cid in carrier_ids
    }


async def capability(
    session: AsyncSession, carrier_id: uuid.UUID, *, moment: datetime | None = None
) -> CarrierCapability:
    """What one carrier is qualified and equipped for."""
    return (await capabilities(session, [carrier_id], moment=moment))[carrier_id]


async def _check_home(
    session: AsyncSession, principal: Principal, site_id: uuid.UUID | None
) -> None:
    if site_id is None:
        return
    site = await session.get(Site, site_id)
    if site is None or site.organization_id != principal.organization_id:
        raise InvalidVehicle(
            "the home base is one of your own sites",
            errors=[FieldError(("body", "home_site_id"), "not a site of yours")],
        )


async def _flush_unique(session: AsyncSession, error: Exception) -> None:
    # A savepoint keeps the transaction usable when a unique key says no.
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as integrity:
        raise error from integrity


async def home_bases(
    session: AsyncSession, *, principal: Principal
) -> dict[uuid.UUID, tuple[float, float]]:
    """Each of the caller's vehicles in service with a home base: its (lat, lon)."""
    found = await repository.home_bases(session, principal.organization_id)
    return {vehicle_id: (lat, lon) for vehicle_id, lat, lon in found}
