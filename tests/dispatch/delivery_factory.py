"""A booked load ready to split, built through the API as clients would: a seller with a
plant, a buyer, a carrier with a fleet and drivers, and the carrier's booking."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx

from core.clock import now
from tests.dispatch.market_factory import SUGAR_T, Carrier, Trade, carrier, grab, post_offer, trade
from tests.helpers import add_member, bearer, login


@dataclass
class Booked:
    """A trade, a carrier with a fleet and drivers, and the carrier's booking of a load."""

    deal: Trade
    carrier: Carrier
    booking: dict[str, Any]
    offer: dict[str, Any]
    drivers: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def booking_id(self) -> str:
        """The booking's id."""
        return str(self.booking["id"])


@dataclass
class DriverAccount:
    """A driver record and the member's token."""

    id: str
    member_id: str
    token: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        """The driver's authorization headers."""
        return bearer(self.token)

    async def relogin(self, client: httpx.AsyncClient) -> None:
        """Log in again (after a test moved the clock past the session)."""
        self.token = await login(client, self.email)


_RATE_BASES = {"l": "per_m3", "pallet": "per_unit", "piece": "per_unit"}
SILO: dict[str, Any] = {"body_type": "silo", "payload_kg": 26_000, "volume_l": 60_000}


async def booked(
    client: httpx.AsyncClient,
    *,
    quantity: int = 100 * SUGAR_T,
    vehicles: Sequence[dict[str, Any]] = (SILO, SILO),
    body_types: Sequence[str] = ("silo", "tipper"),
    hazard_classes: Sequence[str] = (),
    name: str = "Rapid Haulage",
    deal: Trade | None = None,
    **trade_fields: Any,
) -> Booked:
    """A carrier books ``quantity`` of a new load, all of it, at a posted rate."""
    deal = deal or await trade(client, quantity=max(quantity, 100 * SUGAR_T), **trade_fields)
    haulier = await carrier(
        client,
        name,
        hazard_classes=hazard_classes,
        vehicles=[dict(spec) for spec in vehicles],
    )
    offer = await post_offer(
        client,
        deal.seller,
        deal.order_id,
        quantity=quantity,
        min_lot=None,
        body_types=list(body_types),
        rate_basis=_RATE_BASES.get(deal.order["unit"], "per_tonne"),
    )
    response = await grab(client, haulier, offer["id"], quantity)
    assert response.status_code == 201, response.text
    return Booked(deal=deal, carrier=haulier, booking=response.json(), offer=offer)


async def driver(
    client: httpx.AsyncClient,
    booked: Booked,
    *,
    licence_days: int | None = 900,
    hazmat_days: int | None = None,
) -> DriverAccount:
    """A driver account of the booking's carrier, recorded with a licence (and training)."""
    email = f"driver-{uuid.uuid4().hex[:10]}@example.com"
    member_id, token = await add_member(client, booked.carrier.org, "driver", email=email)
    body: dict[str, Any] = {"membership_id": member_id, "licence_class": "CE"}
    if licence_days is not None:
        body["licence_expires_at"] = (now() + timedelta(days=licence_days)).isoformat()
    if hazmat_days is not None:
        body["hazmat_training_expires_at"] = (now() + timedelta(days=hazmat_days)).isoformat()
    response = await client.post("/v1/fleet/drivers", headers=booked.carrier.headers, json=body)
    assert response.status_code == 201, response.text
    return DriverAccount(id=response.json()["id"], member_id=member_id, token=token, email=email)


async def preview(client: httpx.AsyncClient, booked: Booked, **terms: Any) -> httpx.Response:
    """Preview a split of the booking as its dispatcher."""
    return await client.post(
        "/v1/plans",
        headers=booked.carrier.headers,
        json={"booking_id": booked.booking_id, **terms},
    )


async def commit(client: httpx.AsyncClient, booked: Booked, plan: dict[str, Any]) -> httpx.Response:
    """Commit a draft as the booking's dispatcher."""
    return await client.post(
        f"/v1/plans/{plan['id']}/commit",
        headers=booked.carrier.headers,
        json={"version": plan["version"]},
    )


async def split(client: httpx.AsyncClient, booked: Booked, **terms: Any) -> list[dict[str, Any]]:
    """Preview and commit a split; returns the deliveries."""
    previewed = await preview(client, booked, **terms)
    assert previewed.status_code == 201, previewed.text
    committed = await commit(client, booked, previewed.json())
    assert committed.status_code == 201, committed.text
    deliveries: list[dict[str, Any]] = committed.json()["deliveries"]
    return deliveries
