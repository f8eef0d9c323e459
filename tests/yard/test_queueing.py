from __future__ import annotations

import itertools

from yard.queueing import (
    Call,
    DockState,
    ExpectedTruck,
    QueueRules,
    Standing,
    WaitingTruck,
    choose_truck,
    estimate_calls,
    standing,
)
from yard.scheduling import Appointment, Dock, Load

SUGAR = Load(product="sugar", body="tipper", quantity_kg=25_000)
STEEL = Load(product="steel", body="flatbed", quantity_kg=22_000)
RULES = QueueRules(late_tolerance_min=15, call_ahead_min=10, drive_to_dock_min=4, gap_slack_min=5)


def dock(dock_id: str = "b1") -> Dock:
    return Dock(
        dock_id=dock_id,
        products=frozenset({"sugar"}),
        bodies=frozenset({"tipper"}),
        loading_rate_kg_per_min=1000,
    )


def free(dock_id: str = "b1", at: float = 600) -> DockState:
    return DockState(dock(dock_id), at)


class TestStanding:
    def test_classifies_against_the_appointment(self) -> None:
        app = Appointment("b1", 600)
        on_time = WaitingTruck("a", SUGAR, arrived_min=595, appointment=app)
        assert standing(on_time, now_min=595, rules=RULES) is Standing.DUE
        assert standing(on_time, now_min=570, rules=RULES) is Standing.EARLY
        late = WaitingTruck("b", SUGAR, arrived_min=640, appointment=app)
        assert standing(late, now_min=640, rules=RULES) is Standing.LATE
        walk_in = WaitingTruck("c", SUGAR, arrived_min=600)
        assert standing(walk_in, now_min=600, rules=RULES) is Standing.UNPLANNED


class TestChooseTruck:
    def test_on_time_truck_goes_before_trucks_that_waited_longer(self) -> None:
        waiting = [
            WaitingTruck("walk-in", SUGAR, arrived_min=500),
            WaitingTruck("late", SUGAR, arrived_min=520, appointment=Appointment("b1", 480)),
            WaitingTruck("on-time", SUGAR, arrived_min=598, appointment=Appointment("b1", 600)),
        ]
        call = choose_truck(dock=free(), waiting=waiting, now_min=600, rules=RULES)
        assert call is not None
        assert call.truck_id == "on-time"
        assert call.standing is Standing.DUE

    def test_due_trucks_are_called_in_appointment_order(self) -> None:
        waiting = [
            WaitingTruck("second", SUGAR, arrived_min=590, appointment=Appointment("b1", 605)),
            WaitingTruck("first", SUGAR, arrived_min=599, appointment=Appointment("b1", 600)),
        ]
        call = choose_truck(dock=free(), waiting=waiting, now_min=600, rules=RULES)
        assert call is not None
        assert call.truck_id == "first"

    def test_gap_is_filled_when_the_next_appointment_is_far(self) -> None:
        waiting = [
            WaitingTruck("walk-in", SUGAR, arrived_min=560),
            WaitingTruck("early", SUGAR, arrived_min=570, appointment=Appointment("b1", 700)),
        ]
        call = choose_truck(dock=free(), waiting=waiting, now_min=600, rules=RULES)
        assert call is not None
        # longest wait first among gap fillers
        assert call.truck_id == "walk-in"

    def test_filler_is_held_back_when_it_would_delay_a_truck_about_to_arrive(self) -> None:
        waiting = [WaitingTruck("walk-in", SUGAR, arrived_min=560)]
        coming = [ExpectedTruck("booked", SUGAR, Appointment("b1", 606), eta_min=603)]
        call = choose_truck(dock=free(), waiting=waiting, expected=coming, now_min=600, rules=RULES)
        # the walk-in would load 604-629 and hold the booked truck up 23 minutes, while the
        # dock would stand idle only 2: keep the dock for the booked truck
        assert call is None

    def test_dock_is_not_kept_idle_for_a_truck_still_far_off(self) -> None:
        waiting = [WaitingTruck("walk-in", SUGAR, arrived_min=560)]
        coming = [ExpectedTruck("booked", SUGAR, Appointment("b1", 615), eta_min=612)]
        call = choose_truck(dock=free(), waiting=waiting, expected=coming, now_min=600, rules=RULES)
        # eleven idle minutes would cost more than the booked truck's wait behind the walk-in
        assert call is not None
        assert call.truck_id == "walk-in"

    def test_filler_that_fits_before_the_next_appointment_is_called(self) -> None:
        waiting = [WaitingTruck("walk-in", SUGAR, arrived_min=560)]
        coming = [ExpectedTruck("booked", SUGAR, Appointment("b1", 640), eta_min=630)]
        call = choose_truck(dock=free(), waiting=waiting, expected=coming, now_min=600, rules=RULES)
        assert call is not None
        assert call.truck_id == "walk-in"

    def test_incompatible_trucks_are_not_called(self) -> None:
        waiting = [WaitingTruck("coil", STEEL, arrived_min=500)]
        assert choose_truck(dock=free(), waiting=waiting, now_min=600, rules=RULES) is None

    def test_truck_that_lost_a_call_goes_after_the_others(self) -> None:
        waiting = [
            WaitingTruck("missed", SUGAR, arrived_min=500, missed_calls=1),
            WaitingTruck("walk-in", SUGAR, arrived_min=550),
        ]
        call = choose_truck(dock=free(), waiting=waiting, now_min=600, rules=RULES)
        assert call is not None
        assert call.truck_id == "walk-in"


