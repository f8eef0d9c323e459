"""A shipment ready to track, built through the API: a delivery of 25 t of sugar from the
Uelzen mill to a Hamburg bakery, assigned to a driver whose phone is registered; and a
truck's road between them, as pings."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlmodel.ext.asyncio.session import AsyncSession

from core.bus import Bus
from core.clock import FrozenClock, now
from core.database import Database
from core.settings import Environment, SecuritySettings, Settings, TrackingSettings
from dispatch.deliveries import transitions
from tests.dispatch.delivery_factory import SILO, Booked, DriverAccount, booked, driver, split
from tests.dispatch.market_factory import SUGAR_T
from tests.helpers import Device, register_device
from tracking.geo import LocalFrame

PLANT = (52.979, 10.558)
DESTINATION = (53.546, 10.082)
PLANT_FRAME = LocalFrame(*PLANT)
DESTINATION_FRAME = LocalFrame(*DESTINATION)


def shipment_settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the frozen clock's jump to the delivery's day; quick heartbeats."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0, session_ttl_s=14 * 24 * 3600),
        tracking=TrackingSettings(live_heartbeat_s=0.5, live_connections_per_token=2),
    )


@dataclass
class Shipment:
    """A delivery, its trade, its driver and the driver's phone."""

    deal: Booked
    delivery: dict[str, Any]
    driver: DriverAccount
    device: Device

    @property
    def id(self) -> str:
        """The shipment's (delivery's) id."""
        return str(self.delivery["id"])

    @property
    def day_start(self) -> datetime:
        """Midnight UTC of the planned day."""
        return datetime.combine(date.fromisoformat(self.delivery["planned_day"]), time(), UTC)


async def shipment(client: httpx.AsyncClient, clock: FrozenClock) -> Shipment:
    """An assigned delivery whose driver's phone is registered; the clock on its day at 10:00."""
    deal = await booked(client, quantity=25 * SUGAR_T, vehicles=(SILO,))
    who = await driver(client, deal)
    (delivery,) = await split(client, deal)
    assigned = await client.post(
        f"/v1/deliveries/{delivery['id']}/assign",
        headers=deal.carrier.headers,
        json={"version": delivery["version"], "driver_id": who.id},
    )
    assert assigned.status_code == 200, assigned.text
    device = await register_device(
        client, deal.carrier.org, driver_member_id=who.member_id, name="Driver's phone"
    )
    made = Shipment(deal, assigned.json(), who, device)
    clock.set(made.day_start + timedelta(hours=10))
    return made


async def move(
    database: Database, bus: Bus, shipment_id: str, *steps: str, slot_at: datetime | None = None
) -> None:
    """Walk the delivery through states the gate and the yard would set."""

    async def work(session: AsyncSession) -> None:
        delivery_id = uuid.UUID(shipment_id)
        for step in steps:
            if step == "authorized":
                await transitions.authorize(session, delivery_id=delivery_id, actor="test")
            elif step == "slotted":
                await transitions.slot(
                    session,
                    delivery_id=delivery_id,
                    slot_starts_at=slot_at or now() + timedelta(hours=1),
                    actor="test",
                )
            elif step == "at_plant":
                await transitions.arrive(session, delivery_id=delivery_id, actor="test")
            elif step == "loaded":
                await transitions.load(
                    session, delivery_id=delivery_id, loaded_quantity=24 * SUGAR_T, actor="test"
                )
            elif step == "in_transit":
                await transitions.depart(session, delivery_id=delivery_id, actor="test")
            else:
                raise ValueError(step)

    await database.run(work, bus=bus)


def ping(
    n: int,
    at: datetime,
    frame: LocalFrame,
    east_m: float,
    north_m: float,
    *,
    speed_mps: float = 0.0,
    accuracy_m: float = 5.0,
) -> dict[str, Any]:
    """A native ping ``(east_m, north_m)`` from a frame's origin."""
    lat, lon = frame.to_latlon(east_m, north_m)
    return {
        "id": f"p{n}",
        "recorded_at": at.isoformat(),
        "lat": lat,
        "lon": lon,
        "speed_mps": speed_mps,
        "accuracy_m": accuracy_m,
    }


async def send(
    client: httpx.AsyncClient, app: FastAPI, device: Device, pings: Sequence[dict[str, Any]]
) -> None:
    """Post pings in one batch and wait until the tracker worked them through."""
    response = await client.post("/v1/ingest/pings", headers=device.headers, json={"pings": pings})
    assert response.status_code == 200, response.text
    assert response.json()["rejected"] == [], response.text
    await app.state.runtime.tracking.tracker.drain()


def events_of(app_events: Sequence[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The entries of one kind."""
    return [e for e in app_events if e["kind"] == kind]


async def shipment_events(
    client: httpx.AsyncClient, shipment: Shipment, headers: dict[str, str], after: int = 0
) -> list[dict[str, Any]]:
    """Every event of a shipment the caller may read, after ``after``."""
    response = await client.get(
        f"/v1/shipments/{shipment.id}/events", headers=headers, params={"after": after}
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["data"]
    return found
