"""Sales orders: what a seller sold a buyer, from which plant, to where and by when."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, UniqueConstraint
from sqlmodel import Field, SQLModel, col

from accounts.work import OpenWork, register_open_work
from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import enum_type
from dispatch.orders.enums import OrderState, QuantityUnit, TransportBy


class SalesOrderBase(SQLModel):
    """The terms of a sale that transport has to honour."""

    reference: str = Field(max_length=64)
    commodity: str = Field(max_length=200)
    quantity: int = Field(gt=0, sa_type=BigInteger)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    hazard_class: str | None = Field(default=None, max_length=8)
    un_number: str | None = Field(default=None, max_length=8)
    food_grade: bool = False
    transport_by: TransportBy = Field(sa_type=enum_type(TransportBy))
    notes: str | None = Field(default=None, max_length=2000)


class SalesOrder(SalesOrderBase, Keyed, Timestamped, Versioned, table=True):
    """A sales order; the seller and the buyer see it, nobody else.

    Origin and destination coordinates are copied from the sites when the order is made: the
    order is a snapshot of the agreed terms, and the market filters by them without a join.
    """

    __tablename__ = "sales_orders"
    __table_args__ = (
        UniqueConstraint("seller_id", "reference"),
        Index("ix_sales_orders_seller_id_id", "seller_id", "id"),
        Index("ix_sales_orders_buyer_id_id", "buyer_id", "id"),
    )

    seller_id: uuid.UUID = Field(foreign_key="organizations.id")
    buyer_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_operator_id: uuid.UUID = Field(foreign_key="organizations.id")
    origin_site_id: uuid.UUID = Field(foreign_key="sites.id")
    origin_name: str = Field(max_length=200)
    origin_lat: float
    origin_lon: float
    destination_site_id: uuid.UUID | None = Field(default=None, foreign_key="sites.id")
    destination_address: str = Field(max_length=500)
    destination_lat: float
    destination_lon: float
    pickup_from: datetime = utc_field()
    pickup_until: datetime = utc_field()
    deliver_by: datetime = utc_field()
    state: OrderState = Field(default=OrderState.OPEN, sa_type=enum_type(OrderState))
    # Quantity on the market or booked; a conditional update keeps it within ``quantity``.
    offered_quantity: int = Field(default=0, nullable=False, sa_type=BigInteger)
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    manager_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id", index=True)


register_open_work(
    OpenWork(
        name="sales_orders",
        model=SalesOrder,
        member_column="manager_id",
        organization_column="seller_id",
        is_open=lambda: col(SalesOrder.state) == OrderState.OPEN,
    )
)
