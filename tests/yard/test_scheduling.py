from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yard.scheduling import (
    Appointment,
    Delivery,
    Dock,
    Load,
    Plan,
    SlotRules,
    at_minute,
    is_compatible,
    loading_duration_min,
    minutes_from,
    reslot,
    schedule,
)

SUGAR = Load(product="sugar", body="tipper", quantity_kg=25_000)
STEEL = Load(product="steel", body="flatbed", quantity_kg=22_000)
ETHANOL = Load(product="ethanol", body="tanker", quantity_kg=24_000, hazardous=True)
CAUSTIC = Load(product="caustic", body="tanker", quantity_kg=24_000, hazardous=True)


def bulk_dock(dock_id: str = "bulk", **kw: object) -> Dock:
    args: dict[str, object] = {
        "dock_id": dock_id,
        "products": frozenset({"sugar"}),
        "bodies": frozenset({"tipper"}),
        "loading_rate_kg_per_min": 1000,
        "opens_min": 360,
        "closes_min": 1320,
    }
    args.update(kw)
    return Dock(**args)  # type: ignore[arg-type]


def tanker_dock(dock_id: str = "tank", changeover_min: int = 20) -> Dock:
    return Dock(
        dock_id=dock_id,
        products=frozenset({"ethanol", "caustic"}),
        bodies=frozenset({"tanker"}),
        hazardous_bay=True,
        loading_rate_kg_per_min=1000,
        changeover_min=changeover_min,
        opens_min=360,
        closes_min=1320,
    )


def steel_dock(dock_id: str = "steel") -> Dock:
    return Dock(
        dock_id=dock_id,
        products=frozenset({"steel", "sugar"}),
        bodies=frozenset({"flatbed", "tipper"}),
        fixed_duration_min=35,
        opens_min=360,
        closes_min=1320,
    )


def assert_valid(plan: Plan, docks: list[Dock], deliveries: list[Delivery]) -> None:
    """No double-booking, compatible docks, hours, changeovers, ready times."""
    by_dock = {d.dock_id: d for d in docks}
    by_id = {d.delivery_id: d for d in deliveries}
    for a in plan.assignments:
        dv = by_id[a.delivery_id]
        dock = by_dock[a.dock_id]
        assert is_compatible(dock, dv.load), (a, dv)
        if dv.fixed is None:
            assert a.start_min >= dv.ready_min
            assert dock.opens_min <= a.start_min
            assert a.end_min <= dock.closes_min
            for c0, c1 in dock.closed:
                assert a.end_min <= c0 or a.start_min >= c1
    for dock in docks:
        on_dock = sorted(
            (a for a in plan.assignments if a.dock_id == dock.dock_id), key=lambda a: a.start_min
        )
        for first, second in itertools.pairwise(on_dock):
            gap = (
                dock.changeover_min
                if by_id[first.delivery_id].load.product != by_id[second.delivery_id].load.product
                else 0
            )
            assert first.end_min + gap <= second.start_min, (first, second)


class TestTimeConversion:
    def test_minutes_round_trip_at_the_edges(self) -> None:
        origin = datetime(2025, 3, 1)
        at = origin + timedelta(hours=9, minutes=40, seconds=30)
        assert minutes_from(origin, at) == 580
        assert at_minute(origin, 580) == origin + timedelta(hours=9, minutes=40)


class TestCompatibility:
    def test_hazardous_load_needs_a_hazardous_bay(self) -> None:
        plain_tank = Dock(
            dock_id="t",
            products=frozenset({"ethanol"}),
            bodies=frozenset({"tanker"}),
            loading_rate_kg_per_min=1000,
        )
        assert not is_compatible(plain_tank, ETHANOL)
        assert is_compatible(tanker_dock(), ETHANOL)

    def test_duration_from_rate_or_fixed(self) -> None:
        assert loading_duration_min(bulk_dock(handling_min=5), SUGAR) == 30
        assert loading_duration_min(steel_dock(), STEEL) == 35

    def test_hazardous_truck_is_never_put_on_a_plain_dock(self) -> None:
        docks = [bulk_dock(), tanker_dock()]
        deliveries = [Delivery(delivery_id="e", load=ETHANOL, ready_min=400)]
        plan = schedule(docks=docks, deliveries=deliveries, time_limit_s=0.5)
        assignment = plan.get("e")
        assert assignment is not None
        assert assignment.dock_id == "tank"

    def test_a_load_no_dock_takes_is_left_unscheduled(self) -> None:
        deliveries = [Delivery(delivery_id="c", load=STEEL, ready_min=400)]
        plan = schedule(docks=[bulk_dock()], deliveries=deliveries, time_limit_s=0.5)
        assert plan.unscheduled == ("c",)


