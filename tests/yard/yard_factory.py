"""A plant with a yard, built through the API as clients would, on top of a self-pickup
trade whose deliveries have drivers and pickup passes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx

from core.database import Database
from tests.dispatch.authz_factory import Pickup, prepared, token_of
from tests.dispatch.market_factory import SUGAR_T
from tests.helpers import add_member, bearer

# Monday to Saturday 06:00-22:00, closed on Sundays.
HOURS: list[list[int] | None] = [[360, 1320]] * 6 + [None]
GATE_CODE = "UE-GATE-7"
# a square of about 400 m around the Uelzen plant's site (52.979, 10.558)
FENCE = {
    "type": "Polygon",
    "coordinates": [
        [[10.555, 52.977], [10.561, 52.977], [10.561, 52.981], [10.555, 52.981], [10.555, 52.977]]
    ],
}
SILO_DOCK = {
    "products": ["sugar EU2"],
    "bodies": ["silo"],
    "loading_rate_kg_per_min": 1000,
    "handling_min": 5,
}


@dataclass
class Yard:
    """A pickup (trade, carrier, drivers, passes) whose plant has a yard and docks."""

    pickup: Pickup
    docks: dict[str, dict[str, Any]]
    clerk_token: str

    @property
    def site_id(self) -> str:
        """The plant's site id."""
        return self.pickup.plant_id

    @property
    def operator(self) -> dict[str, str]:
        """The plant operator's owner headers."""
        return self.pickup.seller

    @property
    def clerk(self) -> dict[str, str]:
        """The gate clerk's headers."""
        return bearer(self.clerk_token)

    @property
    def day(self) -> date:
        """The day the deliveries are planned for."""
        return date.fromisoformat(self.pickup.deliveries[0]["planned_day"])

    def at(self, hour: int, minute: int = 0) -> datetime:
        """A moment of the pickup day (the plant runs on UTC)."""
        return datetime(self.day.year, self.day.month, self.day.day, hour, minute, tzinfo=UTC)

    def delivery_ids(self, day: date | None = None) -> list[str]:
        """The pickup's delivery ids (planned for a day, when given)."""
        return [
            d["id"]
            for d in self.pickup.deliveries
            if day is None or d["planned_day"] == day.isoformat()
        ]


async def plant_yard(
    client: httpx.AsyncClient, headers: dict[str, str], site_id: str, **settings: Any
) -> httpx.Response:
    """Set up (or change) a plant's yard as its owner."""
    body = {
        "gate_fence": FENCE,
        "opening_hours": HOURS,
        "gate_code": GATE_CODE,
        "slot_min": 15,
        "late_tolerance_min": 15,
        "booking_lead_min": 60,
        "freeze_min": 120,
        "gate_instructions": "Wait in parking area P2; drive to the gate only when called.",
        **settings,
    }
    return await client.put(f"/v1/yard/plants/{site_id}", headers=headers, json=body)


async def dock(
    client: httpx.AsyncClient, headers: dict[str, str], site_id: str, name: str, **fields: Any
) -> dict[str, Any]:
    """Add a dock (a sugar silo unless told otherwise)."""
    response = await client.post(
        f"/v1/yard/plants/{site_id}/docks",
        headers=headers,
        json={"name": name, **(fields or SILO_DOCK)},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def yard_world(
    client: httpx.AsyncClient,
    database: Database,
    *,
    docks: dict[str, dict[str, Any] | None] | None = None,
    quantity: int = 50 * SUGAR_T,
    **settings: Any,
) -> Yard:
    """A self-pickup with passes, and its plant's yard with two silo docks (unless told;
    a dock given as None is a sugar silo)."""
    pickup = await prepared(client, database, quantity=quantity)
    set_up = await plant_yard(client, pickup.seller, pickup.plant_id, **settings)
    assert set_up.status_code == 200, set_up.text
    made = {}
    for name, fields in (docks or {"Silo 1": SILO_DOCK, "Silo 2": SILO_DOCK}).items():
        made[name] = await dock(client, pickup.seller, pickup.plant_id, name, **(fields or {}))
    _, clerk = await add_member(client, pickup.booked.deal.seller, "clerk")
    return Yard(pickup=pickup, docks=made, clerk_token=clerk)


async def schedule(client: httpx.AsyncClient, world: Yard) -> dict[str, Any]:
    """The plant schedules the pickup day."""
    response = await client.post(
        f"/v1/yard/plants/{world.site_id}/schedule",
        headers=world.operator,
        json={"day": world.day.isoformat()},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def gate_scan(client: httpx.AsyncClient, world: Yard, index: int) -> httpx.Response:
    """The clerk scans the pass of the delivery's truck at the gate."""
    token = await token_of(client, world.pickup, index)
    return await client.post(
        f"/v1/yard/plants/{world.site_id}/check-in",
        headers=world.clerk,
        json={"token": token, "plate_seen": world.pickup.passes[index]["vehicle_plate"]},
    )
