"""API shapes of pickup authorizations: grants, passes, gate verdicts, revocation lists."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from accounts.schemas import Strict
from dispatch.authorizations.enums import GrantLevel, GrantStatus, PassState
from dispatch.authorizations.passes import PassReason
from dispatch.authorizations.tokens import MAX_TOKEN_CHARS
from dispatch.deliveries.enums import DeliveryState
from dispatch.orders.enums import QuantityUnit

Quantity = Annotated[int, Field(gt=0, le=10**12)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]
CarrierIds = Annotated[list[uuid.UUID], Field(max_length=50)]


class _Window(Strict):
    """An optional validity window; both bounds are checked together."""

    not_before: AwareDatetime | None = None
    not_after: AwareDatetime | None = None

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.not_before and self.not_after and self.not_after <= self.not_before:
            raise ValueError("not_after must be after not_before")
        return self


class GrantCreate(_Window):
    """Authorize a carrier to collect goods of a sales order (or of one booking of it).

    Given by whoever arranges transport: the buyer in self-pickup trade, the seller in
    delivered trade. Quantity is in the order's unit; the window defaults to the booking's
    (or the order's) pickup window. ``may_subcontract`` lets the carrier pass a share on to
    another carrier: to any, or only to ``allowed_carrier_ids`` when listed.
    """

    order_id: uuid.UUID
    booking_id: uuid.UUID | None = None
    carrier_id: uuid.UUID
    quantity: Quantity
    may_subcontract: bool = False
    allowed_carrier_ids: CarrierIds = []


class SubgrantCreate(_Window):
    """Pass a share of an accepted grant on to another carrier (if the grant allows it).

    No more than the grant still holds, within its window (the default), and only to a
    carrier it allows; the new grant may allow subcontracting again, never more widely.
    """

    carrier_id: uuid.UUID
    quantity: Quantity
    may_subcontract: bool = False
    allowed_carrier_ids: CarrierIds = []


class DeliveryGrant(_Window):
    """Pass a share of an accepted grant to the driver and vehicle of one of your deliveries,
    and issue the pickup pass.

    Quantity defaults to the delivery's; the window to the pickup day (the slot's day once
    it has a slot) with the configured margin, inside the grant's window.
    """

    delivery_id: uuid.UUID
    quantity: Quantity | None = None


class GrantDecision(Strict):
    """Accept a grant offered to your organization; ``version`` is the one you read."""

    version: int


class GrantDecline(Strict):
    """Decline a grant offered to your organization."""

    version: int
    reason: Reason | None = None


class GrantRevoke(Strict):
    """Revoke a grant you gave (and everything passed on from it) before it is used.

    ``version`` is optional: a revocation should not wait for a reload.
    """

    reason: Reason
    version: int | None = None


class GrantPublic(BaseModel):
    """One hop of a pickup authorization, with the quantity it passed on and loaded."""

    id: uuid.UUID
    version: int
    root_id: uuid.UUID
    parent_id: uuid.UUID | None
    level: GrantLevel
    order_id: uuid.UUID
    booking_id: uuid.UUID | None
    delivery_id: uuid.UUID | None
    grantor_id: uuid.UUID
    grantee_id: uuid.UUID
    plant_site_id: uuid.UUID
    product: str
    unit: QuantityUnit
    quantity: int
    allotted_quantity: int
    available_quantity: int
    loaded_quantity: int
    remaining_quantity: int
    not_before: datetime
    not_after: datetime
    may_subcontract: bool
    allowed_carrier_ids: list[uuid.UUID]
    driver_member_id: uuid.UUID | None
    vehicle_id: uuid.UUID | None
    vehicle_plate: str | None
    status: GrantStatus
    created_at: datetime
    responded_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str | None


class GrantsPublic(BaseModel):
    """A page of grants, newest first."""

    data: list[GrantPublic]
    count: int
    next_cursor: str | None = None


class PassIssue(Strict):
    """Issue a new pass for a delivery from its driver grant (after one expired or was
    revoked)."""

    delivery_id: uuid.UUID


class PassRevoke(Strict):
    """Revoke a pass (the grant stays: a new pass can be issued from it)."""

    reason: Reason


class PassPublic(BaseModel):
    """A pickup pass as its parties see it (the token itself only through ``/token``)."""

    id: uuid.UUID
    version: int
    delivery_id: uuid.UUID
    grant_id: uuid.UUID
    root_id: uuid.UUID
    plant_site_id: uuid.UUID
    carrier_id: uuid.UUID
    driver_member_id: uuid.UUID
    driver_name: str
    vehicle_id: uuid.UUID
    vehicle_plate: str
    product: str
    max_quantity: int
    unit: QuantityUnit
    not_before: datetime
    expires_at: datetime
    state: PassState
    kid: str
    chain_hash: str
    presented_at: datetime | None
    presented_plate: str | None
    consumed_at: datetime | None
    loaded_quantity: int | None
    revoked_at: datetime | None
    revoke_reason: str | None
    created_at: datetime


class PassesPublic(BaseModel):
    """A page of passes, newest first."""

    data: list[PassPublic]
    count: int
    next_cursor: str | None = None


class PassTokenPublic(BaseModel):
    """The pass as the driver's phone shows it: the compact JWS, as text."""

    pass_id: uuid.UUID
    token: str
    typ: str
    alg: str
    kid: str
    not_before: datetime
    expires_at: datetime
    state: PassState


