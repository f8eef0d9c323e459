"""Re-planning after a breakdown: the request for what the kept trips do not carry."""

import dataclasses
from collections.abc import Collection, Sequence
from datetime import date

from dispatch.planning.plan import Trip
from dispatch.planning.request import BulkCargo, ItemCargo, SplitRequest, TakenTrip


def remaining_request(
    request: SplitRequest,
    *,
    kept_trips: Sequence[Trip],
    lost_vehicle_ids: Collection[str] = (),
    today: date,
) -> SplitRequest:
    """The request that re-plans the rest of `request` from `today` on.

    `kept_trips` are the trips already loaded; they leave the quantity or items to move,
    and those from today on still use their vehicle's and the plant's capacity for the day.
    Lost vehicles leave the fleet; days before `today` leave the window.
    """
    cargo = request.cargo
    if isinstance(cargo, BulkCargo):
        kept_kg = sum(trip.mass_kg for trip in kept_trips)
        if kept_kg > cargo.mass_kg:
            raise ValueError(f"kept trips carry {kept_kg} kg, more than the {cargo.mass_kg} kg")
        rest: BulkCargo | ItemCargo = dataclasses.replace(cargo, mass_kg=cargo.mass_kg - kept_kg)
    else:
        kept_ids = {item_id for trip in kept_trips for item_id in trip.item_ids}
        unknown = kept_ids - {item.id for item in cargo.items}
        if unknown:
            raise ValueError(f"kept trips carry items not in the order: {sorted(unknown)[:5]}")
        rest = ItemCargo(items=tuple(item for item in cargo.items if item.id not in kept_ids))
    lost = set(lost_vehicle_ids)
    taken = tuple(t for t in request.taken_trips if t.day >= today) + tuple(
        TakenTrip(vehicle_id=trip.vehicle_id, day=trip.day, mass_kg=trip.mass_kg)
        for trip in kept_trips
        if trip.day >= today
    )
    return dataclasses.replace(
        request,
        cargo=rest,
        fleet=tuple(vehicle for vehicle in request.fleet if vehicle.id not in lost),
        pickup_days=tuple(day for day in request.pickup_days if day >= today),
        taken_trips=taken,
    )
