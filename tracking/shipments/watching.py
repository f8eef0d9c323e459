"""A delivery's pings through the detectors: fences, stops, ETA and slip, silence.

Runs off the ingest path, in a transaction of its own per batch of pings (see
:mod:`tracking.shipments.tracker`). The detectors are the pure modules
(:mod:`tracking.geofence`, :mod:`tracking.stops`, :mod:`tracking.eta`); their memories live
in the delivery's :class:`~tracking.shipments.models.ShipmentTrack` row, locked while a batch
is applied, so any process can take the next ping. What they find goes into the delivery's
signed event log, addressed to its parties, and from there onto the shipment streams.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.models import Site
from core import eventlog
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.events import delivery_subject, parties
from dispatch.deliveries.models import OutboundDelivery
from tracking.eta import EtaState, SlipEventKind, SlipState, check_slip, update_eta
from tracking.geo import LatLon
from tracking.geofence import DeviceFenceState, FenceEventKind, FenceIndex, GeofenceEngine
from tracking.pings import EVENT_BLOCKING_FLAGS, Ping
from tracking.positions.codec import Row, to_ping
from tracking.shipments import kinds, repository
from tracking.shipments.hooks import ShipmentHooks
from tracking.shipments.models import ShipmentEta, ShipmentTrack
from tracking.shipments.places import destination_fence, plant_fence
from tracking.shipments.policy import ShipmentPolicy
from tracking.shipments.resolver import TRACKED_STATES
from tracking.stops import StopEventKind, StopState, update_stop

ACTOR: Final = "system:tracking"

_PLANT_LEG_STATES: Final = frozenset(
    {
        DeliveryState.ASSIGNED,
        DeliveryState.AUTHORIZED,
        DeliveryState.SLOTTED,
    }
)
_DESTINATION_LEG_STATES: Final = frozenset({DeliveryState.LOADED, DeliveryState.IN_TRANSIT})
_FENCE_KINDS: Final = {
    (kinds.PLANT_FENCE, FenceEventKind.ENTER): kinds.ARRIVED_PLANT,
    (kinds.PLANT_FENCE, FenceEventKind.EXIT): kinds.DEPARTED_PLANT,
    (kinds.DESTINATION_FENCE, FenceEventKind.ENTER): kinds.ARRIVED_DESTINATION,
    (kinds.DESTINATION_FENCE, FenceEventKind.EXIT): kinds.DEPARTED_DESTINATION,
}


def leg_of(state: DeliveryState) -> str | None:
    """The next stop: the plant before loading, the destination after, none at the plant."""
    if state in _PLANT_LEG_STATES:
        return kinds.LEG_PLANT
    if state in _DESTINATION_LEG_STATES:
        return kinds.LEG_DESTINATION
    return None


@dataclass(frozen=True, slots=True)
class Applied:
    """What one batch did to a delivery: its newest usable fix and the events it raised."""

    delivery_id: uuid.UUID
    newest: Row | None
    events: tuple[str, ...]


async def record(
    session: AsyncSession,
    delivery: OutboundDelivery,
    kind: str,
    payload: dict[str, Any],
    *,
    actor: str = ACTOR,
) -> None:
    """Append a tracking event to a delivery's log, addressed to its parties."""
    await eventlog.append(
        session,
        subject=delivery_subject(delivery.id),
        kind=kind,
        payload={"delivery_id": str(delivery.id), "number": delivery.number, **payload},
        audience=parties(delivery),
        actor=actor,
    )


class _Batch:
    """The working state of one delivery's batch: the row, its detector memories, events."""

    def __init__(self, delivery: OutboundDelivery, track: ShipmentTrack) -> None:
        self.delivery = delivery
        self.track = track
        self.state: dict[str, Any] = dict(track.state or {})
        self.events: list[str] = []

    async def emit(self, session: AsyncSession, kind: str, payload: dict[str, Any]) -> None:
        await record(session, self.delivery, kind, payload)
        self.events.append(kind)


