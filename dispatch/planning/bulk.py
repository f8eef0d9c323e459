"""Divisible bulk: how many trips of each vehicle class run on each day, solved exactly.

The model counts trips per (class, day) instead of deciding per vehicle, so its size grows
with the number of distinct classes and days, not with the fleet. One trip, the remainder,
may be below the minimum fill; it runs on the plan's last day. Every other trip carries
between its class's floor and its capacity, so any total in between is reachable by
spreading the mass, which is what the expansion does: full trucks first, the rest last.
"""

import math
import time
from collections.abc import Sequence, Set
from dataclasses import dataclass

from ortools.sat.python import cp_model

from dispatch.planning.capacity import (
    LoadRange,
    allocate_compartments,
    bulk_load_range,
    min_fill_amount,
)
from dispatch.planning.fleet import FleetClass, assign_vehicles, group_fleet
from dispatch.planning.plan import CompartmentLoad, Trip
from dispatch.planning.request import BodyType, BulkCargo, SplitRequest, Vehicle

Limits = tuple[tuple[int | None, int | None], ...]


@dataclass(frozen=True, slots=True)
class BulkClass:
    """Interchangeable vehicles with what one of their trips can carry."""

    fleet: FleetClass
    load: LoadRange
    floor_kg: int
    exact_floor: bool

    @property
    def capacity_kg(self) -> int:
        """The most one trip can carry."""
        return self.load.capacity_kg


@dataclass(frozen=True, slots=True)
class Remainder:
    """The one trip allowed below the minimum fill, and the mass range it was chosen in."""

    class_index: int
    day_index: int
    lo_kg: int
    hi_kg: int


@dataclass(frozen=True, slots=True)
class ClassSolution:
    """Trips per (class index, day index), with the remainder trip counted among them."""

    counts: dict[tuple[int, int], int]
    remainder: Remainder | None
    cost_cents: int = 0


def bulk_classes(vehicles: Sequence[Vehicle], request: SplitRequest) -> list[BulkClass]:
    """Group compatible vehicles that carry the same and cost the same per trip.

    A normal trip's floor is the minimum fill, raised for a tanker to where its legal loads
    stop having gaps; `exact_floor` says the raise was not needed.
    """
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    ranges: dict[str, LoadRange] = {}
    cache: dict[tuple[object, ...], LoadRange] = {}
    for vehicle in vehicles:
        key = (vehicle.body, vehicle.payload_kg, vehicle.volume_m3, vehicle.compartments)
        if key not in cache:
            cache[key] = bulk_load_range(vehicle, cargo)
        ranges[vehicle.id] = cache[key]
    usable = [vehicle for vehicle in vehicles if ranges[vehicle.id].ranges]
    classes = []
    for fleet_class in group_fleet(usable, request, lambda vehicle: ranges[vehicle.id]):
        load = ranges[fleet_class.vehicles[0].id]
        min_fill_kg = max(1, min_fill_amount(load.capacity_kg, request.min_fill_ratio))
        classes.append(
            BulkClass(
                fleet=fleet_class,
                load=load,
                floor_kg=max(min_fill_kg, load.top_start_kg),
                exact_floor=load.top_start_kg <= min_fill_kg,
            )
        )
    return classes


def bulk_capacity_kg(classes: Sequence[BulkClass], limits: Limits) -> int:
    """The most the fleet and the plant can load over the window (ignoring min fill)."""
    total = 0
    for day_index, (trips_limit, mass_limit) in enumerate(limits):
        caps: list[int] = []
        for bulk_class in sorted(classes, key=lambda c: -c.capacity_kg):
            caps.extend([bulk_class.capacity_kg] * bulk_class.fleet.day_slots[day_index])
            if trips_limit is not None and len(caps) >= trips_limit:
                break
        day_total = sum(caps[:trips_limit] if trips_limit is not None else caps)
        total += day_total if mass_limit is None else min(mass_limit, day_total)
    return total


