"""Dock appointment scheduler: which dock loads each delivery, and when.

Pure computation, no session and no I/O. Every time here is a whole number of minutes from the
plan's origin (the plant's local midnight, say); `minutes_from` and `at_minute` convert at the
edges. Start times sit on a slot grid anchored at the origin; a fixed appointment may sit off it.

The cost of a plan is, per delivery: minutes started after its preferred time (times its delay
weight), minutes started before it, minutes finished after its due time, minutes of loading
past the dock's closing time (overtime), a fee for moving it off its previous appointment, and
a large fee for leaving it unscheduled.

How a plan is made, each step keeping the best plan so far (the greedy one is always valid):

1. Greedy: deliveries on the road that can still make their appointment keep it first; then
   every other delivery in order of its previous appointment (or wish), each at the cheapest
   of a few starts per dock. The placement also prices the changeovers it adds and the use of
   a busier dock than a load needs, which the cost sees only later, through delays.
2. Polish (no solver, and the same answer for the same input): retime every dock at once by a
   dynamic programme over the slot grid, exact for the order on the dock; reinsert each
   delivery at its cheapest place; let a delivery that could start sooner trade places with
   one in its way. Rounds repeat while they gain, at least once, until the time limit.
3. CP-SAT with what time is left: a problem of up to `window_size` flexible deliveries is
   solved whole (optional intervals per compatible dock, no overlap per dock, changeovers as
   ordered pairs), which gives the solver's proven bound; a larger one by large-neighbourhood
   search, re-solving windows of deliveries close in time on docks that share loads, costliest
   first, with everything else held, and polishing between passes.

`yard.scheduling_bound` gives a lower bound for any size.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np
from ortools.sat.python import cp_model

# CP-SAT time per window in the search: long enough to improve a window of a dozen loads
_WINDOW_BUDGET_S = 0.25
# how much later than the latest start on a dock retiming may push a load
_RETIME_REACH_MIN = 180


def minutes_from(origin: datetime, at: datetime) -> int:
    """Whole minutes from the plan's origin to a moment, rounded down."""
    return math.floor((at - origin).total_seconds() / 60)


def at_minute(origin: datetime, minute: float) -> datetime:
    """The moment that lies a number of minutes after the plan's origin."""
    return origin + timedelta(minutes=minute)


@dataclass(frozen=True)
class Load:
    """What a truck comes to pick up: product, vehicle body, quantity and hazard."""

    product: str
    body: str
    quantity_kg: float
    hazardous: bool = False


@dataclass(frozen=True)
class Dock:
    """A loading dock: what it serves, how fast, and when it is open."""

    dock_id: str
    products: frozenset[str]
    bodies: frozenset[str]
    hazardous_bay: bool = False
    loading_rate_kg_per_min: float | None = None
    fixed_duration_min: int | None = None
    # positioning, seals and dock paperwork, added to a rate-based loading time
    handling_min: int = 0
    # cleaning or re-rigging when the next load is a different product
    changeover_min: int = 0
    opens_min: int = 0
    closes_min: int = 24 * 60
    closed: tuple[tuple[int, int], ...] = ()
    # the dock may keep loading this long past closing, each minute at the overtime cost
    overtime_min: int = 0

    def __post_init__(self) -> None:
        if (self.loading_rate_kg_per_min is None) == (self.fixed_duration_min is None):
            raise ValueError(f"dock {self.dock_id}: give a loading rate or a fixed duration")
        if self.closes_min <= self.opens_min:
            raise ValueError(f"dock {self.dock_id}: closes before it opens")
        if self.overtime_min < 0:
            raise ValueError(f"dock {self.dock_id}: overtime cannot be negative")

    @property
    def last_end_min(self) -> int:
        """The latest minute a load may end, overtime included."""
        return self.closes_min + self.overtime_min


def is_compatible(dock: Dock, load: Load) -> bool:
    """Whether a dock can load this product onto this body (and hazardous goods at all)."""
    if load.hazardous and not dock.hazardous_bay:
        return False
    return load.product in dock.products and load.body in dock.bodies


def loading_duration_min(dock: Dock, load: Load) -> int:
    """Planned minutes the dock is occupied by this load."""
    if dock.fixed_duration_min is not None:
        return dock.fixed_duration_min
    assert dock.loading_rate_kg_per_min is not None
    return dock.handling_min + math.ceil(load.quantity_kg / dock.loading_rate_kg_per_min)


@dataclass(frozen=True)
class Appointment:
    """A dock and a start time."""

    dock_id: str
    start_min: int


@dataclass(frozen=True)
class Delivery:
    """One truckload to schedule.

    `ready_min` is the earliest start (goods ready, or the truck's live ETA plus the drive in);
    `preferred_min` the start the carrier asked for (defaults to ready); `due_min` the latest
    wanted finish; `fixed` an appointment that must stay (a load already called or under way).
    """

    delivery_id: str
    load: Load
    ready_min: int
    preferred_min: int | None = None
    due_min: int | None = None
    fixed: Appointment | None = None
    # a known occupation time that overrides the dock's rate (a load already under way)
    duration_min: int | None = None
    # multiplies the cost of each minute started after the preferred time: a truck already at
    # the plant or on the road waits there, one still at its depot can simply leave later
    delay_weight: int = 1

    @property
    def target_min(self) -> int:
        """The start this delivery would like."""
        return self.ready_min if self.preferred_min is None else self.preferred_min


@dataclass(frozen=True)
class SlotRules:
    """The slot grid and how many loads may start in one slot across the plant."""

    slot_min: int = 15
    # gate and weighbridge throughput; None means no limit
    capacity_per_slot: int | None = None


@dataclass(frozen=True)
class Weights:
    """Objective weights, in cost units per minute or per event."""

    delay_per_min: int = 4
    early_per_min: int = 1
    lateness_per_min: int = 20
    overtime_per_min: int = 10
    unscheduled: int = 100_000
    # cost of moving a delivery away from its previous appointment (re-slotting)
    keep: int = 0


@dataclass(frozen=True)
class Assignment:
    """A delivery's dock and occupation interval in a plan."""

    delivery_id: str
    dock_id: str
    start_min: int
    end_min: int


