"""A dispatcher's hand edits to a plan's trips: pure, checked afterwards by the validator.

Edits name trips by their index in the plan as read. After the edits, each trip's cost, fill,
volume and tank allocation are worked out again from the request, and each vehicle's trips
of a day are numbered again after the trips it already runs, full trips first, so the one
trip allowed below the minimum fill stays its vehicle's last of the day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date

from dispatch.planning import (
    BodyType,
    BulkCargo,
    CompartmentLoad,
    Item,
    ItemCargo,
    SplitRequest,
    Trip,
    Vehicle,
)
from dispatch.planning.capacity import (
    ZERO_SIZE,
    allocate_compartments,
    bulk_load_range,
    item_capacity,
    item_size,
)
from dispatch.planning.request import trip_cost_cents


@dataclass(frozen=True)
class Move:
    """Move trip ``trip`` to ``day``."""

    trip: int
    day: date


@dataclass(frozen=True)
class Revehicle:
    """Put trip ``trip`` on another vehicle."""

    trip: int
    vehicle_id: str


@dataclass(frozen=True)
class Resize:
    """Make trip ``trip`` carry ``quantity`` (kg, litres, or items)."""

    trip: int
    quantity: int


@dataclass(frozen=True)
class Remove:
    """Drop trip ``trip``."""

    trip: int


@dataclass(frozen=True)
class Add:
    """A new trip of a vehicle on a day."""

    vehicle_id: str
    day: date
    quantity: int


EditOp = Move | Revehicle | Resize | Remove | Add


class EditError(ValueError):
    """An edit that names no trip of the plan."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index


@dataclass
class _Draft:
    vehicle_id: str
    day: date
    quantity: int
    order: tuple[int, int]


def apply_edits(request: SplitRequest, trips: list[Trip], edits: list[EditOp]) -> list[Trip]:
    """The trips after ``edits``; raises EditError for an edit that names no trip."""
    is_items = isinstance(request.cargo, ItemCargo)
    drafts: dict[int, _Draft] = {
        index: _Draft(
            trip.vehicle_id,
            trip.day,
            len(trip.item_ids) if is_items else trip.mass_kg,
            (trip.trip_no, index),
        )
        for index, trip in enumerate(trips)
    }
    added = 0
    for number, edit in enumerate(edits):
        if isinstance(edit, Add):
            added += 1
            drafts[len(trips) + added] = _Draft(
                edit.vehicle_id, edit.day, edit.quantity, (1_000 + added, 0)
            )
            continue
        draft = drafts.get(edit.trip)
        if draft is None or edit.trip >= len(trips):
            raise EditError(number, f"the plan has no trip {edit.trip}")
        if isinstance(edit, Move):
            draft.day = edit.day
        elif isinstance(edit, Revehicle):
            draft.vehicle_id = edit.vehicle_id
        elif isinstance(edit, Resize):
            draft.quantity = edit.quantity
        else:
            del drafts[edit.trip]
    return _rebuild(request, list(drafts.values()))


def _rebuild(request: SplitRequest, drafts: list[_Draft]) -> list[Trip]:
    fleet = {vehicle.id: vehicle for vehicle in request.fleet}
    cargo = request.cargo
    items = _hand_out_items(cargo, drafts) if isinstance(cargo, ItemCargo) else {}
    built = [
        (draft, _trip(request, fleet.get(draft.vehicle_id), draft, items.get(id(draft), ())))
        for draft in drafts
    ]
    taken = Counter((t.vehicle_id, t.day) for t in request.taken_trips)
    groups: dict[tuple[str, date], list[tuple[_Draft, Trip]]] = defaultdict(list)
    for draft, trip in built:
        groups[(trip.vehicle_id, trip.day)].append((draft, trip))
    numbered: list[Trip] = []
    for (vehicle_id, day), members in groups.items():
        members.sort(key=lambda pair: (not _full_enough(request, pair[1]), pair[0].order))
        first = taken[(vehicle_id, day)] + 1
        numbered.extend(
            replace(trip, trip_no=first + offset) for offset, (_, trip) in enumerate(members)
        )
    numbered.sort(key=lambda trip: (trip.day, trip.vehicle_id, trip.trip_no))
    return numbered


def _hand_out_items(cargo: ItemCargo, drafts: list[_Draft]) -> dict[int, tuple[Item, ...]]:
    # The items of a booking are alike, so which ones ride where is only a matter of count;
    # a count beyond the order gets ids the validator will not know.
    handed: dict[int, tuple[Item, ...]] = {}
    pool = list(cargo.items)
    spare = pool[0] if pool else Item(id="i0", weight_kg=1)
    cursor = 0
    for draft in sorted(drafts, key=lambda d: (d.day, d.order)):
        chosen = []
        for _ in range(draft.quantity):
            if cursor < len(pool):
                chosen.append(pool[cursor])
            else:
                chosen.append(Item(id=f"extra-{cursor}", weight_kg=spare.weight_kg))
            cursor += 1
        handed[id(draft)] = tuple(chosen)
    return handed


def _trip(
    request: SplitRequest, vehicle: Vehicle | None, draft: _Draft, items: tuple[Item, ...]
) -> Trip:
    if vehicle is None:
        return Trip(
            vehicle_id=draft.vehicle_id,
            plate="",
            day=draft.day,
            trip_no=1,
            mass_kg=draft.quantity,
            cost_cents=0,
            fill_ratio=0.0,
        )
    cargo = request.cargo
    if isinstance(cargo, BulkCargo):
        capacity_kg = bulk_load_range(vehicle, cargo).capacity_kg
        compartments: tuple[CompartmentLoad, ...] = ()
        if vehicle.body is BodyType.TANKER and cargo.density_kg_per_m3 is not None:
            compartments = allocate_compartments(vehicle, cargo, draft.quantity) or ()
        density = cargo.density_kg_per_m3
        return Trip(
            vehicle_id=vehicle.id,
            plate=vehicle.plate,
            day=draft.day,
            trip_no=1,
            mass_kg=draft.quantity,
            cost_cents=trip_cost_cents(vehicle, request),
            fill_ratio=round(draft.quantity / capacity_kg, 4) if capacity_kg else 0.0,
            volume_m3=None if density is None else round(draft.quantity / density, 3),
            compartments=compartments,
        )
    load = ZERO_SIZE
    for item in items:
        load = load + item_size(item)
    return Trip(
        vehicle_id=vehicle.id,
        plate=vehicle.plate,
        day=draft.day,
        trip_no=1,
        mass_kg=load.weight_kg,
        cost_cents=trip_cost_cents(vehicle, request),
        fill_ratio=round(item_capacity(vehicle).fill_ratio(load), 4),
        volume_m3=round(sum(item.volume_m3 for item in items), 3),
        item_ids=tuple(item.id for item in items),
    )


def _full_enough(request: SplitRequest, trip: Trip) -> bool:
    return trip.fill_ratio >= request.min_fill_ratio
