"""Yard simulation: today's first come, first served against plain slots and Haulpoint's yard.

One plant, one day of trucks, three policies on the same trucks, loads, service times, noise
and docks (common random numbers):

- fifo: drivers pick their own arrival time and queue at the gate in arrival order, after
  walking their paperwork between offices;
- plain_slots: evenly spaced slots per dock, no live information, the same paperwork;
- haulpoint: slots from the scheduler, live ETAs that re-slot trucks before they arrive, a pass
  scan at the gate, the virtual queue and call-forward from the parking area.

Definitions printed with the results: wait is gate arrival until the truck is called to a dock
(for fifo and plain_slots, until the dock starts serving it: they queue in front of the dock);
any time a called truck then stands at the dock before loading starts counts as wait too. Turn
time is gate arrival to departure, paperwork included. Times are minutes from midnight.

Run: python -m simulations.yard_sim [--quick] [--json PATH] [--plots DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import simpy
from tqdm import tqdm

from simulations.yard_plant import make_docks, mean_loading_min, random_load
from yard.queueing import (
    DockState,
    ExpectedTruck,
    QueueRules,
    WaitingTruck,
    choose_truck,
)
from yard.scheduling import (
    Appointment,
    Delivery,
    Dock,
    Load,
    Plan,
    SlotRules,
    Weights,
    is_compatible,
    loading_duration_min,
    schedule,
)

POLICIES = ("fifo", "plain_slots", "haulpoint")
PATTERNS = ("uniform", "morning_peak")
PATTERN_SOURCES = {
    "uniform": "arrivals spread evenly over the admission hours: the kindest case for fifo",
    "morning_peak": (
        "45 % of drivers arrive in the first three hours, the rest evenly: a stylised form of "
        "the early-day gate peaks reported for truck terminals (NCFRP Report 11, Truck "
        "Drayage Productivity Guide, 2011; Kourounioti and Polydoropoulou, time-of-day "
        "models of truck arrivals), not a measured plant profile"
    ),
}
DEFINITIONS = {
    "wait": (
        "gate arrival until called to a dock; for fifo and plain_slots, until the dock starts "
        "serving the truck; time a called truck stands at the dock before loading counts too"
    ),
    "turn": "gate arrival to departure from the dock, gate paperwork included",
    "on_time": "arrived within the late tolerance of the appointment it held when it set off",
    "dock_utilization": "loading minutes inside opening hours / (docks x opening minutes)",
}


@dataclass(frozen=True)
class Scenario:
    """Every parameter of a simulated day."""

    n_docks: int = 12
    opens_min: int = 6 * 60
    closes_min: int = 22 * 60
    # arriving work (shows and unplanned trucks) over dock capacity in opening hours
    load_factor: float = 0.92
    unplanned_share: float = 0.08
    no_show_prob: float = 0.10
    sigma_min: float = 20.0
    # share of the arrival-time variance that arises before the truck leaves (late departure);
    # the rest arises on the road, where tracking sees it build up
    departure_variance_share: float = 0.5
    service_cv: float = 0.12
    paperwork_min: tuple[float, float] = (10.0, 20.0)
    pass_scan_min: tuple[float, float] = (0.5, 1.5)
    trip_min: tuple[float, float] = (30.0, 180.0)
    dock_drive_min: tuple[float, float] = (2.0, 5.0)
    # Haulpoint asks trucks to reach the gate this much before they are needed, so that a
    # late truck leaves someone to call rather than an idle dock
    arrival_buffer_min: float = 0.0
    gap_slack_min: float = 5.0
    # how well a dock forecasts the end of the load under way, to call the next truck ahead
    finish_forecast_sd_min: float = 2.0
    missed_call_prob: float = 0.03
    # admission stops this long before closing
    last_arrival_before_close_min: int = 60
    # trucks are asked to come at most this much earlier than they requested
    pull_forward_max_min: int = 60
    # a booked truck that has not left this long after its slot is written off
    no_show_after_min: int = 120
    replan_every_min: int = 10
    replan_horizon_min: int = 240
    slot_min: int = 5
    # the plant works overtime to clear booked trucks, as every policy does; Haulpoint slots
    # them into it instead of letting them queue
    overtime_planned_min: int = 240
    day_plan_time_limit_s: float = 2.0
    replan_time_limit_s: float = 0.2
    solver_workers: int = 1
    arrival_pattern: str = "uniform"


@dataclass(frozen=True)
class Truck:
    """One truck of the day and every random draw that concerns it (shared by all policies)."""

    truck_id: str
    load: Load
    planned: bool
    no_show: bool
    # the time the driver would come of their own accord; an unplanned truck's arrival
    requested_min: float
    trip_min: float
    departure_noise_min: float
    road_noise_min: float
    paperwork_min: float
    pass_scan_min: float
    service_factor: float
    dock_drive_min: float
    misses_first_call: bool
    eta_seed: int


@dataclass
class Visit:
    """What happened to one truck under one policy."""

    truck: Truck
    arrived_min: float = math.nan
    checked_in_min: float = math.nan
    called_min: float = math.nan
    service_start_min: float = math.nan
    end_min: float = math.nan
    dock_id: str = ""
    appointment: Appointment | None = None
    # the gate arrival the truck aimed at when it set off (from the appointment it then held)
    target_arrival_min: float = math.nan
    departed_min: float = math.nan
    missed_calls: int = 0
    written_off: bool = False
    planned_drive_min: float = 0.0

    @property
    def wait_min(self) -> float:
        if math.isnan(self.called_min):
            return self.service_start_min - self.arrived_min
        at_dock = self.called_min + self.planned_drive_min
        return (self.called_min - self.arrived_min) + max(0.0, self.service_start_min - at_dock)

    @property
    def turn_min(self) -> float:
        return self.end_min - self.arrived_min


def make_trucks(scenario: Scenario, seed: int) -> list[Truck]:
    """The day's trucks for one replication; the same list feeds every policy."""
    rng = random.Random(seed)
    docks = make_docks(
        n_docks=scenario.n_docks, opens_min=scenario.opens_min, closes_min=scenario.closes_min
    )
    capacity = scenario.n_docks * (scenario.closes_min - scenario.opens_min)
    arriving = scenario.load_factor * capacity / mean_loading_min(docks)
    n_unplanned = round(arriving * scenario.unplanned_share)
    n_booked = round(arriving * (1 - scenario.unplanned_share) / (1 - scenario.no_show_prob))
    first = scenario.opens_min
    last = scenario.closes_min - scenario.last_arrival_before_close_min
    dep_sd = scenario.sigma_min * math.sqrt(scenario.departure_variance_share)
    road_sd = scenario.sigma_min * math.sqrt(1 - scenario.departure_variance_share)
    trucks = []
    for i in range(n_booked + n_unplanned):
        planned = i < n_booked
        load = random_load(rng, docks)
        if planned and scenario.arrival_pattern == "morning_peak" and rng.random() < 0.45:
            requested = rng.uniform(first, first + 180)
        else:
            requested = rng.uniform(first, last)
        trip = rng.uniform(*scenario.trip_min)
        trucks.append(
            Truck(
                truck_id=f"T{i:04d}",
                load=load,
                planned=planned,
                no_show=planned and rng.random() < scenario.no_show_prob,
                requested_min=requested,
                trip_min=trip,
                departure_noise_min=rng.gauss(0, dep_sd),
                road_noise_min=max(-0.5 * trip, rng.gauss(0, road_sd)),
                paperwork_min=rng.uniform(*scenario.paperwork_min),
                pass_scan_min=rng.uniform(*scenario.pass_scan_min),
                service_factor=math.exp(rng.gauss(0, scenario.service_cv)),
                dock_drive_min=rng.uniform(*scenario.dock_drive_min),
                misses_first_call=rng.random() < scenario.missed_call_prob,
                eta_seed=rng.randrange(2**31),
            )
        )
    return trucks


