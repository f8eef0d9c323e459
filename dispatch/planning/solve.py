"""The entry points: the optimizing planner and the greedy one, on the same footing."""

import math
import time
from collections.abc import Sequence

from dispatch.planning.bulk import (
    BulkClass,
    ClassSolution,
    bulk_capacity_kg,
    bulk_classes,
    expand_bulk,
    greedy_bulk,
    solve_bulk_model,
)
from dispatch.planning.bulk_pricing import solve_priced
from dispatch.planning.capacity import min_fill_amount
from dispatch.planning.compatibility import compatible_fleet, describe_refusals
from dispatch.planning.ffd import first_fit_decreasing
from dispatch.planning.fleet import plant_limits
from dispatch.planning.items import PackingProblem, build_problem, expand_items
from dispatch.planning.packing import solve_packing
from dispatch.planning.plan import Plan, PlanStatus, Trip, infeasible_plan
from dispatch.planning.request import BulkCargo, ItemCargo, SplitRequest, Vehicle
from dispatch.planning.search import assignment_cost, search_packing

DEFAULT_WORKERS = 8
_BULK_METHOD = "CP-SAT on trip counts per vehicle class and day"
_PACKING_METHOD = "trucks proposed by the covering relaxation, packed greedily or by CP-SAT"
_GREEDY_BULK = "greedy: cheapest per tonne first, last truck right-sized"
_GREEDY_ITEMS = "first-fit decreasing, loads right-sized"


def plan_split(
    request: SplitRequest, *, time_limit_s: float = 10.0, workers: int = DEFAULT_WORKERS
) -> Plan:
    """Split the request into the cheapest valid trips found within the time limit."""
    started = time.perf_counter()
    early = _precheck(request, started, _method(request, greedy=False))
    if isinstance(early, Plan):
        return early
    # the solvers' own limits leave out model building and expansion: keep a margin
    budget_s = max(0.05, time_limit_s - min(0.5, 0.05 * time_limit_s))
    if request.kind == "bulk":
        return _plan_bulk(request, early, started, budget_s, workers)
    return _plan_items(request, early, started, budget_s, workers)


def plan_greedy(request: SplitRequest) -> Plan:
    """Split the request the way a dispatcher would, with no solver: the baseline."""
    started = time.perf_counter()
    method = _method(request, greedy=True)
    early = _precheck(request, started, method)
    if isinstance(early, Plan):
        return early
    limits = plant_limits(request)
    if request.kind == "bulk":
        classes = bulk_classes(early, request)
        greedy = greedy_bulk(classes, request, limits)
        if isinstance(greedy, str):
            return _infeasible(request, greedy, started, method)
        trips = expand_bulk(classes, greedy, request, limits)
    else:
        problem = build_problem(early, request, limits)
        packed = first_fit_decreasing(problem)
        if isinstance(packed, str):
            return _infeasible(request, packed, started, method)
        trips = expand_items(problem, packed)
    return _plan(request, trips, PlanStatus.FEASIBLE, None, started, method, "")


def _method(request: SplitRequest, *, greedy: bool) -> str:
    if request.kind == "bulk":
        return _GREEDY_BULK if greedy else _BULK_METHOD
    return _GREEDY_ITEMS if greedy else _PACKING_METHOD


def _precheck(request: SplitRequest, started: float, method: str) -> tuple[Vehicle, ...] | Plan:
    """The compatible vehicles, or a plan that already settles the request."""
    cargo = request.cargo
    nothing = cargo.mass_kg == 0 if isinstance(cargo, BulkCargo) else not cargo.items
    if nothing:
        return _plan(request, [], PlanStatus.OPTIMAL, 0, started, method, "nothing to move")
    if not request.pickup_days:
        return _infeasible(request, "the pickup window has no day left", started, method)
    vehicles, refused = compatible_fleet(request)
    if not vehicles:
        return _infeasible(request, describe_refusals(len(request.fleet), refused), started, method)
    return vehicles


def _plan_bulk(
    request: SplitRequest,
    vehicles: Sequence[Vehicle],
    started: float,
    time_limit_s: float,
    workers: int,
) -> Plan:
    cargo = request.cargo
    assert isinstance(cargo, BulkCargo)
    limits = plant_limits(request)
    classes = bulk_classes(vehicles, request)
    if not classes:
        return _infeasible(
            request, "no compatible vehicle is free on a pickup day", started, _BULK_METHOD
        )
    most_kg = bulk_capacity_kg(classes, limits)
    if most_kg < cargo.mass_kg:
        return _infeasible(
            request,
            f"the free trucks and the plant can load at most {most_kg / 1000:,.1f} t "
            f"in the window; the order needs {cargo.mass_kg / 1000:,.1f} t",
            started,
            _BULK_METHOD,
        )
    greedy = greedy_bulk(classes, request, limits)
    hint = greedy if isinstance(greedy, ClassSolution) else None
    priced = solve_priced(
        classes, request, limits, hint=hint, deadline=started + time_limit_s, workers=workers
    )
    result = priced.result
    solution = result.solution or hint
    if solution is None:
        if result.infeasible:
            reason = (
                f"no split keeps every trip but the last at least "
                f"{request.min_fill_ratio:.0%} full"
                + (", tank compartments in their fill bands" if cargo.liquid else "")
                + (" and the plant within its daily limits" if request.plant else "")
            )
            return _infeasible(request, reason, started, _BULK_METHOD)
        return _unknown(request, started, time_limit_s, _BULK_METHOD)
    exact = all(c.exact_floor for c in classes)
    if exact:
        bound = result.bound_cents
        bound_method = "CP-SAT proven bound on the exact class model"
        if priced.relaxation_cents is not None:
            bound_method += ", after reduced-cost fixing from its LP relaxation"
    elif priced.relaxation_cents is not None:
        bound = math.ceil(priced.relaxation_cents - 1e-6)
        bound_method = "LP relaxation of the class model"
    else:
        bound = _relaxed_bulk_bound(classes, request, started, time_limit_s, workers)
        bound_method = (
            "CP-SAT bound on the class model with tank floors relaxed to the minimum fill"
        )
    trips = expand_bulk(classes, solution, request, limits)
    proven = result.optimal and exact and result.solution is not None
    status = PlanStatus.OPTIMAL if proven else PlanStatus.FEASIBLE
    return _plan(request, trips, status, bound, started, _BULK_METHOD, bound_method)


