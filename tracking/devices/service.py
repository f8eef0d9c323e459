"""Use cases of devices: register, list, rebind, revoke, rotate secrets, authenticate."""

from __future__ import annotations

import hmac
import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import repository as accounts_repository
from accounts.enums import OrgKind, Role
from accounts.exceptions import RoleRequired, StaleVersion
from accounts.principal import Principal
from core import eventlog
from core.clock import now
from core.errors import FieldError
from core.eventlog import subject_key
from tracking.devices import repository
from tracking.devices.credentials import (
    new_device_token,
    new_tracker_id,
    owntracks_user,
    secret_hash,
)
from tracking.devices.exceptions import (
    DeviceNotFound,
    DeviceRevoked,
    DriverRequired,
    InvalidDeviceCredentials,
    NotACarrier,
)
from tracking.devices.identity import DeviceCache, DeviceIdentity
from tracking.devices.lookup import DeviceLookup
from tracking.devices.models import Device
from tracking.devices.schemas import DeviceCreate, DeviceCredentials, DeviceUpdate

DEVICE_MANAGERS = frozenset({Role.OWNER, Role.ADMIN, Role.DISPATCHER})
"""Roles that register, rebind, revoke and rotate a carrier's devices."""

_NUMBER_RETRIES = 5


async def register_device(
    session: AsyncSession, *, principal: Principal, data: DeviceCreate
) -> tuple[Device, DeviceCredentials]:
    """Register a device for a driver or vehicle of the caller's carrier; secrets shown once."""
    _require_device_manager(principal)
    if data.driver_member_id is not None:
        await _require_driver(session, principal, data.driver_member_id)
    token, tracker_id = new_device_token(), new_tracker_id()
    for attempt in range(_NUMBER_RETRIES):
        number = await repository.next_number(session)
        device = Device(
            name=data.name,
            driver_member_id=data.driver_member_id,
            vehicle_id=data.vehicle_id,
            organization_id=principal.organization_id,
            number=number,
            token_hash=secret_hash(token),
            token_prefix=token[:12],
            tracker_hash=secret_hash(tracker_id),
            owntracks_user=owntracks_user(number),
            created_by_id=principal.membership_id,
        )
        try:
            # A registration racing this one may take the same number: try the next one.
            async with session.begin_nested():
                session.add(device)
                await session.flush()
            break
        except IntegrityError:
            if attempt == _NUMBER_RETRIES - 1:
                raise
    await _record(session, principal, device, "device.registered")
    return device, _credentials(device, token, tracker_id)


async def list_devices(
    session: AsyncSession, *, principal: Principal, include_revoked: bool = False
) -> list[Device]:
    """The organization's devices; a driver sees only the devices bound to them."""
    driver = principal.membership_id if principal.role == Role.DRIVER else None
    if principal.role == Role.DRIVER and driver is None:
        return []
    return list(
        await repository.devices_of_organization(
            session,
            organization_id=principal.organization_id,
            include_revoked=include_revoked,
            driver_member_id=driver,
        )
    )


async def get_device(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID
) -> Device:
    """One device of the caller's organization (a driver: one of their own)."""
    device = await repository.device_of_organization(
        session, organization_id=principal.organization_id, device_id=device_id
    )
    if device is None or (
        principal.role == Role.DRIVER and device.driver_member_id != principal.membership_id
    ):
        raise DeviceNotFound("no such device in your organization")
    return device


async def update_device(
    session: AsyncSession,
    *,
    principal: Principal,
    device_id: uuid.UUID,
    data: DeviceUpdate,
) -> Device:
    """Rename a device or bind it to another driver or vehicle."""
    _require_device_manager(principal)
    device = await get_device(session, principal=principal, device_id=device_id)
    if device.version != data.version:
        raise StaleVersion(
            f"the record is at version {device.version}, you sent {data.version}: reload and retry"
        )
    if device.revoked_at is not None:
        raise DeviceRevoked("the device is revoked: register a new one")
    if data.name is not None:
        device.name = data.name
    if data.driver_member_id is not None:
        await _require_driver(session, principal, data.driver_member_id)
        device.driver_member_id, device.vehicle_id = data.driver_member_id, None
    elif data.vehicle_id is not None:
        device.driver_member_id, device.vehicle_id = None, data.vehicle_id
    session.add(device)
    await session.flush()
    return device


async def revoke_device(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, cache: DeviceCache
) -> Device:
    """Revoke a device: its credentials stop working (in other processes within the cache time)."""
    _require_device_manager(principal)
    device = await get_device(session, principal=principal, device_id=device_id)
    if device.revoked_at is None:
        device.revoked_at = now()
        session.add(device)
        await session.flush()
        await _record(session, principal, device, "device.revoked")
    cache.evict_device(device.id)
    return device


