"""What pickup authorizations write to the event log, and who may read it.

Hops above the deliveries (the order hop, carrier hops) are events of their order
(``order:<id>``); a driver hop and everything that happens to a pass - issue, every gate
verification with its verdict, presentation, consumption, revocation, expiry - are events of
the delivery (``delivery:<id>``), addressed to the delivery's parties. A token refused before
its signature holds names no delivery anyone can trust, so that refusal is an event of the
gate's plant (``plant:<site id>``), addressed to the plant operator.

Kinds: ``grant.offered``, ``grant.accepted``, ``grant.declined``, ``grant.revoked`` (on the
order, or on the delivery for driver hops and for the driver hops a revocation above reached),
``grant.driver_assigned``; ``pass.issued``, ``pass.verified``, ``pass.presented``,
``pass.presentation_refused``, ``pass.consumed``, ``pass.revoked``, ``pass.expired``;
``pass.refused`` on a plant.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from core import eventlog
from core.eventlog import subject_key
from dispatch.authorizations.enums import GrantLevel
from dispatch.authorizations.models import PickupGrant, PickupPass
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries.events import record as record_delivery
from dispatch.orders.service import order_subject


def plant_subject(plant_site_id: uuid.UUID) -> str:
    """The event-log subject of a plant (its gates' own history)."""
    return subject_key("plant", plant_site_id)


def grant_audience(hop: PickupGrant) -> list[uuid.UUID]:
    """Who may read a hop's events: its two sides and the order's parties."""
    return sorted(
        {hop.grantor_id, hop.grantee_id, hop.seller_id, hop.buyer_id, hop.plant_operator_id}
    )


def grant_facts(hop: PickupGrant) -> dict[str, Any]:
    """What every event of a hop says about it."""
    return {
        "grant_id": str(hop.id),
        "parent_id": None if hop.parent_id is None else str(hop.parent_id),
        "root_id": str(hop.root_id),
        "level": hop.level.value,
        "order_id": str(hop.order_id),
        "booking_id": None if hop.booking_id is None else str(hop.booking_id),
        "grantor_id": str(hop.grantor_id),
        "grantee_id": str(hop.grantee_id),
        "quantity": hop.quantity,
        "unit": hop.unit.value,
        "not_before": hop.not_before.isoformat(),
        "not_after": hop.not_after.isoformat(),
        "may_subcontract": hop.may_subcontract,
        "allowed_carrier_ids": list(hop.allowed_carrier_ids),
        "driver_member_id": None if hop.driver_member_id is None else str(hop.driver_member_id),
        "plate": hop.vehicle_plate,
        "status": hop.status.value,
    }


def pass_facts(issued: PickupPass) -> dict[str, Any]:
    """What every event of a pass says about it (never the token)."""
    return {
        "pass_id": str(issued.id),
        "grant_id": str(issued.grant_id),
        "pass_state": issued.state.value,
        "max_quantity": issued.max_quantity,
        "pass_vehicle_plate": issued.vehicle_plate,
        "pass_driver_member_id": str(issued.driver_member_id),
        "not_before": issued.not_before.isoformat(),
        "expires_at": issued.expires_at.isoformat(),
        "kid": issued.kid,
        "chain_hash": issued.chain_hash,
    }


async def on_delivery(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    *,
    actor: str | None,
) -> None:
    """Append an event to a delivery's log, with the delivery's own summary."""
    delivery = await deliveries.delivery(session, delivery_id)
    if delivery is None:
        return
    await record_delivery(session, delivery, kind, payload, actor=actor)


async def record_grant(
    session: AsyncSession,
    hop: PickupGrant,
    kind: str,
    extra: dict[str, Any] | None = None,
    *,
    actor: str | None,
) -> None:
    """Append a hop's event: on its delivery for a driver hop, else on its order."""
    payload = {**grant_facts(hop), **(extra or {})}
    if hop.level is GrantLevel.DRIVER and hop.delivery_id is not None:
        await on_delivery(session, hop.delivery_id, kind, payload, actor=actor)
        return
    await eventlog.append(
        session,
        subject=order_subject(hop.order_id),
        kind=kind,
        payload=payload,
        audience=grant_audience(hop),
        actor=actor,
    )


async def record_pass(
    session: AsyncSession,
    issued: PickupPass,
    kind: str,
    extra: dict[str, Any] | None = None,
    *,
    actor: str | None,
) -> None:
    """Append a pass's event to its delivery's log."""
    await on_delivery(
        session, issued.delivery_id, kind, {**pass_facts(issued), **(extra or {})}, actor=actor
    )


async def record_on_plant(
    session: AsyncSession,
    *,
    plant_site_id: uuid.UUID,
    operator_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    actor: str | None,
) -> None:
    """Append an event to a plant's own log, for its operator."""
    await eventlog.append(
        session,
        subject=plant_subject(plant_site_id),
        kind=kind,
        payload=payload,
        audience=[operator_id],
        actor=actor,
    )