class Signal:
    """A reusable SimPy wake-up: processes wait on it, anyone may fire it."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.event = env.event()

    def fire(self) -> None:
        if not self.event.triggered:
            self.event.succeed()
        self.event = self.env.event()

    def wait(self) -> simpy.Event:
        return self.event


@dataclass
class DockRun:
    """A dock's live state during a run."""

    dock: Dock
    free_at_min: float
    last_product: str | None = None
    forecast_free_min: float = 0.0
    busy_min_in_hours: float = 0.0
    planned_free_min: float = 0.0
    last_load: Load | None = None


class Yard:
    """Shared machinery of the three policies: docks, loading, measurement."""

    def __init__(self, scenario: Scenario, trucks: Sequence[Truck], seed: int) -> None:
        self.sc = scenario
        self.env = simpy.Environment(initial_time=0)
        self.docks = make_docks(
            n_docks=scenario.n_docks,
            opens_min=scenario.opens_min,
            closes_min=scenario.closes_min,
        )
        self.dock_runs = {
            d.dock_id: DockRun(d, float(scenario.opens_min), None, float(scenario.opens_min))
            for d in self.docks
        }
        self.visits = {t.truck_id: Visit(t) for t in trucks}
        self.waiting: list[Visit] = []
        self.changed = Signal(self.env)
        self.rng = random.Random(seed * 7919 + 17)
        self.queue_samples: list[tuple[float, int]] = []
        self.expected_arrivals = sum(1 for t in trucks if not t.no_show)

    def planned_duration(self, dock: Dock, truck: Truck) -> float:
        return float(loading_duration_min(dock, truck.load))

    def load_truck(self, run: DockRun, visit: Visit, at_dock_min: float) -> Generator[Any]:
        """Changeover (if needed) and loading; the truck leaves at the end."""
        truck = visit.truck
        changeover = (
            run.dock.changeover_min if run.last_product not in (None, truck.load.product) else 0
        )
        start = max(at_dock_min, run.free_at_min + changeover)
        duration = self.planned_duration(run.dock, truck) * truck.service_factor
        visit.service_start_min = start
        visit.end_min = start + duration
        visit.dock_id = run.dock.dock_id
        run.free_at_min = visit.end_min
        run.planned_free_min = start + self.planned_duration(run.dock, truck)
        run.last_product = truck.load.product
        run.last_load = truck.load
        run.busy_min_in_hours += max(
            0.0, min(visit.end_min, self.sc.closes_min) - max(start, self.sc.opens_min)
        )
        yield self.env.timeout(max(0.0, start - self.env.now))

    def monitor(self) -> Generator[Any]:
        while True:
            at_plant = sum(
                1
                for v in self.visits.values()
                if v.arrived_min <= self.env.now
                and not (v.service_start_min <= self.env.now)
                and not math.isnan(v.arrived_min)
            )
            self.queue_samples.append((self.env.now, at_plant))
            if self.env.now > self.sc.closes_min + 600:
                return
            yield self.env.timeout(10)

    def all_served(self) -> bool:
        return sum(1 for v in self.visits.values() if not math.isnan(v.end_min)) >= (
            self.expected_arrivals
        )


