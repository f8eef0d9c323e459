"""API shapes of delivery plans, outbound deliveries, ledgers and the driver's phone."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from accounts.schemas import Strict
from dispatch.deliveries.enums import (
    DeliveryState,
    NextStep,
    PlanKind,
    PlanState,
)
from dispatch.orders.enums import QuantityUnit

Quantity = Annotated[int, Field(gt=0, le=10**12)]
Cents = Annotated[int, Field(ge=0, le=10**9)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class VehicleChoice(Strict):
    """A vehicle to plan with, and (optionally) what its trips cost and how many it runs."""

    vehicle_id: uuid.UUID
    fixed_cost_cents: Cents | None = None
    cost_per_km_cents: Cents | None = None
    trips_per_day: Annotated[int, Field(ge=0, le=24)] | None = None


class ItemTerms(Strict):
    """One pallet or piece of a booking counted in pallets or pieces."""

    weight_kg: Annotated[int, Field(gt=0, le=100_000)]
    volume_m3: Annotated[float, Field(ge=0, le=200)] = 0.0
    pallet_places: Annotated[int, Field(ge=0, le=100)] = 1
    stackable: bool = False


class PlantLimit(Strict):
    """What the plant can load for this booking per day: trips, and quantity in its unit."""

    trips_per_day: Annotated[int, Field(ge=0, le=10_000)] | None = None
    quantity_per_day: Annotated[int, Field(ge=0, le=10**12)] | None = None


class SplitTerms(Strict):
    """How to split: which vehicles (all that fit, if none are named), the product's
    loading facts, the plant's daily limit, and the lane (estimated from the sites unless
    ``round_trip_km`` is given). Defaults: trips 80 % full but the last, 60 km/h, two hours
    of loading and unloading per trip, a ten-hour working day."""

    vehicles: Annotated[list[VehicleChoice], Field(min_length=1, max_length=500)] | None = None
    density_kg_per_m3: Annotated[float, Field(gt=0, le=25_000)] | None = None
    liquid: bool | None = None
    viscous: bool = False
    max_fill_ratio: Annotated[float, Field(gt=0, le=1)] = 1.0
    item: ItemTerms | None = None
    min_fill_ratio: Annotated[float, Field(ge=0, le=1)] = 0.8
    plant: PlantLimit | None = None
    round_trip_km: Annotated[float, Field(gt=0, le=10_000)] | None = None
    average_speed_kmh: Annotated[float, Field(ge=5, le=130)] = 60.0
    handling_s: Annotated[int, Field(ge=0, le=86_400)] = 7200
    working_day_s: Annotated[int, Field(ge=600, le=86_400)] = 36_000
    time_limit_s: Annotated[float, Field(gt=0, le=120)] | None = None

    @model_validator(mode="after")
    def _distinct(self) -> SplitTerms:
        if self.vehicles is not None:
            ids = [choice.vehicle_id for choice in self.vehicles]
            if len(set(ids)) != len(ids):
                raise ValueError("a vehicle appears twice in vehicles")
        return self


class PlanCreate(SplitTerms):
    """Preview a split of a booking's unplanned quantity into truckloads."""

    booking_id: uuid.UUID


class ReplanCreate(Strict):
    """Re-split a booking's open deliveries after a breakdown or a cancellation.

    ``lost_vehicle_ids`` default to the booking's vehicles now out of service. The
    ``affected`` scope replaces only their open deliveries and plans what no delivery
    carries; ``all_open`` re-splits every delivery not at the plant yet. ``terms`` default
    to those of the booking's last committed plan.
    """

    booking_id: uuid.UUID
    lost_vehicle_ids: Annotated[list[uuid.UUID], Field(max_length=500)] | None = None
    scope: Literal["affected", "all_open"] = "affected"
    terms: SplitTerms | None = None


class MoveTrip(Strict):
    """Move a trip to another day."""

    op: Literal["move"]
    trip: Annotated[int, Field(ge=0)]
    day: date


class ChangeVehicle(Strict):
    """Put a trip on another vehicle."""

    op: Literal["vehicle"]
    trip: Annotated[int, Field(ge=0)]
    vehicle_id: uuid.UUID


class ChangeQuantity(Strict):
    """Change what a trip carries (another edit must even the total out)."""

    op: Literal["quantity"]
    trip: Annotated[int, Field(ge=0)]
    quantity: Quantity


class RemoveTrip(Strict):
    """Drop a trip (another edit must carry its quantity)."""

    op: Literal["remove"]
    trip: Annotated[int, Field(ge=0)]


class AddTrip(Strict):
    """Add a trip of a vehicle on a day."""

    op: Literal["add"]
    vehicle_id: uuid.UUID
    day: date
    quantity: Quantity


Edit = Annotated[
    MoveTrip | ChangeVehicle | ChangeQuantity | RemoveTrip | AddTrip, Field(discriminator="op")
]


