"""What every yard policy shares in a run: the clock, the docks, the trucks' visits, the records.

Wait is gate arrival until the truck is called to a dock (fifo and plain slots: until a dock
takes it from the queue), plus any time it then stands at the dock before loading starts.
Gate paperwork (or the pass scan) comes before the call, so it is part of the wait. Turn time
is gate arrival to the end of loading. A truck takes 2-5 minutes from the queue to the dock
under every policy; only Haulpoint calls it ahead so that this drive overlaps the load before.
Times are minutes from midnight.
"""

from __future__ import annotations

import math
import random
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import simpy

from simulations.yard_day import Scenario, Truck
from simulations.yard_plant import make_docks
from yard.scheduling import Appointment, Dock, Load, is_compatible, loading_duration_min


class Signal:
    """A reusable SimPy wake-up: processes wait on it, anyone may fire it."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self.event = env.event()

    def fire(self) -> None:
        """Wake every process waiting now."""
        if not self.event.triggered:
            self.event.succeed()
        self.event = self.env.event()

    def wait(self) -> simpy.Event:
        """An event that fires at the next `fire`."""
        return self.event


@dataclass
class Visit:
    """What happened to one truck under one policy."""

    truck: Truck
    arrived_min: float = math.nan
    checked_in_min: float = math.nan
    called_min: float = math.nan
    at_dock_min: float = math.nan
    service_start_min: float = math.nan
    end_min: float = math.nan
    dock_id: str = ""
    appointment: Appointment | None = None
    first_appointment: Appointment | None = None
    # the gate arrival the truck aimed at when it set off
    target_arrival_min: float = math.nan
    departed_min: float = math.nan
    missed_calls: int = 0
    written_off: bool = False

    @property
    def wait_min(self) -> float:
        """Gate arrival to the call, plus any standing at the dock before loading."""
        standing = max(0.0, self.service_start_min - self.at_dock_min)
        return (self.called_min - self.arrived_min) + standing

    @property
    def turn_min(self) -> float:
        """Gate arrival to the end of loading."""
        return self.end_min - self.arrived_min

    @property
    def served(self) -> bool:
        """Whether the truck was loaded."""
        return not math.isnan(self.end_min)


@dataclass
class DockRun:
    """A dock's live state and its records during a run."""

    dock: Dock
    free_at_min: float
    last_product: str | None = None
    last_load: Load | None = None
    # a truck has been called (or taken) and is on its way to this dock
    reserved: bool = False
    forecast_free_min: float = 0.0
    planned_free_min: float = 0.0
    loading_in_hours_min: float = 0.0
    loading_after_close_min: float = 0.0
    changeover_total_min: float = 0.0


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
        opens = float(scenario.opens_min)
        self.runs = {d.dock_id: DockRun(d, opens, forecast_free_min=opens) for d in self.docks}
        self.visits = {t.truck_id: Visit(t) for t in trucks}
        self.waiting: list[Visit] = []
        self.changed = Signal(self.env)
        self.rng = random.Random(seed * 7919 + 17)
        self.queue_samples: list[tuple[float, int]] = []
        self.idle_with_waiting_min = 0.0
        self.expected_shows = sum(1 for t in trucks if not t.no_show)
        self.served_count = 0
        # figures a policy reports about itself (the scheduler's, for Haulpoint)
        self.notes: dict[str, float] = {}

    def serve(self, run: DockRun, visit: Visit, at_dock_min: float) -> None:
        """Changeover if needed, then loading; records the truck's times and the dock's."""
        truck = visit.truck
        changeover = (
            run.dock.changeover_min if run.last_product not in (None, truck.load.product) else 0
        )
        start = max(at_dock_min, run.free_at_min + changeover)
        planned = float(loading_duration_min(run.dock, truck.load))
        visit.at_dock_min = at_dock_min
        visit.service_start_min = start
        visit.end_min = start + planned * truck.service_factor
        visit.dock_id = run.dock.dock_id
        run.changeover_total_min += changeover
        run.free_at_min = visit.end_min
        run.planned_free_min = start + planned
        run.last_product = truck.load.product
        run.last_load = truck.load
        run.reserved = False
        opens, closes = self.sc.opens_min, self.sc.closes_min
        run.loading_in_hours_min += max(0.0, min(visit.end_min, closes) - max(start, opens))
        run.loading_after_close_min += max(0.0, visit.end_min - max(start, closes))
        self.served_count += 1

    def gate_arrival(self, visit: Visit, arrive_min: float, gate_min: float) -> Generator[Any]:
        """The truck reaches the gate, does its gate formalities and joins the queue."""
        yield self.env.timeout(max(0.0, arrive_min - self.env.now))
        visit.arrived_min = self.env.now
        yield self.env.timeout(gate_min)
        visit.checked_in_min = self.env.now
        self.waiting.append(visit)
        self.changed.fire()

    def monitor(self, every_min: float = 2.0) -> Generator[Any]:
        """Samples trucks at the plant, and dock time lost while a truck it could load waited."""
        opens, closes = self.sc.opens_min, self.sc.closes_min
        while not self.all_served():
            now = self.env.now
            at_plant = sum(
                1
                for v in self.visits.values()
                if v.arrived_min <= now and not v.service_start_min <= now
            )
            self.queue_samples.append((now, at_plant))
            if opens <= now < closes:
                for run in self.runs.values():
                    idle = run.free_at_min <= now and not run.reserved
                    if idle and any(is_compatible(run.dock, v.truck.load) for v in self.waiting):
                        self.idle_with_waiting_min += every_min
            yield self.env.timeout(every_min)

    def all_served(self) -> bool:
        """Whether every truck that turns up has been loaded."""
        return self.served_count >= self.expected_shows
