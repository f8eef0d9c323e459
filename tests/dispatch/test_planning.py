"""The planner on generated fleets and orders: every plan it returns holds up."""

from collections import Counter

from hypothesis import HealthCheck, given, settings

from dispatch.planning import (
    BodyType,
    BulkCargo,
    ItemCargo,
    Plan,
    PlanStatus,
    SplitRequest,
    plan_greedy,
    plan_split,
    validate_plan,
)
from dispatch.planning.compatibility import compatible_fleet
from dispatch.planning.fleet import plant_limits
from dispatch.planning.items import build_problem
from dispatch.planning.packing import solve_packing
from dispatch.planning.search import assignment_cost
from tests.dispatch.planning_factories import bulk_requests, item_requests

PROPERTY_SETTINGS = settings(
    max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_plan_holds(request: SplitRequest, plan: Plan) -> None:
    """Check what a dispatcher would look at, without the validator's help."""
    fleet = {vehicle.id: vehicle for vehicle in request.fleet}
    needs = request.needs
    cargo = request.cargo
    for trip in plan.trips:
        vehicle = fleet[trip.vehicle_id]
        assert 0 < trip.mass_kg <= vehicle.payload_kg
        assert trip.day in request.pickup_days
        assert vehicle.available_days is None or trip.day in vehicle.available_days
        assert not needs.food_grade or vehicle.food_grade
        assert needs.hazard_class is None or needs.hazard_class in vehicle.hazard_classes
        assert needs.bodies is None or vehicle.body in needs.bodies
        if isinstance(cargo, BulkCargo) and vehicle.body is BodyType.TANKER:
            assert cargo.density_kg_per_m3 is not None
            assert sum(load.mass_kg for load in trip.compartments) == trip.mass_kg
            for load, compartment in zip(trip.compartments, vehicle.compartments, strict=True):
                litres = load.mass_kg / cargo.density_kg_per_m3 * 1000
                assert litres <= compartment.capacity_l * cargo.max_fill_ratio + 1e-6
    per_vehicle_day = Counter((trip.vehicle_id, trip.day) for trip in plan.trips)
    for (vehicle_id, _), count in per_vehicle_day.items():
        assert count <= fleet[vehicle_id].trips_per_day
    if isinstance(cargo, BulkCargo):
        assert sum(trip.mass_kg for trip in plan.trips) == cargo.mass_kg
    else:
        carried = sorted(item_id for trip in plan.trips for item_id in trip.item_ids)
        assert carried == sorted(item.id for item in cargo.items)
    assert plan.total_cost_cents == sum(trip.cost_cents for trip in plan.trips)


def check_against_baseline(request: SplitRequest) -> None:
    plan = plan_split(request, time_limit_s=2.0)
    baseline = plan_greedy(request)
    if plan.ok:
        assert validate_plan(request, plan) == []
        assert_plan_holds(request, plan)
        assert plan.lower_bound_cents is None or plan.lower_bound_cents <= plan.total_cost_cents
        if plan.status is PlanStatus.OPTIMAL:
            assert plan.lower_bound_cents == plan.total_cost_cents
    else:
        assert plan.reason
        assert plan.trips == ()
    if baseline.ok:
        assert validate_plan(request, baseline) == []
        assert plan.ok
        assert plan.total_cost_cents <= baseline.total_cost_cents
    if plan.status is PlanStatus.INFEASIBLE:
        assert not baseline.ok


class TestGeneratedBulk:
    @PROPERTY_SETTINGS
    @given(bulk_requests())
    def test_every_plan_is_valid_and_no_worse_than_the_greedy(self, request: SplitRequest) -> None:
        check_against_baseline(request)


class TestGeneratedItems:
    @PROPERTY_SETTINGS
    @given(item_requests())
    def test_every_plan_is_valid_and_no_worse_than_the_greedy(self, request: SplitRequest) -> None:
        assert isinstance(request.cargo, ItemCargo)
        check_against_baseline(request)


class TestItemBoundAgainstTheFullModel:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(item_requests())
    def test_the_bound_never_exceeds_the_proven_optimum(self, request: SplitRequest) -> None:
        plan = plan_split(request, time_limit_s=2.0)
        vehicles, _ = compatible_fleet(request)
        if not plan.ok or not vehicles:
            return
        problem = build_problem(vehicles, request, plant_limits(request))
        exact = solve_packing(
            problem, hint=None, lower_bound_cents=None, time_limit_s=5.0, workers=8
        )
        if not exact.optimal or exact.assignment is None:
            return  # the reference itself is unproven: nothing to compare against
        optimum = assignment_cost(problem, exact.assignment)
        assert plan.lower_bound_cents is not None
        assert plan.lower_bound_cents <= optimum <= plan.total_cost_cents
        if plan.status is PlanStatus.OPTIMAL:
            assert plan.total_cost_cents == optimum
