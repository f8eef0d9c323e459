"""Outbound deliveries, the plans that create them, each booking's quantity ledger and the
per-seller delivery number sequence."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from accounts.work import OpenWork, register_open_work
from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import JSONColumn, UTCDateTime, enum_type
from dispatch.deliveries.enums import (
    ON_THE_ROAD_STATES,
    DeliveryState,
    PlanKind,
    PlanState,
)
from dispatch.orders.enums import QuantityUnit


def _maybe_time() -> Any:
    """A UTC timestamp column that stays empty until something happens."""
    return Field(default=None, sa_type=UTCDateTime, nullable=True)


class OutboundDelivery(Keyed, Timestamped, Versioned, table=True):
    """One truckload of a booking: the seller's outbound delivery note.

    The parties, the plant, the destination and the product are copied from the order when
    the plan is committed, so the gate, the pass and the driver's phone read one row.
    ``quantity`` is the planned quantity in ``unit``; ``loaded_quantity`` is what the
    weighbridge recorded. ``compartments`` is a tanker's allocation, one entry per
    compartment (index, capacity_l, quantity, volume_l).
    """

    __tablename__ = "outbound_deliveries"
    __table_args__ = (
        UniqueConstraint("seller_id", "number"),
        Index("ix_outbound_deliveries_carrier_id_id", "carrier_id", "id"),
        Index("ix_outbound_deliveries_seller_id_id", "seller_id", "id"),
        Index("ix_outbound_deliveries_buyer_id_id", "buyer_id", "id"),
        Index("ix_outbound_deliveries_plant_operator_id_id", "plant_operator_id", "id"),
        Index("ix_outbound_deliveries_booking_id_state", "booking_id", "state"),
        Index("ix_outbound_deliveries_vehicle_day", "vehicle_id", "planned_day"),
        Index("ix_outbound_deliveries_driver_day", "driver_member_id", "planned_day"),
    )

    number: str = Field(max_length=20)
    order_id: uuid.UUID = Field(foreign_key="sales_orders.id")
    booking_id: uuid.UUID = Field(foreign_key="bookings.id")
    plan_id: uuid.UUID = Field(foreign_key="delivery_plans.id")
    seller_id: uuid.UUID = Field(foreign_key="organizations.id")
    buyer_id: uuid.UUID = Field(foreign_key="organizations.id")
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_operator_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_site_id: uuid.UUID = Field(foreign_key="sites.id")
    destination_site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id")
    destination_address: str = Field(max_length=500)
    destination_lat: float
    destination_lon: float
    product: str = Field(max_length=200)
    hazard_class: str | None = Field(default=None, max_length=8)
    un_number: str | None = Field(default=None, max_length=8)
    food_grade: bool = False
    quantity: int = Field(sa_type=BigInteger)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    compartments: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONColumn)
    vehicle_id: uuid.UUID = Field(foreign_key="vehicles.id")
    vehicle_plate: str = Field(max_length=20)
    driver_member_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    dispatcher_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)
    planned_day: date
    trip_no: int
    # The share of a working day one trip takes: what double-booking checks add up.
    trip_duration_s: int
    state: DeliveryState = Field(sa_type=enum_type(DeliveryState))
    slot_starts_at: datetime | None = _maybe_time()
    loaded_quantity: int | None = Field(default=None, sa_type=BigInteger)
    loaded_at: datetime | None = _maybe_time()
    delivered_at: datetime | None = _maybe_time()
    cancelled_at: datetime | None = _maybe_time()
    cancel_reason: str | None = Field(default=None, max_length=500)
    updated_at: datetime = utc_field()


class DeliveryPlan(Keyed, Timestamped, Versioned, table=True):
    """A split of a booking's quantity into truckloads: a draft to edit, then committed.

    ``request`` is the planner's input as it was solved (fleet, window, cargo) and
    ``trips`` the trips, both as JSON; ``inputs`` are the dispatcher's choices, so a commit
    can check the trips against the fleet as it is then. A re-plan lists the open
    deliveries it replaces in ``replaces`` ({id, version}).
    """

    __tablename__ = "delivery_plans"
    __table_args__ = (Index("ix_delivery_plans_booking_id_state", "booking_id", "state"),)

    booking_id: uuid.UUID = Field(foreign_key="bookings.id")
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    kind: PlanKind = Field(sa_type=enum_type(PlanKind))
    state: PlanState = Field(default=PlanState.DRAFT, sa_type=enum_type(PlanState))
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    quantity: int = Field(sa_type=BigInteger)
    inputs: dict[str, Any] = Field(default_factory=dict, sa_type=JSONColumn)
    request: dict[str, Any] = Field(default_factory=dict, sa_type=JSONColumn)
    trips: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONColumn)
    replaces: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONColumn)
    status: str = Field(max_length=16)
    method: str = Field(max_length=200)
    bound_method: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=1000)
    total_cost_cents: int = Field(default=0, sa_type=BigInteger)
    lower_bound_cents: int | None = Field(default=None, sa_type=BigInteger)
    solve_s: float = 0.0
    edited: bool = False
    updated_at: datetime = utc_field()
    committed_at: datetime | None = _maybe_time()


class BookingLedger(SQLModel, table=True):
    """How much of a booking is planned, on the road and delivered, in the booking's unit.

    Open is the planned quantity of deliveries not loaded yet; moving and delivered count
    what the weighbridge loaded. Every change is one conditional UPDATE, and the database
    refuses any row where they add up to more than was booked.
    """

    __tablename__ = "booking_ledgers"
    __table_args__ = (
        CheckConstraint(
            "open_quantity >= 0 AND moving_quantity >= 0 AND delivered_quantity >= 0"
            " AND open_quantity + moving_quantity + delivered_quantity <= booked_quantity",
            name="within_booking",
        ),
    )

    booking_id: uuid.UUID = Field(foreign_key="bookings.id", primary_key=True)
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id")
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    booked_quantity: int = Field(sa_type=BigInteger)
    open_quantity: int = Field(default=0, sa_type=BigInteger)
    moving_quantity: int = Field(default=0, sa_type=BigInteger)
    delivered_quantity: int = Field(default=0, sa_type=BigInteger)

    @property
    def unplanned_quantity(self) -> int:
        """What no active delivery carries yet."""
        return (
            self.booked_quantity
            - self.open_quantity
            - self.moving_quantity
            - self.delivered_quantity
        )


class DeliveryCounter(SQLModel, table=True):
    """The last delivery number a seller handed out; numbers are taken by one upsert."""

    __tablename__ = "delivery_counters"

    seller_id: uuid.UUID = Field(foreign_key="organizations.id", primary_key=True)
    last_no: int = Field(default=0, sa_type=BigInteger)


register_open_work(
    OpenWork(
        name="deliveries_dispatched",
        model=OutboundDelivery,
        member_column="dispatcher_id",
        organization_column="carrier_id",
        is_open=lambda: col(OutboundDelivery.state).in_(list(ON_THE_ROAD_STATES)),
    )
)
# A driver's deliveries move to another member only before a pass names the driver.
register_open_work(
    OpenWork(
        name="deliveries_driven",
        model=OutboundDelivery,
        member_column="driver_member_id",
        organization_column="carrier_id",
        is_open=lambda: col(OutboundDelivery.state) == DeliveryState.ASSIGNED,
    )
)
