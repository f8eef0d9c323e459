"""A carrier's profile, qualifications, vehicles and drivers."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import SessionDep, require_scope
from api.routing import TransactionalRoute
from core.clock import now
from dispatch.fleet import service as fleet
from dispatch.fleet.schemas import (
    DriverCreate,
    DriverPublic,
    DriversPublic,
    DriverUpdate,
    PairDriver,
    ProfilePublic,
    ProfileUpdate,
    QualificationCreate,
    QualificationPublic,
    QualificationsPublic,
    VehicleCreate,
    VehiclePublic,
    VehiclesPublic,
    VehicleUpdate,
    driver_public,
    profile_public,
    qualification_public,
    vehicle_public,
)

router = APIRouter(prefix="/v1/fleet", tags=["fleet"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.MARKET_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.MARKET_WRITE))]


@router.get("/profile")
async def get_profile(principal: Reader, session: SessionDep) -> ProfilePublic:
    """Your carrier profile."""
    return profile_public(await fleet.get_profile(session, principal=principal))


@router.put("/profile")
async def update_profile(
    body: ProfileUpdate, principal: Writer, session: SessionDep
) -> ProfilePublic:
    """Write your carrier profile (``version`` 0 the first time)."""
    return profile_public(await fleet.update_profile(session, principal=principal, data=body))


@router.get("/qualifications")
async def list_qualifications(principal: Reader, session: SessionDep) -> QualificationsPublic:
    """Your permits, certificates, licences and insurance, and whether each is in force."""
    moment = now()
    found = await fleet.list_qualifications(session, principal=principal)
    data = [qualification_public(q, now=moment) for q in found]
    return QualificationsPublic(data=data, count=len(data))


@router.post("/qualifications", status_code=status.HTTP_201_CREATED)
async def add_qualification(
    body: QualificationCreate, principal: Writer, session: SessionDep
) -> QualificationPublic:
    """Record a permit, certificate, licence or insurance with its document and expiry."""
    qualification = await fleet.add_qualification(session, principal=principal, data=body)
    return qualification_public(qualification, now=now())


@router.post("/qualifications/{qualification_id}/revoke")
async def revoke_qualification(
    qualification_id: uuid.UUID, principal: Writer, session: SessionDep
) -> QualificationPublic:
    """Withdraw a qualification; loads that need it are closed to you at once."""
    qualification = await fleet.revoke_qualification(
        session, principal=principal, qualification_id=qualification_id
    )
    return qualification_public(qualification, now=now())


@router.get("/vehicles")
async def list_vehicles(principal: Reader, session: SessionDep) -> VehiclesPublic:
    """Your fleet."""
    found = await fleet.list_vehicles(session, principal=principal)
    return VehiclesPublic(data=[vehicle_public(v) for v in found], count=len(found))


@router.post("/vehicles", status_code=status.HTTP_201_CREATED)
async def create_vehicle(
    body: VehicleCreate, principal: Writer, session: SessionDep
) -> VehiclePublic:
    """Add a vehicle to your fleet."""
    return vehicle_public(await fleet.create_vehicle(session, principal=principal, data=body))


@router.get("/vehicles/{vehicle_id}")
async def get_vehicle(
    vehicle_id: uuid.UUID, principal: Reader, session: SessionDep
) -> VehiclePublic:
    """One vehicle of your fleet."""
    return vehicle_public(
        await fleet.get_vehicle(session, principal=principal, vehicle_id=vehicle_id)
    )


@router.patch("/vehicles/{vehicle_id}")
async def update_vehicle(
    vehicle_id: uuid.UUID, body: VehicleUpdate, principal: Writer, session: SessionDep
) -> VehiclePublic:
    """Change a vehicle's status, capacities, equipment or home base."""
    vehicle = await fleet.update_vehicle(
        session, principal=principal, vehicle_id=vehicle_id, data=body
    )
    return vehicle_public(vehicle)


@router.put("/vehicles/{vehicle_id}/driver")
async def pair_driver(
    vehicle_id: uuid.UUID, body: PairDriver, principal: Writer, session: SessionDep
) -> VehiclePublic:
    """Put a driver on a vehicle (off any other), or take the driver off with null."""
    vehicle = await fleet.pair_driver(
        session, principal=principal, vehicle_id=vehicle_id, data=body
    )
    return vehicle_public(vehicle)


@router.get("/drivers")
async def list_drivers(principal: Reader, session: SessionDep) -> DriversPublic:
    """Your drivers, with their licences, training and vehicles."""
    found = await fleet.list_drivers(session, principal=principal)
    data = [driver_public(d, name=n, vehicle_id=v) for d, n, v in found]
    return DriversPublic(data=data, count=len(data))


@router.post("/drivers", status_code=status.HTTP_201_CREATED)
async def create_driver(body: DriverCreate, principal: Writer, session: SessionDep) -> DriverPublic:
    """Record one of your driver accounts as a driver."""
    driver, name, vehicle_id = await fleet.create_driver(session, principal=principal, data=body)
    return driver_public(driver, name=name, vehicle_id=vehicle_id)


@router.get("/drivers/{driver_id}")
async def get_driver(driver_id: uuid.UUID, principal: Reader, session: SessionDep) -> DriverPublic:
    """One of your drivers."""
    driver, name, vehicle_id = await fleet.get_driver(
        session, principal=principal, driver_id=driver_id
    )
    return driver_public(driver, name=name, vehicle_id=vehicle_id)


@router.patch("/drivers/{driver_id}")
async def update_driver(
    driver_id: uuid.UUID, body: DriverUpdate, principal: Writer, session: SessionDep
) -> DriverPublic:
    """Change a driver's licence, training, phone or whether it drives."""
    driver, name, vehicle_id = await fleet.update_driver(
        session, principal=principal, driver_id=driver_id, data=body
    )
    return driver_public(driver, name=name, vehicle_id=vehicle_id)