class DeliveryAuthorized(BaseModel):
    """The driver grant of a delivery and the pass issued from it."""

    grant: GrantPublic
    pickup_pass: PassPublic


class GateCheck(Strict):
    """A scanned pass at a gate: the token, the plate the clerk (or camera) reads, the plant."""

    token: Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]
    plate_seen: Annotated[str, Field(min_length=1, max_length=32)]
    plant_site_id: uuid.UUID


class GatePresent(GateCheck):
    """Check a truck in on its pass. ``seen_at`` is when a gate that was offline admitted
    it (the pass is judged at that moment); default now."""

    seen_at: AwareDatetime | None = None


class PassConsume(Strict):
    """End of loading: the loaded quantity, in the pass's unit, at most its maximum."""

    loaded_quantity: Quantity


class LoadAllowance(BaseModel):
    """What may be loaded on the pass."""

    product: str
    quantity: int
    unit: QuantityUnit


class PassClaimsPublic(BaseModel):
    """What a validly signed token says (shown even when the pass is refused)."""

    pass_id: str
    delivery_id: str
    plant_id: str
    product: str
    max_quantity: str
    unit: str
    vehicle_plate: str
    driver_id: str
    driver_name: str
    not_before: datetime
    expires_at: datetime
    chain_hash: str


class GateDeliveryPublic(BaseModel):
    """The delivery a valid pass is for, as the gate needs it."""

    id: uuid.UUID
    number: str
    state: DeliveryState
    carrier_id: uuid.UUID
    product: str
    quantity: int
    unit: QuantityUnit
    vehicle_plate: str
    planned_day: date
    slot_starts_at: datetime | None


class GateVerdictPublic(BaseModel):
    """Admit or refuse: ``valid`` with what may be loaded, or ``reason`` (a stable code)."""

    valid: bool
    reason: PassReason | None
    detail: str
    checked_at: datetime
    pass_id: uuid.UUID | None
    pass_state: PassState | None
    kid: str | None
    claims: PassClaimsPublic | None
    delivery: GateDeliveryPublic | None
    may_load: LoadAllowance | None


class RevocationEntryPublic(BaseModel):
    """One pass a plant's gates must refuse."""

    seq: int
    pass_id: uuid.UUID
    expires_at: datetime


class RevocationsPublic(BaseModel):
    """The plant's revocation entries with ``after`` < seq <= ``up_to``: merge them, then ask
    again with ``after=up_to`` (more may follow when ``count`` reached the limit)."""

    plant_site_id: uuid.UUID
    after: int
    up_to: int
    entries: list[RevocationEntryPublic]
    count: int
    synced_at: datetime
