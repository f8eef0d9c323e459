"""API shapes of sales orders."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from accounts.schemas import Strict
from dispatch.orders.enums import OrderState, QuantityUnit, TransportBy
from dispatch.orders.models import SalesOrder

Reference = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/\-]+$")]
HazardClass = Annotated[str, Field(pattern=r"^[1-9](\.[1-6])?[A-Z]?$")]
UnNumber = Annotated[str, Field(pattern=r"^(UN)?[0-9]{4}$")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class OrderCreate(Strict):
    """A sales order; quantities are whole base units (kg, l, pallets or pieces).

    The destination is one of the buyer's sites, or an address with coordinates.
    """

    reference: Reference
    buyer_id: uuid.UUID
    commodity: Annotated[str, Field(min_length=1, max_length=200)]
    quantity: Annotated[int, Field(gt=0, le=10**12)]
    unit: QuantityUnit
    origin_site_id: uuid.UUID
    destination_site_id: uuid.UUID | None = None
    destination_address: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    destination_lat: Latitude | None = None
    destination_lon: Longitude | None = None
    pickup_from: AwareDatetime
    pickup_until: AwareDatetime
    deliver_by: AwareDatetime
    transport_by: TransportBy
    hazard_class: HazardClass | None = None
    un_number: UnNumber | None = None
    food_grade: bool = False
    notes: Annotated[str, Field(max_length=2000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> OrderCreate:
        if self.destination_site_id is None and (
            self.destination_address is None
            or self.destination_lat is None
            or self.destination_lon is None
        ):
            raise ValueError(
                "give destination_site_id, or destination_address with destination_lat and "
                "destination_lon"
            )
        if self.pickup_until <= self.pickup_from:
            raise ValueError("pickup_until must be after pickup_from")
        if self.deliver_by < self.pickup_from:
            raise ValueError("deliver_by cannot be before pickup_from")
        if (self.un_number is None) != (self.hazard_class is None):
            raise ValueError("hazardous goods need both hazard_class and un_number")
        if self.un_number is not None:
            self.un_number = "UN" + self.un_number.removeprefix("UN")
        return self


class OrderUpdate(Strict):
    """Change an open order's terms; ``version`` must be the one you read."""

    version: int
    quantity: Annotated[int, Field(gt=0, le=10**12)] | None = None
    pickup_from: AwareDatetime | None = None
    pickup_until: AwareDatetime | None = None
    deliver_by: AwareDatetime | None = None
    notes: Annotated[str, Field(max_length=2000)] | None = None


class OrderCancel(Strict):
    """Cancel an order nothing of which is on the market."""

    version: int
    reason: Annotated[str, Field(min_length=1, max_length=500)]


class OrderPublic(BaseModel):
    """A sales order as its seller and buyer see it."""

    id: uuid.UUID
    version: int
    reference: str
    seller_id: uuid.UUID
    buyer_id: uuid.UUID
    plant_operator_id: uuid.UUID
    commodity: str
    quantity: int
    unit: QuantityUnit
    offered_quantity: int
    hazard_class: str | None
    un_number: str | None
    food_grade: bool
    origin_site_id: uuid.UUID
    origin_name: str
    origin_lat: float
    origin_lon: float
    destination_site_id: uuid.UUID | None
    destination_address: str
    destination_lat: float
    destination_lon: float
    pickup_from: datetime
    pickup_until: datetime
    deliver_by: datetime
    transport_by: TransportBy
    state: OrderState
    notes: str | None
    created_at: datetime


class OrdersPublic(BaseModel):
    """A page of orders, newest first; pass ``next_cursor`` as ``cursor`` for the next."""

    data: list[OrderPublic]
    count: int
    next_cursor: str | None = None


class ImportRowError(BaseModel):
    """One field of one CSV line that failed."""

    line: int
    field: str
    msg: str


class OrdersImported(BaseModel):
    """The orders a CSV import created, in file order."""

    data: list[OrderPublic]
    count: int


def order_public(order: SalesOrder) -> OrderPublic:
    """An order as the API shows it."""
    return OrderPublic.model_validate(order, from_attributes=True)
