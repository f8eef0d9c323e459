"""The capacity-covering relaxation of item packing: a lower bound and a guide.

Forget which item rides with which and keep only how many trips of each class run each
day. Those trips must hold the order's total weight, volume and floor space, and for
every set of classes some items are confined to, the trips of those classes must hold the
items confined there. Every valid plan satisfies this, so the cheapest choice of trip
counts, solved with CP-SAT, bounds every plan's cost from below.

The same model then proposes which trucks to try, cheapest first: when the items provably
cannot be packed into a proposal, no smaller set of trucks can hold them either, so the
proposal and all its subsets are cut off and the bound stays valid.
"""

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from ortools.sat.python import cp_model

from dispatch.planning.capacity import bin_dimensions
from dispatch.planning.items import PackingProblem

Counts = dict[tuple[int, int], int]  # (class index, day index) -> trips


@dataclass(frozen=True, slots=True)
class Proposal:
    """A choice of trip counts, its cost and the solver's proven bound."""

    counts: Counts
    cost_cents: int
    bound_cents: int
    optimal: bool
    exact: bool = True


def cover_requirements(problem: PackingProblem) -> dict[frozenset[int], dict[str, int]]:
    """For each distinct fit set, what the items confined to it need in each dimension."""
    requirements: dict[frozenset[int], dict[str, int]] = {}
    for fit_set in set(problem.fits):
        need = {"weight_kg": 0, "volume_l": 0, "half_places": 0}
        for i, other in enumerate(problem.fits):
            if other <= fit_set:
                for name in need:
                    need[name] += getattr(problem.sizes[i], name)
        requirements[fit_set] = {name: amount for name, amount in need.items() if amount > 0}
    return requirements


