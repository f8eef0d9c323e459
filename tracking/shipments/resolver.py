"""Which delivery a device's ping belongs to: its driver's or vehicle's current one.

A device is registered to a driver or a vehicle; its pings belong to that driver's or
vehicle's active delivery (assigned up to in transit) planned for today, or one already at
the plant or on the road whatever its day. The answer is cached per device for a short
time, positive or negative, and evicted at once when a delivery event names the delivery,
its driver or its vehicle, so an assignment shows up with the next ping.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.sql import table_of
from dispatch.deliveries.enums import DeliveryState
from dispatch.deliveries.models import OutboundDelivery
from tracking.devices.models import Device

TRACKED_STATES = (
    DeliveryState.ASSIGNED,
    DeliveryState.AUTHORIZED,
    DeliveryState.SLOTTED,
    DeliveryState.AT_PLANT,
    DeliveryState.LOADED,
    DeliveryState.IN_TRANSIT,
)
UNDER_WAY_STATES = (DeliveryState.AT_PLANT, DeliveryState.LOADED, DeliveryState.IN_TRANSIT)
_CHUNK = 500
_RANK = {state: rank for rank, state in enumerate(reversed(TRACKED_STATES))}


@dataclass(frozen=True, slots=True)
class ActiveDelivery:
    """A delivery a device's pings feed, and the organizations that may watch it."""

    delivery_id: uuid.UUID
    parties: tuple[str, ...]


@dataclass(slots=True)
class _Entry:
    active: ActiveDelivery | None
    driver_id: uuid.UUID | None
    vehicle_id: uuid.UUID | None
    expires: float


async def find_active(
    session: AsyncSession, *, device_numbers: Iterable[int], today: date
) -> dict[int, tuple[ActiveDelivery | None, uuid.UUID | None, uuid.UUID | None]]:
    """For each device number: its active delivery (or None), its driver and its vehicle."""
    numbers = sorted(set(device_numbers))
    found: dict[int, tuple[ActiveDelivery | None, uuid.UUID | None, uuid.UUID | None]] = {}
    # Chunks keep each statement's parameter list short (SQLite caps bound variables).
    for start in range(0, len(numbers), _CHUNK):
        found.update(await _find_chunk(session, numbers[start : start + _CHUNK], today=today))
    return found


async def _find_chunk(
    session: AsyncSession, numbers: list[int], *, today: date
) -> dict[int, tuple[ActiveDelivery | None, uuid.UUID | None, uuid.UUID | None]]:
    devices = table_of(Device)
    deliveries = table_of(OutboundDelivery)
    joined = devices.outerjoin(
        deliveries,
        and_(
            deliveries.c.carrier_id == devices.c.organization_id,
            or_(
                and_(
                    devices.c.vehicle_id.is_not(None),
                    deliveries.c.vehicle_id == devices.c.vehicle_id,
                ),
                and_(
                    devices.c.driver_member_id.is_not(None),
                    deliveries.c.driver_member_id == devices.c.driver_member_id,
                ),
            ),
            deliveries.c.state.in_([s.value for s in TRACKED_STATES]),
            or_(
                deliveries.c.planned_day == today,
                deliveries.c.state.in_([s.value for s in UNDER_WAY_STATES]),
            ),
        ),
    )
    statement = select(
        devices.c.number,
        devices.c.driver_member_id,
        devices.c.vehicle_id,
        deliveries.c.id,
        deliveries.c.state,
        deliveries.c.trip_no,
        deliveries.c.seller_id,
        deliveries.c.buyer_id,
        deliveries.c.carrier_id,
        deliveries.c.plant_operator_id,
    ).select_from(joined)
    statement = statement.where(devices.c.number.in_(numbers), devices.c.revoked_at.is_(None))
    best: dict[int, tuple[tuple[int, int], ActiveDelivery | None]] = {}
    found: dict[int, tuple[ActiveDelivery | None, uuid.UUID | None, uuid.UUID | None]] = {}
    result = await (await session.connection()).execute(statement)
    for row in result.all():
        number = int(row[0])
        active = None
        rank = (len(_RANK), 0)
        if row[3] is not None:
            # The delivery furthest along wins; among equals, the earliest trip of the day.
            rank = (_RANK[DeliveryState(row[4])], int(row[5]))
            parties = tuple(sorted({str(row[6]), str(row[7]), str(row[8]), str(row[9])}))
            active = ActiveDelivery(_uuid(row[3]), parties)
        previous = best.get(number)
        if previous is None or (active is not None and (previous[1] is None or rank < previous[0])):
            best[number] = (rank, active)
            found[number] = (active, _maybe_uuid(row[1]), _maybe_uuid(row[2]))
    return found


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _maybe_uuid(value: object) -> uuid.UUID | None:
    return None if value is None else _uuid(value)


class DeliveryResolver:
    """A process's cache of device number to active delivery."""

    def __init__(self, *, ttl_s: float, max_entries: int = 200_000) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[int, _Entry] = {}
        self.lookups = 0

    def cached(self, number: int) -> tuple[bool, ActiveDelivery | None]:
        """(known, active delivery) for a device from the cache alone."""
        entry = self._entries.get(number)
        if entry is None or entry.expires <= time.monotonic():
            return False, None
        return True, entry.active

    async def resolve(
        self, session: AsyncSession, numbers: Iterable[int], *, today: date
    ) -> dict[int, ActiveDelivery | None]:
        """The active delivery of each device, from the cache or one query for the misses."""
        answer: dict[int, ActiveDelivery | None] = {}
        missing: list[int] = []
        for number in numbers:
            known, active = self.cached(number)
            if known:
                answer[number] = active
            else:
                missing.append(number)
        if missing:
            self.lookups += 1
            found = await find_active(session, device_numbers=missing, today=today)
            expires = time.monotonic() + self.ttl_s
            if len(self._entries) + len(found) > self.max_entries:
                self._entries.clear()
            for number in missing:
                active, driver_id, vehicle_id = found.get(number, (None, None, None))
                self._entries[number] = _Entry(active, driver_id, vehicle_id, expires)
                answer[number] = active
        return answer

    def evict(self, payload: Mapping[str, object]) -> None:
        """Forget answers a delivery event may have changed: its delivery, driver, vehicle."""
        names = {
            str(payload.get(key))
            for key in ("delivery_id", "driver_member_id", "vehicle_id")
            if payload.get(key) is not None
        }
        if not names:
            return
        stale = [
            number
            for number, entry in self._entries.items()
            if (entry.active is not None and str(entry.active.delivery_id) in names)
            or (entry.driver_id is not None and str(entry.driver_id) in names)
            or (entry.vehicle_id is not None and str(entry.vehicle_id) in names)
        ]
        for number in stale:
            del self._entries[number]

    def clear(self) -> None:
        """Forget everything."""
        self._entries.clear()
