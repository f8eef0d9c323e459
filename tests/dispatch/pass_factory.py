"""Builders for pickup passes and grant chains used across the authorization tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from dispatch.authorizations.chain import Grant, GrantStatus
from dispatch.authorizations.passes import PassClaims, QuantityUnit

NOW = datetime(2025, 3, 14, 8, 0, tzinfo=UTC)
PLANT = "plant-rotterdam-2"
PLATE = "AB-12 CDE"


def make_claims(**changes: Any) -> PassClaims:
    """Return the claims of a typical sugar pickup, valid from NOW for eight hours."""
    claims = PassClaims(
        pass_id="01JPA5S3W7Q4M8V2N6X0Z9K1RT",
        delivery_id="01JPA5RZ2C7GJ8P9W3T5Y6B4QH",
        plant_id=PLANT,
        product="sugar ICUMSA 45",
        max_quantity=Decimal("32.5"),
        unit=QuantityUnit.TONNE,
        vehicle_plate=PLATE,
        driver_id="01JPA5QX9M3D6F8H2K4N7R1S5V",
        driver_name="Zhang Wei 张伟",
        not_before=NOW,
        expires_at=NOW + timedelta(hours=8),
        chain_hash="m8dbBq0Pk2r9fT1wXzY4aQ",
    )
    return replace(claims, **changes) if changes else claims


def make_chain(**leaf_changes: Any) -> list[Grant]:
    """Return an accepted buyer -> carrier -> driver chain for 500 t over one day."""
    day_end = NOW + timedelta(hours=24)
    root = Grant(
        grant_id="g-root",
        parent_id=None,
        grantor_org_id="buyer-acme",
        grantee_org_id="carrier-north",
        quantity=Decimal(500),
        not_before=NOW - timedelta(hours=1),
        not_after=day_end,
        status=GrantStatus.ACCEPTED,
    )
    leaf = Grant(
        grant_id="g-driver",
        parent_id="g-root",
        grantor_org_id="carrier-north",
        grantee_org_id="carrier-north",
        quantity=Decimal("32.5"),
        not_before=NOW,
        not_after=NOW + timedelta(hours=8),
        status=GrantStatus.ACCEPTED,
        driver_id="driver-7",
        vehicle_plate=PLATE,
    )
    return [root, replace(leaf, **leaf_changes) if leaf_changes else leaf]
