"""How much one trip of a vehicle can carry, in the integer units the models count in.

Bulk is counted in kilograms, item volume in litres and floor space in half pallet places (a
stackable item takes half its places). Rounding always leans to the safe side: capacities
round down, needs round up, so a load that passes here passes on the road.
"""

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

from dispatch.planning.plan import CompartmentLoad
from dispatch.planning.request import BodyType, BulkCargo, Compartment, Item, Vehicle

_EPS = 1e-9


def floor_int(value: float) -> int:
    """Round down, forgiving float noise such as 0.8 * 10_000 = 8000.000000000001."""
    return math.floor(value + _EPS)


def ceil_int(value: float) -> int:
    """Round up, forgiving float noise."""
    return math.ceil(value - _EPS)


def min_fill_amount(capacity: int, ratio: float) -> int:
    """The least load that counts as `ratio` full."""
    return ceil_int(ratio * capacity)


@dataclass(frozen=True, slots=True)
class Band:
    """A range of legal masses for one compartment."""

    lo_kg: int
    hi_kg: int


def merge_ranges(ranges: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Merge integer ranges that overlap or touch into ascending disjoint ranges."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return tuple(merged)


def compartment_bands(compartment: Compartment, cargo: BulkCargo) -> tuple[Band, ...]:
    """The legal masses in one compartment: anything up to full, or the two surge bands."""
    density = cargo.density_kg_per_m3
    assert density is not None  # tankers are incompatible with cargo that has no density
    kg_per_l = density / 1000
    full_kg = floor_int(compartment.capacity_l * cargo.max_fill_ratio * kg_per_l)
    rule = cargo.surge
    if not cargo.surges or compartment.baffled or compartment.capacity_l <= rule.exempt_up_to_l:
        return (Band(0, full_kg),)
    low_kg = min(full_kg, floor_int(compartment.capacity_l * rule.low_max_ratio * kg_per_l))
    high_kg = ceil_int(compartment.capacity_l * rule.high_min_ratio * kg_per_l)
    if high_kg > full_kg:
        return (Band(0, low_kg),)
    if high_kg <= low_kg + 1:
        return (Band(0, full_kg),)
    return (Band(0, low_kg), Band(high_kg, full_kg))


@dataclass(frozen=True, slots=True)
class LoadRange:
    """The masses one trip can legally carry: ascending disjoint ranges of whole kilograms."""

    ranges: tuple[tuple[int, int], ...]

    @property
    def capacity_kg(self) -> int:
        """The most one trip can carry."""
        return self.ranges[-1][1] if self.ranges else 0

    @property
    def top_start_kg(self) -> int:
        """Where the range that reaches full capacity begins."""
        return self.ranges[-1][0] if self.ranges else 0

    def holds(self, mass_kg: int) -> bool:
        """Whether one trip can carry exactly `mass_kg`."""
        return any(lo <= mass_kg <= hi for lo, hi in self.ranges)


def bulk_load_range(vehicle: Vehicle, cargo: BulkCargo) -> LoadRange:
    """What one trip of `vehicle` can carry of `cargo`, under payload, volume and tank rules."""
    if vehicle.body is BodyType.TANKER:
        reachable: tuple[tuple[int, int], ...] = ((0, 0),)
        for compartment in vehicle.compartments:
            bands = compartment_bands(compartment, cargo)
            reachable = merge_ranges(
                [(lo + band.lo_kg, hi + band.hi_kg) for lo, hi in reachable for band in bands]
            )
        clipped = [
            (max(1, lo), min(hi, vehicle.payload_kg))
            for lo, hi in reachable
            if max(1, lo) <= min(hi, vehicle.payload_kg)
        ]
        return LoadRange(tuple(clipped))
    capacity_kg = vehicle.payload_kg
    if vehicle.volume_m3 is not None and cargo.density_kg_per_m3 is not None:
        capacity_kg = min(capacity_kg, floor_int(vehicle.volume_m3 * cargo.density_kg_per_m3))
    return LoadRange(((1, capacity_kg),) if capacity_kg >= 1 else ())


def allocate_compartments(
    vehicle: Vehicle, cargo: BulkCargo, mass_kg: int
) -> tuple[CompartmentLoad, ...] | None:
    """Share `mass_kg` among a tanker's compartments, or None if no legal sharing exists.

    Of the legal sharings it picks the one with the fewest partly filled compartments below
    the surge band, then the fewest compartments in use, so liquids ride in few, full tanks.
    """
    bands = tuple(compartment_bands(compartment, cargo) for compartment in vehicle.compartments)
    masses = _allocate(bands, mass_kg)
    if masses is None:
        return None
    density = cargo.density_kg_per_m3
    assert density is not None
    return tuple(
        CompartmentLoad(
            index=index,
            capacity_l=compartment.capacity_l,
            mass_kg=mass,
            volume_l=round(mass / density * 1000, 1),
        )
        for index, (compartment, mass) in enumerate(zip(vehicle.compartments, masses, strict=True))
    )


@lru_cache(maxsize=4096)
def _allocate(bands: tuple[tuple[Band, ...], ...], mass_kg: int) -> tuple[int, ...] | None:
    best: tuple[int, ...] | None = None
    best_score: tuple[int, int] | None = None
    for choice in itertools.product(*bands):
        if not sum(band.lo_kg for band in choice) <= mass_kg <= sum(band.hi_kg for band in choice):
            continue
        masses = _pour(choice, mass_kg)
        partly = sum(
            1 for band, mass in zip(choice, masses, strict=True) if band.lo_kg == 0 and mass
        )
        in_surge_band = sum(1 for band in choice if band.lo_kg > 0)
        score = (partly, in_surge_band)
        if best_score is None or score < best_score:
            best, best_score = masses, score
    return best


def _pour(choice: tuple[Band, ...], mass_kg: int) -> tuple[int, ...]:
    """Fill the chosen bands: surge-banded compartments evenly first, then the rest in order."""
    masses = [band.lo_kg for band in choice]
    extra = mass_kg - sum(masses)
    banded = [i for i, band in enumerate(choice) if band.lo_kg > 0]
    room = {i: choice[i].hi_kg - choice[i].lo_kg for i in banded}
    total_room = sum(room.values())
    if total_room and extra:
        share = min(extra, total_room)
        given = 0
        for i in banded:
            add = share * room[i] // total_room
            masses[i] += add
            given += add
        for i in banded:
            if given == share:
                break
            if masses[i] < choice[i].hi_kg:
                masses[i] += 1
                given += 1
        extra -= share
    for i, band in enumerate(choice):
        if extra == 0:
            break
        if band.lo_kg == 0:
            add = min(extra, band.hi_kg - masses[i])
            masses[i] += add
            extra -= add
    return tuple(masses)


@dataclass(frozen=True, slots=True)
class ItemSize:
    """An item's or a load's size in the integer units the packing model counts."""

    weight_kg: int
    volume_l: int
    half_places: int

    def __add__(self, other: "ItemSize") -> "ItemSize":
        return ItemSize(
            self.weight_kg + other.weight_kg,
            self.volume_l + other.volume_l,
            self.half_places + other.half_places,
        )


ZERO_SIZE = ItemSize(0, 0, 0)


def item_size(item: Item) -> ItemSize:
    """An item's size: volume rounded up to the litre, stackable items at half their places."""
    places = item.pallet_places if item.stackable else 2 * item.pallet_places
    return ItemSize(item.weight_kg, ceil_int(item.volume_m3 * 1000), places)


@dataclass(frozen=True, slots=True)
class ItemCapacity:
    """What one trip of a vehicle holds of items; None does not limit."""

    weight_kg: int
    volume_l: int | None
    half_places: int | None

    def holds(self, load: ItemSize) -> bool:
        """Whether a load fits in every dimension."""
        return (
            load.weight_kg <= self.weight_kg
            and (self.volume_l is None or load.volume_l <= self.volume_l)
            and (self.half_places is None or load.half_places <= self.half_places)
        )

    def dimensions(self) -> tuple[tuple[str, int], ...]:
        """The limiting dimensions with their capacities."""
        dims = [("weight_kg", self.weight_kg)]
        if self.volume_l is not None:
            dims.append(("volume_l", self.volume_l))
        if self.half_places is not None:
            dims.append(("half_places", self.half_places))
        return tuple(dims)

    def fill_ratio(self, load: ItemSize) -> float:
        """How full a load makes the vehicle, by its binding dimension."""
        return max(float(getattr(load, name)) / cap for name, cap in self.dimensions() if cap > 0)

    def full_enough(self, load: ItemSize, ratio: float) -> bool:
        """Whether a load reaches `ratio` of the capacity in at least one dimension."""
        return any(
            getattr(load, name) >= min_fill_amount(cap, ratio) for name, cap in self.dimensions()
        )


def item_capacity(vehicle: Vehicle) -> ItemCapacity:
    """What one trip of `vehicle` holds of items."""
    return ItemCapacity(
        weight_kg=vehicle.payload_kg,
        volume_l=None if vehicle.volume_m3 is None else floor_int(vehicle.volume_m3 * 1000),
        half_places=None if vehicle.pallet_places is None else 2 * vehicle.pallet_places,
    )


def bin_dimensions(capacity: ItemCapacity) -> dict[str, int | None]:
    """Every dimension's capacity, None where it does not limit."""
    return {
        "weight_kg": capacity.weight_kg,
        "volume_l": capacity.volume_l,
        "half_places": capacity.half_places,
    }
