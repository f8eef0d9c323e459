"""Divisible bulk: how many trips of each vehicle class run on each day, solved exactly.

The model counts trips per (class, day) instead of deciding per vehicle, so its size grows
with the number of distinct classes and days, not with the fleet. One trip, the remainder,
may be below the minimum fill; it runs on the plan's last day. Every other trip carries
between its class's floor and its capacity, so any total in between is reachable by
spreading the mass, which is what the expansion does: full trucks first, the rest last.
"""

import math
import time
from collections.abc import Sequence
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
) -> ModelResult:
    """Least cost, then fewest trips, over trip counts per (class, day), with CP-SAT."""
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    quantity = cargo.mass_kg
    day_count = len(request.pickup_days)
    model = cp_model.CpModel()
    n: dict[tuple[int, int], cp_model.IntVar] = {}
    n_upper: dict[tuple[int, int], int] = {}
    z: dict[tuple[int, int, int], cp_model.IntVar] = {}
    r: dict[tuple[int, int], cp_model.IntVar] = {}
    for k, bulk_class in enumerate(classes):
        for d, slots in enumerate(bulk_class.fleet.day_slots):
            upper = min(slots, quantity // floors[k] + 1)
            trips_limit = limits[d][0]
            if trips_limit is not None:
                upper = min(upper, trips_limit)
            if upper <= 0:
                continue
            n[(k, d)] = model.new_int_var(0, upper, f"n_{k}_{d}")
            n_upper[(k, d)] = upper
            r[(k, d)] = model.new_int_var(0, bulk_class.capacity_kg, f"r_{k}_{d}")
            choices = []
            for j, (lo, hi) in enumerate(bulk_class.load.ranges):
                z[(k, d, j)] = model.new_bool_var(f"z_{k}_{d}_{j}")
                choices.append((lo, hi, z[(k, d, j)]))
            model.add(sum(var for _, _, var in choices) <= n[(k, d)])
            model.add(r[(k, d)] >= sum(lo * var for lo, _, var in choices))
            model.add(r[(k, d)] <= sum(hi * var for _, hi, var in choices))
    model.add(sum(z.values()) <= 1)

    def is_remainder(k: int, d: int) -> cp_model.LinearExpr:
        return cp_model.LinearExpr.sum(
            [var for (kk, dd, _), var in z.items() if (kk, dd) == (k, d)]
        )

    day_loads = []
    for d in range(day_count):
        keys = [(k, dd) for (k, dd) in n if dd == d]
        mass_limit = limits[d][1]
        upper_mass = quantity if mass_limit is None else min(quantity, mass_limit)
        load = model.new_int_var(0, upper_mass, f"q_{d}")
        day_loads.append(load)
        model.add(
            load >= sum(floors[k] * (n[(k, d)] - is_remainder(k, d)) + r[(k, d)] for k, _ in keys)
        )
        model.add(
            load
            <= sum(
                classes[k].capacity_kg * (n[(k, d)] - is_remainder(k, d)) + r[(k, d)]
                for k, _ in keys
            )
        )
        trips_limit = limits[d][0]
        if trips_limit is not None and keys:
            model.add(sum(n[key] for key in keys) <= trips_limit)
        earlier = [var for (_, dd, _), var in z.items() if dd < d]
        if earlier and keys:
            remainder_before = model.new_bool_var(f"rem_before_{d}")
            model.add(remainder_before == sum(earlier))
            model.add(sum(n[key] for key in keys) == 0).only_enforce_if(remainder_before)
    model.add(sum(day_loads) == quantity)

    trip_bound = sum(n_upper.values())
    cheapest = min((c.fleet.trip_cost_cents for c in classes), default=0)
    if hint is not None and cheapest > 0:
        trip_bound = min(trip_bound, hint.cost_cents // cheapest)
    weight = trip_bound + 1
    keys = list(n)
    variables = [n[key] for key in keys]
    objective = cp_model.LinearExpr.weighted_sum(
        variables, [classes[k].fleet.trip_cost_cents * weight + 1 for k, _ in keys]
    )
    model.minimize(objective)
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
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 7
    status = solver.solve(model)
    bound = None
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = math.ceil(solver.best_objective_bound - 1e-6) // weight
    if status == cp_model.INFEASIBLE:
        return ModelResult(solution=None, optimal=False, infeasible=True, bound_cents=None)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return ModelResult(solution=None, optimal=False, infeasible=False, bound_cents=None)
    left = time_limit_s - (time.perf_counter() - started)
    if status == cp_model.OPTIMAL and day_count > 1 and left > 0.05:
        # same cost and trip count, trips as early in the window as they can go
        model.clear_hints()  # type: ignore[no-untyped-call]
        for var in [*n.values(), *z.values(), *r.values(), *day_loads]:
            model.add_hint(var, solver.value(var))
        model.add(objective <= round(solver.objective_value))
        model.clear_objective()  # type: ignore[no-untyped-call]
        model.minimize(cp_model.LinearExpr.weighted_sum(variables, [d for _, d in keys]))
        early = cp_model.CpSolver()
        early.parameters.max_time_in_seconds = min(left, 1.0)
        early.parameters.num_workers = workers
        early.parameters.random_seed = 7
        if early.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solver = early
    counts = {key: solver.value(var) for key, var in n.items() if solver.value(var)}
    remainder = None
    for (k, d, j), var in z.items():
        if solver.value(var):
            lo, hi = classes[k].load.ranges[j]
            remainder = Remainder(k, d, lo, hi)
    cost = sum(classes[k].fleet.trip_cost_cents * count for (k, _), count in counts.items())
    return ModelResult(
        solution=ClassSolution(counts=counts, remainder=remainder, cost_cents=cost),
        optimal=status == cp_model.OPTIMAL,
        infeasible=False,
        bound_cents=bound,
    )


@dataclass(frozen=True, slots=True)
class _Slot:
    class_index: int
    day_index: int
    vehicle: Vehicle
    trip_no: int
    lo_kg: int
    hi_kg: int


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
