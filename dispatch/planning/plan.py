"""What the planner answers: trips, their cost, a lower bound and the solver's verdict."""

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from dispatch.planning.request import CargoKind


class PlanStatus(StrEnum):
    """The solver's verdict on a request."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class CompartmentLoad:
    """How much of a trip one tank compartment holds."""

    index: int
    capacity_l: int
    mass_kg: int
    volume_l: float


@dataclass(frozen=True, slots=True)
class Trip:
    """One truckload: a vehicle's `trip_no`-th trip of `day` (counted from 1)."""

    vehicle_id: str
    plate: str
    day: date
    trip_no: int
    mass_kg: int
    cost_cents: int
    fill_ratio: float
    volume_m3: float | None = None
    item_ids: tuple[str, ...] = ()
    compartments: tuple[CompartmentLoad, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """A split of a request into trips, with the evidence of how good it is.

    `lower_bound_cents` is a proven bound on the cost of any valid plan; `method` and
    `bound_method` say how the plan and the bound were found.
    """

    kind: CargoKind
    status: PlanStatus
    trips: tuple[Trip, ...]
    total_cost_cents: int
    lower_bound_cents: int | None
    solve_s: float
    method: str
    bound_method: str = ""
    reason: str = ""

    @property
    def gap(self) -> float | None:
        """How far the cost may be above the optimum, relative to the lower bound."""
        if self.lower_bound_cents is None or not self.trips:
            return None
        if self.lower_bound_cents <= 0:
            return 0.0 if self.total_cost_cents <= 0 else None
        return (self.total_cost_cents - self.lower_bound_cents) / self.lower_bound_cents

    @property
    def ok(self) -> bool:
        """Whether the plan can be dispatched."""
        return self.status in (PlanStatus.OPTIMAL, PlanStatus.FEASIBLE)


def infeasible_plan(kind: CargoKind, reason: str, *, solve_s: float, method: str) -> Plan:
    """A plan that says why no split exists."""
    return Plan(
        kind=kind,
        status=PlanStatus.INFEASIBLE,
        trips=(),
        total_cost_cents=0,
        lower_bound_cents=None,
        solve_s=solve_s,
        method=method,
        reason=reason,
    )