class SolveStatus(StrEnum):
    """How a plan was obtained."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    GREEDY = "greedy"


@dataclass(frozen=True)
class Plan:
    """A schedule: one assignment per scheduled delivery, and the quality of the solve."""

    assignments: tuple[Assignment, ...]
    unscheduled: tuple[str, ...]
    objective: int
    greedy_objective: int
    best_bound: int | None
    status: SolveStatus
    solve_s: float
    _index: dict[str, Assignment] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({a.delivery_id: a for a in self.assignments})

    def get(self, delivery_id: str) -> Assignment | None:
        """The assignment of a delivery, or None if it is not scheduled."""
        return self._index.get(delivery_id)

    def appointments(self) -> dict[str, Appointment]:
        """Each scheduled delivery's appointment, keyed by delivery id."""
        return {a.delivery_id: Appointment(a.dock_id, a.start_min) for a in self.assignments}

    @property
    def gap(self) -> float | None:
        """Relative distance between objective and proven bound (0 means optimal)."""
        if self.best_bound is None:
            return None
        return (self.objective - self.best_bound) / max(1, abs(self.objective))


@dataclass
class _Busy:
    start_min: int
    end_min: int
    product: str | None  # None for a closed interval


def _dock_gap(dock: Dock, blocker: _Busy, product: str) -> int:
    """Changeover needed between a busy interval and a load of this product."""
    return dock.changeover_min if blocker.product not in (None, product) else 0


@dataclass
class _Timeline:
    """The greedy's view of one dock: closures, and loads sorted by start."""

    dock: Dock
    closures: list[_Busy]
    busy: list[_Busy] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    longest_min: int = 0

    def fits(self, start_min: int, duration_min: int, product: str) -> _Busy | None:
        """The first closure or load that rules out this start, or None if it fits."""
        end = start_min + duration_min
        for c in self.closures:
            if c.start_min < end and c.end_min > start_min:
                return c
        co = self.dock.changeover_min
        # no load starting before this can reach the start, changeover included
        i = bisect.bisect_left(self.starts, start_min - self.longest_min - co)
        for b in self.busy[i:]:
            if b.start_min >= end + co:
                break
            gap = co if b.product != product else 0
            if b.start_min < end + gap and b.end_min + gap > start_min:
                return b
        return None

    def add(self, start_min: int, end_min: int, product: str) -> None:
        """Record a load on the dock."""
        i = bisect.bisect_right(self.starts, start_min)
        self.busy.insert(i, _Busy(start_min, end_min, product))
        self.starts.insert(i, start_min)
        self.longest_min = max(self.longest_min, end_min - start_min)

    def remove(self, start_min: int) -> None:
        """Drop the load that starts at this minute."""
        i = bisect.bisect_left(self.starts, start_min)
        del self.busy[i]
        del self.starts[i]