def _relaxed_bulk_bound(
    classes: Sequence[BulkClass],
    request: SplitRequest,
    started: float,
    time_limit_s: float,
    workers: int,
) -> int | None:
    floors = [max(1, min_fill_amount(c.capacity_kg, request.min_fill_ratio)) for c in classes]
    relaxed = solve_bulk_model(
        classes,
        request,
        plant_limits(request),
        floors=floors,
        hint=None,
        time_limit_s=max(0.05, _left(started, time_limit_s)),
        workers=workers,
    )
    return relaxed.bound_cents


def _plan_items(
    request: SplitRequest,
    vehicles: Sequence[Vehicle],
    started: float,
    time_limit_s: float,
    workers: int,
) -> Plan:
    cargo = request.cargo
    assert isinstance(cargo, ItemCargo)
    problem = build_problem(vehicles, request, plant_limits(request))
    for item, fits in zip(problem.items, problem.fits, strict=True):
        if not fits:
            return _infeasible(
                request,
                f"item {item.id} ({item.weight_kg} kg, {item.volume_m3} m3, "
                f"{item.pallet_places} pallet places) fits no compatible vehicle",
                started,
                _PACKING_METHOD,
            )
    packed = first_fit_decreasing(problem)
    seed = packed if not isinstance(packed, str) else None
    deadline = started + time_limit_s
    search = search_packing(problem, seed=seed, deadline=deadline, workers=workers)
    if search.infeasible:
        reason = _no_packing(request) if search.proposals else _shortfall(problem)
        return _infeasible(request, reason, started, _PACKING_METHOD)
    best, bound, optimal = search.assignment, search.lower_bound_cents, search.optimal
    bound_method = _COVER_BOUND
    small = problem.pair_count() <= _POLISH_LIMIT
    if not optimal and small and deadline - time.perf_counter() > 0.2:
        result = solve_packing(
            problem,
            hint=best,
            lower_bound_cents=bound,
            time_limit_s=_left(started, time_limit_s),
            workers=workers,
        )
        if result.assignment is not None and (
            best is None
            or assignment_cost(problem, result.assignment) < assignment_cost(problem, best)
        ):
            best = result.assignment
        if result.bound_cents is not None and result.bound_cents > (bound or 0):
            bound, bound_method = result.bound_cents, "CP-SAT proven bound on the packing model"
        optimal = result.optimal
        if result.infeasible and best is None:
            return _infeasible(request, _no_packing(request), started, _PACKING_METHOD)
    if best is None:
        return _unknown(request, started, time_limit_s, _PACKING_METHOD)
    cost = assignment_cost(problem, best)
    if bound is not None and cost <= bound:
        optimal = True
    status = PlanStatus.OPTIMAL if optimal else PlanStatus.FEASIBLE
    trips = expand_items(problem, best)
    return _plan(request, trips, status, bound, started, _PACKING_METHOD, bound_method)


# Item-bin pairs up to which the whole packing model builds fast enough to polish with.
_POLISH_LIMIT = 20_000
_COVER_BOUND = "capacity-covering relaxation, cut by proven-impossible truck sets"


def _shortfall(problem: PackingProblem) -> str:
    total = problem.total()
    where = "the trucks free in the window"
    if problem.request.plant is not None:
        where += " within the plant's daily limits"
    return (
        f"{where} cannot hold the order: {total.weight_kg / 1000:,.1f} t, "
        f"{total.volume_l / 1000:,.1f} m3, {total.half_places / 2:g} pallet places"
    )


def _no_packing(request: SplitRequest) -> str:
    return (
        f"no packing keeps every trip but the last at least {request.min_fill_ratio:.0%} full"
        + (" with the plant within its daily limits" if request.plant else "")
    )


def _left(started: float, time_limit_s: float) -> float:
    return max(0.05, time_limit_s - (time.perf_counter() - started))


def _plan(
    request: SplitRequest,
    trips: Sequence[Trip],
    status: PlanStatus,
    bound: int | None,
    started: float,
    method: str,
    bound_method: str,
) -> Plan:
    return Plan(
        kind=request.kind,
        status=status,
        trips=tuple(trips),
        total_cost_cents=sum(trip.cost_cents for trip in trips),
        lower_bound_cents=bound,
        solve_s=time.perf_counter() - started,
        method=method,
        bound_method=bound_method,
    )


def _infeasible(request: SplitRequest, reason: str, started: float, method: str) -> Plan:
    return infeasible_plan(
        request.kind, reason, solve_s=time.perf_counter() - started, method=method
    )


def _unknown(request: SplitRequest, started: float, time_limit_s: float, method: str) -> Plan:
    return Plan(
        kind=request.kind,
        status=PlanStatus.UNKNOWN,
        trips=(),
        total_cost_cents=0,
        lower_bound_cents=None,
        solve_s=time.perf_counter() - started,
        method=method,
        reason=f"no split found within {time_limit_s:g} s",
    )
