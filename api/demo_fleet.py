"""The demo's trucks: devices for the carriers' drivers, driving and pinging the real API.

Each truck follows its route back and forth at lorry speed and posts a batch of our app's
JSON every few seconds to ``/v1/ingest/pings``, exactly as a phone would, so the live
stream and the trails show them moving. The first truck of the day has loaded at the mill
and left for Hamburg: its pings feed that delivery, so the buyer's and seller's shipment
streams show it moving, its ETA, and its arrival at the bakery.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import httpx
from sqlmodel.ext.asyncio.session import AsyncSession

from accounts import service as accounts
from accounts.enums import Role
from accounts.repository import members_with_users
from accounts.tokens import TokenCache
from api.demo import DemoAccount
from core.clock import now
from core.database import Database
from dispatch.deliveries import repository as deliveries
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from tracking.devices import service as devices
from tracking.devices.schemas import DeviceCreate
from tracking.geo import haversine_m

log = logging.getLogger(__name__)

_NO_CACHE = TokenCache(ttl_s=0)

LatLon = tuple[float, float]

DEPOT_LUENEBURG: LatLon = (53.2510, 10.4140)
DEPOT_CELLE: LatLon = (52.6230, 10.0800)
MILL_UELZEN: LatLon = (52.9790, 10.5580)
BAKERY_HAMBURG: LatLon = (53.5460, 10.0820)

ROUTES: dict[str, tuple[LatLon, ...]] = {
    "Rapid Haulage": (DEPOT_LUENEBURG, (53.12, 10.50), MILL_UELZEN, (53.25, 10.30), BAKERY_HAMBURG),
    "Longroad Logistics": (DEPOT_CELLE, (52.80, 10.30), MILL_UELZEN),
}
# The loaded truck's road: out of the mill's gate and north-west to the bakery.
TO_THE_BAKERY: tuple[LatLon, ...] = ((52.9900, 10.5480), (53.25, 10.30), BAKERY_HAMBURG)
DEMO_ACTOR = "system:demo"


@dataclass(frozen=True)
class DemoTruck:
    """A demo device, its token and the road it drives."""

    carrier: str
    driver: str
    device_id: uuid.UUID
    token: str
    route: tuple[LatLon, ...]
    shipment_id: uuid.UUID | None = None
    """The delivery the truck's pings feed, when it is on the road with one."""


async def _on_the_road(session: AsyncSession, driver_member_id: uuid.UUID) -> uuid.UUID | None:
    """Load the driver's first delivery at the mill and send it off, as the yard would have."""
    waiting = await deliveries.driven_by(
        session, driver_member_id=driver_member_id, states=(DeliveryState.ASSIGNED,)
    )
    if not waiting:
        return None
    delivery, _plant = waiting[0]
    moment = now()
    await transitions.authorize(session, delivery_id=delivery.id, actor=DEMO_ACTOR)
    await transitions.slot(
        session,
        delivery_id=delivery.id,
        slot_starts_at=moment - timedelta(hours=1),
        actor=DEMO_ACTOR,
    )
    await transitions.arrive(
        session, delivery_id=delivery.id, actor=DEMO_ACTOR, at=moment - timedelta(minutes=65)
    )
    await transitions.load(
        session,
        delivery_id=delivery.id,
        loaded_quantity=delivery.quantity,
        actor=DEMO_ACTOR,
        at=moment - timedelta(minutes=20),
    )
    await transitions.depart(
        session, delivery_id=delivery.id, actor=DEMO_ACTOR, at=moment - timedelta(minutes=2)
    )
    return delivery.id


