"""Errors of devices and their credentials, each with a stable code."""

from __future__ import annotations

from core.errors import Forbidden, NotFound, RuleViolation, Unauthenticated


class DeviceNotFound(NotFound):
    """No such device in the caller's organization."""

    default_code = "device_not_found"


class InvalidDeviceCredentials(Unauthenticated):
    """A device token, tracker id or OwnTracks login that is unknown or revoked."""

    default_code = "invalid_device_credentials"


class DeviceRevoked(RuleViolation):
    """The device was revoked; register a new one."""

    default_code = "device_revoked"


class NotACarrier(Forbidden):
    """Only carriers register devices for their drivers and vehicles."""

    default_code = "carrier_required"


class DriverRequired(RuleViolation):
    """A device bound to a member needs an active driver of the same organization."""

    default_code = "driver_required"
