"""The planner's rules one by one: tanks, permits, fill, plant limits, reasons, re-plans."""

from dataclasses import replace

import pytest

from dispatch.planning import (
    BodyType,
    BulkCargo,
    DayCapacity,
    Item,
    ItemCargo,
    OrderNeeds,
    Plan,
    PlanStatus,
    PlantCapacity,
    SplitRequest,
    plan_greedy,
    plan_split,
    remaining_request,
    trips_per_day,
    validate_plan,
)
from dispatch.planning.bulk import bulk_classes, solve_bulk_model, trip_upper_bounds
from dispatch.planning.fleet import plant_limits
from tests.dispatch.planning_factories import truck, window

CAUSTIC_KG_PER_M3 = 1_500.0
WATERLIKE_KG_PER_M3 = 1_000.0


def split(request: SplitRequest) -> Plan:
    plan = plan_split(request, time_limit_s=3.0)
    if plan.ok:
        assert validate_plan(request, plan) == []
    return plan


def compartment_fills(plan: Plan) -> list[float]:
    return [load.volume_l / load.capacity_l for trip in plan.trips for load in trip.compartments]


class TestTankerCompartments:
    def test_each_compartment_is_empty_low_or_above_the_surge_band(self) -> None:
        tankers = tuple(
            truck(
                f"T{n}",
                body=BodyType.TANKER,
                payload_kg=30_000,
                compartments_l=(8_000,) * 4,
                trips_per_day=2,
            )
            for n in range(3)
        )
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=100_000, density_kg_per_m3=CAUSTIC_KG_PER_M3, liquid=True),
            fleet=tankers,
            pickup_days=window(2),
        )
        plan = split(request)
        assert plan.ok
        for trip in plan.trips:
            assert len(trip.compartments) == 4
            assert sum(load.mass_kg for load in trip.compartments) == trip.mass_kg
        fills = compartment_fills(plan)
        assert fills
        assert all(fill <= 0.2 + 1e-9 or 0.8 - 1e-9 <= fill <= 1 + 1e-9 for fill in fills)

    def test_a_dense_liquid_fills_some_compartments_and_leaves_others_empty(self) -> None:
        acid = BulkCargo(mass_kg=55_000, density_kg_per_m3=1_830.0, liquid=True)
        tankers = (
            truck(
                "T1",
                body=BodyType.TANKER,
                payload_kg=29_000,
                compartments_l=(8_000,) * 4,
                trips_per_day=2,
            ),
        )
        plan = split(SplitRequest(cargo=acid, fleet=tankers, pickup_days=window(1)))
        assert plan.ok
        assert all(trip.mass_kg <= 29_000 for trip in plan.trips)
        fills = compartment_fills(plan)
        assert all(fill <= 0.2 + 1e-9 or fill >= 0.8 - 1e-9 for fill in fills)
        assert any(fill == 0 for fill in fills)

    def test_a_load_that_would_slosh_in_a_large_compartment_is_refused(self) -> None:
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=5_000, density_kg_per_m3=WATERLIKE_KG_PER_M3, liquid=True),
            fleet=(truck("T1", body=BodyType.TANKER, compartments_l=(10_000,)),),
            pickup_days=window(1),
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "full" in plan.reason
        assert not plan_greedy(request).ok

    def test_surge_plates_allow_a_half_filled_compartment(self) -> None:
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=5_000, density_kg_per_m3=WATERLIKE_KG_PER_M3, liquid=True),
            fleet=(truck("T1", body=BodyType.TANKER, compartments_l=(10_000,), baffled=True),),
            pickup_days=window(1),
        )
        plan = split(request)
        assert plan.ok
        assert [load.volume_l for load in plan.trips[0].compartments] == [5_000.0]

    def test_a_viscous_liquid_may_fill_a_compartment_partly(self) -> None:
        molasses = BulkCargo(mass_kg=7_000, density_kg_per_m3=1_400.0, liquid=True, viscous=True)
        request = SplitRequest(
            cargo=molasses,
            fleet=(truck("T1", body=BodyType.TANKER, compartments_l=(10_000,)),),
            pickup_days=window(1),
        )
        assert split(request).ok

    def test_ullage_keeps_every_compartment_below_its_fill_limit(self) -> None:
        fuel = BulkCargo(mass_kg=60_000, density_kg_per_m3=840.0, liquid=True, max_fill_ratio=0.95)
        tankers = tuple(
            truck(f"T{n}", body=BodyType.TANKER, payload_kg=40_000, compartments_l=(9_000,) * 4)
            for n in range(3)
        )
        plan = split(SplitRequest(cargo=fuel, fleet=tankers, pickup_days=window(1)))
        assert plan.ok
        assert max(compartment_fills(plan)) <= 0.95 + 1e-9

    def test_a_tanker_split_beats_the_greedy_when_the_remainder_would_slosh(self) -> None:
        tankers = (
            truck("T1", body=BodyType.TANKER, compartments_l=(10_000, 10_000), trips_per_day=2),
        )
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=25_000, density_kg_per_m3=WATERLIKE_KG_PER_M3, liquid=True),
            fleet=tankers,
            pickup_days=window(1),
            min_fill_ratio=0.5,
        )
        # 20 t then 5 t would leave 5 t sloshing in one compartment; 16 t + 9 t does not
        assert not plan_greedy(request).ok
        plan = split(request)
        assert plan.ok
        assert sorted(trip.mass_kg for trip in plan.trips)[0] >= 8_000