def _gate_arrival(yard: Yard, visit: Visit, arrive_min: float, gate_min: float) -> Generator[Any]:
    yield yard.env.timeout(max(0.0, arrive_min - yard.env.now))
    visit.arrived_min = yard.env.now
    yield yard.env.timeout(gate_min)
    visit.checked_in_min = yard.env.now
    yard.waiting.append(visit)
    yard.changed.fire()


def run_gate_queue(
    yard: Yard,
    arrival_of: Callable[[Truck], float],
    pick: Callable[[DockRun, list[Visit]], Visit | None],
) -> None:
    """Fifo and plain slots: trucks queue at the dock in person; a free dock takes the pick."""
    for visit in yard.visits.values():
        if not visit.truck.no_show:
            yard.env.process(
                _gate_arrival(yard, visit, arrival_of(visit.truck), visit.truck.paperwork_min)
            )

    def dock_process(run: DockRun) -> Generator[Any]:
        yield yard.env.timeout(max(0.0, run.free_at_min - yard.env.now))
        while True:
            candidates = [v for v in yard.waiting if is_compatible(run.dock, v.truck.load)]
            chosen = pick(run, candidates) if candidates else None
            if chosen is None:
                if yard.all_served():
                    return
                yield yard.changed.wait()
                continue
            yard.waiting.remove(chosen)
            yield from yard.load_truck(run, chosen, yard.env.now)
            yield yard.env.timeout(max(0.0, run.free_at_min - yard.env.now))

    for run in yard.dock_runs.values():
        yard.env.process(dock_process(run))
    yard.env.process(yard.monitor())
    yard.env.run()


def run_fifo(scenario: Scenario, trucks: Sequence[Truck], seed: int) -> Yard:
    """Today's practice: own arrival times, paperwork on foot, first come first served."""
    yard = Yard(scenario, trucks, seed)
    run_gate_queue(
        yard,
        lambda t: t.requested_min,
        lambda run, cands: min(cands, key=lambda v: v.arrived_min),
    )
    return yard


def plain_slot_plan(
    scenario: Scenario, trucks: Sequence[Truck], docks: Sequence[Dock]
) -> dict[str, Appointment]:
    """Evenly spaced slots per dock, trucks in order of their wish, docks balanced by work."""
    booked = sorted((t for t in trucks if t.planned), key=lambda t: t.requested_min)
    work = {d.dock_id: 0.0 for d in docks}
    per_dock: dict[str, list[Truck]] = {d.dock_id: [] for d in docks}
    for truck in booked:
        options = [d for d in docks if is_compatible(d, truck.load)]
        dock = min(options, key=lambda d: (work[d.dock_id], d.dock_id))
        work[dock.dock_id] += loading_duration_min(dock, truck.load)
        per_dock[dock.dock_id].append(truck)
    plan = {}
    for dock_id, assigned in per_dock.items():
        # the last slot still ends by closing time
        span = scenario.closes_min - scenario.opens_min - work[dock_id] / max(1, len(assigned))
        for j, truck in enumerate(assigned):
            start = scenario.opens_min + j * span / max(1, len(assigned))
            plan[truck.truck_id] = Appointment(dock_id, round(start))
    return plan