class _Problem:
    """Validated inputs and the facts derived from them, shared by greedy and CP-SAT."""

    def __init__(
        self,
        docks: Sequence[Dock],
        deliveries: Sequence[Delivery],
        slots: SlotRules,
        weights: Weights,
        previous: Mapping[str, Appointment],
    ) -> None:
        self.docks = {d.dock_id: d for d in docks}
        if len(self.docks) != len(docks):
            raise ValueError("dock ids must be unique")
        ids = [d.delivery_id for d in deliveries]
        if len(set(ids)) != len(ids):
            raise ValueError("delivery ids must be unique")
        if slots.slot_min <= 0:
            raise ValueError("slot length must be positive")
        self.deliveries = list(deliveries)
        self.by_id = {dv.delivery_id: dv for dv in deliveries}
        self.slots = slots
        self.weights = weights
        self.previous = previous
        self.horizon_min = max(d.last_end_min for d in docks) + slots.slot_min
        self.fixed_ids = {dv.delivery_id for dv in deliveries if dv.fixed is not None}
        self.candidates: dict[str, dict[str, int]] = {}
        for dv in deliveries:
            cands = {
                d.dock_id: dv.duration_min or loading_duration_min(d, dv.load)
                for d in docks
                if is_compatible(d, dv.load)
            }
            if dv.fixed is not None:
                if dv.fixed.dock_id not in cands:
                    raise ValueError(
                        f"fixed appointment of {dv.delivery_id} is on an incompatible "
                        f"or unknown dock {dv.fixed.dock_id}"
                    )
                cands = {dv.fixed.dock_id: cands[dv.fixed.dock_id]}
            self.candidates[dv.delivery_id] = cands
        self._check_fixed()
        # how contested each dock is: work that could go there, shared evenly among its
        # candidates, over the dock's open minutes
        self.pressure = dict.fromkeys(self.docks, 0.0)
        for cands in self.candidates.values():
            for dock_id, dur in cands.items():
                self.pressure[dock_id] += dur / len(cands)
        for dock_id, dock in self.docks.items():
            open_min = dock.closes_min - dock.opens_min - sum(b - a for a, b in dock.closed)
            self.pressure[dock_id] /= max(1, open_min)

    def balance_cost(self, dv: Delivery, dock_id: str) -> int:
        """What taking a more contested dock than needed costs, priced as delay.

        A load that two kinds of dock take should leave the busier kind to the loads only it
        can take: each of its minutes there costs as much delay as the busier dock's extra
        share of the day.
        """
        cands = self.candidates[dv.delivery_id]
        if len(cands) < 2:
            return 0
        least = min(self.pressure[d] for d in cands)
        extra = self.pressure[dock_id] - least
        return round(8 * self.weights.delay_per_min * extra * cands[dock_id])

    def _check_fixed(self) -> None:
        by_dock: dict[str, list[tuple[int, int, str, str]]] = {}
        for dv in self.deliveries:
            if dv.fixed is not None:
                dur = self.candidates[dv.delivery_id][dv.fixed.dock_id]
                by_dock.setdefault(dv.fixed.dock_id, []).append(
                    (dv.fixed.start_min, dv.fixed.start_min + dur, dv.load.product, dv.delivery_id)
                )
        for dock_id, items in by_dock.items():
            items.sort()
            co = self.docks[dock_id].changeover_min
            for a, b in itertools.pairwise(items):
                gap = co if a[2] != b[2] else 0
                if a[1] + gap > b[0]:
                    raise ValueError(f"fixed appointments {a[3]} and {b[3]} clash on {dock_id}")

    def slot_floor(self, minute: int) -> int:
        """The slot a minute falls in."""
        return minute // self.slots.slot_min

    def slot_ceil(self, minute: int) -> int:
        """The first slot starting at or after a minute."""
        return -(-minute // self.slots.slot_min)

    def start_window(self, dv: Delivery, dock_id: str) -> tuple[int, int] | None:
        """Lowest and highest slot index at which the delivery may start on this dock."""
        dock = self.docks[dock_id]
        dur = self.candidates[dv.delivery_id][dock_id]
        lo = self.slot_ceil(max(dv.ready_min, dock.opens_min))
        hi = self.slot_floor(dock.last_end_min - dur)
        return (lo, hi) if lo <= hi else None

    def start_window_holds(self, dv: Delivery, dock_id: str, start_min: int) -> bool:
        """Whether this start is on the grid and inside the delivery's window on the dock."""
        if start_min % self.slots.slot_min:
            return False
        window = self.start_window(dv, dock_id)
        return window is not None and window[0] <= start_min // self.slots.slot_min <= window[1]

    def cost(self, dv: Delivery, dock_id: str, start_min: int) -> int:
        """Objective contribution of one placed delivery."""
        w = self.weights
        target = dv.target_min
        cost = dv.delay_weight * w.delay_per_min * max(0, start_min - target)
        cost += w.early_per_min * max(0, target - start_min)
        end = start_min + self.candidates[dv.delivery_id][dock_id]
        if dv.due_min is not None:
            cost += w.lateness_per_min * max(0, end - dv.due_min)
        if dv.fixed is None:
            cost += w.overtime_per_min * max(0, end - self.docks[dock_id].closes_min)
        prev = self.previous.get(dv.delivery_id)
        if w.keep and prev is not None and prev != Appointment(dock_id, start_min):
            cost += w.keep
        return cost

    def placed_cost(self, dv: Delivery, app: Appointment | None) -> int:
        """Cost of a delivery where it is placed, or of leaving it out."""
        if app is None:
            return self.weights.unscheduled
        return self.cost(dv, app.dock_id, app.start_min)

    def objective(self, placed: Mapping[str, Appointment]) -> int:
        """The cost of a whole plan."""
        return sum(self.placed_cost(dv, placed.get(dv.delivery_id)) for dv in self.deliveries)

    def plan(
        self,
        placed: Mapping[str, Appointment],
        *,
        greedy_objective: int,
        best_bound: int | None,
        status: SolveStatus,
        started: float,
    ) -> Plan:
        assignments = []
        unscheduled = []
        for dv in self.deliveries:
            app = placed.get(dv.delivery_id)
            if app is None:
                unscheduled.append(dv.delivery_id)
                continue
            dur = self.candidates[dv.delivery_id][app.dock_id]
            assignments.append(
                Assignment(dv.delivery_id, app.dock_id, app.start_min, app.start_min + dur)
            )
        assignments.sort(key=lambda a: (a.start_min, a.dock_id))
        return Plan(
            assignments=tuple(assignments),
            unscheduled=tuple(unscheduled),
            objective=self.objective(placed),
            greedy_objective=greedy_objective,
            best_bound=best_bound,
            status=status,
            solve_s=time.perf_counter() - started,
        )


class _Board:
    """Docks' busy intervals and starts per slot, for placing deliveries one at a time."""

    def __init__(self, problem: _Problem) -> None:
        self.problem = problem
        self.timelines: dict[str, _Timeline] = {}
        for dock in problem.docks.values():
            closures = [
                _Busy(0, dock.opens_min, None),
                _Busy(dock.last_end_min, problem.horizon_min, None),
            ]
            closures += [_Busy(a, b, None) for a, b in dock.closed]
            self.timelines[dock.dock_id] = _Timeline(dock, closures)
        self.starts_per_slot: Counter[int] = Counter()
        self.placed: dict[str, Appointment] = {}

    def take(self, dv: Delivery, app: Appointment) -> None:
        """Place a delivery (a fixed one may cross a closure: it is a fact)."""
        dur = self.problem.candidates[dv.delivery_id][app.dock_id]
        self.timelines[app.dock_id].add(app.start_min, app.start_min + dur, dv.load.product)
        self.starts_per_slot[self.problem.slot_floor(app.start_min)] += 1
        self.placed[dv.delivery_id] = app

    def release(self, dv: Delivery) -> None:
        """Take a placed delivery off its dock."""
        app = self.placed.pop(dv.delivery_id)
        self.timelines[app.dock_id].remove(app.start_min)
        self.starts_per_slot[self.problem.slot_floor(app.start_min)] -= 1

    def slot_full(self, start_min: int) -> bool:
        """Whether the gate already has its starts in this slot."""
        cap = self.problem.slots.capacity_per_slot
        return cap is not None and self.starts_per_slot[self.problem.slot_floor(start_min)] >= cap

    def fits(self, dv: Delivery, dock_id: str, start_min: int) -> bool:
        """Whether the delivery may start here now."""
        dur = self.problem.candidates[dv.delivery_id][dock_id]
        return self.timelines[dock_id].fits(
            start_min, dur, dv.load.product
        ) is None and not self.slot_full(start_min)

    def earliest(self, dv: Delivery, dock_id: str, from_min: int) -> int | None:
        """The first free start on this dock at or after a minute."""
        problem = self.problem
        window = problem.start_window(dv, dock_id)
        if window is None:
            return None
        lo, hi = window
        dur = problem.candidates[dv.delivery_id][dock_id]
        timeline = self.timelines[dock_id]
        k = max(lo, problem.slot_ceil(from_min))
        while k <= hi:
            start = k * problem.slots.slot_min
            blocker = timeline.fits(start, dur, dv.load.product)
            if blocker is not None:
                gap = _dock_gap(timeline.dock, blocker, dv.load.product)
                k = max(k + 1, problem.slot_ceil(blocker.end_min + gap))
            elif self.slot_full(start):
                k += 1
            else:
                return start
        return None

    def latest_before(self, dv: Delivery, dock_id: str, until_min: int) -> int | None:
        """The last free start on this dock at or before a minute."""
        problem = self.problem
        window = problem.start_window(dv, dock_id)
        if window is None:
            return None
        lo, hi = window
        dur = problem.candidates[dv.delivery_id][dock_id]
        timeline = self.timelines[dock_id]
        k = min(hi, problem.slot_floor(until_min))
        while k >= lo:
            start = k * problem.slots.slot_min
            blocker = timeline.fits(start, dur, dv.load.product)
            if blocker is not None:
                gap = _dock_gap(timeline.dock, blocker, dv.load.product)
                k = min(k - 1, problem.slot_floor(blocker.start_min - gap - dur))
            elif self.slot_full(start):
                k -= 1
            else:
                return start
        return None

    def keep_option(self, dv: Delivery, prev: Appointment | None) -> Appointment | None:
        """An earlier appointment, if the delivery may still have it."""
        problem = self.problem
        if prev is None or prev.dock_id not in problem.candidates[dv.delivery_id]:
            return None
        window = problem.start_window(dv, prev.dock_id)
        if (
            window is None
            or prev.start_min % problem.slots.slot_min
            or not window[0] <= problem.slot_floor(prev.start_min) <= window[1]
            or not self.fits(dv, prev.dock_id, prev.start_min)
        ):
            return None
        return prev

    def best_option(self, dv: Delivery, stay: Appointment | None = None) -> Appointment | None:
        """The cheapest place for a delivery among a few candidate starts on each dock.

        Candidates: a given appointment to stay at, the previous appointment, the first free
        start at or after the wish, the first at or after the ready time, and the last free
        start before the wish; ties go to the least contested dock.
        """
        problem = self.problem
        best: tuple[int, float, Appointment] | None = None
        previous = problem.previous.get(dv.delivery_id)
        for app in (self.keep_option(dv, stay), self.keep_option(dv, previous)):
            if app is not None:
                option = (problem.cost(dv, app.dock_id, app.start_min), -1.0, app)
                if best is None or option[:2] < best[:2]:
                    best = option
        for dock_id in problem.candidates[dv.delivery_id]:
            starts = {
                self.earliest(dv, dock_id, dv.target_min),
                self.earliest(dv, dock_id, dv.ready_min),
            }
            if dv.target_min > dv.ready_min:
                starts.add(self.latest_before(dv, dock_id, dv.target_min))
            for start in starts:
                if start is None:
                    continue
                option = (
                    problem.cost(dv, dock_id, start)
                    + self.changeover_cost(dv, dock_id, start)
                    + problem.balance_cost(dv, dock_id),
                    problem.pressure[dock_id],
                    Appointment(dock_id, start),
                )
                if best is None or option[:2] < best[:2]:
                    best = option
        return None if best is None else best[2]

    def changeover_cost(self, dv: Delivery, dock_id: str, start_min: int) -> int:
        """Dock minutes this placement adds in changeovers, priced as delay to later loads.

        The cost of a plan counts changeovers only through the delays they cause later, which
        a one-by-one placement cannot see; without this, loads of two products alternate
        on a dock and every switch costs a flush.
        """
        dock = self.problem.docks[dock_id]
        if not dock.changeover_min:
            return 0
        timeline = self.timelines[dock_id]
        i = bisect.bisect_right(timeline.starts, start_min)
        before = timeline.busy[i - 1] if i > 0 else None
        after = timeline.busy[i] if i < len(timeline.busy) else None
        product = dv.load.product
        switches = sum(1 for b in (before, after) if b is not None and b.product != product)
        if before is not None and after is not None and before.product != after.product:
            switches -= 1  # that switch was there already
        return max(0, switches) * dock.changeover_min * self.problem.weights.delay_per_min


def _greedy(problem: _Problem) -> dict[str, Appointment]:
    """Place fixed loads, then insert the rest one by one at their cheapest place."""
    board = _Board(problem)
    flexible = []
    for dv in problem.deliveries:
        if dv.fixed is not None:
            board.take(dv, dv.fixed)
        else:
            flexible.append(dv)

    # deliveries committed to their appointment (a previous one and a costly delay: a truck
    # on the road that is on time for it) keep it first; then the rest, in order of their
    # previous appointment (or wish), so that earlier holders keep their place and a slot
    # freed by a no-show or a slip is open to a later delivery that gains by moving. Placing
    # every costly delay first instead lets late trucks take any slot they like, and the
    # plan loses dock time to the gaps they leave between the others.
    def order(dv: Delivery) -> tuple[int, int, str]:
        prev = problem.previous.get(dv.delivery_id)
        committed = prev is not None and dv.delay_weight > 1
        return (0 if committed else 1, prev.start_min if prev else dv.target_min, dv.delivery_id)

    for dv in sorted(flexible, key=order):
        app = board.best_option(dv)
        if app is not None:
            board.take(dv, app)
    return board.placed


def _reinsert(problem: _Problem, placed: Mapping[str, Appointment]) -> dict[str, Appointment]:
    """Take each delivery out in turn, costliest first, and put it back at its cheapest place.

    A delivery goes back where it was unless another place is cheaper, so no move raises the
    cost; a retimed plan leaves gaps that a later or earlier delivery can now use.
    """
    board = _Board(problem)
    for dv in problem.deliveries:
        app = placed.get(dv.delivery_id)
        if app is not None:
            board.take(dv, app)
    flexible = [dv for dv in problem.deliveries if dv.fixed is None]
    flexible.sort(key=lambda dv: -problem.placed_cost(dv, placed.get(dv.delivery_id)))
    for dv in flexible:
        current = board.placed.get(dv.delivery_id)
        if current is not None:
            if problem.cost(dv, current.dock_id, current.start_min) == 0:
                continue
            board.release(dv)
        app = board.best_option(dv, stay=current)
        if app is not None:
            board.take(dv, app)
    return dict(board.placed)


def _swap(problem: _Problem, placed: Mapping[str, Appointment]) -> dict[str, Appointment]:
    """Let a delivery that could start sooner trade places with one placed in that span.

    Reinsertion moves one delivery into a gap; a plan with no gaps needs two to trade: a
    truck that turns up early takes the place of one that has not left yet, which takes
    the later place. A trade is kept when it lowers the two deliveries' cost.
    """
    board = _Board(problem)
    for dv in problem.deliveries:
        app = placed.get(dv.delivery_id)
        if app is not None:
            board.take(dv, app)
    by_dock: dict[str, list[tuple[int, str]]] = {d: [] for d in problem.docks}
    for did, app in board.placed.items():
        if did not in problem.fixed_ids:
            by_dock[app.dock_id].append((app.start_min, did))
    for items in by_dock.values():
        items.sort()
    flexible = [dv for dv in problem.deliveries if dv.fixed is None]
    flexible.sort(key=lambda dv: -problem.placed_cost(dv, placed.get(dv.delivery_id)))
    for dv in flexible:
        mine = board.placed.get(dv.delivery_id)
        if mine is None or mine.start_min <= dv.target_min:
            continue
        before = problem.cost(dv, mine.dock_id, mine.start_min)
        if before == 0:
            continue
        for dock_id in problem.candidates[dv.delivery_id]:
            items = by_dock[dock_id]
            lo = bisect.bisect_left(items, (dv.ready_min, ""))
            hi = bisect.bisect_left(items, (mine.start_min, ""))
            for _, other_id in items[lo:hi]:
                other = problem.by_id[other_id]
                theirs = board.placed[other_id]
                if mine.dock_id not in problem.candidates[other_id]:
                    continue
                if not problem.start_window_holds(other, mine.dock_id, mine.start_min):
                    continue
                if not problem.start_window_holds(dv, theirs.dock_id, theirs.start_min):
                    continue
                gain = (
                    before
                    + problem.cost(other, theirs.dock_id, theirs.start_min)
                    - problem.cost(dv, theirs.dock_id, theirs.start_min)
                    - problem.cost(other, mine.dock_id, mine.start_min)
                )
                if gain <= 0:
                    continue
                board.release(dv)
                board.release(other)
                new_mine = Appointment(theirs.dock_id, theirs.start_min)
                new_theirs = Appointment(mine.dock_id, mine.start_min)
                if board.fits(dv, new_mine.dock_id, new_mine.start_min):
                    board.take(dv, new_mine)
                    if board.fits(other, new_theirs.dock_id, new_theirs.start_min):
                        board.take(other, new_theirs)
                        by_dock[mine.dock_id].remove((mine.start_min, dv.delivery_id))
                        by_dock[theirs.dock_id].remove((theirs.start_min, other_id))
                        bisect.insort(
                            by_dock[new_mine.dock_id], (new_mine.start_min, dv.delivery_id)
                        )
                        bisect.insort(by_dock[new_theirs.dock_id], (new_theirs.start_min, other_id))
                        break
                    board.release(dv)
                board.take(dv, mine)
                board.take(other, theirs)
            else:
                continue
            break
    return dict(board.placed)


@dataclass(frozen=True)
class _Held:
    """A load that stays where it is during a window solve."""

    start_min: int
    end_min: int
    product: str


@dataclass
class _Window:
    """A CP-SAT model of some free deliveries around held loads, and its handles."""

    model: cp_model.CpModel
    start_k: dict[str, cp_model.IntVar]
    presence: dict[tuple[str, str], cp_model.IntVar]


def _window_model(
    problem: _Problem,
    free: Sequence[Delivery],
    *,
    held: Mapping[str, Sequence[_Held]],
    held_starts: Mapping[int, int],
    bounds: Mapping[str, tuple[int, int]],
    hint: Mapping[str, Appointment],
) -> _Window:
    """Free deliveries placed anywhere in their slot bounds, not clashing with held loads.

    Each free delivery has one start on the slot grid and an optional interval per compatible
    dock; a dock's intervals may not overlap. Changeovers: a free load keeps the changeover
    from held loads of another product by not overlapping them widened on both sides, and two
    free loads of different products on one dock are ordered by a literal.
    """
    model = cp_model.CpModel()
    slot = problem.slots.slot_min
    w = problem.weights
    cost_terms: list[cp_model.LinearExprT] = []
    presence: dict[tuple[str, str], cp_model.IntVar] = {}
    start_k: dict[str, cp_model.IntVar] = {}
    on_dock: dict[str, list[tuple[Delivery, cp_model.IntervalVar]]] = {d: [] for d in problem.docks}
    slot_intervals: list[cp_model.IntervalVar] = []

    for dv in free:
        did = dv.delivery_id
        lo_b, hi_b = bounds[did]
        windows = {}
        for dock_id in problem.candidates[did]:
            win = problem.start_window(dv, dock_id)
            if win is not None and max(win[0], lo_b) <= min(win[1], hi_b):
                windows[dock_id] = (max(win[0], lo_b), min(win[1], hi_b))
        scheduled = model.new_bool_var(f"on_{did}")
        seed = hint.get(did)
        model.add_hint(scheduled, int(seed is not None))
        cost_terms.append(w.unscheduled * (1 - scheduled))
        if not windows:
            model.add(scheduled == 0)
            continue
        k_lo = min(a for a, _ in windows.values())
        k_hi = max(b for _, b in windows.values())
        k = model.new_int_var(k_lo, k_hi, f"k_{did}")
        start_k[did] = k
        hint_start = slot * min(
            max((seed.start_min if seed is not None else dv.target_min) // slot, k_lo), k_hi
        )
        model.add_hint(k, hint_start // slot)
        start = slot * k
        lits = []
        end_terms: list[cp_model.LinearExprT] = []
        for dock_id, (wlo, whi) in windows.items():
            p = model.new_bool_var(f"p_{did}_{dock_id}")
            presence[(did, dock_id)] = p
            model.add_hint(p, int(seed is not None and seed.dock_id == dock_id))
            lits.append(p)
            dur = problem.candidates[did][dock_id]
            model.add(k >= wlo).only_enforce_if(p)
            model.add(k <= whi).only_enforce_if(p)
            iv = model.new_optional_fixed_size_interval_var(start, dur, p, f"iv_{did}_{dock_id}")
            on_dock[dock_id].append((dv, iv))
            end_terms.append(dur * p)
            closes = problem.docks[dock_id].closes_min
            if w.overtime_per_min and problem.docks[dock_id].overtime_min:
                over = model.new_int_var(0, problem.horizon_min, f"ot_{did}_{dock_id}")
                model.add(over >= start + dur - closes).only_enforce_if(p)
                on_here = seed is not None and seed.dock_id == dock_id
                model.add_hint(over, max(0, hint_start + dur - closes) if on_here else 0)
                cost_terms.append(w.overtime_per_min * over)
        model.add_exactly_one([*lits, scheduled.negated()])
        slot_intervals.append(model.new_optional_fixed_size_interval_var(k, 1, scheduled, ""))

        target = dv.target_min
        # a delivery left out pays the unscheduled fee only
        placed = seed is not None
        late = model.new_int_var(0, problem.horizon_min, f"late_{did}")
        model.add(late >= start - target).only_enforce_if(scheduled)
        model.add_hint(late, max(0, hint_start - target) if placed else 0)
        early = model.new_int_var(0, problem.horizon_min, f"early_{did}")
        model.add(early >= target - start).only_enforce_if(scheduled)
        model.add_hint(early, max(0, target - hint_start) if placed else 0)
        cost_terms.append(dv.delay_weight * w.delay_per_min * late + w.early_per_min * early)
        if dv.due_min is not None:
            tardy = model.new_int_var(0, problem.horizon_min, f"tardy_{did}")
            model.add(
                tardy >= start + cp_model.LinearExpr.sum(end_terms) - dv.due_min
            ).only_enforce_if(scheduled)
            hint_end = hint_start + (problem.candidates[did][seed.dock_id] if seed else 0)
            model.add_hint(tardy, max(0, hint_end - dv.due_min) if placed else 0)
            cost_terms.append(w.lateness_per_min * tardy)
        prev = problem.previous.get(did)
        if w.keep and prev is not None:
            stay = model.new_bool_var(f"stay_{did}")
            p_prev = presence.get((did, prev.dock_id))
            if p_prev is None or prev.start_min % slot:
                model.add(stay == 0)
            else:
                model.add_implication(stay, p_prev)
                model.add(k == prev.start_min // slot).only_enforce_if(stay)
            model.add_hint(stay, int(seed == prev))
            cost_terms.append(w.keep * (1 - stay))

    for dock_id, dock in problem.docks.items():
        mine = on_dock[dock_id]
        if not mine:
            continue
        blocks = [(0, dock.opens_min), (dock.last_end_min, problem.horizon_min), *dock.closed]
        closed_ivs = [model.new_fixed_size_interval_var(a, b - a, "") for a, b in blocks if b > a]
        model.add_no_overlap([iv for _, iv in mine] + closed_ivs)
        others = held.get(dock_id, ())
        co = dock.changeover_min
        for product in {dv.load.product for dv, _ in mine} if co else {None}:
            # held loads of another product are widened by the changeover on both sides
            zones = _merged(
                (h.start_min - co, h.end_min + co)
                if product is not None and h.product != product
                else (h.start_min, h.end_min)
                for h in others
            )
            same = [iv for dv, iv in mine if product is None or dv.load.product == product]
            held_ivs = [model.new_fixed_size_interval_var(a, b - a, "") for a, b in zones]
            if held_ivs or len(same) > 1:
                model.add_no_overlap(same + held_ivs)
        if not co:
            continue
        for (dv_i, _), (dv_j, _) in itertools.combinations(mine, 2):
            if dv_i.load.product == dv_j.load.product:
                continue
            id_i, id_j = dv_i.delivery_id, dv_j.delivery_id
            p_i, p_j = presence[(id_i, dock_id)], presence[(id_j, dock_id)]
            s_i, s_j = slot * start_k[id_i], slot * start_k[id_j]
            d_i, d_j = problem.candidates[id_i][dock_id], problem.candidates[id_j][dock_id]
            first = model.new_bool_var("")
            model.add(s_i + d_i + co <= s_j).only_enforce_if([p_i, p_j, first])
            model.add(s_j + d_j + co <= s_i).only_enforce_if([p_i, p_j, first.negated()])
            h_i, h_j = hint.get(id_i), hint.get(id_j)
            model.add_hint(first, int(h_i is None or h_j is None or h_i.start_min <= h_j.start_min))

    cap = problem.slots.capacity_per_slot
    if cap is not None and slot_intervals:
        taken = [
            (model.new_fixed_size_interval_var(k, 1, ""), n)
            for k, n in held_starts.items()
            if n > 0
        ]
        model.add_cumulative(
            slot_intervals + [iv for iv, _ in taken],
            [1] * len(slot_intervals) + [n for _, n in taken],
            cap,
        )
    model.minimize(sum(cost_terms))
    return _Window(model, start_k, presence)


def _merged(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching intervals joined into disjoint ones."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _read_window(
    problem: _Problem, built: _Window, solver: cp_model.CpSolver, free: Sequence[Delivery]
) -> dict[str, Appointment | None]:
    slot = problem.slots.slot_min
    found: dict[str, Appointment | None] = {}
    for dv in free:
        did = dv.delivery_id
        found[did] = None
        for dock_id in problem.candidates[did]:
            chosen = built.presence.get((did, dock_id))
            if chosen is not None and solver.boolean_value(chosen):
                found[did] = Appointment(dock_id, solver.value(built.start_k[did]) * slot)
    return found


def _solver(time_limit_s: float, workers: int, random_seed: int) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = random_seed
    # symmetry detection costs more presolve time than it saves on these models
    solver.parameters.symmetry_level = 0
    return solver


def _held_around(
    problem: _Problem,
    placed: Mapping[str, Appointment],
    free_ids: Collection[str],
    span_min: tuple[int, int] | None = None,
) -> tuple[dict[str, list[_Held]], Counter[int]]:
    """Loads that stay put, per dock, and starts per slot; only those near `span_min`."""
    held: dict[str, list[_Held]] = {}
    starts: Counter[int] = Counter()
    for did, app in placed.items():
        if did in free_ids:
            continue
        dur = problem.candidates[did][app.dock_id]
        if span_min is not None and not span_min[0] <= app.start_min <= span_min[1]:
            continue
        held.setdefault(app.dock_id, []).append(
            _Held(app.start_min, app.start_min + dur, problem.by_id[did].load.product)
        )
        starts[problem.slot_floor(app.start_min)] += 1
    return held, starts


def _solve_whole(
    problem: _Problem,
    seed_plan: Mapping[str, Appointment],
    *,
    time_limit_s: float,
    workers: int,
    random_seed: int,
) -> tuple[dict[str, Appointment], int, SolveStatus] | None:
    """Every flexible delivery in one model: the solver's bound holds for the whole problem."""
    free = [dv for dv in problem.deliveries if dv.fixed is None]
    free_ids = {dv.delivery_id for dv in free}
    held, starts = _held_around(problem, seed_plan, free_ids)
    bounds = {dv.delivery_id: (0, problem.slot_floor(problem.horizon_min)) for dv in free}
    built = _window_model(
        problem, free, held=held, held_starts=starts, bounds=bounds, hint=seed_plan
    )
    solver = _solver(time_limit_s, workers, random_seed)
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    placed = {did: app for did, app in seed_plan.items() if did not in free_ids}
    found = _read_window(problem, built, solver, free)
    placed.update({did: app for did, app in found.items() if app is not None})
    bound = math.ceil(solver.best_objective_bound - 1e-6)
    optimal = status == cp_model.OPTIMAL
    return placed, bound, SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE


def _dock_groups(problem: _Problem) -> list[set[str]]:
    """Sets of docks tied together by deliveries that could go to either."""
    parent = {d: d for d in problem.docks}

    def root(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    for cands in problem.candidates.values():
        ids = list(cands)
        for other in ids[1:]:
            parent[root(other)] = root(ids[0])
    groups: dict[str, set[str]] = {}
    for d in problem.docks:
        groups.setdefault(root(d), set()).add(d)
    return list(groups.values())


def _search(
    problem: _Problem,
    seed_plan: Mapping[str, Appointment],
    *,
    deadline: float,
    workers: int,
    random_seed: int,
    window_size: int,
) -> dict[str, Appointment]:
    """Large-neighbourhood search: re-solve windows of deliveries close in time, one at a time.

    Windows run along each group of docks in order of the current start, half overlapping,
    and the costliest go first (that is where a queue built up). Every pass shifts the cut by
    a third of a window so that no boundary stays put. A window may place its deliveries
    anywhere within reach of its own time span, and its answer is kept only when it lowers the
    cost. The search stops at the deadline or after a pass that improved nothing.
    """
    placed = dict(seed_plan)
    groups = _dock_groups(problem)
    reach_min = 2 * max((max(c.values()) for c in problem.candidates.values() if c), default=0)
    step = max(1, window_size // 2)
    slot = problem.slots.slot_min
    for pass_no in itertools.count():
        windows: list[list[Delivery]] = []
        for group in groups:
            members = [
                dv
                for dv in problem.deliveries
                if dv.fixed is None and set(problem.candidates[dv.delivery_id]) & group
            ]
            members.sort(
                key=lambda dv: (
                    placed[dv.delivery_id].start_min if dv.delivery_id in placed else dv.target_min
                )
            )
            offset = (pass_no * window_size // 3) % step
            cuts = [0] if offset == 0 else [0, offset]
            cuts += list(range(offset + step, max(1, len(members) - step + 1), step))
            windows += [members[i : i + window_size] for i in dict.fromkeys(cuts)]

        def window_cost(chunk: list[Delivery], plan: Mapping[str, Appointment]) -> int:
            return sum(problem.placed_cost(dv, plan.get(dv.delivery_id)) for dv in chunk)

        windows = sorted(
            (w for w in windows if window_cost(w, placed) > 0),
            key=lambda w: window_cost(w, placed),
        )
        improved = False
        while windows:
            remaining_s = deadline - time.perf_counter()
            if remaining_s <= 0.01:
                return placed
            chunk = windows.pop()
            before = window_cost(chunk, placed)
            if before == 0:
                continue
            ids = {dv.delivery_id for dv in chunk}
            times = [placed[did].start_min for did in ids if did in placed]
            times += [dv.target_min for dv in chunk]
            lo = problem.slot_floor(min(times) - reach_min)
            hi = problem.slot_ceil(max(times) + reach_min)
            horizon = problem.slot_floor(problem.horizon_min)
            bounds = {did: (lo, hi if did in placed else horizon) for did in ids}
            span = (lo * slot - reach_min, (max(b for _, b in bounds.values()) + 1) * slot)
            held, starts = _held_around(problem, placed, ids, span)
            built = _window_model(
                problem, chunk, held=held, held_starts=starts, bounds=bounds, hint=placed
            )
            budget_s = min(remaining_s, _WINDOW_BUDGET_S)
            solver = _solver(budget_s, workers, random_seed + len(windows))
            status = solver.solve(built.model)
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                continue
            found = _read_window(problem, built, solver, chunk)
            if sum(problem.placed_cost(dv, found[dv.delivery_id]) for dv in chunk) < before:
                for did, app in found.items():
                    if app is None:
                        placed.pop(did, None)
                    else:
                        placed[did] = app
                improved = True
        if not improved:
            return placed
        placed = _polish(problem, placed, deadline=deadline)
    return placed


def _retime(problem: _Problem, placed: Mapping[str, Appointment]) -> dict[str, Appointment]:
    """Keep every dock and the order on it, and re-choose all start times at once.

    With the order on a dock fixed, the best start times follow from a dynamic programme
    over the slot grid (each load's cheapest start given that the one before it ended, with
    its changeover): exact per dock, in milliseconds. This moves whole runs of loads earlier
    or later together, which windows of a few loads cannot. A load may move at most
    `_RETIME_REACH_MIN` later than the latest start on its dock now. Docks are retimed one
    after the other so that the starts per slot stay within the gate's capacity; if a dock
    finds no start that fits, the plan is returned as it was.
    """
    slot = problem.slots.slot_min
    n_slots = problem.slot_floor(problem.horizon_min) + 1
    cap = problem.slots.capacity_per_slot
    used = np.zeros(n_slots, dtype=np.int64)
    for app in placed.values():
        used[min(n_slots - 1, problem.slot_floor(app.start_min))] += 1
    out = dict(placed)
    per_dock: dict[str, list[str]] = {}
    for did, app in placed.items():
        if did not in problem.fixed_ids:
            per_dock.setdefault(app.dock_id, []).append(did)
    for dock_id, ids in per_dock.items():
        if cap is None and all(
            problem.cost(problem.by_id[did], dock_id, placed[did].start_min) == 0 for did in ids
        ):
            continue  # nothing on this dock to gain, and it shares no gate with the others
        ids.sort(key=lambda did: placed[did].start_min)
        dock = problem.docks[dock_id]
        windows = [problem.start_window(problem.by_id[did], dock_id) for did in ids]
        k0 = min(w[0] for w in windows if w is not None)
        latest = problem.slot_floor(placed[ids[-1]].start_min + _RETIME_REACH_MIN)
        k1 = min(n_slots - 1, max(w[1] for w in windows if w is not None), latest)
        k1 = max(k1, problem.slot_floor(placed[ids[-1]].start_min))
        grid = np.arange(k0, k1 + 1, dtype=np.int64) * slot
        n = len(grid)
        blocks = [
            _Busy(a, b, None)
            for a, b in [
                (0, dock.opens_min),
                (dock.last_end_min, problem.horizon_min),
                *dock.closed,
            ]
        ] + [
            _Busy(
                placed[did].start_min,
                placed[did].start_min + problem.candidates[did][dock_id],
                problem.by_id[did].load.product,
            )
            for did in problem.fixed_ids
            if did in placed and placed[did].dock_id == dock_id
        ]
        for did in ids:
            used[problem.slot_floor(placed[did].start_min)] -= 1
        local_used = used[k0 : k1 + 1]
        best = np.zeros(n)
        choices: list[np.ndarray] = []
        prev_shift = 0
        for i, did in enumerate(ids):
            dv = problem.by_id[did]
            dur = problem.candidates[did][dock_id]
            cost = _cost_by_start(problem, dv, dock_id, grid)
            for blk in blocks:
                if (
                    blk.end_min <= grid[0] - dur - dock.changeover_min
                    or blk.start_min > grid[-1] + dur + dock.changeover_min
                ):
                    continue
                gap = _dock_gap(dock, blk, dv.load.product)
                clash = (grid < blk.end_min + gap) & (grid + dur + gap > blk.start_min)
                cost[clash] = np.inf
            if cap is not None:
                cost[local_used >= cap] = np.inf
            if i == 0:
                best = cost
                choices.append(np.full(n, -1))
            else:
                # the previous load started at least `prev_shift` slots earlier
                run_min = np.minimum.accumulate(best)
                run_arg = _running_argmin(best)
                shifted = np.full(n, np.inf)
                arg = np.full(n, -1)
                if prev_shift < n:
                    shifted[prev_shift:] = run_min[: n - prev_shift]
                    arg[prev_shift:] = run_arg[: n - prev_shift]
                best = cost + shifted
                choices.append(arg)
            if i + 1 < len(ids):
                nxt = problem.by_id[ids[i + 1]].load.product
                gap = dock.changeover_min if nxt != dv.load.product else 0
                prev_shift = -(-(dur + gap) // slot)
        k = int(np.argmin(best))
        if not np.isfinite(best[k]):
            return dict(placed)
        for i in range(len(ids) - 1, -1, -1):
            out[ids[i]] = Appointment(dock_id, int(grid[k]))
            local_used[k] += 1
            k = int(choices[i][k])
    return out


def _retime_until_stable(
    problem: _Problem, placed: Mapping[str, Appointment], rounds: int = 4
) -> dict[str, Appointment]:
    """Retime dock after dock until a round gains nothing (the gate limit couples docks)."""
    if problem.slots.capacity_per_slot is None:
        return _retime(problem, placed)  # docks are independent: one round is exact
    best = dict(placed)
    cost = problem.objective(best)
    for _ in range(rounds):
        again = _retime(problem, best)
        again_cost = problem.objective(again)
        if again_cost >= cost:
            break
        best, cost = again, again_cost
    return best


def _polish(
    problem: _Problem, placed: Mapping[str, Appointment], *, deadline: float, rounds: int = 4
) -> dict[str, Appointment]:
    """Reinsert, trade places and retime in turn until a round gains nothing.

    At least one round runs; further rounds stop at `rounds` or the deadline. A time limit
    short enough for one round gives the same plan for the same input every time.
    """
    best = _retime_until_stable(problem, placed)
    cost = problem.objective(best)
    for n in range(rounds):
        if n and time.perf_counter() >= deadline:
            break
        again = _retime_until_stable(problem, _swap(problem, _reinsert(problem, best)))
        again_cost = problem.objective(again)
        if again_cost >= cost:
            break
        best, cost = again, again_cost
    return best


def _running_argmin(values: np.ndarray) -> np.ndarray:
    """Index of the smallest value so far, at each position."""
    n = len(values)
    idx = np.arange(n)
    best = np.minimum.accumulate(values)
    is_new = values <= best
    return np.maximum.accumulate(np.where(is_new, idx, 0))


def _cost_by_start(problem: _Problem, dv: Delivery, dock_id: str, grid: np.ndarray) -> np.ndarray:
    """A delivery's cost for every start on the grid; infinite outside its window."""
    w = problem.weights
    dur = problem.candidates[dv.delivery_id][dock_id]
    target = dv.target_min
    cost: np.ndarray = (
        dv.delay_weight * w.delay_per_min * np.maximum(0, grid - target)
        + w.early_per_min * np.maximum(0, target - grid)
    ).astype(float)
    if dv.due_min is not None:
        cost += w.lateness_per_min * np.maximum(0, grid + dur - dv.due_min)
    cost += w.overtime_per_min * np.maximum(0, grid + dur - problem.docks[dock_id].closes_min)
    prev = problem.previous.get(dv.delivery_id)
    if w.keep and prev is not None:
        cost += w.keep
        if prev.dock_id == dock_id:
            cost[grid == prev.start_min] -= w.keep
    window = problem.start_window(dv, dock_id)
    if window is None:
        cost[:] = np.inf
    else:
        slot = problem.slots.slot_min
        cost[(grid < window[0] * slot) | (grid > window[1] * slot)] = np.inf
    return cost


def schedule(
    *,
    docks: Sequence[Dock],
    deliveries: Sequence[Delivery],
    slots: SlotRules | None = None,
    weights: Weights | None = None,
    previous: Mapping[str, Appointment] | None = None,
    time_limit_s: float = 2.0,
    workers: int = 2,
    random_seed: int = 0,
    window_size: int = 12,
) -> Plan:
    """Plan a dock and a start for each delivery; CP-SAT within the time limit, greedy seed.

    A `time_limit_s` of zero returns the greedy plan. Up to `window_size` flexible deliveries
    are solved in one model (with a proven bound); more are improved window by window.
    `previous` appointments are kept where they still fit, each move costing `weights.keep`.
    """
    started = time.perf_counter()
    problem = _Problem(
        docks, deliveries, slots or SlotRules(), weights or Weights(), previous or {}
    )
    greedy = _greedy(problem)
    greedy_objective = problem.objective(greedy)
    n_flexible = len(deliveries) - len(problem.fixed_ids)
    if time_limit_s <= 0 or n_flexible == 0:
        return problem.plan(
            greedy,
            greedy_objective=greedy_objective,
            best_bound=None,
            status=SolveStatus.GREEDY,
            started=started,
        )
    deadline = started + time_limit_s
    retimed = _polish(problem, greedy, deadline=deadline)
    best_bound = None
    if n_flexible <= window_size:
        solved = _solve_whole(
            problem,
            retimed,
            time_limit_s=deadline - time.perf_counter(),
            workers=workers,
            random_seed=random_seed,
        )
        if solved is not None and problem.objective(solved[0]) <= problem.objective(retimed):
            placed, bound, status = solved
            return problem.plan(
                placed,
                greedy_objective=greedy_objective,
                best_bound=bound,
                status=status,
                started=started,
            )
        placed = retimed
        best_bound = solved[1] if solved is not None else None
    else:
        placed = _search(
            problem,
            retimed,
            deadline=deadline,
            workers=workers,
            random_seed=random_seed,
            window_size=window_size,
        )
    improved = problem.objective(placed) < greedy_objective
    return problem.plan(
        placed if improved else greedy,
        greedy_objective=greedy_objective,
        best_bound=best_bound,
        status=SolveStatus.FEASIBLE if improved else SolveStatus.GREEDY,
        started=started,
    )


def reslot(
    *,
    docks: Sequence[Dock],
    deliveries: Iterable[Delivery],
    current: Plan,
    eta_min: Mapping[str, int] | None = None,
    no_shows: Collection[str] = (),
    keep_weight: int = 60,
    slots: SlotRules | None = None,
    weights: Weights | None = None,
    time_limit_s: float = 1.0,
    workers: int = 2,
) -> Plan:
    """Revise a plan for new ETAs and no-shows, moving as few appointments as it can.

    A delivery whose ETA is later than its ready time cannot start before the ETA and is no
    longer expected before it; no-shows leave the plan and free their slots. Each delivery moved
    off its current appointment costs `keep_weight`.
    """
    etas = eta_min or {}
    revised = []
    for dv in deliveries:
        if dv.delivery_id in no_shows:
            continue
        eta = etas.get(dv.delivery_id)
        if eta is not None and eta > dv.ready_min and dv.fixed is None:
            dv = replace(dv, ready_min=eta, preferred_min=max(dv.target_min, eta))
        revised.append(dv)
    previous = {k: v for k, v in current.appointments().items() if k not in no_shows}
    return schedule(
        docks=docks,
        deliveries=revised,
        slots=slots,
        weights=replace(weights or Weights(), keep=keep_weight),
        previous=previous,
        time_limit_s=time_limit_s,
        workers=workers,
    )
