"""What the yard writes to the event log, and what it pushes to a driver's phone.

A delivery's yard events go on ``delivery:<id>`` for the delivery's parties:
``yard.slotted`` (a slot given or moved, with the reason), ``yard.no_show``,
``yard.on_my_way``, ``yard.checked_in``, ``yard.called``, ``yard.call_lapsed``,
``yard.at_dock``, ``yard.refused``, ``yard.weighed``, ``yard.sampled``, ``yard.left``.
The plant's own changes (settings, docks, unplanned visits, schedule runs) go on
``plant:<site id>`` for its operator only.

A call forward also goes, after commit, on the driver's own bus channel, which the driver's
live stream listens to.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from core.outbox import enqueue
from dispatch.authorizations.events import record_on_plant
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries.events import record


def driver_channel(driver_member_id: uuid.UUID) -> str:
    """The bus channel a driver's live stream listens on."""
    return f"yard.driver.{driver_member_id}"


async def on_delivery(
    session: AsyncSession,
    delivery_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    *,
    actor: str | None,
) -> None:
    """Append a yard event to a delivery's log, for its parties."""
    delivery = await deliveries.delivery(session, delivery_id)
    if delivery is not None:
        await record(session, delivery, kind, payload, actor=actor)


async def on_plant(
    session: AsyncSession,
    *,
    site_id: uuid.UUID,
    operator_id: uuid.UUID,
    kind: str,
    payload: dict[str, Any],
    actor: str | None,
) -> None:
    """Append a yard event to the plant's own log, for its operator."""
    await record_on_plant(
        session,
        plant_site_id=site_id,
        operator_id=operator_id,
        kind=kind,
        payload=payload,
        actor=actor,
    )


def push_to_driver(
    session: AsyncSession, driver_member_id: uuid.UUID, message: dict[str, Any]
) -> None:
    """Send a message to the driver's live stream once this transaction commits."""
    enqueue(session, driver_channel(driver_member_id), orjson.dumps(message))
