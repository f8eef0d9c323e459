"""Reading shipments as their parties (or a share link) see them, and creating share links."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.enums import Role
from accounts.principal import Principal
from core import eventlog
from core.clock import now
from core.eventlog import Event
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries import service as delivery_service
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.events import delivery_subject
from dispatch.deliveries.exceptions import DeliveryNotFound
from dispatch.deliveries.models import OutboundDelivery
from tracking.positions import repository as positions
from tracking.positions.codec import to_ping
from tracking.shipments import kinds, repository, sharing
from tracking.shipments.models import ShipmentEta, ShipmentTrack
from tracking.shipments.resolver import TRACKED_STATES
from tracking.shipments.schemas import (
    DestinationPublic,
    EtaPublic,
    PositionPublic,
    SharedShipmentPublic,
    ShipmentPublic,
)
from tracking.shipments.watching import record
from tracking.trails import trail_feature

MAX_TRAIL_ROWS: Final = 50_000
MAX_TRAIL_SPAN: Final = timedelta(days=7)


def _position(track: ShipmentTrack | None) -> PositionPublic | None:
    if track is None or track.last_fix_at is None or track.last_lat is None:
        return None
    assert track.last_lon is not None
    return PositionPublic(lat=track.last_lat, lon=track.last_lon, recorded_at=track.last_fix_at)


def _eta(delivery: OutboundDelivery, track: ShipmentTrack | None) -> EtaPublic | None:
    if (
        track is None
        or delivery.state not in TRACKED_STATES
        or track.leg is None
        or track.eta_at is None
        or track.eta_computed_at is None
        or track.remaining_m is None
    ):
        return None
    return EtaPublic(
        leg=track.leg,
        eta_at=track.eta_at,
        computed_at=track.eta_computed_at,
        remaining_m=round(track.remaining_m),
    )


def shipment_public(
    delivery: OutboundDelivery, track: ShipmentTrack | None, last_seq: int
) -> ShipmentPublic:
    """A shipment as its parties see it."""
    return ShipmentPublic(
        **shared_public(delivery, track, last_seq).model_dump(),
        version=delivery.version,
        seller_id=delivery.seller_id,
        buyer_id=delivery.buyer_id,
        carrier_id=delivery.carrier_id,
        plant_operator_id=delivery.plant_operator_id,
        plant_site_id=delivery.plant_site_id,
        quantity=delivery.quantity,
        unit=delivery.unit.value,
        slot_starts_at=delivery.slot_starts_at,
        silent_since=None if track is None else track.silent_since,
    )


def shared_public(
    delivery: OutboundDelivery, track: ShipmentTrack | None, last_seq: int
) -> SharedShipmentPublic:
    """A shipment as a share link shows it."""
    return SharedShipmentPublic(
        id=delivery.id,
        number=delivery.number,
        state=delivery.state,
        product=delivery.product,
        vehicle_plate=delivery.vehicle_plate,
        planned_day=delivery.planned_day,
        destination=DestinationPublic(
            address=delivery.destination_address,
            lat=delivery.destination_lat,
            lon=delivery.destination_lon,
        ),
        last_seq=last_seq,
        position=_position(track),
        eta=_eta(delivery, track),
    )


async def get_shipment(
    session: AsyncSession, *, principal: Principal, shipment_id: uuid.UUID
) -> ShipmentPublic:
    """One shipment the caller's organization is party to (a driver: one it drives)."""
    delivery = await delivery_service.get_delivery(
        session, principal=principal, delivery_id=shipment_id
    )
    found = await repository.tracks(session, [delivery.id])
    seqs = await repository.last_seqs(session, [delivery.id])
    return shipment_public(delivery, found.get(delivery.id), seqs.get(delivery.id, 0))


async def list_shipments(
    session: AsyncSession,
    *,
    principal: Principal,
    state: DeliveryState | None,
    cursor: str | None,
    limit: int,
) -> list[ShipmentPublic]:
    """Shipments the caller's organization is party to, newest first."""
    found = await delivery_service.list_deliveries(
        session, principal=principal, state=state, cursor=cursor, limit=limit
    )
    ids = [d.id for d in found]
    tracks = await repository.tracks(session, ids)
    seqs = await repository.last_seqs(session, ids)
    return [shipment_public(d, tracks.get(d.id), seqs.get(d.id, 0)) for d in found]


async def active_shipments(
    session: AsyncSession, *, principal: Principal, limit: int = 200
) -> list[ShipmentPublic]:
    """The shipments on the road or about to be, for a stream's first frame."""
    found = await list_shipments(session, principal=principal, state=None, cursor=None, limit=limit)
    return [s for s in found if s.state in TRACKED_STATES]