def run_plain_slots(scenario: Scenario, trucks: Sequence[Truck], seed: int) -> Yard:
    """Plain appointments: evenly spaced slots, no live data, paperwork on foot."""
    yard = Yard(scenario, trucks, seed)
    plan = plain_slot_plan(scenario, trucks, yard.docks)
    for visit in yard.visits.values():
        visit.appointment = plan.get(visit.truck.truck_id)
        if visit.appointment is not None:
            visit.target_arrival_min = visit.appointment.start_min

    def arrival(t: Truck) -> float:
        app = plan.get(t.truck_id)
        if app is None:
            return t.requested_min
        return app.start_min + t.departure_noise_min + t.road_noise_min

    def pick(run: DockRun, cands: list[Visit]) -> Visit | None:
        own = [v for v in cands if v.appointment and v.appointment.dock_id == run.dock.dock_id]
        if own:
            return min(own, key=lambda v: v.appointment.start_min)  # type: ignore[union-attr]
        return min(cands, key=lambda v: v.arrived_min)

    run_gate_queue(yard, arrival, pick)
    return yard


class EtaFeed:
    """What tracking knows of a truck on the road: the delay built up so far.

    The road delay follows a Brownian bridge from zero at departure to the truck's final road
    noise at arrival, so the feed never knows more than the path so far; its error shrinks
    as the truck gets closer.
    """

    def __init__(self, truck: Truck, road_sd_min: float) -> None:
        self.truck = truck
        self.road_sd_min = road_sd_min
        self.rng = random.Random(truck.eta_seed)
        self.last_u = 0.0
        self.last_delay = 0.0

    def eta(self, *, departed_min: float, now_min: float) -> float:
        trip = self.truck.trip_min
        u = min(max(0.0, now_min - departed_min), trip)
        if u > self.last_u:
            remaining = trip - self.last_u
            mean = self.last_delay + (self.truck.road_noise_min - self.last_delay) * (
                (u - self.last_u) / remaining
            )
            var = (self.road_sd_min**2 / trip) * (u - self.last_u) * (trip - u) / remaining
            self.last_delay = mean + self.rng.gauss(0, math.sqrt(max(0.0, var)))
            self.last_u = u
        return departed_min + trip + self.last_delay


def run_haulpoint(scenario: Scenario, trucks: Sequence[Truck], seed: int) -> Yard:
    """Haulpoint: scheduled slots, live re-slotting, pass scan, virtual queue, call-forward."""
    return _Haulpoint(scenario, trucks, seed).run()


