"""Split an order into truckloads of a carrier's own fleet: pure data in, a plan out."""

from dispatch.planning.plan import CompartmentLoad, Plan, PlanStatus, Trip
from dispatch.planning.replan import remaining_request
from dispatch.planning.request import (
    BodyType,
    BulkCargo,
    CargoKind,
    Compartment,
    DayCapacity,
    Item,
    ItemCargo,
    OrderNeeds,
    PlantCapacity,
    SplitRequest,
    SurgeRule,
    TakenTrip,
    Vehicle,
    trips_per_day,
)
from dispatch.planning.solve import plan_greedy, plan_split
from dispatch.planning.validation import Violation, ViolationKind, validate_plan

__all__ = [
    "BodyType",
    "BulkCargo",
    "CargoKind",
    "Compartment",
    "CompartmentLoad",
    "DayCapacity",
    "Item",
    "ItemCargo",
    "OrderNeeds",
    "Plan",
    "PlanStatus",
    "PlantCapacity",
    "SplitRequest",
    "SurgeRule",
    "TakenTrip",
    "Trip",
    "Vehicle",
    "Violation",
    "ViolationKind",
    "plan_greedy",
    "plan_split",
    "remaining_request",
    "trips_per_day",
    "validate_plan",
]