async def apply_pings(
    session: AsyncSession,
    *,
    delivery_id: uuid.UUID,
    device_no: int,
    rows: Sequence[Row],
    policy: ShipmentPolicy,
    hooks: ShipmentHooks,
    at: datetime,
) -> Applied | None:
    """Run one device's new fixes through its delivery's detectors; None if not tracked now."""
    delivery = await deliveries.delivery(session, delivery_id)
    if delivery is None or delivery.state not in TRACKED_STATES:
        return None
    track = await repository.track_for_update(session, delivery_id)
    if track is None:
        track = ShipmentTrack(delivery_id=delivery_id, device_no=device_no, state={})
        session.add(track)
    batch = _Batch(delivery, track)
    key = str(delivery_id)
    pings = sorted((to_ping(key, row) for row in rows), key=lambda p: p.recorded_at)

    plant = await session.get(Site, delivery.plant_site_id)
    fences = await _fences(session, batch.delivery, policy)
    inside = await _apply_fences(session, batch, pings, fences, policy=policy, hooks=hooks)
    await _apply_stops(session, batch, pings, inside=inside, policy=policy)
    await _apply_eta(session, batch, pings, plant=plant, policy=policy)

    usable = [p for p in pings if not p.flags & EVENT_BLOCKING_FLAGS]
    newest = max(
        (row for row in rows if not row[9] & EVENT_BLOCKING_FLAGS), key=lambda r: r[0], default=None
    )
    if usable and (track.last_fix_at is None or usable[-1].recorded_at > track.last_fix_at):
        track.last_lat = usable[-1].lat
        track.last_lon = usable[-1].lon
        track.last_fix_at = usable[-1].recorded_at
    track.device_no = device_no
    track.last_ping_at = at
    track.silent_since = None
    track.state = batch.state
    session.add(track)
    await session.flush()
    return Applied(delivery_id, newest, tuple(batch.events))


async def _fences(
    session: AsyncSession, delivery: OutboundDelivery, policy: ShipmentPolicy
) -> FenceIndex:
    found = [destination_fence(delivery, policy=policy)]
    plant = await plant_fence(session, site_id=delivery.plant_site_id, policy=policy)
    if plant is not None:
        found.append(plant)
    return FenceIndex(found)


def _fix_near(pings: Sequence[Ping], moment: datetime) -> Ping:
    return min(pings, key=lambda p: abs((p.recorded_at - moment).total_seconds()))


async def _apply_fences(
    session: AsyncSession,
    batch: _Batch,
    pings: Sequence[Ping],
    index: FenceIndex,
    *,
    policy: ShipmentPolicy,
    hooks: ShipmentHooks,
) -> list[str]:
    key = str(batch.delivery.id)
    states = {key: DeviceFenceState.from_dict(batch.state.get("fences") or {})}
    found = GeofenceEngine(index, policy=policy.fences).process(pings, states)
    for event in found:
        kind = _FENCE_KINDS[(event.fence_id, event.kind)]
        fix = _fix_near(pings, event.confirmed_at)
        await batch.emit(
            session,
            kind,
            {
                "at": event.at.isoformat(),
                "confirmed_at": event.confirmed_at.isoformat(),
                "lat": fix.lat,
                "lon": fix.lon,
            },
        )
        if kind == kinds.ARRIVED_PLANT and hooks.check_in is not None:
            await hooks.check_in(
                session, delivery_id=batch.delivery.id, at=event.at, lat=fix.lat, lon=fix.lon
            )
            await session.refresh(batch.delivery)
        elif kind == kinds.DEPARTED_PLANT and batch.delivery.state == DeliveryState.LOADED:
            # A loaded truck leaving the plant is on its way: the delivery says so too.
            batch.delivery = await transitions.depart(
                session, delivery_id=batch.delivery.id, actor=ACTOR, at=event.at
            )
            batch.events.append("delivery.departed")
    batch.state["fences"] = states[key].to_dict()
    return states[key].inside()


async def _apply_stops(
    session: AsyncSession,
    batch: _Batch,
    pings: Sequence[Ping],
    *,
    inside: list[str],
    policy: ShipmentPolicy,
) -> None:
    stop = StopState.from_dict(batch.state.get("stop") or {})
    for ping in pings:
        event = update_stop(stop, ping, policy=policy.stops)
        if event is None:
            continue
        where = {
            "started_at": event.started_at.isoformat(),
            "lat": event.lat,
            "lon": event.lon,
            "duration_s": round(event.duration_s),
        }
        if event.kind == StopEventKind.STARTED and not inside:
            # Waiting at the plant or the buyer's site is planned; anywhere else it is not.
            batch.state["stop_alerted"] = True
            await batch.emit(session, kinds.ALERT_LONG_STOP, where)
        elif event.kind == StopEventKind.ENDED and batch.state.pop("stop_alerted", False):
            await batch.emit(session, kinds.STOP_ENDED, {**where, "at": event.at.isoformat()})
    batch.state["stop"] = stop.to_dict()


