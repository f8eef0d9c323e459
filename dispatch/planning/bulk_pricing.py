"""Reduced-cost fixing for the bulk class model, so fleets with many classes stay fast.

When every truck has its own payload (tare weights differ) or its own distance, classes
number in the thousands, yet a split uses a few dozen trips. The LP relaxation of the
class model (trips may be fractional; fill rules and tank gaps dropped) is solved with
GLOP. For a trip variable with reduced cost rc, every plan that uses it costs at least
LP + rc, so once a plan costing UB is known, variables with LP + rc > UB can be dropped
without losing any plan that costs UB or less. The LP value is also a valid lower bound.
"""

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ortools.linear_solver import pywraplp  # type: ignore[attr-defined]

from dispatch.planning.bulk import (
    BulkClass,
    ClassSolution,
    ModelResult,
    solve_bulk_model,
    trip_upper_bounds,
)
from dispatch.planning.request import BulkCargo, SplitRequest

Key = tuple[int, int]  # (class index, day index)
Limits = tuple[tuple[int | None, int | None], ...]


@dataclass(frozen=True, slots=True)
class Relaxation:
    """The LP optimum and each trip variable's reduced cost, in cents."""

    value_cents: float
    reduced_cents: dict[Key, float]

    def survivors(self, upper_bound_cents: int) -> set[Key]:
        """Variables a plan costing at most `upper_bound_cents` may still use."""
        # half a cent of slack absorbs the LP's float error; costs are whole cents
        limit = upper_bound_cents + 0.5 - self.value_cents
        return {key for key, reduced in self.reduced_cents.items() if reduced <= limit}

    def cheapest(self, count: int) -> set[Key]:
        """The `count` variables with the smallest reduced cost."""
        ranked = sorted(self.reduced_cents, key=lambda key: (self.reduced_cents[key], key))
        return set(ranked[:count])


def solve_relaxation(
    *,
    upper: dict[Key, int],
    capacity_kg: Sequence[int],
    cost_cents: Sequence[int],
    quantity_kg: int,
    limits: Limits,
) -> Relaxation | None:
    """The class model's LP relaxation: carry the quantity in fractional trips, least cost."""
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:
        return None
    day_count = len(limits)
    trips = {key: solver.NumVar(0.0, float(bound), "") for key, bound in upper.items()}
    total = solver.Constraint(float(quantity_kg), float(quantity_kg))
    for d, (trips_limit, mass_limit) in enumerate(limits):
        load = solver.NumVar(0.0, float(quantity_kg if mass_limit is None else mass_limit), "")
        total.SetCoefficient(load, 1.0)
        carried = solver.Constraint(0.0, solver.infinity())  # capacity of the day's trips
        carried.SetCoefficient(load, -1.0)
        for (k, dd), var in trips.items():
            if dd == d:
                carried.SetCoefficient(var, float(capacity_kg[k]))
        if trips_limit is not None and day_count:
            count = solver.Constraint(0.0, float(trips_limit))
            for (_, dd), var in trips.items():
                if dd == d:
                    count.SetCoefficient(var, 1.0)
    objective = solver.Objective()
    for (k, _), var in trips.items():
        objective.SetCoefficient(var, float(cost_cents[k]))
    objective.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return Relaxation(
        value_cents=objective.Value(),
        reduced_cents={key: var.reduced_cost() for key, var in trips.items()},
    )


# Trip variables the class model takes directly; above this, price first.
_DIRECT_LIMIT = 300
# Trip variables, cheapest by reduced cost, in the first restricted model.
_CORE_SIZE = 150


@dataclass(frozen=True, slots=True)
class PricedResult:
    """The class model's answer, and the LP bound when the pricing path ran."""

    result: ModelResult
    relaxation_cents: float | None


def solve_priced(
    classes: Sequence[BulkClass],
    request: SplitRequest,
    limits: Limits,
    *,
    hint: ClassSolution | None,
    deadline: float,
    workers: int,
) -> PricedResult:
    """Solve the class model, first on the variables the LP deems worth it when there are many.

    A restricted model over the cheapest variables yields a plan; its cost prunes every
    variable no plan as cheap can use. If nothing outside the restricted model survives,
    its optimum is the optimum; otherwise the survivors are solved, started from that plan.
    """
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    floors = [c.floor_kg for c in classes]
    upper = trip_upper_bounds(classes, quantity_kg=cargo.mass_kg, floors=floors, limits=limits)

    def solve(
        allowed: set[Key] | None,
        start: ClassSolution | None,
        share: float,
        *,
        least_cents: int = 0,
        tidy: bool = True,
    ) -> ModelResult:
        return solve_bulk_model(
            classes,
            request,
            limits,
            floors=floors,
            hint=start,
            time_limit_s=max(0.05, share * (deadline - time.perf_counter())),
            workers=workers,
            allowed=allowed,
            cost_range_cents=(least_cents, None if start is None else start.cost_cents),
            tidy=tidy,
        )

    relaxation = None
    if len(upper) > _DIRECT_LIMIT:
        relaxation = solve_relaxation(
            upper=upper,
            capacity_kg=[c.capacity_kg for c in classes],
            cost_cents=[c.fleet.trip_cost_cents for c in classes],
            quantity_kg=cargo.mass_kg,
            limits=limits,
        )
    if relaxation is None:
        return PricedResult(solve(None, hint, 1.0), None)
    lp_bound = math.ceil(relaxation.value_cents - 1e-6)
    hinted = set() if hint is None else set(hint.counts)
    core = relaxation.cheapest(_CORE_SIZE) | hinted
    first = solve(core, hint, 0.5, least_cents=lp_bound, tidy=False)
    incumbent = first.solution or hint
    if incumbent is None:
        return PricedResult(solve(None, None, 1.0), relaxation.value_cents)
    survivors = relaxation.survivors(incumbent.cost_cents)
    if first.solution is not None and first.optimal and survivors <= core:
        first = solve(core, first.solution, 1.0, least_cents=first.solution.cost_cents)
        return PricedResult(first, relaxation.value_cents)
    second = solve(survivors, incumbent, 1.0, least_cents=lp_bound)
    if second.solution is None or second.solution.cost_cents > incumbent.cost_cents:
        fallback = ModelResult(
            solution=incumbent, optimal=False, infeasible=False, bound_cents=lp_bound
        )
        return PricedResult(fallback, relaxation.value_cents)
    bound = max(lp_bound, second.bound_cents or 0)
    return PricedResult(replace(second, bound_cents=bound), relaxation.value_cents)
