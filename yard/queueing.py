"""Virtual queue and call-forward: which waiting truck a dock calls, and when each can expect it.

Pure computation, no session and no I/O. Trucks wait in a parking area, not at the gate; when a
dock is about to free up, it calls one truck forward. Trucks whose appointment has come are
called first, in appointment order; early, late and unplanned trucks fill the gaps between
them. A free dock is kept for a truck on its way only when that truck is minutes away and
the filler would hold it up for longer than a small slack: an idle dock delays everyone
behind it. A called truck must reach the dock within a set time or it loses the call.

Times are minutes (fractions allowed) from the same origin as the scheduler's plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from yard.scheduling import Appointment, Dock, Load, is_compatible, loading_duration_min


class Standing(StrEnum):
    """Where a waiting truck stands against its appointment."""

    DUE = "due"
    EARLY = "early"
    LATE = "late"
    UNPLANNED = "unplanned"


@dataclass(frozen=True)
class QueueRules:
    """Tolerances and timings of the call-forward policy."""

    # arriving this late still counts as on time; later than that the truck fills gaps
    late_tolerance_min: float = 15.0
    # a truck whose appointment is this close may be called
    call_ahead_min: float = 10.0
    drive_to_dock_min: float = 4.0
    respond_within_min: float = 10.0
    # a gap filler may hold up the next appointment by at most this much
    gap_slack_min: float = 5.0
    # a free dock waits for a truck on its way only if it is at most this far off
    hold_for_min: float = 5.0


@dataclass(frozen=True)
class WaitingTruck:
    """A truck checked in and waiting in the parking area."""

    truck_id: str
    load: Load
    arrived_min: float
    appointment: Appointment | None = None
    missed_calls: int = 0


@dataclass(frozen=True)
class ExpectedTruck:
    """A truck with an appointment that has not arrived yet, and its live ETA."""

    truck_id: str
    load: Load
    appointment: Appointment
    eta_min: float


@dataclass(frozen=True)
class DockState:
    """A dock, when it is (or will be) free, and what it loaded last."""

    dock: Dock
    free_at_min: float
    last_product: str | None = None


@dataclass(frozen=True)
class Call:
    """A call forward: the truck must reach the dock by `respond_by_min`."""

    truck_id: str
    dock_id: str
    called_at_min: float
    respond_by_min: float
    standing: Standing

    def lapsed(self, *, now_min: float, reached_dock: bool) -> bool:
        """Whether the truck lost this call by not reaching the dock in time."""
        return not reached_dock and now_min > self.respond_by_min


@dataclass(frozen=True)
class CallEstimate:
    """A waiting truck's place in the queue and its expected call, for the driver's phone."""

    truck_id: str
    position: int
    expected_call_min: float
    dock_id: str


def standing(truck: WaitingTruck, *, now_min: float, rules: QueueRules) -> Standing:
    """Classify a waiting truck against its appointment at this moment."""
    app = truck.appointment
    if app is None:
        return Standing.UNPLANNED
    if truck.arrived_min > app.start_min + rules.late_tolerance_min:
        return Standing.LATE
    if now_min >= app.start_min - rules.call_ahead_min:
        return Standing.DUE
    return Standing.EARLY


def _service_end(state: DockState, load: Load, start_min: float) -> float:
    changeover = state.dock.changeover_min if state.last_product not in (None, load.product) else 0
    return start_min + changeover + loading_duration_min(state.dock, load)


def choose_truck(
    *,
    dock: DockState,
    waiting: Sequence[WaitingTruck],
    expected: Sequence[ExpectedTruck] = (),
    now_min: float,
    rules: QueueRules,
) -> Call | None:
    """The truck this dock should call now, or None to keep the dock for a truck on its way."""
    compatible = [t for t in waiting if is_compatible(dock.dock, t.load)]
    if not compatible:
        return None
    ranked = {t.truck_id: standing(t, now_min=now_min, rules=rules) for t in compatible}
    due = [t for t in compatible if ranked[t.truck_id] is Standing.DUE]
    if due:
        assert all(t.appointment is not None for t in due)
        pick = min(
            due,
            key=lambda t: (
                t.missed_calls > 0,
                t.appointment.dock_id != dock.dock.dock_id,  # type: ignore[union-attr]
                t.appointment.start_min,  # type: ignore[union-attr]
                t.arrived_min,
            ),
        )
        return _call(pick, dock, now_min, rules, Standing.DUE)

    # the next appointment this dock owes: a truck on its way, or one here early
    owed = [
        max(float(e.appointment.start_min), e.eta_min)
        for e in expected
        if e.appointment.dock_id == dock.dock.dock_id
    ]
    next_owed_min = min(owed, default=math.inf)
    start_min = max(now_min + rules.drive_to_dock_min, dock.free_at_min)
    idle_min = next_owed_min - start_min
    fillers = sorted(compatible, key=lambda t: (t.missed_calls > 0, t.arrived_min))
    for truck in fillers:
        holdup_min = _service_end(dock, truck.load, start_min) - next_owed_min
        # the dock is kept free only for a truck about to reach it, and only when the filler
        # would hold that truck up for long: an idle dock costs every truck behind it
        if idle_min >= rules.hold_for_min or holdup_min <= rules.gap_slack_min:
            return _call(truck, dock, now_min, rules, ranked[truck.truck_id])
    return None


def _call(
    truck: WaitingTruck, dock: DockState, now_min: float, rules: QueueRules, how: Standing
) -> Call:
    return Call(
        truck_id=truck.truck_id,
        dock_id=dock.dock.dock_id,
        called_at_min=now_min,
        respond_by_min=now_min + rules.respond_within_min,
        standing=how,
    )


def estimate_calls(
    *,
    docks: Sequence[DockState],
    waiting: Sequence[WaitingTruck],
    expected: Sequence[ExpectedTruck] = (),
    now_min: float,
    rules: QueueRules,
) -> tuple[CallEstimate, ...]:
    """Each waiting truck's position and expected call time, by playing the policy forward.

    Planned loading times are assumed and every call is answered; trucks still on their way
    join the queue at their ETA. A truck no dock can load gets no estimate.
    """
    states = {d.dock.dock_id: d for d in docks}
    # a dock calls its next truck one drive ahead of becoming free
    clock = {k: max(now_min, s.free_at_min - rules.drive_to_dock_min) for k, s in states.items()}
    queue = list(waiting)
    coming = sorted(expected, key=lambda e: e.eta_min)
    waiting_ids = {t.truck_id for t in waiting}
    found: list[tuple[float, str, str]] = []
    for _ in range(4 * (len(waiting) + len(expected)) + 4 * len(docks)):
        if not clock or not (queue or coming):
            break
        dock_id = min(clock, key=lambda k: (clock[k], k))
        t = clock[dock_id]
        while coming and coming[0].eta_min <= t:
            e = coming.pop(0)
            queue.append(WaitingTruck(e.truck_id, e.load, e.eta_min, e.appointment))
        state = states[dock_id]
        call = choose_truck(dock=state, waiting=queue, expected=coming, now_min=t, rules=rules)
        if call is None:
            later = [e.eta_min for e in coming if e.eta_min > t]
            later += [
                w.appointment.start_min - rules.call_ahead_min
                for w in queue
                if w.appointment is not None and w.appointment.start_min - rules.call_ahead_min > t
            ]
            if not later:
                del clock[dock_id]
            else:
                clock[dock_id] = min(later)
            continue
        truck = next(w for w in queue if w.truck_id == call.truck_id)
        queue.remove(truck)
        start = max(t + rules.drive_to_dock_min, state.free_at_min)
        end = _service_end(state, truck.load, start)
        states[dock_id] = DockState(state.dock, end, truck.load.product)
        clock[dock_id] = max(t, end - rules.drive_to_dock_min)
        if truck.truck_id in waiting_ids:
            found.append((t, truck.truck_id, dock_id))
    found.sort()
    return tuple(
        CallEstimate(truck_id=tid, position=i + 1, expected_call_min=t, dock_id=dock_id)
        for i, (t, tid, dock_id) in enumerate(found)
    )
