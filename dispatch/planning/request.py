"""What a split request says: the cargo, the fleet, the pickup window and the order's needs."""

import math
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# Brute force over fill bands per compartment stays cheap (2**12 choices) up to here.
MAX_COMPARTMENTS = 12


class BodyType(StrEnum):
    """The body a truck carries goods in."""

    TIPPER = "tipper"
    FLATBED = "flatbed"
    TANKER = "tanker"
    BOX = "box"
    CURTAINSIDER = "curtainsider"


class CargoKind(StrEnum):
    """Which model splits the order: divisible bulk or indivisible items."""

    BULK = "bulk"
    ITEMS = "items"


@dataclass(frozen=True, slots=True)
class SurgeRule:
    """Fill bands for a liquid that surges in a tank (ADR 4.3.2.2.4 by default).

    A compartment larger than `exempt_up_to_l` without surge plates must be filled to at most
    `low_max_ratio` or at least `high_min_ratio` of its capacity: in between, the free surface
    lets the liquid slosh hard enough to tip the vehicle in a curve or a braking.
    """

    low_max_ratio: float = 0.2
    high_min_ratio: float = 0.8
    exempt_up_to_l: int = 7_500

    def __post_init__(self) -> None:
        if not 0.0 <= self.low_max_ratio <= self.high_min_ratio <= 1.0:
            raise ValueError("surge bands need 0 <= low_max_ratio <= high_min_ratio <= 1")


@dataclass(frozen=True, slots=True)
class BulkCargo:
    """A divisible quantity counted in whole kilograms (sugar, cement, diesel, caustic soda).

    An order traded by volume is converted once with its density (`from_volume`). A liquid
    goes only in tankers, needs a density (compartments hold litres), and follows `surge`
    unless it is viscous (ADR exempts liquids of at least 2,680 mm2/s at 20 C).
    `max_fill_ratio` is the ullage the liquid needs for thermal expansion (ADR 4.3.2.2.1);
    leave it at 1.0 when the compartment capacities given are already the usable ones.
    """

    mass_kg: int
    density_kg_per_m3: float | None = None
    liquid: bool = False
    viscous: bool = False
    surge: SurgeRule = field(default_factory=SurgeRule)
    max_fill_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.mass_kg < 0:
            raise ValueError("mass_kg must not be negative")
        if self.density_kg_per_m3 is not None and self.density_kg_per_m3 <= 0:
            raise ValueError("density_kg_per_m3 must be positive")
        if self.liquid and self.density_kg_per_m3 is None:
            raise ValueError("a liquid needs density_kg_per_m3: tank compartments hold litres")
        if not 0.0 < self.max_fill_ratio <= 1.0:
            raise ValueError("max_fill_ratio must be in (0, 1]")

    @classmethod
    def from_volume(
        cls,
        volume_m3: float,
        *,
        density_kg_per_m3: float,
        liquid: bool = True,
        viscous: bool = False,
        max_fill_ratio: float = 1.0,
    ) -> "BulkCargo":
        """Build a cargo from an order traded by volume, rounded to the kilogram."""
        return cls(
            mass_kg=round(volume_m3 * density_kg_per_m3),
            density_kg_per_m3=density_kg_per_m3,
            liquid=liquid,
            viscous=viscous,
            max_fill_ratio=max_fill_ratio,
        )

    @property
    def surges(self) -> bool:
        """Whether the surge fill bands apply to this cargo."""
        return self.liquid and not self.viscous


@dataclass(frozen=True, slots=True)
class Item:
    """One indivisible piece: a pallet, a coil, a bundle.

    A stackable item goes two high, so it takes half its floor places.
    """

    id: str
    weight_kg: int
    volume_m3: float = 0.0
    pallet_places: int = 0
    stackable: bool = False

    def __post_init__(self) -> None:
        if self.weight_kg <= 0:
            raise ValueError(f"item {self.id}: weight_kg must be positive")
        if self.volume_m3 < 0 or self.pallet_places < 0:
            raise ValueError(f"item {self.id}: volume and pallet places must not be negative")


@dataclass(frozen=True, slots=True)
class ItemCargo:
    """Indivisible items that must each travel whole, on exactly one trip."""

    items: tuple[Item, ...]

    def __post_init__(self) -> None:
        ids = [item.id for item in self.items]
        if len(set(ids)) != len(ids):
            raise ValueError("item ids must be unique")