class TestHoursAndChangeovers:
    def test_loads_avoid_the_lunch_break_and_stay_inside_hours(self) -> None:
        dock = bulk_dock(closed=((720, 780),), closes_min=810)
        deliveries = [
            Delivery(delivery_id=f"d{i}", load=SUGAR, ready_min=690, preferred_min=700)
            for i in range(3)
        ]
        plan = schedule(
            docks=[dock], deliveries=deliveries, slots=SlotRules(slot_min=5), time_limit_s=1
        )
        assert_valid(plan, [dock], deliveries)
        # one 25-minute load before the break, one right after it, the third cannot end by 810
        assert sorted(a.start_min for a in plan.assignments)[1] == 780
        assert len(plan.assignments) == 2
        assert len(plan.unscheduled) == 1

    def test_different_products_keep_the_changeover_apart(self) -> None:
        dock = tanker_dock(changeover_min=20)
        deliveries = [
            Delivery(delivery_id="e1", load=ETHANOL, ready_min=400),
            Delivery(delivery_id="c1", load=CAUSTIC, ready_min=400),
            Delivery(delivery_id="e2", load=ETHANOL, ready_min=400),
        ]
        plan = schedule(
            docks=[dock], deliveries=deliveries, slots=SlotRules(slot_min=5), time_limit_s=1
        )
        assert_valid(plan, [dock], deliveries)
        starts = sorted(plan.assignments, key=lambda a: a.start_min)
        products = [a.delivery_id[0] for a in starts]
        # two ethanol loads run back to back, one flush, then caustic (or the reverse)
        assert products in (["e", "e", "c"], ["c", "e", "e"])
        span = starts[-1].end_min - starts[0].start_min
        # three loads and one flush, give or take rounding to the 5-minute grid
        assert 3 * 24 + 20 <= span <= 3 * 24 + 20 + 2 * 5

    def test_gate_capacity_limits_starts_per_slot(self) -> None:
        docks = [bulk_dock(f"b{i}") for i in range(3)]
        deliveries = [Delivery(delivery_id=f"d{i}", load=SUGAR, ready_min=420) for i in range(3)]
        plan = schedule(
            docks=docks,
            deliveries=deliveries,
            slots=SlotRules(slot_min=15, capacity_per_slot=1),
            time_limit_s=1,
        )
        starts = sorted(a.start_min for a in plan.assignments)
        assert starts == [420, 435, 450]


loads = st.sampled_from([SUGAR, STEEL, ETHANOL, CAUSTIC])


@st.composite
def days(draw: st.DrawFn) -> tuple[list[Dock], list[Delivery]]:
    docks = [bulk_dock(), steel_dock(), tanker_dock()]
    n = draw(st.integers(min_value=1, max_value=14))
    deliveries = []
    for i in range(n):
        ready = draw(st.integers(min_value=300, max_value=1250))
        deliveries.append(
            Delivery(
                delivery_id=f"d{i}",
                load=draw(loads),
                ready_min=ready,
                preferred_min=ready + draw(st.integers(min_value=0, max_value=60)),
                due_min=draw(st.none() | st.integers(min_value=ready + 30, max_value=1400)),
            )
        )
    return docks, deliveries


class TestPlanProperties:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(day=days(), time_limit_s=st.sampled_from([0.0, 0.3]))
    def test_never_double_books_or_uses_an_incompatible_dock(
        self, day: tuple[list[Dock], list[Delivery]], time_limit_s: float
    ) -> None:
        docks, deliveries = day
        plan = schedule(
            docks=docks,
            deliveries=deliveries,
            slots=SlotRules(slot_min=5),
            time_limit_s=time_limit_s,
            workers=1,
        )
        assert_valid(plan, docks, deliveries)
        placed = {a.delivery_id for a in plan.assignments} | set(plan.unscheduled)
        assert placed == {d.delivery_id for d in deliveries}
        assert plan.objective <= plan.greedy_objective
        if plan.best_bound is not None:
            assert plan.best_bound <= plan.objective


