"""Dock appointment scheduler: which dock loads each delivery, and when.

Pure computation, no session and no I/O. Every time here is a whole number of minutes from the
plan's origin (the plant's local midnight, say); `minutes_from` and `at_minute` convert at the
edges. Start times sit on a slot grid anchored at the origin; a fixed appointment may sit off it.

CP-SAT solves the plan within a time limit, seeded with a greedy plan; if the solver finds
nothing better in time, the greedy plan is the answer, so a plan always comes back.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from ortools.sat.python import cp_model


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

    def __post_init__(self) -> None:
        if (self.loading_rate_kg_per_min is None) == (self.fixed_duration_min is None):
            raise ValueError(f"dock {self.dock_id}: give a loading rate or a fixed duration")
        if self.closes_min <= self.opens_min:
            raise ValueError(f"dock {self.dock_id}: closes before it opens")


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


@dataclass
class _Timeline:
    """The greedy's view of one dock: busy intervals sorted by start."""

    dock: Dock
    busy: list[_Busy]

    def fits(self, start_min: int, duration_min: int, product: str) -> _Busy | None:
        """The first busy interval that rules out this start, or None if it fits."""
        end = start_min + duration_min
        for b in self.busy:
            if b.start_min >= end + self.dock.changeover_min:
                break
            gap = _dock_gap(self.dock, b, product)
            if b.start_min < end + gap and b.end_min + gap > start_min:
                return b
        return None

    def add(self, start_min: int, end_min: int, product: str | None) -> None:
        self.busy.append(_Busy(start_min, end_min, product))
        self.busy.sort(key=lambda b: b.start_min)


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
        self.slots = slots
        self.weights = weights
        self.previous = previous
        self.horizon_min = max(d.closes_min for d in docks) + slots.slot_min
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
        return minute // self.slots.slot_min

    def slot_ceil(self, minute: int) -> int:
        return -(-minute // self.slots.slot_min)

    def start_window(self, dv: Delivery, dock_id: str) -> tuple[int, int] | None:
        """Lowest and highest slot index at which the delivery may start on this dock."""
        dock = self.docks[dock_id]
        dur = self.candidates[dv.delivery_id][dock_id]
        lo = self.slot_ceil(max(dv.ready_min, dock.opens_min))
        hi = self.slot_floor(dock.closes_min - dur)
        return (lo, hi) if lo <= hi else None

    def cost(self, dv: Delivery, dock_id: str, start_min: int) -> int:
        """Objective contribution of one placed delivery."""
        w = self.weights
        target = dv.target_min
        cost = dv.delay_weight * w.delay_per_min * max(0, start_min - target)
        cost += w.early_per_min * max(0, target - start_min)
        if dv.due_min is not None:
            end = start_min + self.candidates[dv.delivery_id][dock_id]
            cost += w.lateness_per_min * max(0, end - dv.due_min)
        prev = self.previous.get(dv.delivery_id)
        if w.keep and prev is not None and prev != Appointment(dock_id, start_min):
            cost += w.keep
        return cost

    def objective(self, placed: Mapping[str, Appointment]) -> int:
        total = 0
        for dv in self.deliveries:
            app = placed.get(dv.delivery_id)
            if app is None:
                total += self.weights.unscheduled
            else:
                total += self.cost(dv, app.dock_id, app.start_min)
        return total

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


def _greedy(problem: _Problem) -> dict[str, Appointment]:
    """Place fixed loads, keep previous appointments that still fit, then insert the rest."""
    timelines: dict[str, _Timeline] = {}
    for dock in problem.docks.values():
        busy = [_Busy(0, dock.opens_min, None), _Busy(dock.closes_min, problem.horizon_min, None)]
        busy += [_Busy(a, b, None) for a, b in dock.closed]
        timelines[dock.dock_id] = _Timeline(dock, sorted(busy, key=lambda b: b.start_min))
    starts_per_slot: dict[int, int] = {}
    cap = problem.slots.capacity_per_slot
    placed: dict[str, Appointment] = {}

    def take(dv: Delivery, app: Appointment) -> None:
        dur = problem.candidates[dv.delivery_id][app.dock_id]
        timelines[app.dock_id].add(app.start_min, app.start_min + dur, dv.load.product)
        slot = problem.slot_floor(app.start_min)
        starts_per_slot[slot] = starts_per_slot.get(slot, 0) + 1
        placed[dv.delivery_id] = app

    def slot_full(start_min: int) -> bool:
        return cap is not None and starts_per_slot.get(problem.slot_floor(start_min), 0) >= cap

    flexible = []
    for dv in problem.deliveries:
        if dv.fixed is not None:
            dur = problem.candidates[dv.delivery_id][dv.fixed.dock_id]
            # fixed loads are facts: they block the dock even across a closed interval
            timelines[dv.fixed.dock_id].busy.append(
                _Busy(dv.fixed.start_min, dv.fixed.start_min + dur, dv.load.product)
            )
            timelines[dv.fixed.dock_id].busy.sort(key=lambda b: b.start_min)
            slot = problem.slot_floor(dv.fixed.start_min)
            starts_per_slot[slot] = starts_per_slot.get(slot, 0) + 1
            placed[dv.delivery_id] = dv.fixed
        else:
            flexible.append(dv)

    def earliest(dv: Delivery, dock_id: str, from_min: int) -> int | None:
        window = problem.start_window(dv, dock_id)
        if window is None:
            return None
        lo, hi = window
        dur = problem.candidates[dv.delivery_id][dock_id]
        timeline = timelines[dock_id]
        k = max(lo, problem.slot_ceil(from_min))
        while k <= hi:
            start = k * problem.slots.slot_min
            blocker = timeline.fits(start, dur, dv.load.product)
            if blocker is not None:
                gap = _dock_gap(timeline.dock, blocker, dv.load.product)
                k = max(k + 1, problem.slot_ceil(blocker.end_min + gap))
            elif slot_full(start):
                k += 1
            else:
                return start
        return None

    def keep_option(dv: Delivery) -> Appointment | None:
        prev = problem.previous.get(dv.delivery_id)
        if prev is None or prev.dock_id not in problem.candidates[dv.delivery_id]:
            return None
        window = problem.start_window(dv, prev.dock_id)
        dur = problem.candidates[dv.delivery_id][prev.dock_id]
        if (
            window is None
            or prev.start_min % problem.slots.slot_min
            or not window[0] <= problem.slot_floor(prev.start_min) <= window[1]
            or timelines[prev.dock_id].fits(prev.start_min, dur, dv.load.product) is not None
            or slot_full(prev.start_min)
        ):
            return None
        return prev

    # costliest waits first; then in order of the previous appointment (or the wish), so
    # earlier holders keep their place and a slot freed by a no-show or a slip is open to a
    # later delivery that gains by moving
    def order(dv: Delivery) -> tuple[int, int, str]:
        prev = problem.previous.get(dv.delivery_id)
        return (-dv.delay_weight, prev.start_min if prev else dv.target_min, dv.delivery_id)

    for dv in sorted(flexible, key=order):
        best: tuple[int, int, Appointment] | None = None
        kept = keep_option(dv)
        if kept is not None:
            best = (problem.cost(dv, kept.dock_id, kept.start_min), -1, kept)
        for rank, dock_id in enumerate(problem.candidates[dv.delivery_id]):
            for from_min in {dv.target_min, dv.ready_min}:
                start = earliest(dv, dock_id, from_min)
                if start is None:
                    continue
                option = (problem.cost(dv, dock_id, start), rank, Appointment(dock_id, start))
                if best is None or option[:2] < best[:2]:
                    best = option
        if best is not None:
            take(dv, best[2])
    return placed


def _dock_gap(dock: Dock, blocker: _Busy, product: str) -> int:
    """Changeover needed after a busy interval before loading this product."""
    return dock.changeover_min if blocker.product not in (None, product) else 0


@dataclass
class _Model:
    """A CP-SAT model of the problem and the handles needed to hint and read it."""

    model: cp_model.CpModel
    start_k: dict[str, cp_model.IntVar]
    presence: dict[tuple[str, str], cp_model.IntVar]
    hints: list[tuple[cp_model.IntVar, int]]


def _build_model(
    problem: _Problem,
    seed_plan: Mapping[str, Appointment],
    changeover_pairs: Collection[tuple[str, str, str]],
) -> _Model:
    """The CP-SAT model with the given (dock, delivery, delivery) changeover disjunctions."""
    model = cp_model.CpModel()
    slot = problem.slots.slot_min
    w = problem.weights
    cost_terms: list[cp_model.LinearExprT] = []
    presence: dict[tuple[str, str], cp_model.IntVar] = {}
    start_k: dict[str, cp_model.IntVar] = {}
    hints: list[tuple[cp_model.IntVar, int]] = []
    dock_intervals: dict[str, list[cp_model.IntervalVar]] = {d: [] for d in problem.docks}
    fixed_intervals: dict[str, list[cp_model.IntervalVar]] = {d: [] for d in problem.docks}
    slot_intervals: list[cp_model.IntervalVar] = []
    by_id = {dv.delivery_id: dv for dv in problem.deliveries}

    for dv in problem.deliveries:
        did = dv.delivery_id
        if dv.fixed is not None:
            dock_id = dv.fixed.dock_id
            dur = problem.candidates[did][dock_id]
            fixed_intervals[dock_id].append(
                model.new_fixed_size_interval_var(dv.fixed.start_min, dur, f"fx_{did}")
            )
            slot_k = problem.slot_floor(dv.fixed.start_min)
            slot_intervals.append(model.new_fixed_size_interval_var(slot_k, 1, f"fs_{did}"))
            continue
        windows = {
            dock_id: win
            for dock_id in problem.candidates[did]
            if (win := problem.start_window(dv, dock_id)) is not None
        }
        scheduled = model.new_bool_var(f"on_{did}")
        seed = seed_plan.get(did)
        hints.append((scheduled, int(seed is not None)))
        cost_terms.append(w.unscheduled * (1 - scheduled))
        if not windows:
            model.add(scheduled == 0)
            continue
        lo = min(win[0] for win in windows.values())
        hi = max(win[1] for win in windows.values())
        k = model.new_int_var(lo, hi, f"k_{did}")
        start_k[did] = k
        hint_start = seed.start_min if seed is not None else lo * slot
        hints.append((k, hint_start // slot))
        start = slot * k
        lits = []
        end_terms: list[cp_model.LinearExprT] = []
        for dock_id, (wlo, whi) in windows.items():
            p = model.new_bool_var(f"p_{did}_{dock_id}")
            presence[(did, dock_id)] = p
            hints.append((p, int(seed is not None and seed.dock_id == dock_id)))
            lits.append(p)
            dur = problem.candidates[did][dock_id]
            model.add(k >= wlo).only_enforce_if(p)
            model.add(k <= whi).only_enforce_if(p)
            iv = model.new_optional_fixed_size_interval_var(start, dur, p, f"iv_{did}_{dock_id}")
            dock_intervals[dock_id].append(iv)
            end_terms.append(dur * p)
        model.add_exactly_one([*lits, scheduled.negated()])
        slot_intervals.append(
            model.new_optional_fixed_size_interval_var(k, 1, scheduled, f"sl_{did}")
        )

        target = dv.target_min
        late = model.new_int_var(0, problem.horizon_min, f"late_{did}")
        model.add(late >= start - target)
        hints.append((late, max(0, hint_start - target)))
        early = model.new_int_var(0, problem.horizon_min, f"early_{did}")
        model.add(early >= target - start)
        hints.append((early, max(0, target - hint_start)))
        cost_terms.append(dv.delay_weight * w.delay_per_min * late + w.early_per_min * early)
        if dv.due_min is not None:
            tardy = model.new_int_var(0, problem.horizon_min, f"tardy_{did}")
            model.add(tardy >= start + cp_model.LinearExpr.sum(end_terms) - dv.due_min)
            hint_end = hint_start + (problem.candidates[did][seed.dock_id] if seed else 0)
            hints.append((tardy, max(0, hint_end - dv.due_min)))
            cost_terms.append(w.lateness_per_min * tardy)
        prev = problem.previous.get(did)
        if w.keep and prev is not None:
            stay = model.new_bool_var(f"stay_{did}")
            hints.append((stay, int(seed == prev)))
            p_prev = presence.get((did, prev.dock_id))
            if p_prev is None or prev.start_min % slot:
                model.add(stay == 0)
            else:
                model.add_implication(stay, p_prev)
                model.add(k == prev.start_min // slot).only_enforce_if(stay)
            cost_terms.append(w.keep * (1 - stay))

    for dock_id, dock in problem.docks.items():
        blocks = [(0, dock.opens_min), (dock.closes_min, problem.horizon_min), *dock.closed]
        closed_ivs = [
            model.new_fixed_size_interval_var(a, b - a, f"closed_{dock_id}_{i}")
            for i, (a, b) in enumerate(blocks)
            if b > a
        ]
        model.add_no_overlap(dock_intervals[dock_id] + closed_ivs)
        if fixed_intervals[dock_id]:
            model.add_no_overlap(dock_intervals[dock_id] + fixed_intervals[dock_id])

    for dock_id, id_i, id_j in changeover_pairs:
        dock = problem.docks[dock_id]
        ends: list[tuple[cp_model.LinearExprT, int, cp_model.IntVar | None]] = []
        for did in (id_i, id_j):
            dv = by_id[did]
            dur = problem.candidates[did][dock_id]
            if dv.fixed is not None:
                ends.append((dv.fixed.start_min, dur, None))
            elif (did, dock_id) in presence:
                ends.append((slot * start_k[did], dur, presence[(did, dock_id)]))
        if len(ends) < 2:
            continue
        (start_i, dur_i, p_i), (start_j, dur_j, p_j) = ends
        enforce = [p for p in (p_i, p_j) if p is not None]
        first = model.new_bool_var(f"co_{dock_id}_{id_i}_{id_j}")
        seed_i, seed_j = seed_plan.get(id_i), seed_plan.get(id_j)
        hints.append(
            (first, int(seed_i is None or seed_j is None or seed_i.start_min <= seed_j.start_min))
        )
        co = dock.changeover_min
        model.add(start_i + dur_i + co <= start_j).only_enforce_if([*enforce, first])
        model.add(start_j + dur_j + co <= start_i).only_enforce_if([*enforce, first.negated()])

    if problem.slots.capacity_per_slot is not None:
        model.add_cumulative(
            slot_intervals, [1] * len(slot_intervals), problem.slots.capacity_per_slot
        )
    model.minimize(sum(cost_terms))
    return _Model(model, start_k, presence, hints)


def _near_pairs(
    problem: _Problem, anchors: Mapping[str, int], near_min: int
) -> set[tuple[str, str, str]]:
    """Changeover pairs of different products whose anchor times lie close together."""
    pairs: set[tuple[str, str, str]] = set()
    for dock_id, dock in problem.docks.items():
        if not dock.changeover_min:
            continue
        on_dock = sorted(
            (anchors[dv.delivery_id], dv.delivery_id, dv.load.product)
            for dv in problem.deliveries
            if dock_id in problem.candidates[dv.delivery_id]
        )
        for i, (t_i, id_i, prod_i) in enumerate(on_dock):
            for t_j, id_j, prod_j in on_dock[i + 1 :]:
                if t_j - t_i > near_min:
                    break
                if prod_i != prod_j and not (
                    id_i in problem.fixed_ids and id_j in problem.fixed_ids
                ):
                    pairs.add((dock_id, id_i, id_j))
    return pairs


def _changeover_violations(
    problem: _Problem, placed: Mapping[str, Appointment]
) -> set[tuple[str, str, str]]:
    """Pairs of consecutive loads of different products closer than the dock's changeover."""
    product = {dv.delivery_id: dv.load.product for dv in problem.deliveries}
    per_dock: dict[str, list[tuple[int, int, str]]] = {}
    for did, app in placed.items():
        end = app.start_min + problem.candidates[did][app.dock_id]
        per_dock.setdefault(app.dock_id, []).append((app.start_min, end, did))
    found: set[tuple[str, str, str]] = set()
    for dock_id, items in per_dock.items():
        co = problem.docks[dock_id].changeover_min
        if not co:
            continue
        items.sort()
        for (_, end_a, id_a), (start_b, _, id_b) in itertools.pairwise(items):
            if product[id_a] != product[id_b] and end_a + co > start_b:
                found.add((dock_id, *sorted((id_a, id_b))))  # type: ignore[arg-type]
    return found


def _solve_full(
    problem: _Problem,
    seed_plan: Mapping[str, Appointment],
    *,
    time_limit_s: float,
    workers: int,
    random_seed: int,
) -> tuple[dict[str, Appointment], int | None, SolveStatus] | None:
    """Solve the whole model with CP-SAT from a hint; None when no clean solution came in time.

    Changeover disjunctions are added lazily: first for pairs close together in the seed,
    then for any pair a solution put too close, and the model is solved again. Each round's
    model is a relaxation of the full one, so every round's bound is a valid bound.
    """
    deadline = time.perf_counter() + time_limit_s
    slot = problem.slots.slot_min
    anchors = {
        dv.delivery_id: seed_plan[dv.delivery_id].start_min
        if dv.delivery_id in seed_plan
        else dv.ready_min
        for dv in problem.deliveries
    }
    longest = max((max(c.values()) for c in problem.candidates.values() if c), default=0)
    widest_co = max(d.changeover_min for d in problem.docks.values())
    pairs = _near_pairs(problem, anchors, 2 * longest + widest_co + problem.slots.slot_min)
    best_bound: int | None = None
    while True:
        remaining_s = deadline - time.perf_counter()
        if remaining_s <= 0.02:
            return None
        built = _build_model(problem, seed_plan, pairs)
        for var, value in built.hints:
            built.model.add_hint(var, value)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.02, deadline - time.perf_counter())
        solver.parameters.num_workers = workers
        solver.parameters.random_seed = random_seed
        # symmetry detection costs more presolve time than it saves on these models
        solver.parameters.symmetry_level = 0
        status = solver.solve(built.model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        bound = math.ceil(solver.best_objective_bound - 1e-6)
        best_bound = bound if best_bound is None else max(best_bound, bound)
        placed: dict[str, Appointment] = {}
        for dv in problem.deliveries:
            did = dv.delivery_id
            if dv.fixed is not None:
                placed[did] = dv.fixed
                continue
            for dock_id in problem.candidates[did]:
                chosen = built.presence.get((did, dock_id))
                if chosen is not None and solver.boolean_value(chosen):
                    placed[did] = Appointment(dock_id, solver.value(built.start_k[did]) * slot)
        violations = _changeover_violations(problem, placed) - pairs
        if not violations:
            optimal = status == cp_model.OPTIMAL
            return placed, best_bound, SolveStatus.OPTIMAL if optimal else SolveStatus.FEASIBLE
        pairs |= violations


def _solve_cp_sat(
    problem: _Problem,
    seed_plan: Mapping[str, Appointment],
    *,
    time_limit_s: float,
    workers: int,
    random_seed: int,
    window_size: int,
) -> tuple[dict[str, Appointment], int | None, SolveStatus] | None:
    """Solve small problems whole; improve large ones window by window.

    A day of several hundred loads is too big for CP-SAT to improve within seconds, so the
    deliveries are cut, in order of their seed start, into overlapping windows of
    `window_size`; each window is re-solved with everything outside it held where it is.
    Only a whole solve proves a bound.
    """
    flexible = [dv for dv in problem.deliveries if dv.fixed is None]
    if len(flexible) <= window_size:
        return _solve_full(
            problem,
            seed_plan,
            time_limit_s=time_limit_s,
            workers=workers,
            random_seed=random_seed,
        )
    deadline = time.perf_counter() + time_limit_s
    placed = dict(seed_plan)
    flexible.sort(
        key=lambda dv: (
            placed[dv.delivery_id].start_min if dv.delivery_id in placed else dv.ready_min
        )
    )
    step = max(1, window_size // 2)
    starts = list(range(0, max(1, len(flexible) - step), step))
    improved = False
    for n, first in enumerate(starts):
        budget = (deadline - time.perf_counter()) / (len(starts) - n)
        if budget <= 0.02:
            break
        members = {dv.delivery_id for dv in flexible[first : first + window_size]}
        sub_deliveries = []
        for dv in problem.deliveries:
            if dv.delivery_id in members or dv.fixed is not None:
                sub_deliveries.append(dv)
            elif dv.delivery_id in placed:
                sub_deliveries.append(replace(dv, fixed=placed[dv.delivery_id]))
        sub = _Problem(
            list(problem.docks.values()),
            sub_deliveries,
            problem.slots,
            problem.weights,
            problem.previous,
        )
        before = sub.objective(placed)
        solved = _solve_full(
            sub, placed, time_limit_s=budget, workers=workers, random_seed=random_seed
        )
        if solved is not None and sub.objective(solved[0]) < before:
            for did in members:
                placed.pop(did, None)
                if did in solved[0]:
                    placed[did] = solved[0][did]
            improved = True
    if not improved:
        return None
    return placed, None, SolveStatus.FEASIBLE


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
    window_size: int = 80,
) -> Plan:
    """Plan a dock and a start for each delivery; CP-SAT within the time limit, greedy seed.

    A `time_limit_s` of zero returns the greedy plan. `previous` appointments are kept where
    they still fit, each move costing `weights.keep`.
    """
    started = time.perf_counter()
    problem = _Problem(
        docks, deliveries, slots or SlotRules(), weights or Weights(), previous or {}
    )
    greedy = _greedy(problem)
    greedy_objective = problem.objective(greedy)
    if time_limit_s <= 0 or not deliveries:
        return problem.plan(
            greedy,
            greedy_objective=greedy_objective,
            best_bound=None,
            status=SolveStatus.GREEDY,
            started=started,
        )
    remaining_s = max(0.05, time_limit_s - (time.perf_counter() - started))
    solved = _solve_cp_sat(
        problem,
        greedy,
        time_limit_s=remaining_s,
        workers=workers,
        random_seed=random_seed,
        window_size=window_size,
    )
    if solved is None or problem.objective(solved[0]) > greedy_objective:
        bound = solved[1] if solved is not None else None
        return problem.plan(
            greedy,
            greedy_objective=greedy_objective,
            best_bound=bound,
            status=SolveStatus.GREEDY,
            started=started,
        )
    placed, bound, status = solved
    return problem.plan(
        placed,
        greedy_objective=greedy_objective,
        best_bound=bound,
        status=status,
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
