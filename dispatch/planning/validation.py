"""Check any plan, from any planner or hand, against every rule of its request."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dispatch.planning.capacity import (
    ZERO_SIZE,
    ItemSize,
    bulk_load_range,
    compartment_bands,
    floor_int,
    item_capacity,
    item_size,
    min_fill_amount,
)
from dispatch.planning.compatibility import incompatibility
from dispatch.planning.fleet import plant_limits
from dispatch.planning.plan import Plan, Trip
from dispatch.planning.request import (
    BodyType,
    BulkCargo,
    Item,
    ItemCargo,
    SplitRequest,
    Vehicle,
    trip_cost_cents,
)


class ViolationKind(StrEnum):
    """Which rule a plan breaks."""

    UNKNOWN_VEHICLE = "unknown_vehicle"
    INCOMPATIBLE = "incompatible"
    DAY = "day"
    TRIPS_PER_DAY = "trips_per_day"
    TRIP_NUMBER = "trip_number"
    EMPTY_TRIP = "empty_trip"
    PAYLOAD = "payload"
    VOLUME = "volume"
    PALLET_PLACES = "pallet_places"
    COMPARTMENT = "compartment"
    MASS_MISMATCH = "mass_mismatch"
    PLANT_TRIPS = "plant_trips"
    PLANT_MASS = "plant_mass"
    MIN_FILL = "min_fill"
    QUANTITY = "quantity"
    ITEM_MISSING = "item_missing"
    ITEM_DUPLICATED = "item_duplicated"
    UNKNOWN_ITEM = "unknown_item"
    COST = "cost"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule, with the trip it concerns when there is one."""

    kind: ViolationKind
    detail: str
    trip_index: int | None = None


def validate_plan(request: SplitRequest, plan: Plan) -> list[Violation]:
    """Every way `plan` breaks the rules of `request`; an empty list means it is valid."""
    if not plan.ok:
        if plan.trips:
            return [Violation(ViolationKind.STATUS, f"a {plan.status.value} plan carries trips")]
        return []
    violations: list[Violation] = []
    fleet = {vehicle.id: vehicle for vehicle in request.fleet}
    under_filled: list[int] = []
    for index, trip in enumerate(plan.trips):
        vehicle = fleet.get(trip.vehicle_id)
        if vehicle is None:
            violations.append(
                Violation(ViolationKind.UNKNOWN_VEHICLE, f"no vehicle {trip.vehicle_id}", index)
            )
            continue
        found, under = _check_trip(request, vehicle, trip)
        violations.extend(Violation(kind, detail, index) for kind, detail in found)
        if under:
            under_filled.append(index)
    violations.extend(_check_days(request, plan, fleet))
    violations.extend(_check_min_fill(request, plan, under_filled))
    violations.extend(_check_coverage(request, plan))
    total = sum(trip.cost_cents for trip in plan.trips)
    if total != plan.total_cost_cents:
        violations.append(
            Violation(ViolationKind.COST, f"total {plan.total_cost_cents} != sum of trips {total}")
        )
    return violations


def _check_trip(
    request: SplitRequest, vehicle: Vehicle, trip: Trip
) -> tuple[list[tuple[ViolationKind, str]], bool]:
    """The rules one trip breaks on its own, and whether it is below the minimum fill."""
    found: list[tuple[ViolationKind, str]] = []
    reason = incompatibility(vehicle, request)
    if reason is not None:
        found.append((ViolationKind.INCOMPATIBLE, f"{vehicle.id}: {reason}"))
    if trip.day not in request.pickup_days:
        found.append((ViolationKind.DAY, f"{trip.day} is outside the pickup window"))
    elif vehicle.available_days is not None and trip.day not in vehicle.available_days:
        found.append((ViolationKind.DAY, f"{vehicle.id} is not available on {trip.day}"))
    expected_cost = trip_cost_cents(vehicle, request)
    if trip.cost_cents != expected_cost:
        found.append(
            (ViolationKind.COST, f"trip costs {expected_cost}, plan says {trip.cost_cents}")
        )
    if trip.mass_kg <= 0:
        found.append((ViolationKind.EMPTY_TRIP, "a trip must carry something"))
    cargo = request.cargo
    if isinstance(cargo, BulkCargo):
        under = _check_bulk_trip(request, cargo, vehicle, trip, found)
    else:
        under = _check_item_trip(request, cargo, vehicle, trip, found)
    return found, under