class TestCompatibility:
    def test_incompatible_vehicles_are_never_used_even_when_cheaper(self) -> None:
        cheap = 1_000
        fleet = (
            truck(
                "not-food",
                body=BodyType.TANKER,
                compartments_l=(12_000,) * 2,
                hazard_classes=frozenset({"3"}),
                fixed_cost_cents=cheap,
            ),
            truck(
                "no-permit",
                body=BodyType.TANKER,
                compartments_l=(12_000,) * 2,
                food_grade=True,
                fixed_cost_cents=cheap,
            ),
            truck(
                "tipper",
                body=BodyType.TIPPER,
                food_grade=True,
                hazard_classes=frozenset({"3"}),
                fixed_cost_cents=cheap,
            ),
            truck(
                "ok-1",
                body=BodyType.TANKER,
                compartments_l=(12_000,) * 2,
                food_grade=True,
                hazard_classes=frozenset({"3"}),
                trips_per_day=3,
            ),
            truck(
                "ok-2",
                body=BodyType.TANKER,
                compartments_l=(12_000,) * 2,
                food_grade=True,
                hazard_classes=frozenset({"3"}),
                trips_per_day=3,
            ),
        )
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=90_000, density_kg_per_m3=790.0, liquid=True),
            fleet=fleet,
            pickup_days=window(1),
            needs=OrderNeeds(
                hazard_class="3", food_grade=True, bodies=frozenset({BodyType.TANKER})
            ),
        )
        plan = split(request)
        assert plan.ok
        assert {trip.vehicle_id for trip in plan.trips} <= {"ok-1", "ok-2"}

    def test_no_compatible_vehicle_says_why(self) -> None:
        fleet = (
            truck("A", food_grade=False, hazard_classes=frozenset({"8"})),
            truck("B", food_grade=True),
        )
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=10_000),
            fleet=fleet,
            pickup_days=window(1),
            needs=OrderNeeds(hazard_class="8", food_grade=True),
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "not food-grade" in plan.reason
        assert "no ADR permit for class 8" in plan.reason

    @pytest.mark.parametrize(
        ("permits", "hazard_class", "usable"),
        [({"1"}, "1.4", True), ({"6.2"}, "6.1", False), ({"3"}, "3", True), (set(), "9", False)],
    )
    def test_a_permit_covers_its_class_and_divisions(
        self, permits: set[str], hazard_class: str, usable: bool
    ) -> None:
        request = SplitRequest(
            cargo=ItemCargo(items=(Item("crate", weight_kg=500),)),
            fleet=(truck("A", body=BodyType.BOX, hazard_classes=frozenset(permits)),),
            pickup_days=window(1),
            needs=OrderNeeds(hazard_class=hazard_class),
        )
        assert split(request).ok is usable

    def test_liquids_go_only_in_tankers_and_items_never_do(self) -> None:
        liquid = SplitRequest(
            cargo=BulkCargo(mass_kg=10_000, density_kg_per_m3=1_000.0, liquid=True),
            fleet=(truck("tipper"),),
            pickup_days=window(1),
        )
        assert "a liquid needs a tanker" in split(liquid).reason
        pallets = SplitRequest(
            cargo=ItemCargo(items=(Item("p1", weight_kg=800, pallet_places=1),)),
            fleet=(truck("tank", body=BodyType.TANKER, compartments_l=(10_000,)),),
            pickup_days=window(1),
        )
        assert "a tanker carries no items" in split(pallets).reason