async def rotate_credentials(
    session: AsyncSession, *, principal: Principal, device_id: uuid.UUID, cache: DeviceCache
) -> tuple[Device, DeviceCredentials]:
    """Issue new secrets for a device; the old ones stop working."""
    _require_device_manager(principal)
    device = await get_device(session, principal=principal, device_id=device_id)
    if device.revoked_at is not None:
        raise DeviceRevoked("the device is revoked: register a new one")
    token, tracker_id = new_device_token(), new_tracker_id()
    device.token_hash = secret_hash(token)
    device.token_prefix = token[:12]
    device.tracker_hash = secret_hash(tracker_id)
    device.rotated_at = now()
    session.add(device)
    await session.flush()
    cache.evict_device(device.id)
    await _record(session, principal, device, "device.rotated")
    return device, _credentials(device, token, tracker_id)


def _token_key(token: str) -> str:
    return "t:" + secret_hash(token)


def _tracker_key(tracker_id: str) -> str:
    return "i:" + secret_hash(tracker_id)


async def identify_by_token(
    lookup: DeviceLookup, *, token: str, cache: DeviceCache
) -> DeviceIdentity:
    """The device behind a bearer token, through the cache and the batched lookup."""
    digest = _token_key(token)
    identity = cache.get(digest)
    if identity is None:
        identity = await lookup.find("token_hash", digest[2:])
        _require_known(identity)
        assert identity is not None
        cache.put(digest, identity)
    return identity


async def identify_by_tracker(
    lookup: DeviceLookup, *, tracker_id: str, cache: DeviceCache
) -> DeviceIdentity:
    """The device behind a stock app's device identifier, through the batched lookup."""
    digest = _tracker_key(tracker_id)
    identity = cache.get(digest)
    if identity is None:
        identity = await lookup.find("tracker_hash", digest[2:])
        _require_known(identity)
        assert identity is not None
        cache.put(digest, identity)
    return identity


def cached_by_token(cache: DeviceCache, token: str) -> DeviceIdentity | None:
    """The device behind a bearer token if this process checked it lately (no session needed)."""
    return cache.get(_token_key(token))


def cached_by_tracker(cache: DeviceCache, tracker_id: str) -> DeviceIdentity | None:
    """The device behind a tracker id if this process checked it lately."""
    return cache.get(_tracker_key(tracker_id))


async def authenticate_token(
    session: AsyncSession, *, token: str, cache: DeviceCache
) -> DeviceIdentity:
    """The device behind a bearer token (our app, Overland)."""
    digest = _token_key(token)
    identity = cache.get(digest)
    if identity is None:
        identity = await repository.identity_by_token_hash(session, digest[2:])
        _require_known(identity)
        assert identity is not None
        cache.put(digest, identity)
    return identity


async def authenticate_tracker(
    session: AsyncSession, *, tracker_id: str, cache: DeviceCache
) -> DeviceIdentity:
    """The device behind a stock app's device identifier (Traccar Client, OsmAnd)."""
    digest = _tracker_key(tracker_id)
    identity = cache.get(digest)
    if identity is None:
        identity = await repository.identity_by_tracker_hash(session, digest[2:])
        _require_known(identity)
        assert identity is not None
        cache.put(digest, identity)
    return identity


async def authenticate_owntracks(
    session: AsyncSession, *, user: str, password: str, cache: DeviceCache
) -> DeviceIdentity:
    """The device behind an OwnTracks HTTP basic-auth login."""
    password_hash = secret_hash(password)
    digest = "o:" + secret_hash(f"{len(user)}:{user}:{password_hash}")
    identity = cache.get(digest)
    if identity is None:
        identity = await repository.identity_by_owntracks_login(
            session, user=user, password_hash=password_hash
        )
        _require_known(identity)
        assert identity is not None
        if not hmac.compare_digest(owntracks_user(identity.number), user):
            raise InvalidDeviceCredentials("the OwnTracks user or password is wrong")
        cache.put(digest, identity)
    return identity


def _require_known(identity: DeviceIdentity | None) -> None:
    if identity is None:
        raise InvalidDeviceCredentials("the device credentials are unknown or revoked")


def _require_device_manager(principal: Principal) -> None:
    if not principal.plays(OrgKind.CARRIER):
        raise NotACarrier("only carriers register devices for their drivers and vehicles")
    if principal.role not in DEVICE_MANAGERS:
        raise RoleRequired("only the owner, an admin or a dispatcher manages devices")


async def _require_driver(
    session: AsyncSession, principal: Principal, member_id: uuid.UUID
) -> None:
    found = await accounts_repository.member_with_user(
        session, organization_id=principal.organization_id, member_id=member_id
    )
    if found is None or found[0].role != Role.DRIVER or not found[0].active:
        raise DriverRequired(
            "driver_member_id must be an active driver of your organization",
            errors=[FieldError(loc=("driver_member_id",), msg="not an active driver here")],
        )


def _credentials(device: Device, token: str, tracker_id: str) -> DeviceCredentials:
    return DeviceCredentials(
        token=token,
        tracker_id=tracker_id,
        owntracks_user=device.owntracks_user,
        owntracks_password=token,
    )


async def _record(session: AsyncSession, principal: Principal, device: Device, kind: str) -> None:
    await eventlog.append(
        session,
        subject=subject_key("device", device.id),
        kind=kind,
        payload={"device_id": str(device.id), "number": device.number, "name": device.name},
        audience=[principal.organization_id],
        actor=principal.actor,
    )
