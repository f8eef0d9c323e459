"""What the market writes to the event log, who may read it, and what the live feed carries.

Event-log subjects are ``load:<offer id>`` for everything that happens to a load and
``order:<order id>`` for the order's own milestones. Audiences:

- the load's life (posted, closed, reopened, opened to the market, expired, cancelled):
  the seller and the buyer;
- a deal with one carrier (grab, bid, counter, award, tender turn, booking changes): the
  shipper and that carrier only, so no carrier ever reads another's bid or price;
- a bid or grab held for the carrier's own approval: that carrier only.

The live feed is not the event log: after commit, every change to a load publishes a snapshot
of it on the ``market`` bus channel, without carrier names or prices paid, and the feed
endpoint passes each snapshot to the carriers that may see it and are qualified for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from core import eventlog, outbox
from core.eventlog import subject_key
from dispatch.market.enums import Visibility
from dispatch.market.models import LoadOffer

MARKET_CHANNEL = "market"

SNAPSHOT_FIELDS = (
    "id",
    "version",
    "order_id",
    "reference",
    "shipper_id",
    "commodity",
    "unit",
    "quantity",
    "remaining",
    "min_lot",
    "hazard_class",
    "un_number",
    "food_grade",
    "body_types",
    "origin_site_id",
    "origin_name",
    "origin_lat",
    "origin_lon",
    "destination_site_id",
    "destination_address",
    "destination_lat",
    "destination_lon",
    "pickup_from",
    "pickup_until",
    "deliver_by",
    "visibility",
    "pricing_mode",
    "currency",
    "rate_basis",
    "rate_cents",
    "ceiling_cents",
    "closes_at",
    "sealed",
    "bid_count",
    "tender_expires_at",
    "state",
    "created_at",
)


def load_subject(offer_id: uuid.UUID) -> str:
    """The event-log subject of a load."""
    return subject_key("load", offer_id)


def trade_audience(offer: LoadOffer) -> list[uuid.UUID]:
    """The seller and the buyer of the order the load belongs to."""
    return [offer.seller_id, offer.buyer_id]


def deal_audience(offer: LoadOffer, carrier_id: uuid.UUID) -> list[uuid.UUID]:
    """The shipper and one carrier."""
    return [offer.shipper_id, carrier_id]


async def record(
    session: AsyncSession,
    offer: LoadOffer,
    kind: str,
    payload: dict[str, Any],
    *,
    audience: Sequence[uuid.UUID],
    actor: str | None,
) -> None:
    """Append a load event in the caller's transaction."""
    await eventlog.append(
        session,
        subject=load_subject(offer.id),
        kind=kind,
        payload=payload,
        audience=audience,
        actor=actor,
    )


def snapshot(offer: LoadOffer, **changes: Any) -> dict[str, Any]:
    """The load as the feed shows it, with changes a conditional update just made."""
    view = {name: getattr(offer, name) for name in SNAPSHOT_FIELDS}
    view.update(changes)
    if view["pricing_mode"] != "tender":
        view["tender_expires_at"] = None
    return view


def publish(
    session: AsyncSession,
    offer: LoadOffer,
    *,
    carriers: Sequence[uuid.UUID] | None = None,
    **changes: Any,
) -> None:
    """Queue the load's snapshot for the feed, sent once the transaction commits.

    ``carriers`` limits who may receive it (invited carriers, the tender carriers concerned);
    None means the open market. The list travels on the bus but never to a client.
    """
    view = snapshot(offer, **changes)
    if carriers is None and view["visibility"] != Visibility.OPEN:
        carriers = []
    current = view.pop("tender_carrier_id", offer.tender_carrier_id)
    message = {
        "offer": view,
        "carriers": None if carriers is None else [str(c) for c in carriers],
        "tender_carrier_id": None if current is None else str(current),
    }
    outbox.enqueue(session, MARKET_CHANNEL, orjson.dumps(message))