class TestMinimumFill:
    def test_only_the_last_trip_is_under_filled_and_it_runs_last(self) -> None:
        fleet = tuple(truck(f"V{n}") for n in range(3))
        request = SplitRequest(cargo=BulkCargo(mass_kg=112_500), fleet=fleet, pickup_days=window(2))
        plan = split(request)
        assert plan.ok
        under = [trip for trip in plan.trips if trip.fill_ratio < 0.8]
        assert len(under) == 1
        assert under[0].day == max(trip.day for trip in plan.trips)
        assert sorted(trip.mass_kg for trip in plan.trips)[1:] == [25_000] * 4

    def test_item_trips_below_the_minimum_fill_are_at_most_one(self) -> None:
        items = tuple(
            Item(f"P{n}", weight_kg=900, volume_m3=1.4, pallet_places=1) for n in range(70)
        )
        fleet = tuple(
            truck(
                f"C{n}",
                body=BodyType.CURTAINSIDER,
                payload_kg=24_000,
                volume_m3=90.0,
                pallet_places=33,
            )
            for n in range(4)
        )
        plan = split(SplitRequest(cargo=ItemCargo(items=items), fleet=fleet, pickup_days=window(1)))
        assert plan.ok
        assert sum(1 for trip in plan.trips if trip.fill_ratio < 0.8) <= 1

    def test_a_fill_rule_the_plant_cannot_meet_is_reported(self) -> None:
        fleet = (truck("A"), truck("B"))
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=60_000),
            fleet=fleet,
            pickup_days=window(2),
            plant=PlantCapacity(mass_kg_per_day=30_000),
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "80%" in plan.reason
        assert "plant" in plan.reason
        assert split(replace(request, min_fill_ratio=0.0)).ok


class TestPlantCapacity:
    def test_trips_per_day_and_mass_per_day_hold(self) -> None:
        fleet = tuple(truck(f"V{n}", trips_per_day=2) for n in range(6))
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=140_000),
            fleet=fleet,
            pickup_days=window(3),
            plant=PlantCapacity(trips_per_day=3, mass_kg_per_day=60_000),
        )
        plan = split(request)
        assert plan.ok
        for day in request.pickup_days:
            on_day = [trip for trip in plan.trips if trip.day == day]
            assert len(on_day) <= 3
            assert sum(trip.mass_kg for trip in on_day) <= 60_000

    def test_a_closed_day_gets_no_trips(self) -> None:
        days = window(3)
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=40_000),
            fleet=(truck("A"), truck("B")),
            pickup_days=days,
            plant=PlantCapacity(exceptions=(DayCapacity(days[0], trips=0),)),
        )
        plan = split(request)
        assert plan.ok
        assert all(trip.day != days[0] for trip in plan.trips)

    def test_a_plant_too_slow_for_the_window_is_reported(self) -> None:
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=100_000),
            fleet=tuple(truck(f"V{n}") for n in range(5)),
            pickup_days=window(2),
            plant=PlantCapacity(trips_per_day=1),
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "at most 50.0 t" in plan.reason