def _check_bulk_trip(
    request: SplitRequest,
    cargo: BulkCargo,
    vehicle: Vehicle,
    trip: Trip,
    found: list[tuple[ViolationKind, str]],
) -> bool:
    if trip.item_ids:
        found.append((ViolationKind.UNKNOWN_ITEM, "a bulk trip lists items"))
    if trip.mass_kg > vehicle.payload_kg:
        found.append(
            (ViolationKind.PAYLOAD, f"{trip.mass_kg} kg > payload {vehicle.payload_kg} kg")
        )
    density = cargo.density_kg_per_m3
    if vehicle.body is BodyType.TANKER:
        if density is not None:
            _check_compartments(cargo, vehicle, trip, found)
    else:
        if trip.compartments:
            found.append((ViolationKind.COMPARTMENT, f"{vehicle.id} has no compartments"))
        if vehicle.volume_m3 is not None and density is not None:
            limit_kg = floor_int(vehicle.volume_m3 * density)
            if trip.mass_kg > limit_kg:
                found.append(
                    (ViolationKind.VOLUME, f"{trip.mass_kg} kg is more than {vehicle.volume_m3} m3")
                )
    capacity_kg = bulk_load_range(vehicle, cargo).capacity_kg
    return trip.mass_kg < min_fill_amount(capacity_kg, request.min_fill_ratio)


def _check_compartments(
    cargo: BulkCargo, vehicle: Vehicle, trip: Trip, found: list[tuple[ViolationKind, str]]
) -> None:
    loads = {load.index: load for load in trip.compartments}
    if len(loads) != len(trip.compartments) or set(loads) != set(range(len(vehicle.compartments))):
        found.append((ViolationKind.COMPARTMENT, "one load per compartment is needed"))
        return
    if sum(load.mass_kg for load in loads.values()) != trip.mass_kg:
        found.append((ViolationKind.COMPARTMENT, "compartment masses do not add up to the trip"))
    for index, compartment in enumerate(vehicle.compartments):
        load = loads[index]
        bands = compartment_bands(compartment, cargo)
        if not any(band.lo_kg <= load.mass_kg <= band.hi_kg for band in bands):
            legal = " or ".join(f"{band.lo_kg}-{band.hi_kg}" for band in bands)
            found.append(
                (
                    ViolationKind.COMPARTMENT,
                    f"compartment {index} holds {load.mass_kg} kg, legal is {legal} kg",
                )
            )


def _check_item_trip(
    request: SplitRequest,
    cargo: ItemCargo,
    vehicle: Vehicle,
    trip: Trip,
    found: list[tuple[ViolationKind, str]],
) -> bool:
    if trip.compartments:
        found.append((ViolationKind.COMPARTMENT, "an item trip lists compartments"))
    by_id: dict[str, Item] = {item.id: item for item in cargo.items}
    load: ItemSize = ZERO_SIZE
    for item_id in trip.item_ids:
        item = by_id.get(item_id)
        if item is None:
            found.append((ViolationKind.UNKNOWN_ITEM, f"no item {item_id}"))
        else:
            load = load + item_size(item)
    capacity = item_capacity(vehicle)
    if load.weight_kg > capacity.weight_kg:
        found.append((ViolationKind.PAYLOAD, f"{load.weight_kg} kg > payload {capacity.weight_kg}"))
    if capacity.volume_l is not None and load.volume_l > capacity.volume_l:
        found.append((ViolationKind.VOLUME, f"{load.volume_l} l > {capacity.volume_l} l"))
    if capacity.half_places is not None and load.half_places > capacity.half_places:
        found.append(
            (
                ViolationKind.PALLET_PLACES,
                f"{load.half_places / 2} pallet places > {vehicle.pallet_places}",
            )
        )
    if load.weight_kg != trip.mass_kg:
        found.append(
            (
                ViolationKind.MASS_MISMATCH,
                f"items weigh {load.weight_kg} kg, trip says {trip.mass_kg}",
            )
        )
    return not capacity.full_enough(load, request.min_fill_ratio)


