"""Haulpoint's yard in the simulation, driving the service's own scheduler and queue policy.

- Day plan: before the day, `yard.scheduling.schedule` gives every booked truck (no-shows
  included: nobody knows them yet) a dock and a start to the minute, from the time its
  carrier asked for, the earliest it said it could come, and the docks (up to four hours of
  overtime, each minute of it costing more than a minute's delay). The driver is told when
  to leave: the start, less the trip, the pass scan and the drive to the dock, less
  `arrival_buffer_min` (0 by default: see below).
- Live re-planning every five minutes, and at once when an unplanned truck checks in: the
  same scheduler re-plans every truck not yet called from what tracking and the gate know.
  A truck at the plant or on the road is ready at its ETA (the tracking feed refines it as
  the truck drives) and each minute it then waits costs four times a minute at home; if it
  can still make its appointment it keeps it, unless a gap comes sooner. A driver not yet
  on the road may get a new time to leave (that wait moves home and shows in "start after
  request"), earlier too, within what the carrier said it could do, to fill a gap; the driver
  hears of it only when the time moves by ten minutes or more, and a move costs the plan as
  much as ten minutes of delay, so times do not churn. A truck that has not left when told
  frees its slot until it moves (written off two hours later). Trucks that cannot start
  within four hours are held where they are, to keep the re-plan small.
- Virtual queue and call-forward (`yard.queueing.choose_truck`): a dock calls its next truck
  from the parking area one drive ahead of the forecast end of the load under way (forecast
  error 2 minutes); trucks due by the live plan go first, others fill gaps; a free dock waits
  only for a truck minutes away.
- Unplanned trucks carry a pass like the others (a one-minute scan) but are unknown until they
  reach the gate; trucks on the road are never told to slow down or wait before the gate.

The parking buffer trades waiting for dock time: trucks asked to come B minutes early wait
about B minutes more, and the docks find someone more often. Arrival noise (sigma 20) is so
much larger than any buffer that keeps waits short that a few minutes buy nothing, so the
default is none; with sigma 30 and 20 % no-shows, a 25-minute buffer keeps the docks 85 %
busy (the figures say what it costs).
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from simulations.yard_day import Scenario, Truck, departure_min, road_sd_min
from simulations.yard_run import DockRun, Signal, Visit, Yard
from yard.queueing import DockState, ExpectedTruck, QueueRules, WaitingTruck, choose_truck
from yard.scheduling import Appointment, Delivery, Plan, SlotRules, Weights, schedule

# a minute of waiting at the plant or on the road costs this many minutes of waiting at home
AT_PLANT_WEIGHT = 4
# moving a driver's time costs as much as ten minutes of delay at home
LIVE_WEIGHTS = Weights(delay_per_min=4, early_per_min=1, overtime_per_min=10, keep=40)


class EtaFeed:
    """What tracking knows of a truck on the road: the delay built up so far.

    The road delay follows a Brownian bridge from zero at departure to the truck's final road
    deviation at arrival, so the feed never knows more than the path so far; its error
    shrinks as the truck gets closer.
    """

    def __init__(self, truck: Truck, road_sd_min: float) -> None:
        self.truck = truck
        self.road_sd_min = road_sd_min
        self.rng = random.Random(truck.eta_seed)
        self.last_u = 0.0
        self.last_delay = 0.0

    def eta(self, *, departed_min: float, now_min: float) -> float:
        """The expected gate arrival as tracking sees it now."""
        trip = self.truck.trip_min
        u = min(max(0.0, now_min - departed_min), trip)
        if u > self.last_u:
            remaining = trip - self.last_u
            mean = self.last_delay + (self.truck.road_dev_min - self.last_delay) * (
                (u - self.last_u) / remaining
            )
            var = (self.road_sd_min**2 / trip) * (u - self.last_u) * (trip - u) / remaining
            self.last_delay = mean + self.rng.gauss(0, math.sqrt(max(0.0, var)))
            self.last_u = u
        return departed_min + trip + self.last_delay


@dataclass
class PlanStats:
    """How the scheduler did on the day plan and the re-plans of one run."""

    day_objective: int = 0
    day_greedy_objective: int = 0
    day_unscheduled: int = 0
    day_solve_s: float = 0.0
    replans: int = 0
    replan_solve_s: float = 0.0
    moves_told: int = 0


def run_haulpoint(scenario: Scenario, trucks: Sequence[Truck], seed: int) -> Yard:
    """Haulpoint: scheduled slots, live re-planning, pass scan, virtual queue, call-forward."""
    return HaulpointRun(scenario, trucks, seed).run()


class HaulpointRun:
    """One run of the Haulpoint policy."""

    def __init__(self, scenario: Scenario, trucks: Sequence[Truck], seed: int) -> None:
        self.sc = scenario
        self.yard = Yard(scenario, trucks, seed)
        self.env = self.yard.env
        self.rules = QueueRules(
            late_tolerance_min=scenario.late_tolerance_min,
            drive_to_dock_min=sum(scenario.dock_drive_min) / 2,
        )
        self.slots = SlotRules(slot_min=scenario.slot_min)
        # a truck aims to reach the gate this long before its start: scan, drive, buffer
        self.lead_min = math.ceil(
            sum(scenario.pass_scan_min) / 2
            + self.rules.drive_to_dock_min
            + scenario.arrival_buffer_min
        )
        self.plan_docks = [
            replace(d, overtime_min=scenario.overtime_allowed_min) for d in self.yard.docks
        ]
        self.feeds = {t.truck_id: EtaFeed(t, road_sd_min(scenario, t.trip_min)) for t in trucks}
        self.told = {t.truck_id: Signal(self.env) for t in trucks}
        # the start each driver was last told, from which the time to leave follows
        self.told_start: dict[str, int] = {}
        self.replan_now = Signal(self.env)
        self.stats = PlanStats()

    def run(self) -> Yard:
        """Plan the day, then simulate it to the last truck."""
        self.day_plan()
        for visit in self.yard.visits.values():
            truck = visit.truck
            if truck.no_show:
                continue
            if truck.planned:
                self.env.process(self.booked_truck(visit))
            else:
                self.env.process(self.unplanned_truck(visit))
        for run in self.yard.runs.values():
            self.env.process(self.dock_process(run))
        self.env.process(self.planner())
        self.env.process(self.yard.monitor())
        self.env.run()
        self.yard.notes.update(
            {
                "day_plan_objective": self.stats.day_objective,
                "day_plan_greedy_objective": self.stats.day_greedy_objective,
                "day_plan_unscheduled": self.stats.day_unscheduled,
                "day_plan_solve_s": self.stats.day_solve_s,
                "replans": self.stats.replans,
                "replan_mean_solve_s": self.stats.replan_solve_s / max(1, self.stats.replans),
                "driver_time_changes": self.stats.moves_told,
            }
        )
        return self.yard

    def told_departure_min(self, visit: Visit, *, first: bool = False) -> float:
        """When the driver is told to leave (or was first told to)."""
        if first:
            assert visit.first_appointment is not None
            start = visit.first_appointment.start_min
        else:
            start = self.told_start[visit.truck.truck_id]
        return start - self.lead_min - visit.truck.trip_min

    def earliest_start_min(self, truck: Truck) -> int:
        """The earliest start this truck's carrier said it could make."""
        return max(self.sc.opens_min, math.ceil(truck.requested_min - truck.flexible_min))

    def day_plan(self) -> None:
        """Slots for every booked truck before the day starts (no-shows are not known yet)."""
        deliveries = [
            Delivery(
                delivery_id=t.truck_id,
                load=t.load,
                ready_min=self.earliest_start_min(t),
                preferred_min=max(self.sc.opens_min, math.ceil(t.requested_min)),
            )
            for t in (v.truck for v in self.yard.visits.values())
            if t.planned
        ]
        plan = schedule(
            docks=self.plan_docks,
            deliveries=deliveries,
            slots=self.slots,
            weights=replace(LIVE_WEIGHTS, keep=0),
            time_limit_s=self.sc.day_plan_time_limit_s,
            workers=self.sc.solver_workers,
        )
        self.stats.day_objective = plan.objective
        self.stats.day_greedy_objective = plan.greedy_objective
        self.stats.day_unscheduled = len(plan.unscheduled)
        self.stats.day_solve_s = plan.solve_s
        for visit in self.yard.visits.values():
            truck = visit.truck
            if not truck.planned:
                continue
            got = plan.get(truck.truck_id)
            # a truck the plan could not fit is asked to come as it wished and fill a gap
            visit.appointment = (
                Appointment(got.dock_id, got.start_min)
                if got is not None
                else Appointment("", math.ceil(truck.requested_min))
            )
            visit.first_appointment = visit.appointment
            self.told_start[truck.truck_id] = visit.appointment.start_min

    def booked_truck(self, visit: Visit) -> Generator[Any]:
        """Leaves when told (give or take its own deviation), drives, scans its pass."""
        truck = visit.truck
        first_told = self.told_departure_min(visit, first=True)
        while True:
            told = self.told_departure_min(visit)
            leave = departure_min(truck, told_min=told, first_told_min=first_told)
            if self.env.now >= leave:
                break
            yield self.env.timeout(leave - self.env.now) | self.told[truck.truck_id].wait()
        visit.departed_min = self.env.now
        visit.target_arrival_min = self.told_start[truck.truck_id] - self.lead_min
        arrive = self.env.now + truck.trip_min + truck.road_dev_min
        yield from self.yard.gate_arrival(visit, arrive, truck.pass_scan_min)

    def unplanned_truck(self, visit: Visit) -> Generator[Any]:
        """Turns up unannounced with its pass; the plant re-plans as soon as it is in."""
        truck = visit.truck
        yield from self.yard.gate_arrival(visit, truck.requested_min, truck.pass_scan_min)
        self.replan_now.fire()

    def dock_process(self, run: DockRun) -> Generator[Any]:
        """Calls the next truck one drive ahead of the forecast end of the load under way."""
        yard = self.yard
        yield self.env.timeout(max(0.0, run.free_at_min - self.rules.drive_to_dock_min))
        while not yard.all_served():
            now = self.env.now
            call = choose_truck(
                dock=DockState(run.dock, max(now, run.forecast_free_min), run.last_product),
                waiting=[self.waiting_truck(v) for v in yard.waiting],
                expected=self.expected(run),
                now_min=now,
                rules=self.rules,
            )
            if call is None:
                yield yard.changed.wait()
                continue
            visit = yard.visits[call.truck_id]
            yard.waiting.remove(visit)
            visit.called_min = now
            if visit.truck.misses_first_call and visit.missed_calls == 0:
                # the driver misses the call: it lapses, the truck goes back to the queue
                visit.missed_calls += 1
                run.reserved = True
                yield self.env.timeout(self.rules.respond_within_min)
                run.reserved = False
                visit.called_min = math.nan
                yard.waiting.append(visit)
                continue
            run.reserved = True
            yard.serve(run, visit, now + visit.truck.dock_drive_min)
            run.forecast_free_min = run.free_at_min + yard.rng.gauss(
                0, self.sc.finish_forecast_sd_min
            )
            yard.changed.fire()
            yield self.env.timeout(
                max(0.0, run.forecast_free_min - self.rules.drive_to_dock_min - self.env.now)
            )

    def waiting_truck(self, visit: Visit) -> WaitingTruck:
        """A checked-in truck as the queue policy sees it: its live appointment, if any."""
        app = visit.appointment
        return WaitingTruck(
            truck_id=visit.truck.truck_id,
            load=visit.truck.load,
            arrived_min=visit.arrived_min,
            appointment=app if app is not None and app.dock_id else None,
            missed_calls=visit.missed_calls,
        )

    def expected(self, run: DockRun) -> list[ExpectedTruck]:
        """Trucks on the road with this dock in the live plan, and their ETAs."""
        now = self.env.now
        found = []
        for visit in self.yard.visits.values():
            app = visit.appointment
            if (
                app is None
                or app.dock_id != run.dock.dock_id
                or not math.isnan(visit.arrived_min)
                or math.isnan(visit.departed_min)
            ):
                continue
            eta = self.feeds[visit.truck.truck_id].eta(departed_min=visit.departed_min, now_min=now)
            found.append(ExpectedTruck(visit.truck.truck_id, visit.truck.load, app, eta))
        return found

    def planner(self) -> Generator[Any]:
        """Re-plans every few minutes, and at once when an unplanned truck is in."""
        first = self.sc.opens_min - int(self.sc.trip_min[1]) - 30
        yield self.env.timeout(max(0, first))
        while not self.yard.all_served():
            self.replan()
            self.yard.changed.fire()
            yield self.env.timeout(self.sc.replan_every_min) | self.replan_now.wait()

    def replan(self) -> None:
        """Re-plan every truck not yet called, from what tracking and the gate know now."""
        now = self.env.now
        now_i = math.floor(now)
        drive = math.ceil(self.rules.drive_to_dock_min)
        deliveries: list[Delivery] = []
        flexible: set[str] = set()
        previous: dict[str, Appointment] = {}
        for visit in self.yard.visits.values():
            truck = visit.truck
            tid = truck.truck_id
            if not math.isnan(visit.called_min) or visit.written_off:
                continue  # called or loading: the dock's busy block below covers it
            app = visit.appointment
            if not math.isnan(visit.arrived_min) or not math.isnan(visit.departed_min):
                if not math.isnan(visit.arrived_min):
                    # at the plant, scanning or in the parking area
                    ready = max(now_i, math.ceil(visit.arrived_min + truck.pass_scan_min))
                else:
                    eta = self.feeds[tid].eta(departed_min=visit.departed_min, now_min=now)
                    ready = math.ceil(max(eta, now) + truck.pass_scan_min)
                ready += drive
                deliveries.append(self._urgent(truck, ready))
                if app is not None and app.dock_id and app.start_min >= ready:
                    # in time for its appointment: it keeps it unless a gap comes sooner
                    previous[tid] = app
            elif truck.planned and app is not None:
                if self._overdue(visit, now):
                    continue  # has not left when told: its slot is free until it moves
                ready = max(
                    math.ceil(now + truck.trip_min + self.lead_min),
                    self.earliest_start_min(truck),
                )
                if app.dock_id and ready > now + self.sc.replan_horizon_min:
                    # cannot start for hours anyway: held where it is, so the re-plan stays
                    # small (a truck pushed that far stays free to move back)
                    deliveries.append(
                        Delivery(delivery_id=tid, load=truck.load, ready_min=0, fixed=app)
                    )
                    continue
                preferred = max(self.sc.opens_min, math.ceil(truck.requested_min))
                deliveries.append(
                    Delivery(
                        delivery_id=tid, load=truck.load, ready_min=ready, preferred_min=preferred
                    )
                )
                if app.dock_id:
                    previous[tid] = app
            else:
                continue  # an unplanned truck is unknown until it reaches the gate
            flexible.add(tid)
        for run in self.yard.runs.values():
            # the plant knows the forecast end of the load under way, not the true one
            end = math.ceil(run.forecast_free_min)
            if run.last_load is not None and end > now_i:
                deliveries.append(
                    Delivery(
                        delivery_id=f"busy-{run.dock.dock_id}",
                        load=run.last_load,
                        ready_min=now_i,
                        fixed=Appointment(run.dock.dock_id, now_i),
                        duration_min=end - now_i,
                    )
                )
        try:
            plan = schedule(
                docks=self.plan_docks,
                deliveries=deliveries,
                slots=self.slots,
                weights=LIVE_WEIGHTS,
                previous=previous,
                time_limit_s=self.sc.replan_time_limit_s,
                workers=self.sc.solver_workers,
            )
        except ValueError:
            return  # a load overran into a held appointment: keep the plan until next time
        self.stats.replans += 1
        self.stats.replan_solve_s += plan.solve_s
        self.apply(plan, flexible)

    def _urgent(self, truck: Truck, ready_min: int) -> Delivery:
        """A truck at the plant or on the road: every minute past its ready time is a wait."""
        return Delivery(
            delivery_id=truck.truck_id,
            load=truck.load,
            ready_min=ready_min,
            preferred_min=ready_min,
            delay_weight=AT_PLANT_WEIGHT,
        )

    def _overdue(self, visit: Visit, now: float) -> bool:
        """Whether a truck not yet on the road should have left; writes it off when long gone."""
        if visit.appointment is None or not visit.appointment.dock_id:
            return False
        told = self.told_departure_min(visit)
        if now - told > self.sc.no_show_after_min:
            visit.written_off = True
        return now > told

    def apply(self, plan: Plan, flexible: set[str]) -> None:
        """New appointments; a driver still at the depot hears of a time that moved enough."""
        for tid in flexible:
            visit = self.yard.visits[tid]
            got = plan.get(tid)
            if got is None:
                continue
            visit.appointment = Appointment(got.dock_id, got.start_min)
            at_depot = math.isnan(visit.departed_min) and math.isnan(visit.arrived_min)
            if not at_depot or not visit.truck.planned:
                continue
            told = self.told_start[tid]
            if abs(got.start_min - told) >= self.sc.notify_change_min:
                self.told_start[tid] = got.start_min
                self.stats.moves_told += 1
                self.told[tid].fire()
