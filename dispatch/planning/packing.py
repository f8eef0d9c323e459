"""Item packing with CP-SAT: checks the trucks a proposal names, polishes small plans.

One boolean per (item, bin) the item fits, one per bin in use. Every bin in use but one
must reach the minimum fill in some dimension; that one runs on the plan's last day.
Bins of one (class, day) group are interchangeable, so they are used in order and loaded
heaviest first, which removes the equivalent relabellings the search would otherwise visit.
"""

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from dispatch.planning.capacity import bin_dimensions, min_fill_amount
from dispatch.planning.covering import cover_requirements
from dispatch.planning.items import Assignment, PackingProblem, bin_load, canonical


@dataclass(frozen=True, slots=True)
class PackingResult:
    """What the solver returned: a packing if any, whether it is proven, and its bound."""

    assignment: Assignment | None
    optimal: bool
    infeasible: bool
    bound_cents: int | None


def solve_packing(
    problem: PackingProblem,
    *,
    hint: Mapping[int, Sequence[int]] | None,
    lower_bound_cents: int | None,
    time_limit_s: float,
    workers: int,
) -> PackingResult:
    """Least cost, then fewest trips, over item-to-bin assignments.

    `time_limit_s` covers building the model as well as solving it.
    """
    started = time.perf_counter()
    request = problem.request
    ratio = request.min_fill_ratio
    bins = problem.bins
    sizes = problem.sizes
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    in_bin: list[list[int]] = [[] for _ in bins]
    for i in range(len(sizes)):
        options = [b for b, bin_ in enumerate(bins) if bin_.class_index in problem.fits[i]]
        for b in options:
            x[(i, b)] = model.new_bool_var(f"x_{i}_{b}")
            in_bin[b].append(i)
        model.add_exactly_one(x[(i, b)] for b in options)
    used = [model.new_bool_var(f"used_{b}") for b in range(len(bins))]
    remainder = [model.new_bool_var(f"rem_{b}") for b in range(len(bins))]
    weight_load: list[cp_model.LinearExpr] = []
    for b in range(len(bins)):
        capacity = problem.capacity(b)
        members = in_bin[b]
        member_vars = [x[(i, b)] for i in members]
        weight_load.append(
            cp_model.LinearExpr.weighted_sum(member_vars, [sizes[i].weight_kg for i in members])
        )
        full_flags = []
        for name, cap in capacity.dimensions():
            load = cp_model.LinearExpr.weighted_sum(
                member_vars, [getattr(sizes[i], name) for i in members]
            )
            model.add(load <= cap * used[b])
            need = min_fill_amount(cap, ratio)
            if need > 0:
                full = model.new_bool_var(f"full_{b}_{name}")
                model.add(load >= need).only_enforce_if(full)
                full_flags.append(full)
        if full_flags:
            model.add(cp_model.LinearExpr.sum(full_flags) >= used[b] - remainder[b])
        model.add(remainder[b] <= used[b])
        model.add(used[b] <= cp_model.LinearExpr.sum(member_vars))
    model.add(cp_model.LinearExpr.sum(remainder) <= 1)

    day_count = len(request.pickup_days)
    for d in range(day_count):
        on_day = [b for b, bin_ in enumerate(bins) if bin_.day_index == d]
        trips_limit, mass_limit = problem.limits[d]
        if trips_limit is not None:
            model.add(sum(used[b] for b in on_day) <= trips_limit)
        if mass_limit is not None:
            day_vars = [x[(i, b)] for b in on_day for i in in_bin[b]]
            day_weights = [sizes[i].weight_kg for b in on_day for i in in_bin[b]]
            model.add(cp_model.LinearExpr.weighted_sum(day_vars, day_weights) <= mass_limit)
        earlier = [remainder[b] for b, bin_ in enumerate(bins) if bin_.day_index < d]
        if earlier and on_day:
            remainder_before = model.new_bool_var(f"rem_before_{d}")
            model.add(remainder_before == sum(earlier))
            model.add(sum(used[b] for b in on_day) == 0).only_enforce_if(remainder_before)

    for b in range(1, len(bins)):
        before, this = bins[b - 1], bins[b]
        if (before.class_index, before.day_index) == (this.class_index, this.day_index):
            model.add(used[b - 1] >= used[b])
            model.add(weight_load[b - 1] >= weight_load[b])

    _add_cover_cuts(model, problem, used)

    weight = len(bins) + 1
    objective = cp_model.LinearExpr.weighted_sum(
        used, [problem.cost(b) * weight + 1 for b in range(len(bins))]
    )
    if lower_bound_cents is not None:
        model.add(objective >= lower_bound_cents * weight)
    model.minimize(objective)
    if hint:
        hint = canonical(problem, hint)
        hinted = {i: b for b, members in hint.items() for i in members}
        for (i, b), var in x.items():
            model.add_hint(var, int(hinted.get(i) == b))
        for b in range(len(bins)):
            members = list(hint.get(b, ()))
            model.add_hint(used[b], int(bool(members)))
            is_under = bool(members) and not problem.capacity(b).full_enough(
                bin_load(problem, members), ratio
            )
            model.add_hint(remainder[b], int(is_under))

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(
        0.01, time_limit_s - (time.perf_counter() - started)
    )
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 7
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        return PackingResult(assignment=None, optimal=False, infeasible=True, bound_cents=None)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return PackingResult(assignment=None, optimal=False, infeasible=False, bound_cents=None)
    assignment: Assignment = {}
    for (i, b), var in x.items():
        if solver.value(var):
            assignment.setdefault(b, []).append(i)
    bound = math.ceil(solver.best_objective_bound - 1e-6) // weight
    return PackingResult(
        assignment=assignment,
        optimal=status == cp_model.OPTIMAL,
        infeasible=False,
        bound_cents=bound,
    )


def _add_cover_cuts(
    model: cp_model.CpModel, problem: PackingProblem, used: Sequence[cp_model.IntVar]
) -> None:
    """Redundant constraints: the bins in use must hold the items that can only go there.

    For each distinct set of classes some item fits in, the items confined to that set need
    that much capacity in bins of those classes, dimension by dimension. They cost nothing
    in validity and lift the solver's relaxation, hence its bound.
    """
    for classes, need in cover_requirements(problem).items():
        chosen = [b for b, bin_ in enumerate(problem.bins) if bin_.class_index in classes]
        for name, amount in need.items():
            terms: list[cp_model.LinearExpr] = []
            for b in chosen:
                cap = bin_dimensions(problem.capacity(b)).get(name)
                if cap is None:
                    terms = []  # a class unlimited in this dimension covers any amount
                    break
                terms.append(cap * used[b])
            if terms:
                model.add(sum(terms) >= amount)
