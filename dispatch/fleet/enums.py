"""Bodies, vehicle states and the kinds of qualification a carrier holds."""

from __future__ import annotations

from enum import StrEnum


class BodyType(StrEnum):
    """What a vehicle's body carries."""

    TIPPER = "tipper"
    FLATBED = "flatbed"
    TANKER = "tanker"
    SILO = "silo"
    BOX = "box"
    CURTAINSIDER = "curtainsider"
    REEFER = "reefer"


class VehicleStatus(StrEnum):
    """Whether a vehicle can take work."""

    AVAILABLE = "available"
    BUSY = "busy"
    MAINTENANCE = "maintenance"
    RETIRED = "retired"


class QualificationKind(StrEnum):
    """A document that lets a carrier take some loads.

    Every load needs a valid road transport licence and insurance; hazardous goods need a
    permit for the load's ADR class; food-grade loads need a food-grade certificate.
    """

    TRANSPORT_LICENCE = "transport_licence"
    INSURANCE = "insurance"
    HAZMAT_PERMIT = "hazmat_permit"
    FOOD_GRADE = "food_grade"
