"""A lower bound on the cost of any dock plan, to say how far a plan may be from the best.

Pure computation, no session and no I/O. The bound is the optimum of a linear programme that
relaxes the plan in four ways: docks that are alike (same loads, rates, hours) form one pool
whose capacity per slot may be shared fractionally; a delivery may be split across several
starts; changeovers are left out; and a start more than `tail_min` after the wish costs what
starting just then would, without taking dock time. Each start keeps its exact cost (delay,
earliness, lateness, overtime, moving off a previous appointment); the gate's starts per slot
are kept. Every real plan is a solution of the programme, so its optimum cannot exceed the
best plan's cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ortools.linear_solver.python import model_builder as mb

from yard.scheduling import (
    Appointment,
    Delivery,
    Dock,
    SlotRules,
    Weights,
    _Problem,
)


def _dock_key(dock: Dock) -> tuple[object, ...]:
    return (
        dock.products,
        dock.bodies,
        dock.hazardous_bay,
        dock.loading_rate_kg_per_min,
        dock.fixed_duration_min,
        dock.handling_min,
        dock.opens_min,
        dock.closes_min,
        dock.overtime_min,
        dock.closed,
    )


def lower_bound(
    *,
    docks: Sequence[Dock],
    deliveries: Sequence[Delivery],
    slots: SlotRules | None = None,
    weights: Weights | None = None,
    previous: Mapping[str, Appointment] | None = None,
    tail_min: int = 240,
) -> int:
    """The least cost any plan of these deliveries can have (a proven bound, not a plan)."""
    problem = _Problem(
        docks, deliveries, slots or SlotRules(), weights or Weights(), previous or {}
    )
    slot = problem.slots.slot_min
    n_slots = problem.slot_floor(problem.horizon_min) + 1
    pools: dict[tuple[object, ...], list[Dock]] = {}
    for dock in docks:
        pools.setdefault(_dock_key(dock), []).append(dock)
    pool_of = {d.dock_id: key for key, members in pools.items() for d in members}

    # dock minutes each pool offers in each slot: open hours, minus fixed loads already there
    capacity: dict[tuple[object, ...], list[float]] = {}
    for key, members in pools.items():
        minutes = [0.0] * n_slots
        for dock in members:
            for k in range(n_slots):
                minutes[k] += _open_minutes(dock, k * slot, (k + 1) * slot)
        capacity[key] = minutes
    gate = [float(problem.slots.capacity_per_slot or 0)] * n_slots
    fixed_cost = 0
    for dv in deliveries:
        if dv.fixed is None:
            continue
        fixed_cost += problem.cost(dv, dv.fixed.dock_id, dv.fixed.start_min)
        dur = problem.candidates[dv.delivery_id][dv.fixed.dock_id]
        minutes = capacity[pool_of[dv.fixed.dock_id]]
        for k, used in _overlaps(dv.fixed.start_min, dur, slot, n_slots):
            minutes[k] = max(0.0, minutes[k] - used)
        gate[min(n_slots - 1, problem.slot_floor(dv.fixed.start_min))] -= 1

    model = mb.Model()  # type: ignore[no-untyped-call]
    objective: list[tuple[mb.Variable, float]] = []
    use: dict[tuple[tuple[object, ...], int], list[tuple[mb.Variable, float]]] = {}
    starts: dict[int, list[mb.Variable]] = {}
    for dv in deliveries:
        if dv.fixed is not None:
            continue
        did = dv.delivery_id
        options: list[mb.Variable] = []
        for key, members in pools.items():
            dock = members[0]
            if dock.dock_id not in problem.candidates[did]:
                continue  # docks of a pool are alike: none of them takes this load
            window = problem.start_window(dv, dock.dock_id)
            if window is None:
                continue
            dur = problem.candidates[did][dock.dock_id]
            last_k = min(window[1], problem.slot_floor(dv.target_min + tail_min))
            for k in range(window[0], last_k + 1):
                start = k * slot
                if any(start < b and start + dur > a for a, b in dock.closed):
                    continue
                x = model.new_num_var(0.0, 1.0, None)
                options.append(x)
                objective.append((x, float(_option_cost(problem, dv, members, start))))
                for b, used in _overlaps(start, dur, slot, n_slots):
                    use.setdefault((key, b), []).append((x, float(used)))
                starts.setdefault(k, []).append(x)
            if last_k < window[1]:
                # any later start costs at least this; its dock time is left out
                x = model.new_num_var(0.0, 1.0, None)
                options.append(x)
                later = (last_k + 1) * slot
                objective.append((x, float(_option_cost(problem, dv, members, later))))
        left_out = model.new_num_var(0.0, 1.0, None)
        objective.append((left_out, float(problem.weights.unscheduled)))
        model.add(mb.LinearExpr.sum([*options, left_out]) == 1.0)
    for (key, b), terms in use.items():
        model.add(
            mb.LinearExpr.weighted_sum([x for x, _ in terms], [u for _, u in terms])
            <= capacity[key][b]
        )
    if problem.slots.capacity_per_slot is not None:
        for k, xs in starts.items():
            model.add(mb.LinearExpr.sum(xs) <= max(0.0, gate[k]))
    if not objective:
        return fixed_cost
    model.minimize(mb.LinearExpr.weighted_sum([x for x, _ in objective], [c for _, c in objective]))
    solver = mb.Solver("glop")
    status = solver.solve(model)
    if status != mb.SolveStatus.OPTIMAL:
        return fixed_cost
    value = float(solver.objective_value)
    return fixed_cost + math.ceil(value - 1e-6 * max(1.0, abs(value)))


def _option_cost(problem: _Problem, dv: Delivery, members: Sequence[Dock], start_min: int) -> int:
    """The cheapest cost of this start on any dock of the pool."""
    return min(problem.cost(dv, d.dock_id, start_min) for d in members)


def _open_minutes(dock: Dock, from_min: int, to_min: int) -> float:
    """Minutes of [from, to) in which the dock may load (hours and overtime, not closures)."""
    minutes = max(0, min(to_min, dock.last_end_min) - max(from_min, dock.opens_min))
    for a, b in dock.closed:
        minutes -= max(0, min(to_min, b, dock.last_end_min) - max(from_min, a, dock.opens_min))
    return float(max(0, minutes))


def _overlaps(
    start_min: int, duration_min: int, slot_min: int, n_slots: int
) -> list[tuple[int, int]]:
    """(slot index, minutes) that a load starting at `start_min` spends in each slot."""
    out = []
    k = start_min // slot_min
    end = start_min + duration_min
    while k < n_slots and k * slot_min < end:
        used = min(end, (k + 1) * slot_min) - max(start_min, k * slot_min)
        if used > 0:
            out.append((k, used))
        k += 1
    return out