class CoveringModel:
    """The relaxation as a CP-SAT model that can be re-solved after cuts."""

    def __init__(self, problem: PackingProblem) -> None:
        self.problem = problem
        self.model = cp_model.CpModel()
        self.counts: dict[tuple[int, int], cp_model.IntVar] = {}
        self.sizes: dict[tuple[int, int], int] = {}
        for bin_ in problem.bins:
            key = (bin_.class_index, bin_.day_index)
            self.sizes[key] = self.sizes.get(key, 0) + 1
        for key, size in self.sizes.items():
            self.counts[key] = self.model.new_int_var(0, size, f"y_{key[0]}_{key[1]}")
        self.cuts = 0
        self.feasible = self._add_requirements()
        self._add_plant_limits()
        self.model.minimize(self._cost())

    def _cost(self) -> cp_model.LinearExpr:
        classes = self.problem.classes
        return cp_model.LinearExpr.weighted_sum(
            list(self.counts.values()),
            [classes[k].fleet.trip_cost_cents for k, _ in self.counts],
        )

    def _add_requirements(self) -> bool:
        for classes, need in cover_requirements(self.problem).items():
            for name, amount in need.items():
                terms: list[cp_model.LinearExpr] = []
                unlimited = False
                for (k, _), var in self.counts.items():
                    if k in classes:
                        cap = bin_dimensions(self.problem.classes[k].capacity)[name]
                        if cap is None:
                            unlimited = True  # such a trip covers any amount
                            break
                        terms.append(cap * var)
                if unlimited:
                    continue
                if not terms:
                    return False  # the items confined here have no trip to ride on
                self.model.add(sum(terms) >= amount)
        return True

    def _add_plant_limits(self) -> None:
        problem = self.problem
        total_weight = problem.total().weight_kg
        carried = []
        for d, (trips_limit, mass_limit) in enumerate(problem.limits):
            on_day = [(k, var) for (k, dd), var in self.counts.items() if dd == d]
            if trips_limit is not None and on_day:
                self.model.add(sum(var for _, var in on_day) <= trips_limit)
            upper = total_weight if mass_limit is None else min(total_weight, mass_limit)
            day_weight = self.model.new_int_var(0, upper, f"w_{d}")
            self.model.add(
                day_weight <= sum(problem.classes[k].capacity.weight_kg * var for k, var in on_day)
            )
            carried.append(day_weight)
        self.model.add(sum(carried) >= total_weight)

    def propose(
        self, *, time_limit_s: float, workers: int, slack_ratio: float = 0.0
    ) -> Proposal | None:
        """The cheapest trip counts left, or None when no choice is left.

        With `slack_ratio` the trips must hold that much more than the order in every
        dimension: a heuristic nudge towards sets that are easier to pack, whose bound
        then says nothing about the optimum (`Proposal.exact` is False).
        """
        if not self.feasible:
            return None
        if slack_ratio > 0:
            flag = self.model.new_bool_var(f"slack_{self.cuts}_{slack_ratio}")
            self._add_slack(slack_ratio, flag)
            self.model.add_assumptions([flag])
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
        solver.parameters.num_workers = workers
        status = solver.solve(self.model)
        self.model.clear_assumptions()
        if status == cp_model.INFEASIBLE and slack_ratio > 0:
            return self.propose(time_limit_s=time_limit_s, workers=workers)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if status == cp_model.INFEASIBLE:
                self.feasible = False
            return None
        counts = {key: solver.value(var) for key, var in self.counts.items() if solver.value(var)}
        return Proposal(
            counts=counts,
            cost_cents=round(solver.objective_value),
            bound_cents=math.ceil(solver.best_objective_bound - 1e-6),
            optimal=status == cp_model.OPTIMAL,
            exact=slack_ratio <= 0,
        )

    def _add_slack(self, slack_ratio: float, flag: cp_model.IntVar) -> None:
        total = self.problem.total()
        for name in ("weight_kg", "volume_l", "half_places"):
            amount = getattr(total, name)
            terms: list[cp_model.LinearExpr] = []
            for (k, _), var in self.counts.items():
                cap = bin_dimensions(self.problem.classes[k].capacity)[name]
                if cap is None:
                    break
                terms.append(cap * var)
            else:
                if amount > 0 and terms:
                    need = math.ceil(amount * (1 + slack_ratio))
                    self.model.add(sum(terms) >= need).only_enforce_if(flag)

    def cut_subsets_of(self, counts: Mapping[tuple[int, int], int]) -> None:
        """Exclude `counts` and every smaller choice: trips of the same capacity on the same
        day are interchangeable for packing, so some such group must run more trips.

        Exact when the items provably cannot be packed into `counts`: fewer or the same
        trucks on the same days cannot hold them either, whatever they cost.
        """
        self._cut(lambda key: (self.problem.classes[key[0]].capacity, key[1]), counts)

    def cut_capacity_subsets_of(self, counts: Mapping[tuple[int, int], int]) -> None:
        """Exclude every choice whose trucks, by capacity alone, are among those of `counts`.

        A heuristic after a check that could not decide: the same capacities on other
        days are as hard to pack, except where the days' limits or the rule that the
        under-filled trip runs last make a difference.
        """
        self._cut(lambda key: self.problem.classes[key[0]].capacity, counts)

    def _cut(
        self, group_of: Callable[[tuple[int, int]], Hashable], counts: Mapping[tuple[int, int], int]
    ) -> None:
        groups: dict[Hashable, list[tuple[int, int]]] = {}
        for key in self.counts:
            groups.setdefault(group_of(key), []).append(key)
        more: list[cp_model.IntVar] = []
        for keys in groups.values():
            current = sum(counts.get(key, 0) for key in keys)
            if current < sum(self.sizes[key] for key in keys):
                flag = self.model.new_bool_var(f"more_{self.cuts}_{len(more)}")
                total = cp_model.LinearExpr.sum([self.counts[key] for key in keys])
                self.model.add(total >= current + 1).only_enforce_if(flag)
                more.append(flag)
        self.cuts += 1
        if not more:
            self.feasible = False
            return
        self.model.add_bool_or(more)