async def seed_fleet(database: Database, accounts_made: Sequence[DemoAccount]) -> list[DemoTruck]:
    """Register a phone for every demo driver of the carriers; put the first truck on the road."""
    trucks: list[DemoTruck] = []
    async with database.transaction() as session:
        for carrier, route in ROUTES.items():
            owner_token = next(
                a.token for a in accounts_made if a.organization == carrier and a.role == "owner"
            )
            owner = await accounts.authenticate(session, token=owner_token, cache=_NO_CACHE)
            drivers = [
                (member, user)
                for member, user in await members_with_users(session, owner.organization_id)
                if member.role == Role.DRIVER
            ]
            for offset, (member, user) in enumerate(drivers):
                device, credentials = await devices.register_device(
                    session,
                    principal=owner,
                    data=DeviceCreate(name=f"{user.name}'s phone", driver_member_id=member.id),
                )
                stops = route if offset % 2 == 0 else tuple(reversed(route))
                shipment_id = None
                if not any(truck.shipment_id for truck in trucks):
                    shipment_id = await _on_the_road(session, member.id)
                    if shipment_id is not None:
                        stops = TO_THE_BAKERY
                trucks.append(
                    DemoTruck(carrier, user.name, device.id, credentials.token, stops, shipment_id)
                )
    return trucks


def _leg_lengths(route: Sequence[LatLon]) -> list[float]:
    return [haversine_m(a, b) for a, b in pairwise(route)]


def position_at(route: Sequence[LatLon], distance_m: float) -> LatLon:
    """Where a truck is after ``distance_m`` along its route, driving there and back."""
    legs = _leg_lengths(route)
    total = sum(legs)
    if total == 0:
        return route[0]
    along = distance_m % (2 * total)
    if along > total:
        along = 2 * total - along
    for (start, end), length in zip(pairwise(route), legs, strict=True):
        if along <= length:
            share = along / length if length else 0.0
            return start[0] + (end[0] - start[0]) * share, start[1] + (end[1] - start[1]) * share
        along -= length
    return route[-1]


async def drive(
    client: httpx.AsyncClient,
    trucks: Sequence[DemoTruck],
    *,
    rounds: int | None = None,
    batch: int = 5,
    interval_s: float = 1.0,
    speed_mps: float = 22.0,
) -> int:
    """Post each truck's pings, ``batch`` a request, in real time; returns pings accepted."""
    accepted = 0
    distance = [500.0 * k for k in range(len(trucks))]
    sent = 0
    done = 0
    while rounds is None or done < rounds:
        now = datetime.now(UTC)
        for k, truck in enumerate(trucks):
            pings = []
            for step in range(batch):
                at = now - timedelta(seconds=interval_s * (batch - 1 - step))
                travelled = distance[k] + speed_mps * interval_s * step
                lat, lon = position_at(truck.route, travelled)
                ahead = position_at(truck.route, travelled + 10.0)
                east = (ahead[1] - lon) * math.cos(math.radians(lat))
                heading = math.degrees(math.atan2(east, ahead[0] - lat)) % 360
                pings.append(
                    {
                        "id": f"demo-{sent + step}",
                        "recorded_at": at.isoformat(),
                        "lat": round(lat, 6),
                        "lon": round(lon, 6),
                        "speed_mps": speed_mps,
                        "heading_deg": round(heading, 1),
                        "accuracy_m": 6.0,
                        "battery_pct": 80,
                    }
                )
            distance[k] += speed_mps * interval_s * batch
            response = await client.post(
                "/v1/ingest/pings",
                headers={"Authorization": f"Bearer {truck.token}"},
                json={"pings": pings},
            )
            if response.status_code == 200:
                accepted += int(response.json()["accepted"])
            else:
                log.warning("demo truck %s: %s", truck.driver, response.status_code)
        sent += batch
        done += 1
        if rounds is None or done < rounds:
            await asyncio.sleep(interval_s * batch)
    return accepted


def drive_in_background(base_url: str, trucks: Sequence[DemoTruck]) -> threading.Thread:
    """Drive the trucks from a daemon thread once the server answers."""

    # One line per ping batch from the HTTP client would drown the server's own log.
    logging.getLogger("httpx").setLevel(logging.WARNING)

    async def run() -> None:
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
            for _ in range(300):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            await drive(client, trucks)

    thread = threading.Thread(target=lambda: asyncio.run(run()), name="demo-fleet", daemon=True)
    thread.start()
    return thread