def trip_upper_bounds(
    classes: Sequence[BulkClass],
    *,
    quantity_kg: int,
    floors: Sequence[int],
    limits: Limits,
) -> dict[tuple[int, int], int]:
    """The most trips each (class, day) can run in a valid plan; pairs that can run none
    are left out. Every trip but one carries at least its floor, hence the quantity cap."""
    bounds = {}
    for k, bulk_class in enumerate(classes):
        for d, slots in enumerate(bulk_class.fleet.day_slots):
            upper = min(slots, quantity_kg // floors[k] + 1)
            trips_limit = limits[d][0]
            if trips_limit is not None:
                upper = min(upper, trips_limit)
            if upper > 0:
                bounds[(k, d)] = upper
    return bounds


def greedy_bulk(
    classes: Sequence[BulkClass], request: SplitRequest, limits: Limits
) -> ClassSolution | str:
    """What a dispatcher does: fill the cheapest trucks per tonne, right-size the last one.

    Returns the trip counts, or why the greedy rule found no split.
    """
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    remaining = cargo.mass_kg
    day_count = len(request.pickup_days)
    used: dict[tuple[int, int], int] = {}
    day_trips = [0] * day_count
    day_mass = [0] * day_count

    def room(k: int, d: int) -> int:
        free = classes[k].fleet.day_slots[d] - used.get((k, d), 0)
        trips_limit = limits[d][0]
        if trips_limit is not None:
            free = min(free, trips_limit - day_trips[d])
        return max(0, free)

    def mass_room(d: int) -> int:
        mass_limit = limits[d][1]
        return remaining if mass_limit is None else mass_limit - day_mass[d]

    order = sorted(
        ((k, d) for k in range(len(classes)) for d in range(day_count)),
        key=lambda kd: (classes[kd[0]].fleet.trip_cost_cents / classes[kd[0]].capacity_kg, kd),
    )
    for k, d in order:
        capacity = classes[k].capacity_kg
        count = min(room(k, d), remaining // capacity, mass_room(d) // capacity)
        if count > 0:
            used[(k, d)] = used.get((k, d), 0) + count
            day_trips[d] += count
            day_mass[d] += count * capacity
            remaining -= count * capacity
    remainder = None
    if remaining:
        last_day = max((d for (_, d), count in used.items() if count), default=0)
        candidates = [
            (classes[k].fleet.trip_cost_cents, d, k)
            for k in range(len(classes))
            for d in range(last_day, day_count)
            if room(k, d) > 0 and classes[k].load.holds(remaining) and remaining <= mass_room(d)
        ]
        if not candidates:
            return f"no single trip on the last day can carry the remaining {remaining} kg"
        _, d, k = min(candidates)
        lo, hi = next((lo, hi) for lo, hi in classes[k].load.ranges if lo <= remaining <= hi)
        used[(k, d)] = used.get((k, d), 0) + 1
        remainder = Remainder(k, d, lo, hi)
    cost = sum(classes[k].fleet.trip_cost_cents * count for (k, _), count in used.items())
    return ClassSolution(counts=used, remainder=remainder, cost_cents=cost)


@dataclass(frozen=True, slots=True)
class ModelResult:
    """What the class model returned: a solution if any, and the proven cost bound."""

    solution: ClassSolution | None
    optimal: bool
    infeasible: bool
    bound_cents: int | None


def solve_bulk_model(
    classes: Sequence[BulkClass],
    request: SplitRequest,
    limits: Limits,
    *,
    floors: Sequence[int],
    hint: ClassSolution | None,
    time_limit_s: float,
    workers: int,
    allowed: Set[tuple[int, int]] | None = None,
    cost_range_cents: tuple[int, int | None] = (0, None),
    tidy: bool = True,
) -> ModelResult:
    """Least cost, then fewest trips, over trip counts per (class, day), with CP-SAT.

    `allowed` keeps only those (class, day) trip variables; the others are held at zero.
    `cost_range_cents` bounds the cost by what is already known. Without `tidy` the
    model stops at the least cost, leaving trip count and days as they fall.
    """
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    quantity = cargo.mass_kg
    day_count = len(request.pickup_days)
    model = cp_model.CpModel()
    n: dict[tuple[int, int], cp_model.IntVar] = {}
    n_upper: dict[tuple[int, int], int] = {}
    z: dict[tuple[int, int, int], cp_model.IntVar] = {}
    # the remainder trip of class k on day d carries a mass in its chosen range instead of
    # [floor, capacity]: z picks the range and shifts the day's load bounds accordingly
    low_terms: list[list[tuple[cp_model.IntVar, int]]] = [[] for _ in range(day_count)]
    high_terms: list[list[tuple[cp_model.IntVar, int]]] = [[] for _ in range(day_count)]
    trips_on_day: list[list[cp_model.IntVar]] = [[] for _ in range(day_count)]
    bounds = trip_upper_bounds(classes, quantity_kg=quantity, floors=floors, limits=limits)
    for (k, d), upper in bounds.items():
        if allowed is not None and (k, d) not in allowed:
            continue
        bulk_class = classes[k]
        capacity = bulk_class.capacity_kg
        trips = model.new_int_var(0, upper, f"n_{k}_{d}")
        n[(k, d)] = trips
        n_upper[(k, d)] = upper
        trips_on_day[d].append(trips)
        low_terms[d].append((trips, floors[k]))
        high_terms[d].append((trips, capacity))
        choices = []
        for j, (lo, hi) in enumerate(bulk_class.load.ranges):
            choice = model.new_bool_var(f"z_{k}_{d}_{j}")
            z[(k, d, j)] = choice
            choices.append(choice)
            low_terms[d].append((choice, lo - floors[k]))
            high_terms[d].append((choice, hi - capacity))
        model.add(cp_model.LinearExpr.sum(choices) <= trips)
    model.add(cp_model.LinearExpr.sum(list(z.values())) <= 1)

    day_loads = []
    remainder_on_day: list[list[cp_model.IntVar]] = [[] for _ in range(day_count)]
    for (_, d, _), choice in z.items():
        remainder_on_day[d].append(choice)
    for d in range(day_count):
        mass_limit = limits[d][1]
        upper_mass = quantity if mass_limit is None else min(quantity, mass_limit)
        load = model.new_int_var(0, upper_mass, f"q_{d}")
        day_loads.append(load)
        model.add(load >= _weighted(low_terms[d]))
        model.add(load <= _weighted(high_terms[d]))
        trips_today = trips_on_day[d]
        trips_limit = limits[d][0]
        if trips_limit is not None and trips_today:
            model.add(cp_model.LinearExpr.sum(trips_today) <= trips_limit)
        earlier = [choice for dd in range(d) for choice in remainder_on_day[dd]]
        if earlier and trips_today:
            remainder_before = model.new_bool_var(f"rem_before_{d}")
            model.add(remainder_before == cp_model.LinearExpr.sum(earlier))
            model.add(cp_model.LinearExpr.sum(trips_today) == 0).only_enforce_if(remainder_before)
    model.add(cp_model.LinearExpr.sum(day_loads) == quantity)

    keys = list(n)
    variables = [n[key] for key in keys]
    cost = cp_model.LinearExpr.weighted_sum(
        variables, [classes[k].fleet.trip_cost_cents for k, _ in keys]
    )
    model.minimize(cost)
    if hint is not None:
        for key, var in n.items():
            model.add_hint(var, hint.counts.get(key, 0))
        for (k, d, j), var in z.items():
            rem = hint.remainder
            chosen = (
                rem is not None
                and (rem.class_index, rem.day_index) == (k, d)
                and classes[k].load.ranges[j] == (rem.lo_kg, rem.hi_kg)
            )
            model.add_hint(var, int(chosen))

    started = time.perf_counter()
    solver = _solver(time_limit_s, workers)
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return ModelResult(solution=None, optimal=False, infeasible=True, bound_cents=None)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ModelResult(solution=None, optimal=False, infeasible=False, bound_cents=None)
    bound = math.ceil(solver.best_objective_bound - 1e-6)
    left = time_limit_s - (time.perf_counter() - started)
    if tidy and status == cp_model.OPTIMAL and left > 0.05:
        # at the least cost: fewest trips, then trips as early in the window as they go
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var in [*n.values(), *z.values(), *day_loads]:
            model.add_hint(var, solver.value(var))
        model.add(cost <= round(solver.objective_value))
        model.clear_objective()  # type: ignore[no-untyped-call]
        per_trip = (day_count - 1) * sum(n_upper.values()) + 1
        model.minimize(cp_model.LinearExpr.weighted_sum(variables, [per_trip + d for _, d in keys]))
        second = _solver(min(left, 1.0), workers)
        if second.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver = second
    counts = {key: solver.value(var) for key, var in n.items() if solver.value(var)}
    remainder = None
    for (k, d, j), var in z.items():
        if solver.value(var):
            lo, hi = classes[k].load.ranges[j]
            remainder = Remainder(k, d, lo, hi)
    total = sum(classes[k].fleet.trip_cost_cents * count for (k, _), count in counts.items())
    return ModelResult(
        solution=ClassSolution(counts=counts, remainder=remainder, cost_cents=total),
        optimal=status == cp_model.OPTIMAL,
        infeasible=False,
        bound_cents=bound,
    )


def _solver(time_limit_s: float, workers: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 7
    return solver


@dataclass(frozen=True, slots=True)
class _Slot:
    class_index: int
    day_index: int
    vehicle: Vehicle
    trip_no: int
    lo_kg: int
    hi_kg: int


def _weighted(terms: list[tuple[cp_model.IntVar, int]]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.weighted_sum([var for var, _ in terms], [c for _, c in terms])


def expand_bulk(
    classes: Sequence[BulkClass], solution: ClassSolution, request: SplitRequest, limits: Limits
) -> list[Trip]:
    """Turn trip counts into concrete trips: vehicles, trip numbers, masses, compartments."""
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    slots: list[_Slot] = []
    remainder_at: int | None = None
    rem = solution.remainder
    for d in range(len(request.pickup_days)):
        remainder_slot = None
        for k, bulk_class in enumerate(classes):
            count = solution.counts.get((k, d), 0)
            if not count:
                continue
            assigned = assign_vehicles(bulk_class.fleet, d, count, request)
            if rem is not None and (rem.class_index, rem.day_index) == (k, d):
                # the last pair is its vehicle's last trip of the day
                vehicle, trip_no = assigned.pop()
                remainder_slot = _Slot(k, d, vehicle, trip_no, rem.lo_kg, rem.hi_kg)
            slots.extend(
                _Slot(k, d, vehicle, trip_no, bulk_class.floor_kg, bulk_class.capacity_kg)
                for vehicle, trip_no in assigned
            )
        if remainder_slot is not None:
            remainder_at = len(slots)
            slots.append(remainder_slot)
    masses = _spread_mass(slots, remainder_at, cargo.mass_kg, limits)
    density = cargo.density_kg_per_m3
    trips = []
    for slot, mass_kg in zip(slots, masses, strict=True):
        vehicle = slot.vehicle
        compartments: tuple[CompartmentLoad, ...] = ()
        if vehicle.body is BodyType.TANKER:
            allocation = allocate_compartments(vehicle, cargo, mass_kg)
            if allocation is None:
                raise RuntimeError(f"no legal compartment sharing of {mass_kg} kg on {vehicle.id}")
            compartments = allocation
        bulk_class = classes[slot.class_index]
        trips.append(
            Trip(
                vehicle_id=vehicle.id,
                plate=vehicle.plate,
                day=request.pickup_days[slot.day_index],
                trip_no=slot.trip_no,
                mass_kg=mass_kg,
                cost_cents=bulk_class.fleet.trip_cost_cents,
                fill_ratio=round(mass_kg / bulk_class.capacity_kg, 4),
                volume_m3=None if density is None else round(mass_kg / density, 3),
                compartments=compartments,
            )
        )
    return trips


def _spread_mass(
    slots: Sequence[_Slot], remainder_at: int | None, quantity: int, limits: Limits
) -> list[int]:
    """Masses per slot: every slot at its floor, then trucks filled in order, the rest last."""
    masses = [slot.lo_kg for slot in slots]
    day_mass: dict[int, int] = {}
    for slot, mass in zip(slots, masses, strict=True):
        day_mass[slot.day_index] = day_mass.get(slot.day_index, 0) + mass
    extra = quantity - sum(masses)
    order = [i for i in range(len(slots)) if i != remainder_at]
    if remainder_at is not None:
        order.append(remainder_at)
    for i in order:
        if extra <= 0:
            break
        slot = slots[i]
        mass_limit = limits[slot.day_index][1]
        day_room = extra if mass_limit is None else mass_limit - day_mass[slot.day_index]
        add = max(0, min(extra, slot.hi_kg - masses[i], day_room))
        masses[i] += add
        day_mass[slot.day_index] += add
        extra -= add
    if extra != 0:
        raise RuntimeError("trip counts cannot carry the quantity exactly")
    return masses
