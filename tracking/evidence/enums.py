"""Conditions, file purposes, dispute reasons and outcomes, and the dispute states."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Condition(StrEnum):
    """How the goods arrived, as the receiver judged them."""

    GOOD = "good"
    DAMAGED = "damaged"
    CONTAMINATED = "contaminated"


class FilePurpose(StrEnum):
    """What an uploaded file shows."""

    PHOTO = "photo"
    SIGNATURE = "signature"
    DOCUMENT = "document"  # a weight ticket scan, a lab report, a metering printout


class MeasurementKind(StrEnum):
    """A third party's result taken at delivery."""

    METERING = "metering"
    SAMPLE = "sample"


class ArrivalSource(StrEnum):
    """Who said the truck had arrived: a geofence event in the log, or the phone."""

    GEOFENCE = "geofence"
    PHONE = "phone"


class DisputeReason(StrEnum):
    """Why a dispute was opened (a dispute may have several)."""

    SHORT_DELIVERY = "short_delivery"
    OVER_DELIVERY = "over_delivery"
    DAMAGE = "damage"
    CONTAMINATION = "contamination"
    SEAL_BROKEN = "seal_broken"
    SEAL_MISMATCH = "seal_mismatch"
    LATE = "late"
    OTHER = "other"


class DisputeState(StrEnum):
    """Where a dispute stands."""

    OPEN = "open"
    RESOLVED = "resolved"


DISPUTE_TRANSITIONS: Mapping[DisputeState, frozenset[DisputeState]] = {
    DisputeState.OPEN: frozenset({DisputeState.RESOLVED}),
    DisputeState.RESOLVED: frozenset(),
}


class DisputeOutcome(StrEnum):
    """How a dispute ended."""

    ACCEPTED_AS_RECEIVED = "accepted_as_received"  # the receipt's quantity and condition stand
    ACCEPTED_AS_LOADED = "accepted_as_loaded"  # the weight ticket stands
    SETTLED = "settled"  # agreed otherwise: the note says how
    WITHDRAWN = "withdrawn"


class PartyRole(StrEnum):
    """Which side of a delivery an organization speaks for."""

    SELLER = "seller"
    BUYER = "buyer"
    CARRIER = "carrier"
    PLANT_OPERATOR = "plant_operator"