@dataclass(frozen=True, slots=True)
class Compartment:
    """One tank compartment; `baffled` when surge plates split it into small sections."""

    capacity_l: int
    baffled: bool = False

    def __post_init__(self) -> None:
        if self.capacity_l <= 0:
            raise ValueError("capacity_l must be positive")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A truck of the carrier's fleet with its legal limits, costs and permits.

    `volume_m3` or `pallet_places` left as None do not limit; a tanker's volume is the sum
    of its compartments. `round_trip_km` falls back to the request's distance when None.
    `available_days` None means every day of the pickup window.
    """

    id: str
    plate: str
    body: BodyType
    payload_kg: int
    volume_m3: float | None = None
    pallet_places: int | None = None
    compartments: tuple[Compartment, ...] = ()
    fixed_cost_cents: int = 0
    cost_per_km_cents: int = 0
    round_trip_km: float | None = None
    trips_per_day: int = 1
    available_days: frozenset[date] | None = None
    hazard_classes: frozenset[str] = frozenset()
    food_grade: bool = False

    def __post_init__(self) -> None:
        if self.payload_kg <= 0:
            raise ValueError(f"vehicle {self.id}: payload_kg must be positive")
        if self.trips_per_day < 0:
            raise ValueError(f"vehicle {self.id}: trips_per_day must not be negative")
        if self.fixed_cost_cents < 0 or self.cost_per_km_cents < 0:
            raise ValueError(f"vehicle {self.id}: costs must not be negative")
        if (self.body is BodyType.TANKER) != bool(self.compartments):
            raise ValueError(f"vehicle {self.id}: a tanker, and only a tanker, has compartments")
        if len(self.compartments) > MAX_COMPARTMENTS:
            raise ValueError(f"vehicle {self.id}: at most {MAX_COMPARTMENTS} compartments")


@dataclass(frozen=True, slots=True)
class OrderNeeds:
    """What the order demands of a vehicle: an ADR class permit, food grade, a body type."""

    hazard_class: str | None = None
    food_grade: bool = False
    bodies: frozenset[BodyType] | None = None


@dataclass(frozen=True, slots=True)
class DayCapacity:
    """The plant's loading limit on one particular day, overriding the daily default."""

    day: date
    trips: int | None = None
    mass_kg: int | None = None


@dataclass(frozen=True, slots=True)
class PlantCapacity:
    """How much the plant can load per day, in trips and in mass; None does not limit."""

    trips_per_day: int | None = None
    mass_kg_per_day: int | None = None
    exceptions: tuple[DayCapacity, ...] = ()

    def trips_on(self, day: date) -> int | None:
        """The trip limit on `day`."""
        for exception in self.exceptions:
            if exception.day == day:
                return exception.trips
        return self.trips_per_day

    def mass_kg_on(self, day: date) -> int | None:
        """The mass limit on `day`."""
        for exception in self.exceptions:
            if exception.day == day:
                return exception.mass_kg
        return self.mass_kg_per_day


@dataclass(frozen=True, slots=True)
class TakenTrip:
    """A trip already loaded (kept from an earlier plan): it uses its vehicle's and the
    plant's capacity on its day."""

    vehicle_id: str
    day: date
    mass_kg: int


@dataclass(frozen=True, slots=True)
class SplitRequest:
    """One carrier's share of an order, to be split into truckloads of its own fleet.

    Every trip but the last must be at least `min_fill_ratio` full (by its binding
    dimension); `round_trip_km` is the distance for vehicles that do not carry their own.
    """

    cargo: BulkCargo | ItemCargo
    fleet: tuple[Vehicle, ...]
    pickup_days: tuple[date, ...]
    needs: OrderNeeds = field(default_factory=OrderNeeds)
    plant: PlantCapacity | None = None
    min_fill_ratio: float = 0.8
    round_trip_km: float | None = None
    taken_trips: tuple[TakenTrip, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_fill_ratio <= 1.0:
            raise ValueError("min_fill_ratio must be in [0, 1]")
        ids = [vehicle.id for vehicle in self.fleet]
        if len(set(ids)) != len(ids):
            raise ValueError("vehicle ids must be unique")
        if list(self.pickup_days) != sorted(set(self.pickup_days)):
            raise ValueError("pickup_days must be sorted and distinct")
        if self.round_trip_km is None:
            missing = [vehicle.id for vehicle in self.fleet if vehicle.round_trip_km is None]
            if missing:
                raise ValueError(f"no round_trip_km for vehicles {missing[:5]} nor the request")

    @property
    def kind(self) -> CargoKind:
        """Which model splits this request."""
        return CargoKind.BULK if isinstance(self.cargo, BulkCargo) else CargoKind.ITEMS


def trip_cost_cents(vehicle: Vehicle, request: SplitRequest) -> int:
    """What one trip of `vehicle` costs for `request`: the fixed part plus the distance."""
    distance_km = vehicle.round_trip_km
    if distance_km is None:
        distance_km = request.round_trip_km
    assert distance_km is not None  # checked when the request was built
    return vehicle.fixed_cost_cents + round(vehicle.cost_per_km_cents * distance_km)


def trips_per_day(*, round_trip_s: float, working_day_s: float) -> int:
    """How many whole round trips fit in a working day."""
    if round_trip_s <= 0:
        raise ValueError("round_trip_s must be positive")
    return max(0, math.floor(working_day_s / round_trip_s + 1e-9))
