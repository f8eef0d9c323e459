"""Devices (registration, secrets, revocation), their positions and trails."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AwareDatetime

from accounts.enums import Scope
from accounts.principal import Principal
from api.deps import RuntimeDep, SessionDep, require_scope
from api.json import FastJSONResponse
from api.routing import TransactionalRoute
from tracking.devices import service as devices
from tracking.devices.schemas import (
    DeviceCreate,
    DevicePublic,
    DeviceRegistered,
    DevicesPublic,
    DeviceUpdate,
    device_public,
)
from tracking.devices.setup import app_setup
from tracking.positions import service as positions

router = APIRouter(prefix="/v1", tags=["tracking"], route_class=TransactionalRoute)

Reader = Annotated[Principal, Depends(require_scope(Scope.TRACKING_READ))]
Writer = Annotated[Principal, Depends(require_scope(Scope.TRACKING_WRITE))]


def _base_url(request: Request, runtime: RuntimeDep) -> str:
    configured = runtime.settings.tracking.public_url
    return configured or str(request.base_url)


@router.post("/devices", status_code=status.HTTP_201_CREATED)
async def register_device(
    body: DeviceCreate,
    principal: Writer,
    session: SessionDep,
    request: Request,
    runtime: RuntimeDep,
) -> DeviceRegistered:
    """Register a device for a driver or vehicle; its secrets are shown this once."""
    device, credentials = await devices.register_device(session, principal=principal, data=body)
    return DeviceRegistered(
        device=device_public(device),
        credentials=credentials,
        setup=app_setup(_base_url(request, runtime), credentials),
    )


@router.get("/devices")
async def list_devices(
    principal: Reader, session: SessionDep, include_revoked: bool = False
) -> DevicesPublic:
    """Your organization's devices (a driver: their own)."""
    found = await devices.list_devices(
        session, principal=principal, include_revoked=include_revoked
    )
    return DevicesPublic(data=[device_public(d) for d in found], count=len(found))


@router.get("/devices/{device_id}")
async def get_device(device_id: uuid.UUID, principal: Reader, session: SessionDep) -> DevicePublic:
    """One device."""
    return device_public(
        await devices.get_device(session, principal=principal, device_id=device_id)
    )


@router.patch("/devices/{device_id}")
async def update_device(
    device_id: uuid.UUID, body: DeviceUpdate, principal: Writer, session: SessionDep
) -> DevicePublic:
    """Rename a device or bind it to another driver or vehicle."""
    device = await devices.update_device(
        session, principal=principal, device_id=device_id, data=body
    )
    return device_public(device)


@router.post("/devices/{device_id}/revoke")
async def revoke_device(
    device_id: uuid.UUID, principal: Writer, session: SessionDep, runtime: RuntimeDep
) -> DevicePublic:
    """Revoke a device: its credentials stop working."""
    device = await devices.revoke_device(
        session, principal=principal, device_id=device_id, cache=runtime.tracking.devices
    )
    return device_public(device)


@router.post("/devices/{device_id}/rotate")
async def rotate_device_secrets(
    device_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    request: Request,
    runtime: RuntimeDep,
) -> DeviceRegistered:
    """Issue new secrets for a device; the old ones stop working."""
    device, credentials = await devices.rotate_credentials(
        session, principal=principal, device_id=device_id, cache=runtime.tracking.devices
    )
    return DeviceRegistered(
        device=device_public(device),
        credentials=credentials,
        setup=app_setup(_base_url(request, runtime), credentials),
    )


@router.get("/devices/{device_id}/position")
async def get_device_position(
    device_id: uuid.UUID, principal: Reader, session: SessionDep
) -> dict[str, Any] | None:
    """A device's newest known position (null before its first ping)."""
    found = await positions.latest_positions(session, principal=principal, device_id=device_id)
    return found[0] if found else None


@router.get("/positions/latest")
async def list_latest_positions(principal: Reader, session: SessionDep) -> dict[str, Any]:
    """The newest known position of each of your organization's devices."""
    found = await positions.latest_positions(session, principal=principal)
    return {"data": found, "count": len(found)}


@router.get(
    "/devices/{device_id}/trail",
    response_class=FastJSONResponse,
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def get_device_trail(
    device_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    tolerance_m: Annotated[float, Query(ge=0, le=10_000)] = 0.0,
) -> FastJSONResponse:
    """A device's trail as a GeoJSON LineString Feature, simplified to tolerance_m metres."""
    feature = await positions.trail(
        session,
        principal=principal,
        device_id=device_id,
        since=since,
        until=until,
        tolerance_m=tolerance_m,
    )
    return FastJSONResponse(feature, media_type="application/geo+json")
