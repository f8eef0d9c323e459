"""The validator catches each kind of broken plan."""

from collections.abc import Callable
from dataclasses import replace

import pytest

from dispatch.planning import (
    BodyType,
    BulkCargo,
    CompartmentLoad,
    Item,
    ItemCargo,
    OrderNeeds,
    Plan,
    PlanStatus,
    PlantCapacity,
    SplitRequest,
    Trip,
    ViolationKind,
    plan_split,
    validate_plan,
)
from tests.dispatch.planning_factories import truck, window

DAYS = window(2)
BULK = SplitRequest(
    cargo=BulkCargo(mass_kg=70_000, density_kg_per_m3=1_000.0, liquid=True),
    fleet=(
        truck(
            "T1",
            body=BodyType.TANKER,
            payload_kg=30_000,
            compartments_l=(10_000,) * 3,
            trips_per_day=2,
            food_grade=True,
        ),
        truck(
            "T2",
            body=BodyType.TANKER,
            payload_kg=30_000,
            compartments_l=(10_000,) * 3,
            trips_per_day=2,
            food_grade=True,
        ),
        truck("dirty", body=BodyType.TANKER, payload_kg=30_000, compartments_l=(10_000,) * 3),
    ),
    pickup_days=DAYS,
    needs=OrderNeeds(food_grade=True),
    plant=PlantCapacity(trips_per_day=2, mass_kg_per_day=60_000),
)
ITEMS = SplitRequest(
    cargo=ItemCargo(
        items=tuple(
            Item(f"P{n}", weight_kg=1_000, volume_m3=1.5, pallet_places=1) for n in range(30)
        )
    ),
    fleet=(
        truck(
            "C1", body=BodyType.CURTAINSIDER, payload_kg=24_000, volume_m3=90.0, pallet_places=33
        ),
        truck("C2", body=BodyType.BOX, payload_kg=12_000, volume_m3=45.0, pallet_places=18),
    ),
    pickup_days=DAYS,
)


@pytest.fixture(scope="module")
def bulk_plan() -> Plan:
    plan = plan_split(BULK, time_limit_s=2.0)
    assert plan.ok
    assert validate_plan(BULK, plan) == []
    return plan


@pytest.fixture(scope="module")
def items_plan() -> Plan:
    plan = plan_split(ITEMS, time_limit_s=2.0)
    assert plan.ok
    assert validate_plan(ITEMS, plan) == []
    return plan


def edit_trip(plan: Plan, index: int, **changes: object) -> Plan:
    trips = list(plan.trips)
    trips[index] = replace(trips[index], **changes)  # type: ignore[arg-type]
    return replace(plan, trips=tuple(trips), total_cost_cents=sum(t.cost_cents for t in trips))


def with_trips(plan: Plan, trips: list[Trip]) -> Plan:
    return replace(plan, trips=tuple(trips), total_cost_cents=sum(t.cost_cents for t in trips))


def kinds(request: SplitRequest, plan: Plan) -> set[ViolationKind]:
    return {violation.kind for violation in validate_plan(request, plan)}


def overload(plan: Plan) -> Plan:
    first = plan.trips[0]
    loads = list(first.compartments)
    loads[0] = replace(loads[0], mass_kg=loads[0].mass_kg + 5_000)
    return edit_trip(plan, 0, mass_kg=first.mass_kg + 5_000, compartments=tuple(loads))


def half_fill_a_compartment(plan: Plan) -> Plan:
    first = plan.trips[0]
    loads = [replace(load, mass_kg=0) for load in first.compartments]
    loads[0] = replace(loads[0], mass_kg=5_000)
    loads[1] = replace(loads[1], mass_kg=first.mass_kg - 5_000)
    return edit_trip(plan, 0, compartments=tuple(loads))


def drop_compartment_loads(plan: Plan) -> Plan:
    first = plan.trips[0]
    return edit_trip(plan, 0, compartments=first.compartments[:1])


def use_the_dirty_tanker(plan: Plan) -> Plan:
    return edit_trip(plan, 0, vehicle_id="dirty", plate="HP-dirty")