class _Haulpoint:
    AT_PLANT_WEIGHT = 4

    def __init__(self, scenario: Scenario, trucks: Sequence[Truck], seed: int) -> None:
        self.sc = scenario
        self.yard = Yard(scenario, trucks, seed)
        self.env = self.yard.env
        self.rules = QueueRules(
            drive_to_dock_min=sum(scenario.dock_drive_min) / 2, gap_slack_min=scenario.gap_slack_min
        )
        self.slots = SlotRules(slot_min=scenario.slot_min)
        # a truck aims to reach the gate this long before its dock slot: pass scan and drive in
        self.lead_min = math.ceil(
            sum(scenario.pass_scan_min) / 2
            + self.rules.drive_to_dock_min
            + scenario.arrival_buffer_min
        )
        self.plan_docks = [
            replace(d, closes_min=d.closes_min + scenario.overtime_planned_min)
            for d in self.yard.docks
        ]
        road_sd = scenario.sigma_min * math.sqrt(1 - scenario.departure_variance_share)
        self.feeds = {t.truck_id: EtaFeed(t, road_sd) for t in trucks}
        self.appointment_changed = {t.truck_id: Signal(self.env) for t in trucks}
        self.original: dict[str, Appointment] = {}
        self.calls_in_flight: set[str] = set()
        self.replans = 0
        self.plan_stats: dict[str, Any] = {}

    def run(self) -> Yard:
        self.day_plan()
        for visit in self.yard.visits.values():
            truck = visit.truck
            if truck.planned:
                self.env.process(self.booked_truck(visit))
            else:
                self.env.process(
                    _gate_arrival(self.yard, visit, truck.requested_min, truck.pass_scan_min)
                )
        for run in self.yard.dock_runs.values():
            self.env.process(self.dock_process(run))
        self.env.process(self.planner())
        self.env.process(self.yard.monitor())
        self.env.run()
        return self.yard

    def day_plan(self) -> None:
        deliveries = [
            Delivery(
                delivery_id=t.truck_id,
                load=t.load,
                ready_min=max(self.sc.opens_min, math.ceil(t.requested_min) - 60),
                preferred_min=math.ceil(t.requested_min),
            )
            for t in (v.truck for v in self.yard.visits.values())
            if t.planned
        ]
        plan = schedule(
            docks=self.plan_docks,
            deliveries=deliveries,
            slots=self.slots,
            time_limit_s=self.sc.day_plan_time_limit_s,
            workers=self.sc.solver_workers,
        )
        self.plan_stats = {
            "day_plan_status": str(plan.status),
            "day_plan_objective": plan.objective,
            "day_plan_greedy_objective": plan.greedy_objective,
            "day_plan_unscheduled": len(plan.unscheduled),
            "day_plan_solve_s": round(plan.solve_s, 3),
        }
        for visit in self.yard.visits.values():
            truck = visit.truck
            app = plan.get(truck.truck_id)
            if truck.planned:
                # a truck with no slot today is asked to come as it wished and fill a gap
                visit.appointment = (
                    Appointment(app.dock_id, app.start_min)
                    if app
                    else Appointment("", math.ceil(truck.requested_min))
                )
                self.original[truck.truck_id] = visit.appointment

    def ready_to_leave_min(self, visit: Visit) -> float:
        """When the driver is free to leave: fixed by the day plan's slot and own delays."""
        truck = visit.truck
        target = self.original[truck.truck_id].start_min - self.lead_min
        return target - truck.trip_min + truck.departure_noise_min

    def booked_truck(self, visit: Visit) -> Generator[Any]:
        truck = visit.truck
        if truck.no_show:
            return
        ready = self.ready_to_leave_min(visit)
        while True:
            assert visit.appointment is not None
            # leaves for the current slot, early by its own habit, never before it is free
            target = visit.appointment.start_min - self.lead_min
            leave = max(ready, target - truck.trip_min + min(0.0, truck.departure_noise_min))
            if self.env.now >= leave:
                break
            signal = self.appointment_changed[truck.truck_id]
            yield self.env.timeout(leave - self.env.now) | signal.wait()
        visit.departed_min = self.env.now
        visit.target_arrival_min = visit.appointment.start_min - self.lead_min
        arrive = self.env.now + truck.trip_min + truck.road_noise_min
        yield from _gate_arrival(self.yard, visit, arrive, truck.pass_scan_min)

    def dock_process(self, run: DockRun) -> Generator[Any]:
        yard = self.yard
        yield self.env.timeout(max(0.0, run.free_at_min - self.rules.drive_to_dock_min))
        while True:
            now = self.env.now
            call = choose_truck(
                dock=DockState(run.dock, max(now, run.forecast_free_min), run.last_product),
                waiting=[self.waiting_truck(v) for v in yard.waiting],
                expected=self.expected(),
                now_min=now,
                rules=self.rules,
            )
            if call is None:
                if yard.all_served():
                    return
                yield yard.changed.wait()
                continue
            visit = yard.visits[call.truck_id]
            yard.waiting.remove(visit)
            visit.called_min = now
            visit.planned_drive_min = self.rules.drive_to_dock_min
            if visit.truck.misses_first_call and visit.missed_calls == 0:
                visit.missed_calls += 1
                self.calls_in_flight.add(visit.truck.truck_id)
                yield self.env.timeout(self.rules.respond_within_min)
                self.calls_in_flight.discard(visit.truck.truck_id)
                # the call lapsed: the truck is back in the queue, the dock calls again
                visit.called_min = math.nan
                yard.waiting.append(visit)
                continue
            yield from yard.load_truck(run, visit, now + visit.truck.dock_drive_min)
            forecast_end = run.free_at_min + self.yard.rng.gauss(0, self.sc.finish_forecast_sd_min)
            run.forecast_free_min = forecast_end
            yard.changed.fire()
            yield self.env.timeout(
                max(0.0, forecast_end - self.rules.drive_to_dock_min - self.env.now)
            )

    def waiting_truck(self, visit: Visit) -> WaitingTruck:
        app = visit.appointment
        return WaitingTruck(
            truck_id=visit.truck.truck_id,
            load=visit.truck.load,
            arrived_min=visit.arrived_min,
            appointment=app if app is not None and app.dock_id else None,
            missed_calls=visit.missed_calls,
        )

    def expected(self) -> list[ExpectedTruck]:
        now = self.env.now
        found = []
        for visit in self.yard.visits.values():
            app = visit.appointment
            if (
                app is None
                or not app.dock_id
                or not math.isnan(visit.arrived_min)
                or math.isnan(visit.departed_min)
            ):
                continue
            eta = self.feeds[visit.truck.truck_id].eta(departed_min=visit.departed_min, now_min=now)
            found.append(ExpectedTruck(visit.truck.truck_id, visit.truck.load, app, eta))
        return found

    def planner(self) -> Generator[Any]:
        first = self.sc.opens_min - int(self.sc.trip_min[1]) - 30
        yield self.env.timeout(max(0, first))
        while not self.yard.all_served():
            self.replan()
            self.yard.changed.fire()
            yield self.env.timeout(self.sc.replan_every_min)

    def replan(self) -> None:
        """Re-slot every truck not yet called, from what tracking and the gate know now."""
        now = self.env.now
        now_i = math.floor(now)
        drive = math.ceil(self.rules.drive_to_dock_min)
        deliveries: list[Delivery] = []
        flexible_ids = set()
        for visit in self.yard.visits.values():
            truck = visit.truck
            tid = truck.truck_id
            app = visit.appointment
            if visit.written_off or (not math.isnan(visit.end_min) and visit.end_min <= now):
                continue
            if not math.isnan(visit.service_start_min) or tid in self.calls_in_flight:
                continue  # under way or called: the dock's busy block below covers it
            if not math.isnan(visit.checked_in_min) and math.isnan(visit.called_min):
                ready = now_i + drive
                deliveries.append(
                    Delivery(
                        delivery_id=tid,
                        load=truck.load,
                        ready_min=ready,
                        preferred_min=ready,
                        delay_weight=self.AT_PLANT_WEIGHT,
                    )
                )
                flexible_ids.add(tid)
                continue
            if not truck.planned or app is None:
                continue  # unplanned trucks are unknown until they reach the gate
            if not math.isnan(visit.departed_min) or not math.isnan(visit.arrived_min):
                eta = self.feeds[tid].eta(departed_min=visit.departed_min, now_min=now)
                ready = math.ceil(max(eta, now) + truck.pass_scan_min) + drive
                deliveries.append(
                    Delivery(
                        delivery_id=tid,
                        load=truck.load,
                        ready_min=ready,
                        preferred_min=ready,
                        delay_weight=self.AT_PLANT_WEIGHT,
                    )
                )
                flexible_ids.add(tid)
                continue
            # still at the depot: if it should have left by now, it comes a trip from now
            should_have_left = app.start_min - self.lead_min - truck.trip_min
            slipping = now > should_have_left
            if slipping:
                # it has not left when it should have: its slot goes to others, and it gets a
                # new one once tracking sees it on the road
                if now - self.original[tid].start_min > self.sc.no_show_after_min:
                    visit.written_off = True
                continue
            earliest = math.ceil(now + truck.trip_min + self.lead_min)
            if app.start_min > now + self.sc.replan_horizon_min and app.dock_id:
                deliveries.append(
                    Delivery(delivery_id=tid, load=truck.load, ready_min=app.start_min, fixed=app)
                )
                continue
            ready = max(
                earliest,
                self.original[tid].start_min - self.sc.pull_forward_max_min,
                self.sc.opens_min,
            )
            deliveries.append(
                Delivery(
                    delivery_id=tid,
                    load=truck.load,
                    ready_min=ready,
                    preferred_min=max(ready, math.ceil(truck.requested_min)),
                )
            )
            flexible_ids.add(tid)
        # loads under way or called: one fixed block per dock until the planned end
        deliveries.extend(
            Delivery(
                delivery_id=f"busy-{run.dock.dock_id}",
                load=run.last_load,
                ready_min=now_i,
                fixed=Appointment(run.dock.dock_id, now_i),
                duration_min=math.ceil(run.planned_free_min) - now_i,
            )
            for run in self.yard.dock_runs.values()
            if run.last_load is not None and run.planned_free_min > now + 1
        )
        previous = {
            v.truck.truck_id: v.appointment
            for v in self.yard.visits.values()
            if v.appointment is not None and v.appointment.dock_id
        }
        try:
            plan = schedule(
                docks=self.plan_docks,
                deliveries=deliveries,
                slots=self.slots,
                weights=Weights(keep=8),
                previous=previous,
                time_limit_s=self.sc.replan_time_limit_s,
                workers=self.sc.solver_workers,
            )
        except ValueError:
            return  # an overrun made two fixed blocks clash: keep the plan until next tick
        self.replans += 1
        self.apply(plan, flexible_ids)

    def apply(self, plan: Plan, flexible_ids: set[str]) -> None:
        for tid in flexible_ids:
            visit = self.yard.visits[tid]
            got = plan.get(tid)
            if got is None:
                continue
            new = Appointment(got.dock_id, got.start_min)
            if new != visit.appointment:
                visit.appointment = new
                self.appointment_changed[tid].fire()


