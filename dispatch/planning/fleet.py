"""Identical vehicles grouped into classes, and the trips each can still run per day.

Vehicles with the same trip cost and the same capacity for this cargo are interchangeable:
the models choose how many trips of a class run each day, and only the per-day totals of
the class's free trips matter. Which truck runs which trip is settled afterwards.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date

from dispatch.planning.request import SplitRequest, Vehicle, trip_cost_cents


@dataclass(frozen=True, slots=True)
class FleetClass:
    """Interchangeable vehicles and the trips they can still run on each window day."""

    trip_cost_cents: int
    vehicles: tuple[Vehicle, ...]
    vehicle_slots: tuple[tuple[int, ...], ...]

    @property
    def day_slots(self) -> tuple[int, ...]:
        """Trips the whole class can still run on each window day."""
        return tuple(sum(column) for column in zip(*self.vehicle_slots, strict=True))


def taken_by_vehicle_day(request: SplitRequest) -> Counter[tuple[str, date]]:
    """How many kept trips each vehicle already runs on each day."""
    return Counter((taken.vehicle_id, taken.day) for taken in request.taken_trips)


def vehicle_slots(
    vehicle: Vehicle, request: SplitRequest, taken: Counter[tuple[str, date]]
) -> tuple[int, ...]:
    """Trips `vehicle` can still run on each window day, given the trips `taken` already."""
    return tuple(
        0
        if vehicle.available_days is not None and day not in vehicle.available_days
        else max(0, vehicle.trips_per_day - taken[(vehicle.id, day)])
        for day in request.pickup_days
    )


def group_fleet(
    vehicles: Sequence[Vehicle],
    request: SplitRequest,
    capacity_key: Callable[[Vehicle], Hashable],
) -> list[FleetClass]:
    """Group vehicles by trip cost and capacity; classes and vehicles come in a stable order."""
    taken = taken_by_vehicle_day(request)
    members: dict[tuple[int, Hashable], list[tuple[Vehicle, tuple[int, ...]]]] = defaultdict(list)
    for vehicle in sorted(vehicles, key=lambda v: v.id):
        slots = vehicle_slots(vehicle, request, taken)
        if not any(slots):
            continue
        members[(trip_cost_cents(vehicle, request), capacity_key(vehicle))].append((vehicle, slots))
    return [
        FleetClass(
            trip_cost_cents=cost,
            vehicles=tuple(vehicle for vehicle, _ in group),
            vehicle_slots=tuple(slots for _, slots in group),
        )
        for (cost, _), group in members.items()
    ]


def plant_limits(request: SplitRequest) -> tuple[tuple[int | None, int | None], ...]:
    """The plant's remaining (trips, mass_kg) on each window day, after kept trips."""
    if request.plant is None:
        return tuple((None, None) for _ in request.pickup_days)
    trips_taken: Counter[date] = Counter()
    mass_taken: Counter[date] = Counter()
    for taken in request.taken_trips:
        trips_taken[taken.day] += 1
        mass_taken[taken.day] += taken.mass_kg
    limits = []
    for day in request.pickup_days:
        trips = request.plant.trips_on(day)
        mass_kg = request.plant.mass_kg_on(day)
        limits.append(
            (
                None if trips is None else max(0, trips - trips_taken[day]),
                None if mass_kg is None else max(0, mass_kg - mass_taken[day]),
            )
        )
    return tuple(limits)


def assign_vehicles(
    fleet_class: FleetClass, day_index: int, count: int, request: SplitRequest
) -> list[tuple[Vehicle, int]]:
    """Hand `count` trips of a class on one day to its vehicles, as (vehicle, trip_no).

    Each vehicle runs all its free trips before the next one starts, so few trucks and
    drivers are involved and the same ones come back on later days; the last pair returned
    is its vehicle's last trip of the day.
    """
    taken = taken_by_vehicle_day(request)
    day = request.pickup_days[day_index]
    assigned: list[tuple[Vehicle, int]] = []
    for vehicle, slots in zip(fleet_class.vehicles, fleet_class.vehicle_slots, strict=True):
        already = taken[(vehicle.id, day)]
        runs = min(slots[day_index], count - len(assigned))
        assigned.extend((vehicle, already + run + 1) for run in range(runs))
        if len(assigned) == count:
            return assigned
    raise ValueError("more trips than the class can run that day")