def move_outside_the_window(plan: Plan) -> Plan:
    return edit_trip(plan, 0, day=DAYS[-1].replace(day=DAYS[-1].day + 7))


def add_third_trip_in_a_day(plan: Plan) -> Plan:
    first = plan.trips[0]
    extra = [
        replace(
            first,
            trip_no=number,
            mass_kg=0,
            compartments=tuple(
                CompartmentLoad(load.index, load.capacity_l, 0, 0.0) for load in first.compartments
            ),
        )
        for number in (5, 6)
    ]
    return with_trips(plan, [*plan.trips, *extra])


def repeat_a_trip_number(plan: Plan) -> Plan:
    first = plan.trips[0]
    twin = next(
        i
        for i, trip in enumerate(plan.trips)
        if trip.vehicle_id != first.vehicle_id or trip.day != first.day
    )
    return edit_trip(
        plan,
        twin,
        vehicle_id=first.vehicle_id,
        plate=first.plate,
        day=first.day,
        trip_no=first.trip_no,
    )


def crowd_the_plant(plan: Plan) -> Plan:
    return with_trips(plan, [replace(trip, day=DAYS[0]) for trip in plan.trips])


def leave_some_behind(plan: Plan) -> Plan:
    return with_trips(plan, list(plan.trips[:-1]))


def misprice(plan: Plan) -> Plan:
    return replace(plan, total_cost_cents=plan.total_cost_cents + 1)


def misprice_a_trip(plan: Plan) -> Plan:
    return edit_trip(plan, 0, cost_cents=plan.trips[0].cost_cents - 100)


def invent_a_vehicle(plan: Plan) -> Plan:
    return edit_trip(plan, 0, vehicle_id="ghost")


def call_it_infeasible(plan: Plan) -> Plan:
    return replace(plan, status=PlanStatus.INFEASIBLE)


BULK_BREAKAGES: list[tuple[Callable[[Plan], Plan], ViolationKind]] = [
    (overload, ViolationKind.PAYLOAD),
    (overload, ViolationKind.QUANTITY),
    (half_fill_a_compartment, ViolationKind.COMPARTMENT),
    (drop_compartment_loads, ViolationKind.COMPARTMENT),
    (use_the_dirty_tanker, ViolationKind.INCOMPATIBLE),
    (move_outside_the_window, ViolationKind.DAY),
    (add_third_trip_in_a_day, ViolationKind.TRIPS_PER_DAY),
    (add_third_trip_in_a_day, ViolationKind.EMPTY_TRIP),
    (repeat_a_trip_number, ViolationKind.TRIP_NUMBER),
    (crowd_the_plant, ViolationKind.PLANT_TRIPS),
    (crowd_the_plant, ViolationKind.PLANT_MASS),
    (leave_some_behind, ViolationKind.QUANTITY),
    (misprice, ViolationKind.COST),
    (misprice_a_trip, ViolationKind.COST),
    (invent_a_vehicle, ViolationKind.UNKNOWN_VEHICLE),
    (call_it_infeasible, ViolationKind.STATUS),
]