@dataclass(frozen=True)
class Options:
    """Parsed command-line options."""

    quick: bool = False
    replications: int = 6
    sigma_min: float = 20.0
    no_show_prob: float = 0.10
    patterns: tuple[str, ...] = PATTERNS
    json_path: Path | None = None
    plots_dir: Path | None = None
    progress: bool = True
    scenario_overrides: dict[str, Any] = field(default_factory=dict)


RUNNERS: dict[str, Callable[[Scenario, Sequence[Truck], int], Yard]] = {
    "fifo": run_fifo,
    "plain_slots": run_plain_slots,
    "haulpoint": run_haulpoint,
}


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summarize(yards: Sequence[Yard], scenario: Scenario, policy: str) -> dict[str, Any]:
    """Pool the replications of one policy into the reported figures."""
    waits: list[float] = []
    turns: list[float] = []
    on_time_waits: list[float] = []
    booked_shown = 0
    on_time = 0
    served = []
    utilization = []
    after_request = []
    for yard in yards:
        done = [v for v in yard.visits.values() if not math.isnan(v.end_min)]
        served.append(len(done))
        for v in done:
            waits.append(v.wait_min)
            turns.append(v.turn_min)
            after_request.append(v.service_start_min - v.truck.requested_min)
            if v.truck.planned and policy != "fifo":
                booked_shown += 1
                target = v.target_arrival_min
                if not math.isnan(target) and v.arrived_min <= target + 15:
                    on_time += 1
                    on_time_waits.append(v.wait_min)
        capacity = scenario.n_docks * (scenario.closes_min - scenario.opens_min)
        utilization.append(sum(r.busy_min_in_hours for r in yard.dock_runs.values()) / capacity)
    return {
        "mean_wait_min": statistics.fmean(waits),
        "p95_wait_min": _percentile(waits, 0.95),
        "median_wait_on_time_min": statistics.median(on_time_waits) if on_time_waits else None,
        "mean_turn_min": statistics.fmean(turns),
        "dock_utilization": statistics.fmean(utilization),
        "on_time_share": on_time / booked_shown if booked_shown else None,
        "trucks_served": statistics.fmean(served),
        "mean_start_after_request_min": statistics.fmean(after_request),
    }


