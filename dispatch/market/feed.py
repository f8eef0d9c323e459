"""The live feed a carrier's dispatchers watch: loads the moment they are posted or change.

Each API process subscribes once per connected client to the ``market`` bus channel, whose
messages are load snapshots published after commit (``events.publish``). For one carrier the
feed passes on only loads it may see (open market, its invitations, its tender turn) and is
qualified and equipped for, within its filter. Every message says whether the load is still
``available`` to this carrier, so a taken or withdrawn load leaves the screen.

The subscription queue is bounded: a client that reads too slowly loses the oldest messages
(the bus drops them, it never buffers without limit), and the feed then says so with a
``gap`` message: the client reloads the list over REST.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import orjson

from core.bus import Subscription
from core.clock import now
from dispatch.fleet.capability import CarrierCapability
from dispatch.market.enums import OfferState, Visibility
from dispatch.market.offers import MarketFilter, fits_filter

FEED_QUEUE_SIZE = 256
"""Messages a client may fall behind by before the oldest are dropped."""

CAPABILITY_REFRESH_S = 60.0
"""How often a connected feed reloads what its carrier is qualified for."""


def feed_message(
    message: dict[str, Any],
    *,
    carrier_id: uuid.UUID,
    capability: CarrierCapability,
    where: MarketFilter,
    origins: list[tuple[float, float]],
    moment: datetime,
) -> dict[str, Any] | None:
    """What one carrier's feed shows of a bus snapshot, or None if it is not for it."""
    offer: dict[str, Any] = message["offer"]
    me = str(carrier_id)
    if offer["shipper_id"] == me:
        return None
    carriers = message.get("carriers")
    if carriers is not None and me not in carriers:
        return None
    if not _in_dates(offer, where):
        return None
    fits, distance = fits_filter(
        offer, capability=capability, where=where, origins=origins, moment=moment
    )
    if not fits:
        return None
    available = offer["state"] == OfferState.OPEN and offer["remaining"] > 0
    if offer["visibility"] == Visibility.TENDER:
        available = available and message.get("tender_carrier_id") == me
    return {
        "type": "offer",
        "available": available,
        "distance_km": None if distance is None else round(distance, 1),
        "offer": offer,
    }


def _in_dates(offer: dict[str, Any], where: MarketFilter) -> bool:
    after, before = where.pickup_after, where.pickup_before
    if after is not None and datetime.fromisoformat(offer["pickup_until"]) < after:
        return False
    return before is None or datetime.fromisoformat(offer["pickup_from"]) <= before


async def carrier_feed(
    subscription: Subscription,
    *,
    carrier_id: uuid.UUID,
    where: MarketFilter,
    origins: list[tuple[float, float]],
    load_capability: Callable[[], Awaitable[CarrierCapability]],
    keepalive_s: float = 15.0,
) -> AsyncIterator[dict[str, Any]]:
    """The messages for one carrier, forever: ``ready`` first, then ``offer``, ``gap`` and
    ``keepalive`` messages."""
    capability = await load_capability()
    loaded = time.monotonic()
    dropped = subscription.dropped
    yield {"type": "ready", "carrier_id": str(carrier_id)}
    while True:
        try:
            _, payload = await asyncio.wait_for(subscription.get(), keepalive_s)
        except TimeoutError:
            yield {"type": "keepalive"}
            continue
        if subscription.dropped > dropped:
            yield {"type": "gap", "dropped": subscription.dropped - dropped}
            dropped = subscription.dropped
        if time.monotonic() - loaded > CAPABILITY_REFRESH_S:
            capability = await load_capability()
            loaded = time.monotonic()
        shown = feed_message(
            orjson.loads(payload),
            carrier_id=carrier_id,
            capability=capability,
            where=where,
            origins=origins,
            moment=now(),
        )
        if shown is not None:
            yield shown