class TestInfeasibleRequests:
    def test_too_little_fleet_for_the_window(self) -> None:
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=500_000), fleet=(truck("A"),), pickup_days=window(3)
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "at most 75.0 t" in plan.reason
        assert "needs 500.0 t" in plan.reason

    def test_an_item_too_heavy_for_every_truck(self) -> None:
        request = SplitRequest(
            cargo=ItemCargo(items=(Item("coil-7", weight_kg=31_000),)),
            fleet=(truck("A", body=BodyType.FLATBED),),
            pickup_days=window(1),
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "coil-7" in plan.reason

    def test_items_that_outgrow_the_trucks_in_the_window(self) -> None:
        items = tuple(Item(f"P{n}", weight_kg=1_000, pallet_places=1) for n in range(40))
        request = SplitRequest(
            cargo=ItemCargo(items=items),
            fleet=(truck("A", body=BodyType.BOX, pallet_places=18),),
            pickup_days=window(1),
        )
        plan = split(request)
        assert plan.status is PlanStatus.INFEASIBLE
        assert "cannot hold" in plan.reason

    def test_an_empty_window(self) -> None:
        request = SplitRequest(cargo=BulkCargo(mass_kg=1_000), fleet=(truck("A"),), pickup_days=())
        assert "no day left" in split(request).reason

    def test_nothing_left_to_move_is_an_empty_optimal_plan(self) -> None:
        plan = split(SplitRequest(cargo=BulkCargo(mass_kg=0), fleet=(), pickup_days=window(1)))
        assert plan.status is PlanStatus.OPTIMAL
        assert plan.trips == ()


class TestItems:
    def test_stackable_pallets_go_two_high(self) -> None:
        fleet = tuple(
            truck(f"C{n}", body=BodyType.CURTAINSIDER, pallet_places=33) for n in range(3)
        )

        def trips_for(stackable: bool) -> int:
            items = tuple(
                Item(f"P{n}", weight_kg=300, pallet_places=1, stackable=stackable)
                for n in range(60)
            )
            plan = split(
                SplitRequest(
                    cargo=ItemCargo(items=items),
                    fleet=fleet,
                    pickup_days=window(1),
                    min_fill_ratio=0.0,
                )
            )
            return len(plan.trips)

        assert trips_for(stackable=True) == 1
        assert trips_for(stackable=False) == 2

    def test_the_solver_beats_first_fit_decreasing_on_a_mixed_fleet(self) -> None:
        # the 12 t truck is the cheapest per tonne, so the greedy starts there and needs a
        # second truck; one 24 t truck carries all 23 t for less
        items = tuple(
            Item(f"I{n}", weight_kg=weight) for n, weight in enumerate([9_000, 6_000, 5_000, 3_000])
        )
        fleet = tuple(
            truck(
                name,
                body=BodyType.FLATBED,
                payload_kg=payload_kg,
                fixed_cost_cents=cost,
                cost_per_km_cents=0,
            )
            for name, payload_kg, cost in [
                ("10t", 10_000, 14_000),
                ("12t", 12_000, 14_000),
                ("24t", 24_000, 28_000),
            ]
        )
        request = SplitRequest(
            cargo=ItemCargo(items=items), fleet=fleet, pickup_days=window(1), min_fill_ratio=0.0
        )
        greedy = plan_greedy(request)
        plan = split(request)
        assert greedy.ok
        assert plan.status is PlanStatus.OPTIMAL
        assert plan.total_cost_cents < greedy.total_cost_cents
        assert [trip.vehicle_id for trip in plan.trips] == ["24t"]


class TestReplan:
    def test_a_breakdown_replans_the_rest_without_the_broken_truck(self) -> None:
        days = window(2)
        fleet = tuple(truck(f"V{n}", trips_per_day=2) for n in range(4))
        request = SplitRequest(cargo=BulkCargo(mass_kg=300_000), fleet=fleet, pickup_days=days)
        first = split(request)
        assert first.ok
        kept = [trip for trip in first.trips if trip.day == days[0]]
        broken = first.trips[-1].vehicle_id
        rest = remaining_request(request, kept_trips=kept, lost_vehicle_ids={broken}, today=days[1])
        second = split(rest)
        assert second.ok
        assert broken not in {trip.vehicle_id for trip in second.trips}
        assert sum(t.mass_kg for t in kept) + sum(t.mass_kg for t in second.trips) == 300_000

    def test_trips_already_loaded_today_use_todays_capacity(self) -> None:
        days = window(1)
        fleet = tuple(truck(name, trips_per_day=2) for name in "ABC")
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=100_000),
            fleet=fleet,
            pickup_days=days,
            plant=PlantCapacity(trips_per_day=4),
        )
        first = split(request)
        kept = [trip for trip in first.trips if trip.vehicle_id == "A" and trip.trip_no == 1]
        rest = remaining_request(request, kept_trips=kept, lost_vehicle_ids={"B"}, today=days[0])
        assert rest.cargo == BulkCargo(mass_kg=75_000)
        plan = split(rest)
        assert plan.ok
        assert len(plan.trips) == 3  # the plant loads four trips a day, one is done
        assert [trip.trip_no for trip in plan.trips if trip.vehicle_id == "A"] == [2]
        tighter = replace(rest, plant=PlantCapacity(trips_per_day=3))
        assert split(tighter).status is PlanStatus.INFEASIBLE

    def test_items_already_loaded_are_not_planned_again(self) -> None:
        items = tuple(Item(f"P{n}", weight_kg=2_000, pallet_places=2) for n in range(20))
        fleet = tuple(truck(f"V{n}", body=BodyType.FLATBED, trips_per_day=2) for n in range(3))
        request = SplitRequest(cargo=ItemCargo(items=items), fleet=fleet, pickup_days=window(1))
        first = split(request)
        kept = [first.trips[0]]
        rest = remaining_request(request, kept_trips=kept, today=window(1)[0])
        second = split(rest)
        assert second.ok
        replanned = {item_id for trip in second.trips for item_id in trip.item_ids}
        assert replanned.isdisjoint(kept[0].item_ids)
        assert replanned | set(kept[0].item_ids) == {item.id for item in items}