class TestCallLapse:
    def test_called_truck_loses_the_call_after_the_response_time(self) -> None:
        call = Call("a", "b1", called_at_min=600, respond_by_min=610, standing=Standing.DUE)
        assert not call.lapsed(now_min=609, reached_dock=False)
        assert call.lapsed(now_min=611, reached_dock=False)
        assert not call.lapsed(now_min=611, reached_dock=True)

    def test_call_carries_the_response_deadline(self) -> None:
        waiting = [WaitingTruck("a", SUGAR, arrived_min=590)]
        call = choose_truck(dock=free(), waiting=waiting, now_min=600, rules=RULES)
        assert call is not None
        assert call.respond_by_min == 600 + RULES.respond_within_min


class TestEstimates:
    def test_positions_follow_expected_call_times_and_respect_the_policy(self) -> None:
        waiting = [
            WaitingTruck("walk-in", SUGAR, arrived_min=540),
            WaitingTruck("on-time", SUGAR, arrived_min=598, appointment=Appointment("b1", 600)),
            WaitingTruck("later", SUGAR, arrived_min=599, appointment=Appointment("b1", 640)),
        ]
        estimates = estimate_calls(
            docks=[free("b1", 600), free("b2", 615)], waiting=waiting, now_min=600, rules=RULES
        )
        assert [e.position for e in estimates] == [1, 2, 3]
        times = [e.expected_call_min for e in estimates]
        assert times == sorted(times)
        assert estimates[0].truck_id == "on-time"
        assert estimates[0].expected_call_min == 600
        # the second dock frees at 615 and calls one drive ahead
        assert estimates[1].expected_call_min == 611
        assert {e.truck_id for e in estimates} == {"walk-in", "on-time", "later"}

    def test_a_longer_queue_means_later_calls(self) -> None:
        waiting = [WaitingTruck(f"t{i}", SUGAR, arrived_min=500 + i) for i in range(4)]
        estimates = estimate_calls(
            docks=[free("b1", 600)], waiting=waiting, now_min=600, rules=RULES
        )
        assert [e.truck_id for e in estimates] == ["t0", "t1", "t2", "t3"]
        gaps = [b.expected_call_min - a.expected_call_min for a, b in itertools.pairwise(estimates)]
        # each load takes 25 minutes of dock time
        assert all(gap == 25 for gap in gaps)
