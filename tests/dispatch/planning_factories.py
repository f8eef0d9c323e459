"""Builders and hypothesis strategies for split requests."""

from datetime import date, timedelta

from hypothesis import strategies as st

from dispatch.planning import (
    BodyType,
    BulkCargo,
    Compartment,
    Item,
    ItemCargo,
    OrderNeeds,
    PlantCapacity,
    SplitRequest,
    Vehicle,
)

MONDAY = date(2025, 3, 3)


def window(days: int) -> tuple[date, ...]:
    """`days` consecutive pickup days from a Monday."""
    return tuple(MONDAY + timedelta(days=offset) for offset in range(days))


def truck(
    vehicle_id: str,
    *,
    body: BodyType = BodyType.TIPPER,
    payload_kg: int = 25_000,
    fixed_cost_cents: int = 20_000,
    cost_per_km_cents: int = 150,
    round_trip_km: float = 200.0,
    trips_per_day: int = 1,
    compartments_l: tuple[int, ...] = (),
    baffled: bool = False,
    **fields: object,
) -> Vehicle:
    """A vehicle with sensible defaults; tankers get their compartments from litres."""
    compartments = tuple(Compartment(capacity_l, baffled=baffled) for capacity_l in compartments_l)
    return Vehicle(
        id=vehicle_id,
        plate=f"HP-{vehicle_id}",
        body=body,
        payload_kg=payload_kg,
        fixed_cost_cents=fixed_cost_cents,
        cost_per_km_cents=cost_per_km_cents,
        round_trip_km=round_trip_km,
        trips_per_day=trips_per_day,
        compartments=compartments,
        **fields,  # type: ignore[arg-type]
    )


BODIES = [BodyType.TIPPER, BodyType.TANKER, BodyType.TANKER, BodyType.CURTAINSIDER, BodyType.BOX]


@st.composite
def vehicles(draw: st.DrawFn, vehicle_id: str, days: tuple[date, ...]) -> Vehicle:
    """Any vehicle of the kinds the planner meets, tankers included."""
    body = draw(st.sampled_from([*BODIES, BodyType.FLATBED]))
    compartments: tuple[Compartment, ...] = ()
    if body is BodyType.TANKER:
        compartments = tuple(
            Compartment(draw(st.integers(2, 14)) * 1_000, baffled=draw(st.booleans()))
            for _ in range(draw(st.integers(1, 4)))
        )
    available = draw(st.none() | st.frozensets(st.sampled_from(days), min_size=1))
    return Vehicle(
        id=vehicle_id,
        plate=f"HP-{vehicle_id}",
        body=body,
        payload_kg=draw(st.integers(4, 30)) * 1_000,
        volume_m3=None
        if body is BodyType.TANKER
        else draw(st.none() | st.sampled_from([20.0, 45.0, 90.0])),
        pallet_places=draw(st.none() | st.integers(8, 34)),
        compartments=compartments,
        fixed_cost_cents=draw(st.integers(50, 400)) * 100,
        cost_per_km_cents=draw(st.integers(80, 250)),
        round_trip_km=draw(st.sampled_from([80.0, 150.0, 260.0])),
        trips_per_day=draw(st.integers(1, 3)),
        available_days=available,
        hazard_classes=draw(
            st.sampled_from([frozenset(), frozenset({"3", "8"}), frozenset({"3"})])
        ),
        food_grade=draw(st.integers(0, 3)) > 0,
    )


@st.composite
def fleets(draw: st.DrawFn, days: tuple[date, ...]) -> tuple[Vehicle, ...]:
    """A small mixed fleet."""
    count = draw(st.integers(1, 8))
    return tuple(draw(vehicles(f"V{index}", days)) for index in range(count))


@st.composite
def needs(draw: st.DrawFn) -> OrderNeeds:
    """What an order may demand."""
    return OrderNeeds(
        hazard_class=draw(st.sampled_from([None, None, None, "3", "8"])),
        food_grade=draw(st.integers(0, 3)) == 0,
        bodies=draw(st.sampled_from([None, None, frozenset(BODIES)])),
    )


@st.composite
def plants(draw: st.DrawFn) -> PlantCapacity | None:
    """No plant limit, or one in trips or mass per day."""
    return draw(
        st.none()
        | st.builds(
            PlantCapacity,
            trips_per_day=st.none() | st.integers(1, 6),
            mass_kg_per_day=st.none() | st.integers(10, 120).map(lambda t: t * 1_000),
        )
    )


@st.composite
def bulk_requests(draw: st.DrawFn) -> SplitRequest:
    """A bulk order, liquid or dry, over a small fleet and window."""
    days = window(draw(st.integers(1, 3)))
    liquid = draw(st.integers(0, 2)) == 0
    density = draw(st.sampled_from([700.0, 1_000.0, 1_500.0]))
    cargo = BulkCargo(
        mass_kg=draw(st.integers(1, 120)) * 1_000 + draw(st.integers(0, 999)),
        density_kg_per_m3=density if liquid or draw(st.booleans()) else None,
        liquid=liquid,
        viscous=draw(st.booleans()) if liquid else False,
        max_fill_ratio=draw(st.sampled_from([1.0, 0.95])),
    )
    return SplitRequest(
        cargo=cargo,
        fleet=draw(fleets(days)),
        pickup_days=days,
        needs=draw(needs()),
        plant=draw(plants()),
        min_fill_ratio=draw(st.sampled_from([0.0, 0.5, 0.8])),
    )


@st.composite
def item_requests(draw: st.DrawFn) -> SplitRequest:
    """An order of pallets, coils and bundles over a small fleet and window."""
    days = window(draw(st.integers(1, 2)))
    count = draw(st.integers(1, 18))
    items = tuple(
        Item(
            id=f"I{index}",
            weight_kg=draw(st.integers(50, 6_000)),
            volume_m3=draw(st.sampled_from([0.0, 0.8, 1.4, 2.5, 6.0])),
            pallet_places=draw(st.integers(0, 3)),
            stackable=draw(st.booleans()),
        )
        for index in range(count)
    )
    return SplitRequest(
        cargo=ItemCargo(items=items),
        fleet=draw(fleets(days)),
        pickup_days=days,
        needs=draw(needs()),
        plant=draw(plants()),
        min_fill_ratio=draw(st.sampled_from([0.0, 0.5, 0.8])),
    )