def test_trips_per_day_counts_whole_round_trips() -> None:
    assert trips_per_day(round_trip_s=3 * 3600, working_day_s=10 * 3600) == 3
    assert trips_per_day(round_trip_s=5 * 3600, working_day_s=10 * 3600) == 2
    assert trips_per_day(round_trip_s=11 * 3600, working_day_s=10 * 3600) == 0


class TestManyClasses:
    def test_pricing_finds_the_same_optimum_as_the_full_model(self) -> None:
        # each truck costs its own per trip (depots differ), so classes run into the
        # hundreds and the planner prunes trip variables by their LP reduced cost first
        fleet = tuple(
            truck(
                f"V{n:03d}",
                payload_kg=22_000 + (n * 7) % 6 * 1_000,
                fixed_cost_cents=15_000 + (n * 53) % 7_000,
                trips_per_day=1 + n % 2,
            )
            for n in range(160)
        )
        request = SplitRequest(
            cargo=BulkCargo(mass_kg=300_000),
            fleet=fleet,
            pickup_days=window(2),
            plant=PlantCapacity(trips_per_day=9),
        )
        plan = plan_split(request, time_limit_s=8.0)
        assert validate_plan(request, plan) == []
        assert plan.status is PlanStatus.OPTIMAL
        classes = bulk_classes(fleet, request)
        limits = plant_limits(request)
        floors = [c.floor_kg for c in classes]
        bounds = trip_upper_bounds(classes, quantity_kg=300_000, floors=floors, limits=limits)
        assert len(bounds) > 300  # enough trip variables for the pricing path
        full = solve_bulk_model(
            classes,
            request,
            limits,
            floors=floors,
            hint=None,
            time_limit_s=8.0,
            workers=8,
            tidy=False,
        )
        assert full.optimal
        assert full.solution is not None
        assert plan.total_cost_cents == full.solution.cost_cents
