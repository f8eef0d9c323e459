"""Grants, passes, gate verdicts and revocation lists as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from core.signing import JWS_ALGORITHM
from dispatch.authorizations.enums import PassState
from dispatch.authorizations.gate import GateVerdict, RevocationPage
from dispatch.authorizations.models import PickupGrant, PickupPass
from dispatch.authorizations.passes import PICKUP_JWS_TYP
from dispatch.authorizations.schemas import (
    GateDeliveryPublic,
    GateVerdictPublic,
    GrantPublic,
    LoadAllowance,
    PassClaimsPublic,
    PassPublic,
    PassTokenPublic,
    RevocationEntryPublic,
    RevocationsPublic,
)


def grant_public(hop: PickupGrant) -> GrantPublic:
    """A hop as the API shows it, with what it still holds and what is left to load."""
    return GrantPublic(
        id=hop.id,
        version=hop.version,
        root_id=hop.root_id,
        parent_id=hop.parent_id,
        level=hop.level,
        order_id=hop.order_id,
        booking_id=hop.booking_id,
        delivery_id=hop.delivery_id,
        grantor_id=hop.grantor_id,
        grantee_id=hop.grantee_id,
        plant_site_id=hop.plant_site_id,
        product=hop.product,
        unit=hop.unit,
        quantity=hop.quantity,
        allotted_quantity=hop.allotted_quantity,
        available_quantity=hop.quantity - hop.allotted_quantity,
        loaded_quantity=hop.loaded_quantity,
        remaining_quantity=hop.quantity - hop.loaded_quantity,
        not_before=hop.not_before,
        not_after=hop.not_after,
        may_subcontract=hop.may_subcontract,
        allowed_carrier_ids=[uuid.UUID(c) for c in hop.allowed_carrier_ids],
        driver_member_id=hop.driver_member_id,
        vehicle_id=hop.vehicle_id,
        vehicle_plate=hop.vehicle_plate,
        status=hop.status,
        created_at=hop.created_at,
        responded_at=hop.responded_at,
        revoked_at=hop.revoked_at,
        revoke_reason=hop.revoke_reason,
    )


def shown_state(issued: PickupPass, moment: datetime) -> PassState:
    """The pass's state as a reader should see it: an issued pass past its expiry is expired
    even before the sweep marks it."""
    if issued.state is PassState.ISSUED and moment >= issued.expires_at:
        return PassState.EXPIRED
    return issued.state


def pass_public(issued: PickupPass, *, moment: datetime) -> PassPublic:
    """A pass as the API shows it (without the token)."""
    return PassPublic(
        id=issued.id,
        version=issued.version,
        delivery_id=issued.delivery_id,
        grant_id=issued.grant_id,
        root_id=issued.root_id,
        plant_site_id=issued.plant_site_id,
        carrier_id=issued.carrier_id,
        driver_member_id=issued.driver_member_id,
        driver_name=issued.driver_name,
        vehicle_id=issued.vehicle_id,
        vehicle_plate=issued.vehicle_plate,
        product=issued.product,
        max_quantity=issued.max_quantity,
        unit=issued.unit,
        not_before=issued.not_before,
        expires_at=issued.expires_at,
        state=shown_state(issued, moment),
        kid=issued.kid,
        chain_hash=issued.chain_hash,
        presented_at=issued.presented_at,
        presented_plate=issued.presented_plate,
        consumed_at=issued.consumed_at,
        loaded_quantity=issued.loaded_quantity,
        revoked_at=issued.revoked_at,
        revoke_reason=issued.revoke_reason,
        created_at=issued.created_at,
    )


def pass_token_public(issued: PickupPass, *, moment: datetime) -> PassTokenPublic:
    """The pass's token as the driver's phone shows it."""
    return PassTokenPublic(
        pass_id=issued.id,
        token=issued.token,
        typ=PICKUP_JWS_TYP,
        alg=JWS_ALGORITHM,
        kid=issued.kid,
        not_before=issued.not_before,
        expires_at=issued.expires_at,
        state=shown_state(issued, moment),
    )


def verdict_public(verdict: GateVerdict) -> GateVerdictPublic:
    """A gate verdict as the clerk's app shows it."""
    claims = verdict.claims
    issued = verdict.pickup_pass
    delivery = verdict.delivery
    may_load = None
    if verdict.valid and issued is not None:
        may_load = LoadAllowance(
            product=issued.product, quantity=issued.max_quantity, unit=issued.unit
        )
    return GateVerdictPublic(
        valid=verdict.valid,
        reason=verdict.reason,
        detail=verdict.detail,
        checked_at=verdict.checked_at,
        pass_id=None if issued is None else issued.id,
        pass_state=None if issued is None else issued.state,
        kid=verdict.kid,
        claims=None
        if claims is None
        else PassClaimsPublic(
            pass_id=claims.pass_id,
            delivery_id=claims.delivery_id,
            plant_id=claims.plant_id,
            product=claims.product,
            max_quantity=format(claims.max_quantity.normalize(), "f"),
            unit=claims.unit.value,
            vehicle_plate=claims.vehicle_plate,
            driver_id=claims.driver_id,
            driver_name=claims.driver_name,
            not_before=claims.not_before,
            expires_at=claims.expires_at,
            chain_hash=claims.chain_hash,
        ),
        delivery=None
        if delivery is None
        else GateDeliveryPublic(
            id=delivery.id,
            number=delivery.number,
            state=delivery.state,
            carrier_id=delivery.carrier_id,
            product=delivery.product,
            quantity=delivery.quantity,
            unit=delivery.unit,
            vehicle_plate=delivery.vehicle_plate,
            planned_day=delivery.planned_day,
            slot_starts_at=delivery.slot_starts_at,
        ),
        may_load=may_load,
    )


def revocations_public(page: RevocationPage) -> RevocationsPublic:
    """A page of a plant's revocation list as a gate device syncs it."""
    return RevocationsPublic(
        plant_site_id=page.plant_site_id,
        after=page.after,
        up_to=page.up_to,
        entries=[
            RevocationEntryPublic(seq=e.seq, pass_id=e.pass_id, expires_at=e.expires_at)
            for e in page.entries
        ],
        count=len(page.entries),
        synced_at=page.synced_at,
    )