class PlanEdit(Strict):
    """Edits applied together, then checked together; ``trip`` indexes the plan's trips as
    you read them (before these edits). ``version`` must be the one you read."""

    version: int
    edits: Annotated[list[Edit], Field(min_length=1, max_length=200)]


class PlanCommit(Strict):
    """Commit a draft: its trips become outbound deliveries."""

    version: int


class PlanDiscard(Strict):
    """Drop a draft."""

    version: int


class CompartmentPublic(BaseModel):
    """What one tank compartment holds, in the booking's unit and in litres."""

    index: int
    capacity_l: int
    quantity: int
    volume_l: float


class TripPublic(BaseModel):
    """One truckload of a plan."""

    index: int
    vehicle_id: uuid.UUID
    plate: str
    day: date
    trip_no: int
    quantity: int
    fill_ratio: float
    cost_cents: int
    compartments: list[CompartmentPublic]


class ViolationPublic(BaseModel):
    """A rule a plan breaks."""

    kind: str
    detail: str
    trip: int | None


class PlanPublic(BaseModel):
    """A split of a booking into truckloads, with how good it is."""

    id: uuid.UUID
    version: int
    booking_id: uuid.UUID
    carrier_id: uuid.UUID
    kind: PlanKind
    state: PlanState
    unit: QuantityUnit
    quantity: int
    status: str
    method: str
    bound_method: str
    reason: str
    total_cost_cents: int
    lower_bound_cents: int | None
    gap: float | None
    solve_s: float
    edited: bool
    trip_count: int
    trips: list[TripPublic]
    replaces: list[uuid.UUID]
    created_at: datetime
    committed_at: datetime | None


class PlansPublic(BaseModel):
    """A booking's plans, newest first."""

    data: list[PlanPublic]
    count: int


class DeliveryPublic(BaseModel):
    """An outbound delivery: one truckload of a booking, the seller's delivery note."""

    id: uuid.UUID
    version: int
    number: str
    order_id: uuid.UUID
    booking_id: uuid.UUID
    plan_id: uuid.UUID
    seller_id: uuid.UUID
    buyer_id: uuid.UUID
    carrier_id: uuid.UUID
    plant_operator_id: uuid.UUID
    plant_site_id: uuid.UUID
    destination_site_id: uuid.UUID | None
    destination_address: str
    destination_lat: float
    destination_lon: float
    product: str
    hazard_class: str | None
    un_number: str | None
    food_grade: bool
    quantity: int
    unit: QuantityUnit
    compartments: list[CompartmentPublic]
    vehicle_id: uuid.UUID
    vehicle_plate: str
    driver_member_id: uuid.UUID | None
    dispatcher_id: uuid.UUID | None
    planned_day: date
    trip_no: int
    state: DeliveryState
    next_step: NextStep
    slot_starts_at: datetime | None
    loaded_quantity: int | None
    loaded_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    created_at: datetime
    updated_at: datetime


class DeliveriesPublic(BaseModel):
    """A page of deliveries, newest first."""

    data: list[DeliveryPublic]
    count: int
    next_cursor: str | None = None


class PlanCommitted(BaseModel):
    """A committed plan and the deliveries it created."""

    plan: PlanPublic
    deliveries: list[DeliveryPublic]


class LedgerPublic(BaseModel):
    """Where a booking's quantity is: on open deliveries, on the road, delivered, unplanned."""

    booking_id: uuid.UUID
    unit: QuantityUnit
    booked_quantity: int
    open_quantity: int
    moving_quantity: int
    delivered_quantity: int
    unplanned_quantity: int


class AssignRequest(Strict):
    """Put a driver (and a vehicle, the planned one unless named) on a delivery."""

    version: int
    driver_id: uuid.UUID
    vehicle_id: uuid.UUID | None = None


class CancelRequest(Strict):
    """Cancel a delivery not yet loaded; its quantity goes back to the booking."""

    version: int
    reason: Reason


class PlacePublic(BaseModel):
    """Where a driver goes."""

    site_id: uuid.UUID | None
    name: str
    address: str | None
    lat: float
    lon: float
    instructions: str | None = None


class VehicleRef(BaseModel):
    """The vehicle a delivery goes on."""

    id: uuid.UUID
    plate: str


class DriverDeliveryPublic(BaseModel):
    """A delivery as the driver's phone shows it."""

    id: uuid.UUID
    version: int
    number: str
    state: DeliveryState
    next_step: NextStep
    planned_day: date
    trip_no: int
    slot_starts_at: datetime | None
    plant: PlacePublic
    destination: PlacePublic
    product: str
    hazard_class: str | None
    un_number: str | None
    quantity: int
    unit: QuantityUnit
    compartments: list[CompartmentPublic]
    vehicle: VehicleRef


class DriverDayPublic(BaseModel):
    """A driver's deliveries: today's (and any still under way) and the upcoming ones."""

    today: list[DriverDeliveryPublic]
    upcoming: list[DriverDeliveryPublic]
