"""How a booking, its carrier's fleet and the dispatcher's choices become the planner's
request, and how the planner's trips read back as delivery quantities. Pure: no session.

Units: the planner counts bulk in kilograms. A booking in kilograms goes as it is. A booking
in litres is planned in litres: the cargo is given a density of 1,000 kg/m3, so one "kg" of
the planner is one litre and tank compartments map one to one, and every vehicle's payload
is converted into the litres of this product it may carry (rounded down, with the product's
real density). Pallets and pieces are identical items of the weight and size the dispatcher
gives.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dispatch.fleet.capability import LoadNeeds, VehicleClass, distance_km, vehicle_fits
from dispatch.fleet.enums import BodyType as FleetBody
from dispatch.fleet.enums import VehicleStatus
from dispatch.orders.enums import QuantityUnit
from dispatch.planning import (
    BodyType,
    BulkCargo,
    Compartment,
    DayCapacity,
    Item,
    ItemCargo,
    PlantCapacity,
    SplitRequest,
    TakenTrip,
    Trip,
    Vehicle,
    trips_per_day,
)
from dispatch.planning.compatibility import incompatibility

LITRE_DENSITY = 1000.0  # kg/m3: one planner "kg" is one litre
ROAD_FACTOR = 1.3  # road distance over great-circle distance, a common detour index
AVERAGE_SPEED_KMH = 60.0
HANDLING_S = 2 * 3600  # loading at the plant and unloading at the buyer, per trip
WORKING_DAY_S = 10 * 3600
FIXED_COST_CENTS = 15_000  # per trip, when the dispatcher gives none
COST_PER_KM_CENTS = 150
IN_SERVICE = frozenset({VehicleStatus.AVAILABLE, VehicleStatus.BUSY})

_BODIES: Mapping[FleetBody, BodyType] = {
    FleetBody.TIPPER: BodyType.TIPPER,
    FleetBody.FLATBED: BodyType.FLATBED,
    FleetBody.TANKER: BodyType.TANKER,
    # A silo carries dry bulk without compartment rules; a reefer is a box that is cold.
    FleetBody.SILO: BodyType.TIPPER,
    FleetBody.BOX: BodyType.BOX,
    FleetBody.CURTAINSIDER: BodyType.CURTAINSIDER,
    FleetBody.REEFER: BodyType.BOX,
}


@dataclass(frozen=True)
class Lane:
    """The plant-to-destination run a booking's trucks repeat."""

    round_trip_km: float
    round_trip_s: int
    working_day_s: int

    @property
    def trips_per_day(self) -> int:
        """How many whole round trips fit in a working day."""
        return trips_per_day(round_trip_s=self.round_trip_s, working_day_s=self.working_day_s)


def lane(
    plant: tuple[float, float],
    destination: tuple[float, float],
    *,
    round_trip_km: float | None = None,
    average_speed_kmh: float = AVERAGE_SPEED_KMH,
    handling_s: int = HANDLING_S,
    working_day_s: int = WORKING_DAY_S,
) -> Lane:
    """The lane between two points: by road (estimated unless given), there and back."""
    km = round_trip_km
    if km is None:
        km = round(2 * ROAD_FACTOR * distance_km(plant, destination), 1)
    driving_s = km / average_speed_kmh * 3600
    return Lane(
        round_trip_km=km,
        round_trip_s=max(1, math.ceil(driving_s + handling_s)),
        working_day_s=working_day_s,
    )


def trip_duration_s(trips: int, working_day_s: int) -> int:
    """The share of a working day one of ``trips`` daily trips takes."""
    return working_day_s // trips if trips > 0 else working_day_s


@dataclass(frozen=True)
class ItemSpec:
    """One pallet or piece of the booking: all are alike."""

    weight_kg: int
    volume_m3: float = 0.0
    pallet_places: int = 0
    stackable: bool = False


