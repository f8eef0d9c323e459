"""The two policies Haulpoint is measured against: today's practice and plain appointments.

Today's practice (fifo): drivers come when they like (the arrival pattern is a parameter),
walk their paperwork between offices (10-20 minutes), and queue; a dock that frees takes the
truck that joined the queue first among those it can load.

Plain appointments: what most dock-scheduling products do. Each dock's day is cut into evenly
spaced slots, one truck each; the slot length is the dock's mean loading time plus, where it
switches products, half a changeover, rounded to five minutes. Carriers book in random order,
each taking the free slot nearest to the time it wants on any dock that can load it (slots past
closing only when the day is full). Drivers aim to reach the gate 15 minutes before the slot to
do the same paperwork; nothing is known about a truck until it is at the gate. A dock that frees
takes, among the trucks waiting that it can load, the one with the earliest slot (trucks are not
bound to the dock their slot was booked on); a truck more than the late tolerance behind its
slot has lost it and waits with the unplanned trucks, which go after every slot holder.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Generator, Sequence
from typing import Any

from simulations.yard_day import Scenario, Truck, departure_min
from simulations.yard_run import DockRun, Visit, Yard
from yard.scheduling import Appointment, Dock, is_compatible, loading_duration_min


def _run_queue(yard: Yard, priority: Callable[[Visit], tuple[float, ...]]) -> None:
    """A free dock takes the waiting truck it can load with the lowest priority value."""

    def dock_process(run: DockRun) -> Generator[Any]:
        yield yard.env.timeout(max(0.0, run.free_at_min - yard.env.now))
        while not yard.all_served():
            candidates = [v for v in yard.waiting if is_compatible(run.dock, v.truck.load)]
            if not candidates:
                yield yard.changed.wait()
                continue
            chosen = min(candidates, key=priority)
            yard.waiting.remove(chosen)
            now = yard.env.now
            chosen.called_min = now
            run.reserved = True
            yard.serve(run, chosen, now + chosen.truck.dock_drive_min)
            yield yard.env.timeout(max(0.0, run.free_at_min - yard.env.now))

    for run in yard.runs.values():
        yard.env.process(dock_process(run))
    yard.env.process(yard.monitor())
    yard.env.run()


def run_fifo(scenario: Scenario, trucks: Sequence[Truck], seed: int) -> Yard:
    """Today's practice: own arrival times, paperwork on foot, first come first served."""
    yard = Yard(scenario, trucks, seed)
    for visit in yard.visits.values():
        truck = visit.truck
        if not truck.no_show:
            yard.env.process(yard.gate_arrival(visit, truck.requested_min, truck.paperwork_min))
    _run_queue(yard, lambda v: (v.checked_in_min,))
    return yard


def slot_length_min(dock: Dock, trucks: Sequence[Truck]) -> int:
    """A dock's slot: mean loading time of the loads it takes, half a changeover if it switches."""
    durations = [loading_duration_min(dock, t.load) for t in trucks if is_compatible(dock, t.load)]
    mean = sum(durations) / len(durations) if durations else 30.0
    if len(dock.products) > 1:
        mean += dock.changeover_min / 2
    return max(5, 5 * round(mean / 5))


def plain_slot_plan(
    scenario: Scenario, trucks: Sequence[Truck], docks: Sequence[Dock], seed: int
) -> dict[str, Appointment]:
    """Evenly spaced slots per dock, booked in random order at the free slot nearest the wish."""
    free: dict[str, list[int]] = {}
    for dock in docks:
        length = slot_length_min(dock, trucks)
        last = scenario.closes_min + scenario.overtime_allowed_min - length
        free[dock.dock_id] = list(range(scenario.opens_min, last + 1, length))
    closes = scenario.closes_min
    booked = [t for t in trucks if t.planned]
    random.Random(seed).shuffle(booked)
    plan = {}
    for truck in booked:
        best: tuple[tuple[float, ...], str, int] | None = None
        for dock in docks:
            if not is_compatible(dock, truck.load):
                continue
            starts = free[dock.dock_id]
            i = bisect.bisect_left(starts, truck.requested_min)
            for j in (i - 1, i):
                if 0 <= j < len(starts):
                    start = starts[j]
                    dur = loading_duration_min(dock, truck.load)
                    # a slot in opening hours beats any overtime slot
                    key = (start + dur > closes, abs(start - truck.requested_min), start)
                    if best is None or key < best[0]:
                        best = (key, dock.dock_id, start)
        if best is not None:
            free[best[1]].remove(best[2])
            plan[truck.truck_id] = Appointment(best[1], best[2])
    return plan


def run_plain_slots(scenario: Scenario, trucks: Sequence[Truck], seed: int) -> Yard:
    """Plain appointments: evenly spaced slots, no live data, paperwork on foot."""
    yard = Yard(scenario, trucks, seed)
    plan = plain_slot_plan(scenario, trucks, yard.docks, seed)
    for visit in yard.visits.values():
        truck = visit.truck
        if truck.no_show:
            continue
        app = plan.get(truck.truck_id)
        visit.appointment = visit.first_appointment = app
        if app is None:
            arrive = truck.requested_min
        else:
            visit.target_arrival_min = app.start_min - scenario.plain_check_in_lead_min
            told = visit.target_arrival_min - truck.trip_min
            visit.departed_min = departure_min(truck, told_min=told, first_told_min=told)
            arrive = visit.departed_min + truck.trip_min + truck.road_dev_min
        yard.env.process(yard.gate_arrival(visit, arrive, truck.paperwork_min))

    def priority(v: Visit) -> tuple[float, ...]:
        app = v.appointment
        if app is None or v.arrived_min > app.start_min + scenario.late_tolerance_min:
            return (1.0, v.checked_in_min)
        return (0.0, float(app.start_min), v.checked_in_min)

    _run_queue(yard, priority)
    return yard
