"""Indivisible items: vehicle classes, the trip slots (bins) they offer, and expansion.

A bin is one possible trip of a class on a day. Bins of the same class and day are
interchangeable, so both the greedy and the solver fill them in a canonical order (used
bins first, heavier before lighter); which truck runs which bin is settled at expansion.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from dispatch.planning.capacity import (
    ZERO_SIZE,
    ItemCapacity,
    ItemSize,
    item_capacity,
    item_size,
    min_fill_amount,
)
from dispatch.planning.fleet import FleetClass, assign_vehicles, group_fleet
from dispatch.planning.plan import Trip
from dispatch.planning.request import Item, ItemCargo, SplitRequest, Vehicle

Limits = tuple[tuple[int | None, int | None], ...]
Assignment = dict[int, list[int]]  # bin index -> item indices


@dataclass(frozen=True, slots=True)
class ItemClass:
    """Interchangeable vehicles with what one of their trips holds."""

    fleet: FleetClass
    capacity: ItemCapacity


@dataclass(frozen=True, slots=True)
class Bin:
    """One possible trip: of a class, on a day, the `ordinal`-th of its (class, day) group."""

    class_index: int
    day_index: int
    ordinal: int


@dataclass(frozen=True, slots=True)
class PackingProblem:
    """Everything both packers need, in the models' integer units."""

    request: SplitRequest
    items: tuple[Item, ...]
    sizes: tuple[ItemSize, ...]
    classes: tuple[ItemClass, ...]
    bins: tuple[Bin, ...]
    fits: tuple[frozenset[int], ...]  # per item: the classes it fits in alone
    limits: Limits

    def capacity(self, bin_index: int) -> ItemCapacity:
        """What a bin holds."""
        return self.classes[self.bins[bin_index].class_index].capacity

    def cost(self, bin_index: int) -> int:
        """What a bin's trip costs."""
        return self.classes[self.bins[bin_index].class_index].fleet.trip_cost_cents

    def pair_count(self) -> int:
        """How many (item, bin) pairs the packing model would hold."""
        per_class: dict[int, int] = {}
        for bin_ in self.bins:
            per_class[bin_.class_index] = per_class.get(bin_.class_index, 0) + 1
        return sum(per_class.get(k, 0) for fits in self.fits for k in fits)

    def total(self) -> ItemSize:
        """The size of all items together."""
        total = ZERO_SIZE
        for size in self.sizes:
            total = total + size
        return total


def item_classes(vehicles: Sequence[Vehicle], request: SplitRequest) -> list[ItemClass]:
    """Group compatible vehicles that hold the same and cost the same per trip."""
    groups = group_fleet(vehicles, request, item_capacity)
    return [ItemClass(fleet=group, capacity=item_capacity(group.vehicles[0])) for group in groups]


def class_bin_bound(capacity: ItemCapacity, total: ItemSize, item_count: int, ratio: float) -> int:
    """The most trips of one class a valid plan can use.

    Every trip but one reaches `ratio` of its capacity in some dimension, and no dimension
    holds more than the order's total of it.
    """
    bound = item_count
    if ratio > 0:
        by_fill = 1
        for name, cap in capacity.dimensions():
            need = min_fill_amount(cap, ratio)
            if need > 0:
                by_fill += getattr(total, name) // need
        bound = min(bound, by_fill)
    return bound


def build_problem(
    vehicles: Sequence[Vehicle], request: SplitRequest, limits: Limits
) -> PackingProblem:
    """Sizes, classes, the bins worth offering and which classes each item fits."""
    cargo = request.cargo
    assert isinstance(cargo, ItemCargo)
    items = cargo.items
    sizes = tuple(item_size(item) for item in items)
    classes = tuple(item_classes(vehicles, request))
    total = ZERO_SIZE
    for size in sizes:
        total = total + size
    bins: list[Bin] = []
    for k, item_class in enumerate(classes):
        bound = class_bin_bound(item_class.capacity, total, len(items), request.min_fill_ratio)
        for d, slots in enumerate(item_class.fleet.day_slots):
            count = min(slots, bound)
            trips_limit = limits[d][0]
            if trips_limit is not None:
                count = min(count, trips_limit)
            bins.extend(Bin(k, d, ordinal) for ordinal in range(count))
    fits = tuple(
        frozenset(k for k, item_class in enumerate(classes) if item_class.capacity.holds(size))
        for size in sizes
    )
    return PackingProblem(
        request=request,
        items=items,
        sizes=sizes,
        classes=classes,
        bins=tuple(bins),
        fits=fits,
        limits=limits,
    )


def bin_load(problem: PackingProblem, members: Sequence[int]) -> ItemSize:
    """The size of a bin's items together."""
    load = ZERO_SIZE
    for i in members:
        load = load + problem.sizes[i]
    return load


def canonical(problem: PackingProblem, assignment: Mapping[int, Sequence[int]]) -> Assignment:
    """Relabel bins within each (class, day) group: used first, heavier first."""
    by_group: dict[tuple[int, int], list[int]] = {}
    for b, bin_ in enumerate(problem.bins):
        by_group.setdefault((bin_.class_index, bin_.day_index), []).append(b)
    result: Assignment = {}
    for group_bins in by_group.values():
        loads = [list(assignment[b]) for b in group_bins if assignment.get(b)]
        loads.sort(key=lambda members: -bin_load(problem, members).weight_kg)
        for b, members in zip(group_bins, loads, strict=False):
            result[b] = members
    return result


def expand_items(problem: PackingProblem, assignment: Mapping[int, Sequence[int]]) -> list[Trip]:
    """Turn filled bins into concrete trips; the trip below the minimum fill goes last."""
    request = problem.request
    ratio = request.min_fill_ratio
    trips: list[Trip] = []
    for d in range(len(request.pickup_days)):
        for k, item_class in enumerate(problem.classes):
            used = [
                b
                for b, bin_ in enumerate(problem.bins)
                if (bin_.class_index, bin_.day_index) == (k, d) and assignment.get(b)
            ]
            if not used:
                continue
            # the under-filled bin, if any, becomes its vehicle's last trip of the day
            used.sort(
                key=lambda b: (
                    not item_class.capacity.full_enough(bin_load(problem, assignment[b]), ratio)
                )
            )
            pairs = assign_vehicles(item_class.fleet, d, len(used), request)
            for b, (vehicle, trip_no) in zip(used, pairs, strict=True):
                members = sorted(assignment[b])
                load = bin_load(problem, members)
                trips.append(
                    Trip(
                        vehicle_id=vehicle.id,
                        plate=vehicle.plate,
                        day=request.pickup_days[d],
                        trip_no=trip_no,
                        mass_kg=load.weight_kg,
                        cost_cents=item_class.fleet.trip_cost_cents,
                        fill_ratio=round(item_class.capacity.fill_ratio(load), 4),
                        volume_m3=round(sum(problem.items[i].volume_m3 for i in members), 3),
                        item_ids=tuple(problem.items[i].id for i in members),
                    )
                )
    return trips


def restrict(
    problem: PackingProblem, counts: Mapping[tuple[int, int], int]
) -> tuple[PackingProblem, tuple[int, ...]]:
    """The problem with only the first `counts` bins of each group, and their old indices."""
    kept = tuple(
        b
        for b, bin_ in enumerate(problem.bins)
        if bin_.ordinal < counts.get((bin_.class_index, bin_.day_index), 0)
    )
    return replace(problem, bins=tuple(problem.bins[b] for b in kept)), kept
