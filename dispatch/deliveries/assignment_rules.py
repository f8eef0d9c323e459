"""Whether a driver and a vehicle may take a delivery: pure checks, each refusal a stable
code. The service loads the rows and the day's other trips; this decides.

Driver: ``driver_inactive``, ``licence_missing``, ``licence_expired``, and for hazardous
goods ``hazmat_training_missing``, ``hazmat_training_expired`` (each must be valid to the
end of the pickup day), ``driver_overbooked``. Vehicle: ``vehicle_unavailable``,
``vehicle_body``, ``vehicle_food_grade``, ``vehicle_hazard``, ``vehicle_capacity``,
``vehicle_overbooked``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.deliveries.splitting import CargoTerms
from dispatch.planning import BulkCargo, ItemCargo, Vehicle
from dispatch.planning.capacity import ZERO_SIZE, bulk_load_range, item_capacity, item_size


@dataclass(frozen=True)
class Refusal:
    """Why an assignment is refused, and which input it concerns (driver or vehicle)."""

    code: str
    detail: str
    field: str


@dataclass(frozen=True)
class DriverRecord:
    """What the checks read of a driver."""

    name: str
    active: bool
    licence_expires_at: datetime | None
    hazmat_training_expires_at: datetime | None


def driver_refusals(
    driver: DriverRecord, *, hazardous: bool, valid_until: datetime
) -> list[Refusal]:
    """What keeps a driver from a delivery whose pickup day ends at ``valid_until``."""
    found = []
    if not driver.active:
        found.append(Refusal("driver_inactive", f"{driver.name} does not drive now", "driver_id"))
    if driver.licence_expires_at is None:
        found.append(
            Refusal("licence_missing", f"{driver.name} has no driving licence on file", "driver_id")
        )
    elif driver.licence_expires_at < valid_until:
        found.append(
            Refusal(
                "licence_expired",
                f"{driver.name}'s licence expires {driver.licence_expires_at:%Y-%m-%d}, "
                "before the pickup day ends",
                "driver_id",
            )
        )
    if hazardous:
        training = driver.hazmat_training_expires_at
        if training is None:
            found.append(
                Refusal(
                    "hazmat_training_missing",
                    f"{driver.name} has no hazardous-goods training on file",
                    "driver_id",
                )
            )
        elif training < valid_until:
            found.append(
                Refusal(
                    "hazmat_training_expired",
                    f"{driver.name}'s hazardous-goods training expires {training:%Y-%m-%d}, "
                    "before the pickup day ends",
                    "driver_id",
                )
            )
    return found


def capacity_refusal(vehicle: Vehicle, cargo: CargoTerms, quantity: int) -> Refusal | None:
    """Whether one trip of the vehicle can legally carry ``quantity`` of the booking."""
    load = cargo.cargo(quantity)
    if isinstance(load, BulkCargo):
        if bulk_load_range(vehicle, load).holds(quantity):
            return None
    else:
        assert isinstance(load, ItemCargo)
        size = ZERO_SIZE
        for item in load.items:
            size = size + item_size(item)
        if item_capacity(vehicle).holds(size):
            return None
    return Refusal(
        "vehicle_capacity",
        f"{vehicle.plate} cannot carry {quantity} {cargo.unit.value} in one trip",
        "vehicle_id",
    )


def overbooked(
    *, busy_s: int, trip_s: int, working_day_s: int, code: str, who: str, field: str
) -> Refusal | None:
    """Whether one more trip of ``trip_s`` overruns a day already ``busy_s`` full."""
    if busy_s + trip_s <= working_day_s:
        return None
    return Refusal(
        code,
        f"{who} is booked for {busy_s / 3600:.1f} h that day; this trip needs "
        f"{trip_s / 3600:.1f} h more of a {working_day_s / 3600:.1f} h day",
        field,
    )
