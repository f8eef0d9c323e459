"""A self-pickup trade built through the API as clients would, up to pickup passes: the buyer
books a carrier, the carrier splits the booking, drivers are assigned, the buyer authorizes
the carrier, the carrier accepts and grants each delivery to its driver."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.database import Database
from core.settings import Environment, SecuritySettings, Settings
from dispatch.deliveries import transitions
from dispatch.deliveries.enums import DeliveryState
from tests.dispatch.delivery_factory import SILO, Booked, DriverAccount, driver, split
from tests.dispatch.market_factory import SUGAR_T, carrier, grab, post_offer, trade
from tests.helpers import add_member, bearer

DISPATCH = "system:dispatch-test"


@dataclass
class Pickup:
    """A self-pickup booking split into deliveries, with drivers, a clerk and their passes."""

    booked: Booked
    deliveries: list[dict[str, Any]]
    drivers: list[DriverAccount] = field(default_factory=list)
    clerk_token: str = ""
    grant: dict[str, Any] = field(default_factory=dict)
    passes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def buyer(self) -> dict[str, str]:
        """The buyer's (the transport arranger's) owner headers."""
        return self.booked.deal.buyer.headers

    @property
    def seller(self) -> dict[str, str]:
        """The seller's (and plant operator's) owner headers."""
        return self.booked.deal.seller.headers

    @property
    def carrier(self) -> dict[str, str]:
        """The carrier's dispatcher headers."""
        return self.booked.carrier.headers

    @property
    def clerk(self) -> dict[str, str]:
        """The plant's gate clerk headers."""
        return bearer(self.clerk_token)

    @property
    def plant_id(self) -> str:
        """The plant's site id."""
        return self.booked.deal.plant_id

    @property
    def order_id(self) -> str:
        """The sales order's id."""
        return self.booked.deal.order_id


async def self_pickup(
    client: httpx.AsyncClient, *, quantity: int = 50 * SUGAR_T, name: str = "Rapid Haulage"
) -> Booked:
    """The buyer arranges transport: it posts the load and a carrier books all of it."""
    deal = await trade(client, quantity=100 * SUGAR_T, transport_by="buyer")
    haulier = await carrier(client, name, vehicles=[dict(SILO), dict(SILO)])
    offer = await post_offer(client, deal.buyer, deal.order_id, quantity=quantity, min_lot=None)
    response = await grab(client, haulier, offer["id"], quantity)
    assert response.status_code == 201, response.text
    return Booked(deal=deal, carrier=haulier, booking=response.json(), offer=offer)


async def assign(database: Database, delivery_id: str, account: DriverAccount) -> None:
    """Put a driver on a planned delivery (what the dispatcher's assignment does)."""
    async with database.transaction() as session:
        await transitions.advance(
            session,
            delivery_id=uuid.UUID(delivery_id),
            to_state=DeliveryState.ASSIGNED,
            kind="delivery.assigned",
            actor=DISPATCH,
            values={"driver_member_id": uuid.UUID(account.member_id)},
        )


async def offer_grant(client: httpx.AsyncClient, pickup: Pickup, **fields: Any) -> httpx.Response:
    """The buyer authorizes the booking's carrier for the booked quantity (unless told)."""
    body = {
        "order_id": pickup.order_id,
        "booking_id": pickup.booked.booking_id,
        "carrier_id": str(pickup.booked.carrier.org.id),
        "quantity": pickup.booked.booking["quantity"],
        **fields,
    }
    return await client.post("/v1/grants", headers=pickup.buyer, json=body)


async def accept(
    client: httpx.AsyncClient, headers: dict[str, str], grant: dict[str, Any]
) -> dict[str, Any]:
    """Accept a grant as the carrier it was offered to."""
    response = await client.post(
        f"/v1/grants/{grant['id']}/accept", headers=headers, json={"version": grant["version"]}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def grant_delivery(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    grant_id: str,
    delivery_id: str,
    **fields: Any,
) -> httpx.Response:
    """Pass a grant on to a delivery's driver and vehicle (the pass is issued)."""
    return await client.post(
        f"/v1/grants/{grant_id}/deliveries",
        headers=headers,
        json={"delivery_id": delivery_id, **fields},
    )


async def prepared(
    client: httpx.AsyncClient,
    database: Database,
    *,
    quantity: int = 50 * SUGAR_T,
    grant_all: bool = True,
    assigned: int | None = None,
) -> Pickup:
    """A self-pickup booking split, the first ``assigned`` deliveries (all by default) with
    a driver, the carrier's accepted grant and (with ``grant_all``) a pass for every
    delivery."""
    booked = await self_pickup(client, quantity=quantity)
    deliveries = await split(client, booked)
    pickup = Pickup(booked=booked, deliveries=deliveries)
    for delivery in deliveries[:assigned]:
        account = await driver(client, booked)
        await assign(database, delivery["id"], account)
        pickup.drivers.append(account)
    _, pickup.clerk_token = await add_member(client, booked.deal.seller, "clerk")
    offered = await offer_grant(client, pickup)
    assert offered.status_code == 201, offered.text
    pickup.grant = await accept(client, pickup.carrier, offered.json())
    if grant_all:
        for delivery in deliveries:
            made = await grant_delivery(client, pickup.carrier, pickup.grant["id"], delivery["id"])
            assert made.status_code == 201, made.text
            pickup.passes.append(made.json()["pickup_pass"])
    return pickup


async def token_of(client: httpx.AsyncClient, pickup: Pickup, index: int = 0) -> str:
    """The token of a delivery's pass, as its driver's phone fetches it."""
    response = await client.get(
        f"/v1/passes/{pickup.passes[index]['id']}/token", headers=pickup.drivers[index].headers
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def verify(
    client: httpx.AsyncClient,
    pickup: Pickup,
    token: str,
    *,
    plate: str | None = None,
    plant_id: str | None = None,
    path: str = "/v1/passes/verify",
    **fields: Any,
) -> httpx.Response:
    """The gate clerk scans a pass and types the plate (the pass's, unless told)."""
    return await client.post(
        path,
        headers=pickup.clerk,
        json={
            "token": token,
            "plate_seen": plate if plate is not None else pickup.passes[0]["vehicle_plate"],
            "plant_site_id": plant_id or pickup.plant_id,
            **fields,
        },
    )


def long_session_settings(tmp_path: Path) -> Settings:
    """Test settings whose login sessions outlive the days a pickup test moves the clock."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0, session_ttl_s=14 * 24 * 3600),
    )


async def events_of(
    client: httpx.AsyncClient, headers: dict[str, str], subject: str
) -> list[dict[str, Any]]:
    """A subject's events as a party reads them."""
    response = await client.get(
        "/v1/events", headers=headers, params={"subject": subject, "limit": 500}
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["data"]
    return events