class TestFixedAppointments:
    def test_fixed_appointment_stays_and_others_work_around_it(self) -> None:
        dock = bulk_dock()
        deliveries = [
            Delivery(
                delivery_id="fixed",
                load=SUGAR,
                ready_min=600,
                fixed=Appointment("bulk", 600),
            ),
            Delivery(delivery_id="new", load=SUGAR, ready_min=600),
        ]
        plan = schedule(docks=[dock], deliveries=deliveries, time_limit_s=1)
        fixed, new = plan.get("fixed"), plan.get("new")
        assert fixed is not None
        assert new is not None
        assert fixed.start_min == 600
        assert new.start_min >= fixed.end_min

    def test_clashing_fixed_appointments_are_refused(self) -> None:
        deliveries = [
            Delivery(delivery_id=k, load=SUGAR, ready_min=600, fixed=Appointment("bulk", 600))
            for k in ("a", "b")
        ]
        with pytest.raises(ValueError, match="clash"):
            schedule(docks=[bulk_dock()], deliveries=deliveries)


class TestReslotting:
    def setup_method(self) -> None:
        self.docks = [bulk_dock("b1"), bulk_dock("b2")]
        self.deliveries = [
            Delivery(delivery_id=f"t{i}", load=SUGAR, ready_min=480 + 30 * (i // 2))
            for i in range(8)
        ]
        self.plan = schedule(
            docks=self.docks,
            deliveries=self.deliveries,
            slots=SlotRules(slot_min=5),
            time_limit_s=1,
        )

    def test_late_truck_moves_and_the_others_keep_their_slots(self) -> None:
        late = "t2"
        before = self.plan.get(late)
        assert before is not None
        revised = reslot(
            docks=self.docks,
            deliveries=self.deliveries,
            current=self.plan,
            eta_min={late: before.start_min + 50},
            slots=SlotRules(slot_min=5),
            time_limit_s=1,
        )
        after = revised.get(late)
        assert after is not None
        assert after.start_min >= before.start_min + 50
        assert_valid(revised, self.docks, self.deliveries)
        moved = [
            a.delivery_id
            for a in revised.assignments
            if a.delivery_id != late and self.plan.get(a.delivery_id) != a
        ]
        assert moved == []

    def test_no_show_frees_its_slot_for_a_truck_that_was_pushed_back(self) -> None:
        docks = [bulk_dock()]
        deliveries = [
            Delivery(delivery_id="first", load=SUGAR, ready_min=480),
            Delivery(delivery_id="second", load=SUGAR, ready_min=480),
        ]
        plan = schedule(
            docks=docks, deliveries=deliveries, slots=SlotRules(slot_min=5), time_limit_s=1
        )
        first = plan.assignments[0]
        pushed = plan.assignments[1]
        assert pushed.start_min > first.start_min
        revised = reslot(
            docks=docks,
            deliveries=deliveries,
            current=plan,
            no_shows={first.delivery_id},
            slots=SlotRules(slot_min=5),
            time_limit_s=1,
        )
        assert revised.get(first.delivery_id) is None
        refilled = revised.get(pushed.delivery_id)
        assert refilled is not None
        assert refilled.start_min == first.start_min

    def test_keep_weight_trades_moves_against_delay(self) -> None:
        docks = [bulk_dock()]
        deliveries = [Delivery(delivery_id="a", load=SUGAR, ready_min=480)]
        current = schedule(docks=docks, deliveries=deliveries, time_limit_s=0)
        current_late = Plan(
            assignments=tuple(
                type(a)(a.delivery_id, a.dock_id, a.start_min + 30, a.end_min + 30)
                for a in current.assignments
            ),
            unscheduled=(),
            objective=0,
            greedy_objective=0,
            best_bound=None,
            status=current.status,
            solve_s=0,
        )
        sticky = reslot(
            docks=docks, deliveries=deliveries, current=current_late, keep_weight=10_000
        )
        loose = reslot(docks=docks, deliveries=deliveries, current=current_late, keep_weight=0)
        assert sticky.assignments[0].start_min == 510
        assert loose.assignments[0].start_min == 480


def congested_day(n: int = 24) -> tuple[list[Dock], list[Delivery]]:
    """Two bulk docks and wishes bunched far beyond what they can load at once."""
    docks = [bulk_dock("b1"), bulk_dock("b2")]
    deliveries = [
        Delivery(
            delivery_id=f"d{i:02d}",
            load=SUGAR,
            ready_min=480 + 10 * (i // 3) - 60,
            preferred_min=480 + 10 * (i // 3),
        )
        for i in range(n)
    ]
    return docks, deliveries


class TestSearch:
    def test_solver_time_beats_the_greedy_plan_on_a_bunched_day(self) -> None:
        docks, deliveries = congested_day()
        plan = schedule(
            docks=docks,
            deliveries=deliveries,
            slots=SlotRules(slot_min=5),
            time_limit_s=1.0,
            workers=1,
            window_size=8,
        )
        assert_valid(plan, docks, deliveries)
        assert plan.unscheduled == ()
        # the greedy queues the bunch behind its wishes; starting some early costs less
        assert plan.objective < 0.9 * plan.greedy_objective

    def test_a_short_time_limit_gives_the_same_plan_every_time(self) -> None:
        docks, deliveries = congested_day()
        plans = [
            schedule(
                docks=docks,
                deliveries=deliveries,
                slots=SlotRules(slot_min=5),
                time_limit_s=1e-3,
                workers=1,
                window_size=8,
            )
            for _ in range(2)
        ]
        assert plans[0].assignments == plans[1].assignments
        assert plans[0].objective < plans[0].greedy_objective

    def test_small_problems_are_solved_whole_with_a_proven_bound(self) -> None:
        docks = [bulk_dock()]
        deliveries = [
            Delivery(delivery_id=f"d{i}", load=SUGAR, ready_min=470, preferred_min=480)
            for i in range(3)
        ]
        plan = schedule(
            docks=docks, deliveries=deliveries, slots=SlotRules(slot_min=5), time_limit_s=2
        )
        assert plan.best_bound is not None
        assert plan.best_bound <= plan.objective
        assert plan.gap == 0.0


class TestOvertime:
    def test_a_load_may_run_past_closing_only_into_allowed_overtime(self) -> None:
        late = [Delivery(delivery_id="late", load=SUGAR, ready_min=1300)]
        without = schedule(docks=[bulk_dock()], deliveries=late, time_limit_s=0)
        assert without.unscheduled == ("late",)
        with_overtime = schedule(
            docks=[bulk_dock(overtime_min=60)],
            deliveries=late,
            slots=SlotRules(slot_min=5),
            time_limit_s=0,
        )
        got = with_overtime.get("late")
        assert got is not None
        assert got.end_min > 1320
        # each minute past closing is paid for
        assert with_overtime.objective >= (got.end_min - 1320) * 10

    def test_work_is_kept_inside_hours_when_it_fits(self) -> None:
        deliveries = [
            Delivery(delivery_id=f"d{i}", load=SUGAR, ready_min=1200, preferred_min=1260)
            for i in range(2)
        ]
        plan = schedule(
            docks=[bulk_dock(overtime_min=120)],
            deliveries=deliveries,
            slots=SlotRules(slot_min=5),
            time_limit_s=0.5,
        )
        # starting both a little early beats a second load running into overtime
        assert all(a.end_min <= 1320 for a in plan.assignments)


class TestDockChoice:
    def test_a_load_two_kinds_take_leaves_the_busy_kind_alone(self) -> None:
        busy = Dock(
            dock_id="busy",
            products=frozenset({"sugar", "steel"}),
            bodies=frozenset({"tipper", "flatbed"}),
            loading_rate_kg_per_min=1000,
            opens_min=360,
            closes_min=1320,
        )
        quiet = Dock(
            dock_id="quiet",
            products=frozenset({"steel"}),
            bodies=frozenset({"flatbed"}),
            fixed_duration_min=35,
            opens_min=360,
            closes_min=1320,
        )
        shared = Delivery(delivery_id="coil", load=STEEL, ready_min=600)
        only_busy = [
            Delivery(delivery_id=f"s{i}", load=SUGAR, ready_min=400 + 30 * i) for i in range(20)
        ]
        plan = schedule(docks=[busy, quiet], deliveries=[shared, *only_busy], time_limit_s=0)
        coil = plan.get("coil")
        assert coil is not None
        assert coil.dock_id == "quiet"

    def test_two_products_on_one_dock_are_run_in_batches(self) -> None:
        dock = tanker_dock(changeover_min=20)
        deliveries = [
            Delivery(
                delivery_id=f"{'e' if i % 2 else 'c'}{i}",
                load=ETHANOL if i % 2 else CAUSTIC,
                ready_min=400,
                preferred_min=400 + 10 * i,
            )
            for i in range(6)
        ]
        plan = schedule(
            docks=[dock], deliveries=deliveries, slots=SlotRules(slot_min=5), time_limit_s=1
        )
        assert_valid(plan, [dock], deliveries)
        order = [a.delivery_id[0] for a in plan.assignments]
        switches = sum(1 for a, b in itertools.pairwise(order) if a != b)
        # asked for in alternation, loaded in two runs with a single flush between them
        assert switches == 1