@dataclass(frozen=True)
class CargoTerms:
    """What the product is, as far as loading it goes."""

    unit: QuantityUnit
    density_kg_per_m3: float | None = None
    liquid: bool = False
    viscous: bool = False
    max_fill_ratio: float = 1.0
    item: ItemSpec | None = None

    @property
    def is_items(self) -> bool:
        """Whether the booking counts pallets or pieces."""
        return self.unit in (QuantityUnit.PALLET, QuantityUnit.PIECE)

    def check(self) -> list[tuple[str, str]]:
        """What is missing to plan this cargo, as (field, message) pairs."""
        problems = []
        if self.is_items and self.item is None:
            problems.append(("item", "a booking in pallets or pieces needs the item's weight"))
        if self.unit == QuantityUnit.LITRE and self.density_kg_per_m3 is None:
            problems.append(
                ("density_kg_per_m3", "a booking in litres needs the product's density")
            )
        elif self.liquid and self.density_kg_per_m3 is None:
            problems.append(("density_kg_per_m3", "a liquid needs its density"))
        return problems

    def cargo(self, quantity: int) -> BulkCargo | ItemCargo:
        """The planner's cargo for ``quantity`` units of the booking."""
        if self.is_items:
            assert self.item is not None
            spec = self.item
            return ItemCargo(
                items=tuple(
                    Item(
                        id=f"i{n}",
                        weight_kg=spec.weight_kg,
                        volume_m3=spec.volume_m3,
                        pallet_places=spec.pallet_places,
                        stackable=spec.stackable,
                    )
                    for n in range(1, quantity + 1)
                )
            )
        density = self.density_kg_per_m3
        if self.unit == QuantityUnit.LITRE:
            density = LITRE_DENSITY
        return BulkCargo(
            mass_kg=quantity,
            density_kg_per_m3=density,
            liquid=self.liquid,
            viscous=self.viscous,
            max_fill_ratio=self.max_fill_ratio,
        )

    def payload_units(self, payload_kg: int) -> int:
        """What a payload allows of this cargo, in the planner's units."""
        if self.unit == QuantityUnit.LITRE:
            assert self.density_kg_per_m3 is not None
            return max(1, math.floor(payload_kg * 1000 / self.density_kg_per_m3 + 1e-9))
        return payload_kg

    def quantity_kg(self, quantity: int) -> int:
        """A quantity of the booking as a mass the planner's plant limits count."""
        if self.is_items:
            assert self.item is not None
            return quantity * self.item.weight_kg
        return quantity


@dataclass(frozen=True)
class FleetVehicle:
    """A carrier's vehicle as the split sees it."""

    id: uuid.UUID
    plate: str
    body_type: FleetBody
    payload_kg: int
    volume_l: int | None
    pallet_places: int | None
    compartments_l: tuple[int, ...]
    hazard_classes: frozenset[str]
    food_grade: bool
    status: VehicleStatus


@dataclass(frozen=True)
class VehicleTerms:
    """What a vehicle's trip costs and how many it can run a day."""

    fixed_cost_cents: int
    cost_per_km_cents: int
    trips_per_day: int


def planner_body(body: FleetBody) -> BodyType:
    """The planner's body for a fleet body."""
    return _BODIES[body]


def planner_vehicle(vehicle: FleetVehicle, terms: VehicleTerms, cargo: CargoTerms) -> Vehicle:
    """The planner's vehicle: capacities in the planner's units, costs and trips per day."""
    body = planner_body(vehicle.body_type)
    return Vehicle(
        id=str(vehicle.id),
        plate=vehicle.plate,
        body=body,
        payload_kg=cargo.payload_units(vehicle.payload_kg),
        volume_m3=None if vehicle.volume_l is None else vehicle.volume_l / 1000,
        pallet_places=vehicle.pallet_places,
        compartments=tuple(Compartment(capacity_l) for capacity_l in vehicle.compartments_l)
        if body is BodyType.TANKER
        else (),
        fixed_cost_cents=terms.fixed_cost_cents,
        cost_per_km_cents=terms.cost_per_km_cents,
        trips_per_day=terms.trips_per_day,
        hazard_classes=vehicle.hazard_classes,
        food_grade=vehicle.food_grade,
    )


def refusal(
    vehicle: FleetVehicle, needs: LoadNeeds, cargo: CargoTerms, request: SplitRequest
) -> tuple[str, str] | None:
    """Why a vehicle may not carry the booking at all, as (code, detail), or None."""
    if vehicle.status not in IN_SERVICE:
        return "vehicle_unavailable", f"{vehicle.plate} is {vehicle.status.value}"
    if needs.body_types and vehicle.body_type not in needs.body_types:
        allowed = ", ".join(sorted(b.value for b in needs.body_types))
        return "vehicle_body", f"{vehicle.plate} is a {vehicle.body_type.value}; allowed: {allowed}"
    if needs.food_grade and not vehicle.food_grade:
        return "vehicle_food_grade", f"{vehicle.plate} is not food-grade"
    fleet_class = VehicleClass(vehicle.body_type, vehicle.food_grade, vehicle.hazard_classes)
    if not vehicle_fits(needs, fleet_class):
        return "vehicle_hazard", f"{vehicle.plate} is not approved for class {needs.hazard_class}"
    planned = planner_vehicle(vehicle, VehicleTerms(0, 0, 1), cargo)
    reason = incompatibility(planned, request)
    if reason is not None:
        return "vehicle_body", f"{vehicle.plate}: {reason}"
    return None


