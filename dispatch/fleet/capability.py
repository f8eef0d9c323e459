"""What a carrier can carry: its valid qualifications and its vehicles, against a load's needs.

Pure: the service loads the rows, this decides. A load needs a valid road transport licence
and insurance; a hazardous load a permit for its ADR class and a vehicle equipped for it; a
food-grade load a food-grade certificate and a food-grade vehicle; a load may name the bodies
it accepts. One vehicle must meet all of the load's vehicle needs at once.
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from dispatch.fleet.enums import BodyType, QualificationKind

EARTH_RADIUS_KM = 6371.0088
_DIVISION = re.compile(r"^(\d)(?:\.(\d))?([A-Z])?$")


def hazard_class_covers(granted: str, needed: str) -> bool:
    """Whether a permit or vehicle approval for ``granted`` covers ADR class ``needed``.

    A whole class covers its divisions ("4" covers "4.1"), a division its compatibility
    groups ("1.1" covers "1.1D"); nothing covers a sibling division.
    """
    match = _DIVISION.match(needed)
    if match is None:
        return granted == needed
    digit, division, group = match.groups()
    covering = {digit}
    if division:
        covering.add(f"{digit}.{division}")
        if group:
            covering.add(f"{digit}.{division}{group}")
    elif group:
        covering.add(f"{digit}{group}")
    return granted in covering


@dataclass(frozen=True)
class HeldQualification:
    """A qualification as the check needs it: kind, classes and validity."""

    kind: QualificationKind
    valid_from: datetime
    expires_at: datetime
    hazard_classes: frozenset[str] = frozenset()

    def valid_at(self, moment: datetime) -> bool:
        """Whether it is in force at ``moment``."""
        return self.valid_from <= moment < self.expires_at


@dataclass(frozen=True)
class VehicleClass:
    """Vehicles that count as the same for matching loads."""

    body_type: BodyType
    food_grade: bool
    hazard_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class LoadNeeds:
    """What a load asks of the carrier and of one of its vehicles."""

    hazard_class: str | None = None
    food_grade: bool = False
    body_types: frozenset[BodyType] = frozenset()


@dataclass(frozen=True)
class CarrierCapability:
    """A carrier's valid qualifications and vehicle classes (retired vehicles left out)."""

    carrier_id: uuid.UUID
    qualifications: tuple[HeldQualification, ...] = ()
    vehicle_classes: frozenset[VehicleClass] = frozenset()

    def holds(self, kind: QualificationKind, moment: datetime, hazard_class: str = "") -> bool:
        """Whether a qualification of ``kind`` (covering ``hazard_class``) is valid now."""
        for held in self.qualifications:
            if held.kind != kind or not held.valid_at(moment):
                continue
            if not hazard_class or any(
                hazard_class_covers(granted, hazard_class) for granted in held.hazard_classes
            ):
                return True
        return False


def shortfalls(needs: LoadNeeds, capability: CarrierCapability, moment: datetime) -> list[str]:
    """What the carrier lacks for the load, as stable codes; empty means qualified.

    Codes: ``transport_licence``, ``insurance``, ``hazmat_permit:<class>``,
    ``food_grade_certificate``, ``vehicle`` (no one vehicle meets the load's vehicle needs).
    """
    missing: list[str] = []
    if not capability.holds(QualificationKind.TRANSPORT_LICENCE, moment):
        missing.append("transport_licence")
    if not capability.holds(QualificationKind.INSURANCE, moment):
        missing.append("insurance")
    if needs.hazard_class and not capability.holds(
        QualificationKind.HAZMAT_PERMIT, moment, needs.hazard_class
    ):
        missing.append(f"hazmat_permit:{needs.hazard_class}")
    if needs.food_grade and not capability.holds(QualificationKind.FOOD_GRADE, moment):
        missing.append("food_grade_certificate")
    if not any(vehicle_fits(needs, vehicle) for vehicle in capability.vehicle_classes):
        missing.append("vehicle")
    return missing


def vehicle_fits(needs: LoadNeeds, vehicle: VehicleClass) -> bool:
    """Whether one vehicle class meets every vehicle need of a load."""
    if needs.body_types and vehicle.body_type not in needs.body_types:
        return False
    if needs.food_grade and not vehicle.food_grade:
        return False
    return not needs.hazard_class or any(
        hazard_class_covers(granted, needs.hazard_class) for granted in vehicle.hazard_classes
    )


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lat, lon) points in kilometres (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(
    centre: tuple[float, float], radius_km: float
) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that contains the circle, for an index prefilter."""
    lat, lon = centre
    dlat = math.degrees(radius_km / EARTH_RADIUS_KM)
    cos_lat = math.cos(math.radians(lat))
    dlon = 180.0 if cos_lat < 1e-6 else min(180.0, dlat / cos_lat)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