def _check_days(request: SplitRequest, plan: Plan, fleet: dict[str, Vehicle]) -> list[Violation]:
    violations: list[Violation] = []
    taken = Counter((t.vehicle_id, t.day) for t in request.taken_trips)
    numbers: dict[tuple[str, date], list[int]] = defaultdict(list)
    for trip in plan.trips:
        numbers[(trip.vehicle_id, trip.day)].append(trip.trip_no)
    for (vehicle_id, day), trip_nos in numbers.items():
        vehicle = fleet.get(vehicle_id)
        if vehicle is None:
            continue
        already = taken[(vehicle_id, day)]
        if len(trip_nos) + already > vehicle.trips_per_day:
            violations.append(
                Violation(
                    ViolationKind.TRIPS_PER_DAY,
                    f"{vehicle_id} runs {len(trip_nos) + already} trips on {day}, "
                    f"at most {vehicle.trips_per_day}",
                )
            )
        if len(set(trip_nos)) != len(trip_nos) or any(
            not already < number <= vehicle.trips_per_day for number in trip_nos
        ):
            violations.append(
                Violation(
                    ViolationKind.TRIP_NUMBER, f"{vehicle_id} on {day} has trip numbers {trip_nos}"
                )
            )
    limits = dict(zip(request.pickup_days, plant_limits(request), strict=True))
    day_trips: Counter[date] = Counter()
    day_mass: Counter[date] = Counter()
    for trip in plan.trips:
        day_trips[trip.day] += 1
        day_mass[trip.day] += trip.mass_kg
    for day, (trips_limit, mass_limit) in limits.items():
        if trips_limit is not None and day_trips[day] > trips_limit:
            violations.append(
                Violation(
                    ViolationKind.PLANT_TRIPS,
                    f"{day_trips[day]} trips on {day}, the plant loads {trips_limit} more",
                )
            )
        if mass_limit is not None and day_mass[day] > mass_limit:
            violations.append(
                Violation(
                    ViolationKind.PLANT_MASS,
                    f"{day_mass[day]} kg on {day}, the plant loads {mass_limit} kg more",
                )
            )
    return violations


def _check_min_fill(request: SplitRequest, plan: Plan, under_filled: list[int]) -> list[Violation]:
    ratio = request.min_fill_ratio
    if len(under_filled) > 1:
        return [
            Violation(
                ViolationKind.MIN_FILL,
                f"{len(under_filled)} trips are below {ratio:.0%} full; only the last may be",
                index,
            )
            for index in under_filled
        ]
    if not under_filled:
        return []
    index = under_filled[0]
    trip = plan.trips[index]
    last_day = max(t.day for t in plan.trips)
    later_same_vehicle = any(
        t.vehicle_id == trip.vehicle_id and t.day == trip.day and t.trip_no > trip.trip_no
        for t in plan.trips
    )
    if trip.day != last_day or later_same_vehicle:
        return [
            Violation(
                ViolationKind.MIN_FILL,
                f"the trip below {ratio:.0%} full must be the last: on {last_day}, "
                "after its vehicle's other trips",
                index,
            )
        ]
    return []


def _check_coverage(request: SplitRequest, plan: Plan) -> list[Violation]:
    cargo = request.cargo
    if isinstance(cargo, BulkCargo):
        moved = sum(trip.mass_kg for trip in plan.trips)
        if moved != cargo.mass_kg:
            return [
                Violation(ViolationKind.QUANTITY, f"trips carry {moved} kg of {cargo.mass_kg} kg")
            ]
        return []
    known = {item.id for item in cargo.items}
    seen = Counter(item_id for trip in plan.trips for item_id in trip.item_ids)
    violations = [
        Violation(ViolationKind.ITEM_MISSING, f"item {item_id} is on no trip")
        for item_id in sorted(known - set(seen))
    ]
    for item_id, count in sorted(seen.items()):
        if item_id in known and count > 1:
            violations.append(
                Violation(ViolationKind.ITEM_DUPLICATED, f"item {item_id} is on {count} trips")
            )
    return violations
