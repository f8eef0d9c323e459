"""Errors of carriers and fleets, each with a stable code."""

from __future__ import annotations

from core.errors import Conflict, NotFound, RuleViolation


class VehicleNotFound(NotFound):
    """No such vehicle in the caller's fleet."""

    default_code = "vehicle_not_found"


class DriverNotFound(NotFound):
    """No such driver in the caller's organization."""

    default_code = "driver_not_found"


class QualificationNotFound(NotFound):
    """No such qualification of the caller's organization."""

    default_code = "qualification_not_found"


class PlateTaken(Conflict):
    """The fleet already has a vehicle with this plate."""

    default_code = "plate_taken"


class DriverTaken(Conflict):
    """The member is already a driver, or the driver already drives another vehicle."""

    default_code = "driver_taken"


class InvalidVehicle(RuleViolation):
    """Vehicle data that cannot be right (a tanker without compartments, say)."""

    default_code = "invalid_vehicle"


class NotADriver(RuleViolation):
    """The member does not hold the driver role."""

    default_code = "not_a_driver"