def plant_zone(timezone: str) -> ZoneInfo:
    """The plant's time zone (UTC when the site names an unknown one)."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    """The plant's calendar day at a moment."""
    return moment.astimezone(zone).date()


def day_end(day: date, zone: ZoneInfo) -> datetime:
    """The moment a plant's calendar day ends, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)


def pickup_days(
    pickup_from: datetime, pickup_until: datetime, *, zone: ZoneInfo, today: date
) -> tuple[date, ...]:
    """The plant's calendar days the pickup window touches, from today on."""
    first = max(local_day(pickup_from, zone), today)
    last = local_day(pickup_until - timedelta(microseconds=1), zone)
    return tuple(first + timedelta(days=n) for n in range((last - first).days + 1))


@dataclass(frozen=True)
class DayUse:
    """Trips a vehicle already runs on a day: this booking's (with their quantity) and the
    seconds other bookings' trips take."""

    own_quantities: tuple[int, ...] = ()
    other_s: int = 0


def taken_trips(
    fleet: Sequence[Vehicle],
    use: Mapping[tuple[str, date], DayUse],
    *,
    days: Sequence[date],
    working_day_s: int,
    cargo: CargoTerms,
) -> tuple[tuple[TakenTrip, ...], dict[date, int]]:
    """The trips the planner must leave room for, and per day how many of them belong to
    other bookings (at other plants, maybe: they must not eat this plant's capacity)."""
    taken: list[TakenTrip] = []
    elsewhere: dict[date, int] = {}
    window = set(days)
    for vehicle in fleet:
        for day in days:
            found = use.get((vehicle.id, day))
            if found is None:
                continue
            taken.extend(
                TakenTrip(vehicle_id=vehicle.id, day=day, mass_kg=cargo.quantity_kg(quantity))
                for quantity in found.own_quantities
            )
            if found.other_s and vehicle.trips_per_day:
                one_trip_s = trip_duration_s(vehicle.trips_per_day, working_day_s)
                free_s = max(0, working_day_s - found.other_s)
                free = min(vehicle.trips_per_day, free_s // one_trip_s)
                blocked = vehicle.trips_per_day - free
                taken.extend(
                    TakenTrip(vehicle_id=vehicle.id, day=day, mass_kg=0) for _ in range(blocked)
                )
                if blocked and day in window:
                    elsewhere[day] = elsewhere.get(day, 0) + blocked
    return tuple(taken), elsewhere


def plant_capacity(
    *,
    trips_per_day: int | None,
    quantity_per_day: int | None,
    cargo: CargoTerms,
    elsewhere: Mapping[date, int],
) -> PlantCapacity | None:
    """What the plant can load for this booking per day; trips other bookings' trucks
    make elsewhere are added back, since the planner counts every taken trip."""
    if trips_per_day is None and quantity_per_day is None:
        return None
    mass = None if quantity_per_day is None else cargo.quantity_kg(quantity_per_day)
    exceptions = tuple(
        DayCapacity(
            day=day, trips=None if trips_per_day is None else trips_per_day + blocked, mass_kg=mass
        )
        for day, blocked in sorted(elsewhere.items())
    )
    return PlantCapacity(trips_per_day=trips_per_day, mass_kg_per_day=mass, exceptions=exceptions)


def trip_quantity(trip: Trip, cargo: CargoTerms) -> int:
    """How much of the booking a trip carries, in the booking's unit."""
    return len(trip.item_ids) if cargo.is_items else trip.mass_kg


def compartment_allocation(trip: Trip) -> list[dict[str, float | int]]:
    """A trip's tank compartments as a delivery stores them, in the booking's unit."""
    return [
        {
            "index": load.index,
            "capacity_l": load.capacity_l,
            "quantity": load.mass_kg,
            "volume_l": load.volume_l,
        }
        for load in trip.compartments
    ]
