"""Item packing as propose-and-check: the covering model picks trucks, the packers fill them.

The covering relaxation proposes the cheapest set of trips that could hold the order;
first-fit decreasing, then CP-SAT, try to pack the items into exactly those trips. Then
the proposal is cut off, so proposals come in order of non-decreasing cost. A proposal
proven impossible goes with all its subsets (fewer trucks cannot hold what these could
not). One the check could not settle within its slice goes with every choice whose
capacities are among its own, whatever their cost or day: those are no easier to pack.

Why the bound holds: when a proposal was made, every choice still allowed cost at least
its bound. Cuts after a proven-impossible check remove nothing feasible; cuts after an
unsettled check may, but only choices that cost at least that proposal's bound. So the
lower bound on any plan is the least of the best plan found, the bound of the first
unsettled proposal and the bound of the last proposal made. Time left at the end goes to
the cheapest unsettled proposal, which either yields a cheaper plan or raises the bound.
"""

import time
from dataclasses import dataclass

from dispatch.planning.covering import CoveringModel, Proposal
from dispatch.planning.ffd import first_fit_decreasing
from dispatch.planning.items import Assignment, PackingProblem, restrict
from dispatch.planning.packing import solve_packing

# Time CP-SAT may take to check a proposal, halved after each check it cannot settle;
# the cheapest unsettled proposal gets the time left at the end.
_SLICE_S = 2.0
_MIN_SLICE_S = 0.25
# Orders the greedy check tries the items in, before it hands over to CP-SAT.
_GREEDY_ORDERS = ("size", "weight_kg", "half_places", "volume_l")
# After an unsettled check, proposals must leave room: this much, doubled until a proposal
# packs, then bisected between the last slack that failed and the least that sufficed.
_SLACK_START = 0.005


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best packing found, a proven lower bound on any packing, and the verdict."""

    assignment: Assignment | None
    lower_bound_cents: int | None
    optimal: bool
    infeasible: bool
    proposals: int


@dataclass(frozen=True, slots=True)
class _Check:
    found: Assignment | None
    impossible: bool
    spilled: Assignment | None


def search_packing(
    problem: PackingProblem, *, seed: Assignment | None, deadline: float, workers: int
) -> SearchResult:
    """Propose trucks cheapest first and pack them until the deadline or a proof."""
    covering = CoveringModel(problem)
    single_day = len(problem.request.pickup_days) == 1
    best = seed
    best_cost = None if seed is None else assignment_cost(problem, seed)
    unsettled: list[Proposal] = []
    # bounds of proposals whose cut may have removed a plan cheaper than the best found
    open_bounds: dict[int, int] = {}
    last_bound: int | None = None
    proposals = 0
    exhausted = False
    slack_failed = 0.0  # the largest slack at which a proposal could not be packed
    slack_enough: float | None = None  # the least slack that sufficed (or priced itself out)
    slice_s = _SLICE_S
    while _left(deadline) > 0.05:
        if not unsettled:
            slack = 0.0
        elif slack_enough is None:
            slack = max(_SLACK_START, 2 * slack_failed)
        elif slack_enough - slack_failed >= _SLACK_START / 2:
            slack = (slack_failed + slack_enough) / 2
        else:
            break
        proposal = covering.propose(
            time_limit_s=min(_left(deadline), 2.0), workers=workers, slack_ratio=slack
        )
        if proposal is None:
            exhausted = not covering.feasible
            break
        proposals += 1
        if proposal.exact:
            last_bound = proposal.bound_cents
        if best_cost is not None and proposal.bound_cents >= best_cost:
            if proposal.exact:
                exhausted = True
                break
            slack_enough = slack if slack_enough is None else min(slack_enough, slack)
            continue
        check = _check(problem, proposal, slice_s=slice_s, deadline=deadline, workers=workers)
        for candidate in (check.found, check.spilled):
            if candidate is not None:
                cost = assignment_cost(problem, candidate)
                if best_cost is None or cost < best_cost:
                    best, best_cost = candidate, cost
        if check.found is not None or check.impossible:
            covering.cut_subsets_of(proposal.counts)
            if check.found is not None and not proposal.optimal:
                open_bounds[id(proposal)] = proposal.bound_cents
            if check.found is not None and not proposal.exact:
                slack_enough = slack if slack_enough is None else min(slack_enough, slack)
        else:
            unsettled.append(proposal)
            open_bounds[id(proposal)] = proposal.bound_cents
            covering.cut_capacity_subsets_of(proposal.counts)
            slack_failed = max(slack_failed, slack)
            slice_s = max(_MIN_SLICE_S, slice_s / 2)
    for proposal in sorted(unsettled, key=lambda p: p.bound_cents):
        # time left goes to the cheapest proposals the quick checks could not settle
        if _left(deadline) <= 0.5:
            break
        if best_cost is not None and proposal.bound_cents >= best_cost:
            break
        check = _check(
            problem,
            proposal,
            slice_s=_left(deadline),
            deadline=deadline,
            workers=workers,
            greedy=False,  # it failed on this proposal already
        )
        if check.found is not None:
            cost = assignment_cost(problem, check.found)
            if best_cost is None or cost < best_cost:
                best, best_cost = check.found, cost
        settled = check.found is not None or (check.impossible and single_day)
        if settled and proposal.exact and proposal.optimal:
            open_bounds.pop(id(proposal), None)
    candidates = list(open_bounds.values())
    if best_cost is not None:
        candidates.append(best_cost)
    if not exhausted and last_bound is not None:
        candidates.append(last_bound)
    if exhausted and best_cost is None and not open_bounds:
        return SearchResult(None, None, False, True, proposals)
    lower_bound = min(candidates) if candidates else None
    optimal = best_cost is not None and lower_bound is not None and lower_bound >= best_cost
    return SearchResult(best, lower_bound, optimal, False, proposals)


def _check(
    problem: PackingProblem,
    proposal: Proposal,
    *,
    slice_s: float,
    deadline: float,
    workers: int,
    greedy: bool = True,
) -> _Check:
    """Try to pack the items into the proposed trips: greedily, then with CP-SAT.

    The greedy fills the proposed trips first and spills what does not fit into other
    trucks, so even a failed check usually yields a plan close to the proposal.
    """
    sub, mapping = restrict(problem, proposal.counts)
    fallback = None
    for by in _GREEDY_ORDERS if greedy else ():
        balanced = first_fit_decreasing(sub, by=by, balanced=True)
        if not isinstance(balanced, str):
            found = {mapping[b]: members for b, members in balanced.items() if members}
            return _Check(found=found, impossible=False, spilled=None)
    for by in _GREEDY_ORDERS if greedy else ():
        spilled = first_fit_decreasing(problem, preferred=mapping, by=by)
        if isinstance(spilled, str):
            continue
        if set(spilled) <= set(mapping):
            return _Check(found=spilled, impossible=False, spilled=None)
        if fallback is None or assignment_cost(problem, spilled) < assignment_cost(
            problem, fallback
        ):
            fallback = spilled
    result = solve_packing(
        sub,
        hint=None,
        lower_bound_cents=proposal.bound_cents,
        time_limit_s=max(0.01, min(slice_s, _left(deadline))),
        workers=workers,
    )
    if result.assignment is None:
        return _Check(found=None, impossible=result.infeasible, spilled=fallback)
    found = {mapping[b]: members for b, members in result.assignment.items() if members}
    return _Check(found=found, impossible=False, spilled=None)


def _left(deadline: float) -> float:
    return deadline - time.perf_counter()


def assignment_cost(problem: PackingProblem, assignment: Assignment) -> int:
    """What the trips of a packing cost."""
    return sum(problem.cost(b) for b, members in assignment.items() if members)
