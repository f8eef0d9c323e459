from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from tests.yard.test_scheduling import (
    SUGAR,
    bulk_dock,
    congested_day,
    days,
)
from yard.scheduling import Delivery, Dock, SlotRules, schedule
from yard.scheduling_bound import lower_bound


class TestLowerBound:
    def test_nothing_to_pay_when_every_wish_fits(self) -> None:
        deliveries = [
            Delivery(delivery_id=f"d{i}", load=SUGAR, ready_min=480 + 60 * i) for i in range(4)
        ]
        assert lower_bound(docks=[bulk_dock()], deliveries=deliveries) == 0

    def test_bunched_wishes_have_a_price_no_plan_beats(self) -> None:
        docks, deliveries = congested_day()
        slots = SlotRules(slot_min=5)
        bound = lower_bound(docks=docks, deliveries=deliveries, slots=slots)
        plan = schedule(docks=docks, deliveries=deliveries, slots=slots, time_limit_s=1.0)
        assert 0 < bound <= plan.objective
        # on a pool of two alike docks and one product the relaxation is tight enough to say
        # the plan is within a few tens of percent of the best
        assert plan.objective <= 1.5 * bound

    def test_a_load_no_dock_takes_costs_the_unscheduled_fee(self) -> None:
        steel_only = Dock(
            dock_id="s",
            products=frozenset({"steel"}),
            bodies=frozenset({"flatbed"}),
            fixed_duration_min=35,
        )
        deliveries = [Delivery(delivery_id="x", load=SUGAR, ready_min=0)]
        assert lower_bound(docks=[steel_only], deliveries=deliveries) == 100_000

    @settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(day=days())
    def test_never_above_a_plan(self, day: tuple[list[Dock], list[Delivery]]) -> None:
        docks, deliveries = day
        slots = SlotRules(slot_min=5)
        plan = schedule(
            docks=docks, deliveries=deliveries, slots=slots, time_limit_s=0.2, workers=1
        )
        assert lower_bound(docks=docks, deliveries=deliveries, slots=slots) <= plan.objective