async def _apply_eta(
    session: AsyncSession,
    batch: _Batch,
    pings: Sequence[Ping],
    *,
    plant: Site | None,
    policy: ShipmentPolicy,
) -> None:
    delivery, track = batch.delivery, batch.track
    leg = leg_of(delivery.state)
    if leg is None or (leg == kinds.LEG_PLANT and plant is None):
        track.leg = leg
        track.eta_at = None
        track.remaining_m = None
        return
    if leg != track.leg:
        # A new leg starts its own speed memory and its own slip verdict.
        batch.state["eta"] = None
        batch.state["slip"] = None
        batch.state["eta_kept_s"] = None
        track.eta_logged_at = None
        track.eta_logged_value = None
        track.leg = leg
    if leg == kinds.LEG_PLANT:
        assert plant is not None
        target = LatLon(plant.lat, plant.lon)
        deadline = delivery.slot_starts_at
    else:
        target = LatLon(delivery.destination_lat, delivery.destination_lon)
        deadline = await repository.deliver_by(session, delivery.order_id)
    memory = batch.state.get("eta")
    eta_state = EtaState.from_dict(memory) if memory else EtaState()
    slip_memory = batch.state.get("slip")
    slip = SlipState.from_dict(slip_memory) if slip_memory else SlipState()
    kept_s: float | None = batch.state.get("eta_kept_s")
    for ping in pings:
        eta = update_eta(eta_state, ping, destination=target)
        if eta is None:
            continue
        track.eta_at = eta.eta_at
        track.eta_computed_at = eta.computed_at
        track.remaining_m = eta.remaining_m
        fix_s = eta.computed_at.timestamp()
        if kept_s is not None and fix_s - kept_s < policy.eta_every_s:
            continue
        kept_s = fix_s
        session.add(
            ShipmentEta(
                delivery_id=delivery.id,
                leg=leg,
                computed_at=eta.computed_at,
                eta_at=eta.eta_at,
                remaining_m=eta.remaining_m,
                speed_mps=eta.speed_mps,
            )
        )
        estimate = {
            "leg": leg,
            "eta_at": eta.eta_at.isoformat(),
            "computed_at": eta.computed_at.isoformat(),
            "remaining_m": round(eta.remaining_m),
        }
        if _worth_logging(track, eta.eta_at, eta.computed_at, policy):
            track.eta_logged_at = eta.computed_at
            track.eta_logged_value = eta.eta_at
            await batch.emit(session, kinds.ETA, estimate)
        if deadline is None:
            continue
        verdict = check_slip(
            slip, eta_at=eta.eta_at, deadline=deadline, at=eta.computed_at, policy=policy.slip
        )
        if verdict is None:
            continue
        slipped = verdict.kind == SlipEventKind.SLIPPED
        await batch.emit(
            session,
            kinds.ALERT_ETA_SLIPPED if slipped else kinds.ETA_RECOVERED,
            {
                **estimate,
                "deadline": deadline.isoformat(),
                "deadline_kind": "slot" if leg == kinds.LEG_PLANT else "deliver_by",
                "late_by_s": round(verdict.late_by_s),
            },
        )
    batch.state["eta"] = eta_state.to_dict()
    batch.state["slip"] = slip.to_dict()
    batch.state["eta_kept_s"] = kept_s


def _worth_logging(
    track: ShipmentTrack, eta_at: datetime, computed_at: datetime, policy: ShipmentPolicy
) -> bool:
    if track.eta_logged_at is None or track.eta_logged_value is None:
        return True
    moved_s = abs((eta_at - track.eta_logged_value).total_seconds())
    since_s = (computed_at - track.eta_logged_at).total_seconds()
    return moved_s >= policy.eta_log_change_s or since_s >= policy.eta_log_every_s


async def sweep_silent(
    session: AsyncSession, *, at: datetime, policy: ShipmentPolicy
) -> list[uuid.UUID]:
    """Raise a silence alert for each delivery in transit whose phone went quiet."""
    before = at - timedelta(seconds=policy.silence_s)
    raised: list[uuid.UUID] = []
    for track, delivery in await repository.silent_in_transit(session, before=before):
        if not await repository.claim_silence(
            session, delivery_id=track.delivery_id, before=before, at=at
        ):
            continue
        assert track.last_ping_at is not None
        await record(
            session,
            delivery,
            kinds.ALERT_SILENT,
            {
                "last_ping_at": track.last_ping_at.isoformat(),
                "silent_s": round((at - track.last_ping_at).total_seconds()),
                "lat": track.last_lat,
                "lon": track.last_lon,
            },
        )
        raised.append(track.delivery_id)
    return raised