class TestBulkViolations:
    @pytest.mark.parametrize(
        ("breakage", "kind"), BULK_BREAKAGES, ids=[f"{b.__name__}-{k}" for b, k in BULK_BREAKAGES]
    )
    def test_each_breakage_is_caught(
        self, bulk_plan: Plan, breakage: Callable[[Plan], Plan], kind: ViolationKind
    ) -> None:
        assert kind in kinds(BULK, breakage(bulk_plan))

    def test_two_under_filled_trips_break_the_minimum_fill(self, bulk_plan: Plan) -> None:
        full = [trip for trip in bulk_plan.trips if trip.fill_ratio >= 0.8]
        halves = [
            replace(full[0], mass_kg=full[0].mass_kg // 2, fill_ratio=0.5, compartments=()),
            replace(
                full[0],
                trip_no=2,
                mass_kg=full[0].mass_kg - full[0].mass_kg // 2,
                fill_ratio=0.5,
                compartments=(),
            ),
        ]
        broken = with_trips(bulk_plan, [*[t for t in bulk_plan.trips if t is not full[0]], *halves])
        assert ViolationKind.MIN_FILL in kinds(BULK, broken)

    def test_an_under_filled_trip_before_the_last_day_breaks_the_minimum_fill(self) -> None:
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=40_000), fleet=(truck("A"), truck("B")), pickup_days=DAYS
        )
        remainder = Trip(
            vehicle_id="A",
            plate="HP-A",
            day=DAYS[0],
            trip_no=1,
            mass_kg=15_000,
            cost_cents=50_000,
            fill_ratio=0.6,
        )
        full = Trip(
            vehicle_id="B",
            plate="HP-B",
            day=DAYS[1],
            trip_no=1,
            mass_kg=25_000,
            cost_cents=50_000,
            fill_ratio=1.0,
        )
        plan = Plan(
            kind=request.kind,
            status=PlanStatus.FEASIBLE,
            trips=(remainder, full),
            total_cost_cents=100_000,
            lower_bound_cents=None,
            solve_s=0.0,
            method="hand",
        )
        assert kinds(request, plan) == {ViolationKind.MIN_FILL}
        on_time = replace(plan, trips=(replace(remainder, day=DAYS[1]), replace(full, day=DAYS[0])))
        assert validate_plan(request, on_time) == []


class TestItemViolations:
    def test_a_missing_item_is_caught(self, items_plan: Plan) -> None:
        first = items_plan.trips[0]
        broken = edit_trip(
            items_plan, 0, item_ids=first.item_ids[1:], mass_kg=first.mass_kg - 1_000
        )
        assert kinds(ITEMS, broken) >= {ViolationKind.ITEM_MISSING}

    def test_an_item_on_two_trips_is_caught(self, items_plan: Plan) -> None:
        assert len(items_plan.trips) >= 2
        second = items_plan.trips[1]
        moved = items_plan.trips[0].item_ids[0]
        broken = edit_trip(
            items_plan, 1, item_ids=(*second.item_ids, moved), mass_kg=second.mass_kg + 1_000
        )
        assert ViolationKind.ITEM_DUPLICATED in kinds(ITEMS, broken)

    def test_an_unknown_item_is_caught(self, items_plan: Plan) -> None:
        first = items_plan.trips[0]
        broken = edit_trip(items_plan, 0, item_ids=(*first.item_ids, "ghost"))
        assert ViolationKind.UNKNOWN_ITEM in kinds(ITEMS, broken)

    def test_a_trip_that_misstates_its_mass_is_caught(self, items_plan: Plan) -> None:
        broken = edit_trip(items_plan, 0, mass_kg=items_plan.trips[0].mass_kg + 1)
        assert ViolationKind.MASS_MISMATCH in kinds(ITEMS, broken)

    def test_too_many_pallets_in_one_truck_are_caught(self, items_plan: Plan) -> None:
        everything = tuple(item.id for item in ITEMS.cargo.items)  # type: ignore[union-attr]
        one_trip = replace(
            items_plan.trips[0],
            vehicle_id="C2",
            plate="HP-C2",
            item_ids=everything,
            mass_kg=30_000,
            cost_cents=50_000,
        )
        broken = with_trips(items_plan, [one_trip])
        assert {ViolationKind.PALLET_PLACES, ViolationKind.PAYLOAD} <= kinds(ITEMS, broken)

    def test_too_much_volume_is_caught(self) -> None:
        bulky = SplitRequest(
            cargo=ItemCargo(items=(Item("wool", weight_kg=500, volume_m3=60.0),)),
            fleet=(truck("box", body=BodyType.BOX, volume_m3=45.0),),
            pickup_days=DAYS,
            min_fill_ratio=0.0,
        )
        trip = Trip(
            vehicle_id="box",
            plate="HP-box",
            day=DAYS[0],
            trip_no=1,
            mass_kg=500,
            cost_cents=50_000,
            fill_ratio=1.0,
            item_ids=("wool",),
        )
        plan = Plan(
            kind=bulky.kind,
            status=PlanStatus.FEASIBLE,
            trips=(trip,),
            total_cost_cents=50_000,
            lower_bound_cents=None,
            solve_s=0.0,
            method="hand",
        )
        assert ViolationKind.VOLUME in kinds(bulky, plan)