def simulate(options: Options) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Run every policy on the same days: the results (what --json writes) and all waits."""
    base = Scenario(
        sigma_min=options.sigma_min, no_show_prob=options.no_show_prob, **options.scenario_overrides
    )
    if options.quick:
        base = replace(base, day_plan_time_limit_s=1.0, replan_time_limit_s=0.0)
    reps = min(2, options.replications) if options.quick else options.replications
    jobs = [(p, s, pol) for p in options.patterns for s in range(reps) for pol in POLICIES]
    yards: dict[tuple[str, str], list[Yard]] = {}
    started = time.perf_counter()
    trucks_cache: dict[tuple[str, int], list[Truck]] = {}
    for pattern, seed, policy in tqdm(
        jobs, desc="yard simulation", disable=not options.progress, file=sys.stderr
    ):
        scenario = replace(base, arrival_pattern=pattern)
        key = (pattern, seed)
        if key not in trucks_cache:
            trucks_cache[key] = make_trucks(scenario, 1000 + seed)
        yard = RUNNERS[policy](scenario, trucks_cache[key], seed)
        yards.setdefault((pattern, policy), []).append(yard)
    result: dict[str, Any] = {}
    for (pattern, policy), runs in yards.items():
        name = policy if pattern == "uniform" else f"{policy}_{pattern}"
        result[name] = summarize(runs, replace(base, arrival_pattern=pattern), policy)
        result[name]["queue_over_day"] = _mean_queue(runs)
    for pattern in options.patterns:
        suffix = "" if pattern == "uniform" else f"_{pattern}"
        if f"haulpoint{suffix}" not in result:
            continue
        ff, pl, hp = (result[f"{p}{suffix}"] for p in POLICIES)
        result[f"mean_wait_reduction{suffix}"] = 1 - hp["mean_wait_min"] / ff["mean_wait_min"]
        result[f"mean_turn_reduction{suffix}"] = 1 - hp["mean_turn_min"] / ff["mean_turn_min"]
        result[f"mean_wait_reduction_vs_plain{suffix}"] = (
            1 - hp["mean_wait_min"] / pl["mean_wait_min"]
        )
    result["scenario"] = {k: v for k, v in asdict(base).items() if k != "arrival_pattern"}
    result["scenario"]["replications"] = reps
    result["scenario"]["arrival_patterns"] = {p: PATTERN_SOURCES[p] for p in options.patterns}
    result["definitions"] = DEFINITIONS
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    result["provisional"] = (
        "figures from a stylised plant on a shared 2-core machine; compare ratios, not minutes"
    )
    waits = {
        (policy if pattern == "uniform" else f"{policy}_{pattern}"): [
            v.wait_min for y in runs for v in y.visits.values() if not math.isnan(v.end_min)
        ]
        for (pattern, policy), runs in yards.items()
    }
    return result, waits


def _mean_queue(yards: Sequence[Yard]) -> list[tuple[float, float]]:
    by_time: dict[float, list[int]] = {}
    for yard in yards:
        for t, n in yard.queue_samples:
            by_time.setdefault(t, []).append(n)
    return [(t, statistics.fmean(ns)) for t, ns in sorted(by_time.items())]


def print_table(result: dict[str, Any], out: Any = sys.stdout) -> None:
    """The comparison as a plain table, with the definitions under it."""
    cols = [
        ("mean_wait_min", "mean wait"),
        ("p95_wait_min", "p95 wait"),
        ("median_wait_on_time_min", "on-time median"),
        ("mean_turn_min", "mean turn"),
        ("dock_utilization", "dock util"),
        ("on_time_share", "on time"),
        ("trucks_served", "served"),
        ("mean_start_after_request_min", "start-request"),
    ]
    head = f"{'policy':<26}" + "".join(f"{label:>15}" for _, label in cols)
    print(head, file=out)
    for name, row in result.items():
        if not isinstance(row, dict) or "mean_wait_min" not in row:
            continue
        cells = []
        for key, _ in cols:
            value = row[key]
            cells.append(f"{'-':>15}" if value is None else f"{value:>15.2f}")
        print(f"{name:<26}" + "".join(cells), file=out)
    for key, value in result.items():
        if key.startswith("mean_") and isinstance(value, float):
            print(f"{key}: {value:.1%}", file=out)
    for key, text in DEFINITIONS.items():
        print(f"{key}: {text}", file=out)
    for pattern, text in result["scenario"]["arrival_patterns"].items():
        print(f"fifo arrivals, {pattern}: {text}", file=out)
    print(result["provisional"], file=out)


def write_plots(result: dict[str, Any], yards_waits: dict[str, list[float]], out_dir: Path) -> None:
    """Wait distributions and queue length over the day, as PNG files."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, waits in yards_waits.items():
        ordered = sorted(waits)
        ax.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))], label=name)
    ax.set_xlabel("wait from gate arrival to call (min)")
    ax.set_ylabel("share of trucks waiting at most this long")
    ax.set_xscale("symlog", linthresh=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "yard_wait_distribution.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 5))
    for name, row in result.items():
        if isinstance(row, dict) and "queue_over_day" in row:
            series = row["queue_over_day"]
            ax.plot([t / 60 for t, _ in series], [n for _, n in series], label=name)
    ax.set_xlabel("hour of day")
    ax.set_ylabel("trucks at the plant not yet loading (mean)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_dir / "yard_queue_over_day.png", dpi=110)
    plt.close(fig)


def parse_args(argv: Sequence[str] | None) -> Options:
    """Options from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="two replications, greedy re-slots")
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--sigma", type=float, default=20.0, help="arrival noise sd, minutes")
    parser.add_argument("--no-show", type=float, default=0.10, help="no-show probability")
    parser.add_argument("--pattern", choices=[*PATTERNS, "both"], default="both")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plots", type=Path, default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    return Options(
        quick=args.quick,
        replications=args.replications,
        sigma_min=args.sigma,
        no_show_prob=args.no_show,
        patterns=PATTERNS if args.pattern == "both" else (args.pattern,),
        json_path=args.json,
        plots_dir=args.plots,
        progress=not args.no_progress,
    )


def run(options: Options) -> dict[str, Any]:
    """Simulate, print the table, and write the JSON and plots that the options ask for."""
    result, waits = simulate(options)
    print_table(result)
    if options.plots_dir is not None:
        write_plots(result, waits, options.plots_dir)
    if options.json_path is not None:
        options.json_path.parent.mkdir(parents=True, exist_ok=True)
        options.json_path.write_text(json.dumps(result, indent=2))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    run(parse_args(argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
