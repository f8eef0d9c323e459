"""The grant chain's hops, the pickup passes issued from them, and each plant's revocation list.

Quantities are whole base units of the order (kg, litres, pallets, pieces). A hop's
``quantity`` is what it grants; ``allotted_quantity`` is what the hops below it hold (a used
driver hop holds only what was loaded); ``loaded_quantity`` is what passes below it loaded.
All three change only by conditional UPDATEs, and the database refuses a row where the hops
below hold, or loaded, more than the hop grants.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Text, text
from sqlmodel import Field, SQLModel

from core.models import Keyed, Timestamped, Versioned, utc_field
from core.types import JSONColumn, UTCDateTime, enum_type
from dispatch.authorizations.enums import GrantLevel, GrantStatus, PassState
from dispatch.orders.enums import QuantityUnit

_LIVE_GRANT = "status IN ('offered', 'accepted')"
_LIVE_PASS = "state IN ('issued', 'presented')"  # noqa: S105 - a condition, not a secret


def _maybe_time() -> datetime | None:
    """A UTC timestamp column that stays empty until something happens."""
    empty: datetime | None = Field(default=None, sa_type=UTCDateTime, nullable=True)
    return empty


class PickupGrant(Keyed, Timestamped, Versioned, table=True):
    """One hop of a pickup authorization: the grantor lets the grantee collect goods.

    The order hop (no parent) is the arranger's grant to a carrier for a sales order, or
    one booking of it; carrier hops pass a share to another carrier; a driver hop names one
    delivery's driver and vehicle, and the pass is issued from it. ``root_id`` is the order
    hop of the chain (its own id for the order hop). The order's parties, plant and product
    are copied so that visibility and the gate need no join.
    """

    __tablename__ = "pickup_grants"
    __table_args__ = (
        CheckConstraint(
            "allotted_quantity >= 0 AND allotted_quantity <= quantity"
            " AND loaded_quantity >= 0 AND loaded_quantity <= quantity",
            name="within_quantity",
        ),
        Index("ix_pickup_grants_grantor_id_id", "grantor_id", "id"),
        Index("ix_pickup_grants_grantee_id_id", "grantee_id", "id"),
        Index("ix_pickup_grants_order_id", "order_id"),
        Index("ix_pickup_grants_root_id", "root_id"),
        Index("ix_pickup_grants_parent_id", "parent_id"),
        # One live driver hop per delivery: two dispatchers granting at once get one each.
        Index(
            "uq_pickup_grants_live_delivery",
            "delivery_id",
            unique=True,
            sqlite_where=text(_LIVE_GRANT),
            postgresql_where=text(_LIVE_GRANT),
        ),
    )

    root_id: uuid.UUID
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="pickup_grants.id")
    level: GrantLevel = Field(sa_type=enum_type(GrantLevel))
    order_id: uuid.UUID = Field(foreign_key="sales_orders.id")
    booking_id: uuid.UUID | None = Field(default=None, foreign_key="bookings.id")
    seller_id: uuid.UUID = Field(foreign_key="organizations.id")
    buyer_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_operator_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_site_id: uuid.UUID = Field(foreign_key="sites.id")
    product: str = Field(max_length=200)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    grantor_id: uuid.UUID = Field(foreign_key="organizations.id")
    grantee_id: uuid.UUID = Field(foreign_key="organizations.id")
    created_by_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    delivery_id: uuid.UUID | None = Field(default=None, foreign_key="outbound_deliveries.id")
    driver_member_id: uuid.UUID | None = Field(default=None, foreign_key="memberships.id")
    vehicle_id: uuid.UUID | None = Field(default=None, foreign_key="vehicles.id")
    vehicle_plate: str | None = Field(default=None, max_length=64)
    quantity: int = Field(sa_type=BigInteger)
    allotted_quantity: int = Field(default=0, sa_type=BigInteger)
    loaded_quantity: int = Field(default=0, sa_type=BigInteger)
    not_before: datetime = utc_field()
    not_after: datetime = utc_field()
    may_subcontract: bool = False
    allowed_carrier_ids: list[str] = Field(default_factory=list, sa_type=JSONColumn)
    status: GrantStatus = Field(sa_type=enum_type(GrantStatus))
    responded_at: datetime | None = _maybe_time()
    revoked_at: datetime | None = _maybe_time()
    revoked_by: str | None = Field(default=None, max_length=80)
    revoke_reason: str | None = Field(default=None, max_length=500)
    updated_at: datetime = utc_field()


class PickupPass(Keyed, Timestamped, Versioned, table=True):
    """A signed pickup pass issued from a driver hop: the token the driver shows, its claims
    as issued, and where it stands.

    The token is kept as issued (it is bound to the plate and the driver and used once), so
    the platform never signs a pass again from a row someone may have changed; the claims
    digest lets the gate tell a pass as issued from one that differs.
    """

    __tablename__ = "pickup_passes"
    __table_args__ = (
        Index("ix_pickup_passes_driver_member_id_id", "driver_member_id", "id"),
        Index("ix_pickup_passes_carrier_id_id", "carrier_id", "id"),
        Index("ix_pickup_passes_seller_id_id", "seller_id", "id"),
        Index("ix_pickup_passes_buyer_id_id", "buyer_id", "id"),
        Index("ix_pickup_passes_plant_operator_id_id", "plant_operator_id", "id"),
        Index("ix_pickup_passes_delivery_id", "delivery_id"),
        Index("ix_pickup_passes_state_expires_at", "state", "expires_at"),
        Index(
            "uq_pickup_passes_live_delivery",
            "delivery_id",
            unique=True,
            sqlite_where=text(_LIVE_PASS),
            postgresql_where=text(_LIVE_PASS),
        ),
    )

    grant_id: uuid.UUID = Field(foreign_key="pickup_grants.id")
    root_id: uuid.UUID = Field(foreign_key="pickup_grants.id")
    delivery_id: uuid.UUID = Field(foreign_key="outbound_deliveries.id")
    seller_id: uuid.UUID = Field(foreign_key="organizations.id")
    buyer_id: uuid.UUID = Field(foreign_key="organizations.id")
    carrier_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_operator_id: uuid.UUID = Field(foreign_key="organizations.id")
    plant_site_id: uuid.UUID = Field(foreign_key="sites.id")
    driver_member_id: uuid.UUID = Field(foreign_key="memberships.id")
    driver_name: str = Field(max_length=64)
    vehicle_id: uuid.UUID = Field(foreign_key="vehicles.id")
    vehicle_plate: str = Field(max_length=64)
    product: str = Field(max_length=64)
    max_quantity: int = Field(sa_type=BigInteger)
    unit: QuantityUnit = Field(sa_type=enum_type(QuantityUnit))
    not_before: datetime = utc_field()
    expires_at: datetime = utc_field()
    kid: str = Field(max_length=64)
    chain_hash: str = Field(max_length=64)
    claims_digest: str = Field(max_length=64)
    token: str = Field(sa_type=Text)
    state: PassState = Field(sa_type=enum_type(PassState))
    issued_by: str | None = Field(default=None, max_length=80)
    presented_at: datetime | None = _maybe_time()
    presented_plate: str | None = Field(default=None, max_length=64)
    presented_by: str | None = Field(default=None, max_length=80)
    consumed_at: datetime | None = _maybe_time()
    loaded_quantity: int | None = Field(default=None, sa_type=BigInteger)
    revoked_at: datetime | None = _maybe_time()
    revoke_reason: str | None = Field(default=None, max_length=500)
    expired_at: datetime | None = _maybe_time()
    updated_at: datetime = utc_field()


class PassRevocation(SQLModel, table=True):
    """A pass a plant's gates must refuse (revoked, or consumed already), numbered per plant.

    Numbers are taken under the plant's head row lock, so they become visible in commit order
    and a gate syncing with ``after=<seq>`` never skips one committed late.
    """

    __tablename__ = "pass_revocations"

    plant_site_id: uuid.UUID = Field(foreign_key="sites.id", primary_key=True)
    seq: int = Field(primary_key=True, sa_type=BigInteger)
    pass_id: uuid.UUID = Field(foreign_key="pickup_passes.id", unique=True)
    expires_at: datetime = utc_field()
    recorded_at: datetime = utc_field()


class PassRevocationHead(SQLModel, table=True):
    """The last revocation number a plant handed out."""

    __tablename__ = "pass_revocation_heads"

    plant_site_id: uuid.UUID = Field(foreign_key="sites.id", primary_key=True)
    last_seq: int = Field(default=0, sa_type=BigInteger)