async def events(
    session: AsyncSession,
    *,
    principal: Principal,
    shipment_id: uuid.UUID,
    after: int,
    limit: int,
) -> list[Event]:
    """A shipment's log entries after ``after``, as the caller's organization may read them."""
    delivery = await delivery_service.get_delivery(
        session, principal=principal, delivery_id=shipment_id
    )
    return await eventlog.read_visible(
        session,
        subject=delivery_subject(delivery.id),
        organization_id=principal.organization_id,
        after=after,
        limit=limit,
    )


async def trail_of(
    session: AsyncSession, delivery: OutboundDelivery, *, tolerance_m: float
) -> dict[str, Any]:
    """The shipment's road so far as a GeoJSON Feature (geometry null with under two fixes)."""
    found = await repository.tracks(session, [delivery.id])
    track = found.get(delivery.id)
    until = delivery.delivered_at or delivery.cancelled_at or now()
    since = max(delivery.created_at, until - MAX_TRAIL_SPAN)
    properties: dict[str, Any] = {
        "shipment_id": str(delivery.id),
        "since": since.isoformat(),
        "until": until.isoformat(),
        "tolerance_m": tolerance_m,
    }
    if track is None:
        return {"type": "Feature", "geometry": None, "properties": {**properties, "stored": 0}}
    rows = await positions.trail_rows(
        session, device_no=track.device_no, since=since, until=until, limit=MAX_TRAIL_ROWS
    )
    properties["stored"] = len(rows)
    feature = trail_feature(
        [to_ping(str(delivery.id), row) for row in rows], tolerance_m=tolerance_m
    )
    if feature is None:
        return {"type": "Feature", "geometry": None, "properties": properties}
    feature["properties"].pop("device_key", None)
    feature["properties"].update(properties)
    return feature


async def trail(
    session: AsyncSession, *, principal: Principal, shipment_id: uuid.UUID, tolerance_m: float
) -> dict[str, Any]:
    """The trail of a shipment the caller may see."""
    delivery = await delivery_service.get_delivery(
        session, principal=principal, delivery_id=shipment_id
    )
    return await trail_of(session, delivery, tolerance_m=tolerance_m)


async def eta_history(
    session: AsyncSession, *, principal: Principal, shipment_id: uuid.UUID, limit: int
) -> list[ShipmentEta]:
    """Every estimate kept for a shipment, oldest first."""
    delivery = await delivery_service.get_delivery(
        session, principal=principal, delivery_id=shipment_id
    )
    return list(await repository.etas(session, delivery.id, limit=limit))


async def create_share_link(
    session: AsyncSession,
    *,
    principal: Principal,
    shipment_id: uuid.UUID,
    expires_in_s: int,
    key: bytes,
) -> tuple[str, datetime]:
    """A link to one shipment's live view; its creation goes into the shipment's log."""
    delivery = await delivery_service.get_delivery(
        session, principal=principal, delivery_id=shipment_id
    )
    if principal.role == Role.DRIVER:
        # A driver's view of a shipment is theirs; sharing is the parties' decision.
        raise DeliveryNotFound("no such delivery")
    expires_at = (now() + timedelta(seconds=expires_in_s)).replace(microsecond=0)
    token = sharing.issue(key, delivery_id=delivery.id, expires_at=expires_at)
    await record(
        session,
        delivery,
        kinds.SHARED,
        {"expires_at": expires_at.isoformat(), "by": principal.actor},
        actor=principal.actor,
    )
    return token, expires_at


async def shared_delivery(session: AsyncSession, *, key: bytes, token: str) -> OutboundDelivery:
    """The delivery a genuine, unexpired link opens."""
    link = sharing.open_link(key, token, at=now())
    delivery = await deliveries.delivery(session, link.delivery_id)
    if delivery is None:
        raise sharing.ShareLinkNotFound("no such share link")
    return delivery


async def shared_view(session: AsyncSession, *, key: bytes, token: str) -> SharedShipmentPublic:
    """What a share link shows."""
    delivery = await shared_delivery(session, key=key, token=token)
    found = await repository.tracks(session, [delivery.id])
    seqs = await repository.last_seqs(session, [delivery.id])
    return shared_public(delivery, found.get(delivery.id), seqs.get(delivery.id, 0))


async def shared_events(
    session: AsyncSession, *, key: bytes, token: str, after: int, limit: int
) -> list[Event]:
    """The log entries of a link's shipment after ``after``."""
    delivery = await shared_delivery(session, key=key, token=token)
    return await eventlog.read(
        session, subject=delivery_subject(delivery.id), after=after, limit=limit
    )
