"""A trade world built through the API as clients would: a seller with a plant, a buyer with a
delivery site, qualified carriers with fleets, sales orders and loads on the market."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from core.clock import now
from tests.helpers import Org, add_member, bearer, login, signup

SUGAR_T = 1000  # kg in a tonne: quantities are whole kg


@dataclass
class Carrier:
    """A carrier organization with a dispatcher's token."""

    org: Org
    dispatcher_token: str
    vehicle_ids: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        """The dispatcher's authorization headers."""
        return bearer(self.dispatcher_token)


@dataclass
class Trade:
    """A seller and a buyer with sites, and one sales order between them."""

    seller: Org
    buyer: Org
    plant_id: str
    destination_id: str
    order: dict[str, Any]

    @property
    def order_id(self) -> str:
        """The order's id."""
        return str(self.order["id"])


def iso(moment: datetime) -> str:
    """A datetime as the API takes it."""
    return moment.isoformat()


async def site(
    client: httpx.AsyncClient, org: Org, name: str, kind: str, lat: float, lon: float
) -> str:
    """Add a site to an organization; returns its id."""
    response = await client.post(
        "/v1/sites",
        headers=org.headers,
        json={"name": name, "kind": kind, "lat": lat, "lon": lon, "address": name},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def qualify(
    client: httpx.AsyncClient, carrier: Org, kind: str, *, hazard_classes: Sequence[str] = ()
) -> dict[str, Any]:
    """Give a carrier a qualification valid from yesterday for a year."""
    response = await client.post(
        "/v1/fleet/qualifications",
        headers=carrier.headers,
        json={
            "kind": kind,
            "document_ref": f"{kind.upper()}-{len(hazard_classes)}-001",
            "hazard_classes": list(hazard_classes),
            "valid_from": iso(now() - timedelta(days=1)),
            "expires_at": iso(now() + timedelta(days=365)),
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def vehicle(client: httpx.AsyncClient, carrier: Org, **fields: Any) -> str:
    """Add a vehicle (a food-grade silo unless told otherwise); returns its id."""
    body = {
        "plate": f"HH-{abs(hash(str(fields))) % 10000:04d} X{len(fields)}",
        "body_type": "silo",
        "payload_kg": 26000,
        "food_grade": True,
        **fields,
    }
    if "compartments_l" not in body:
        body.setdefault("volume_l", 60000)
    response = await client.post("/v1/fleet/vehicles", headers=carrier.headers, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def carrier(
    client: httpx.AsyncClient,
    name: str,
    *,
    food_grade: bool = True,
    hazard_classes: Sequence[str] = (),
    vehicles: Sequence[dict[str, Any]] | None = None,
) -> Carrier:
    """A carrier with a licence, insurance, optional certificates and a fleet."""
    org = await signup(client, name, ["carrier"])
    await qualify(client, org, "transport_licence")
    await qualify(client, org, "insurance")
    if food_grade:
        await qualify(client, org, "food_grade")
    if hazard_classes:
        await qualify(client, org, "hazmat_permit", hazard_classes=hazard_classes)
    made = Carrier(org=org, dispatcher_token="")
    for index, spec in enumerate(vehicles if vehicles is not None else ({},)):
        made.vehicle_ids.append(
            await vehicle(client, org, plate=f"{name[:3].upper()}-{index:03d}", **spec)
        )
    _, made.dispatcher_token = await add_member(client, org, "dispatcher")
    return made


async def trade(
    client: httpx.AsyncClient,
    *,
    quantity: int = 500 * SUGAR_T,
    unit: str = "kg",
    commodity: str = "sugar EU2",
    food_grade: bool = True,
    hazard_class: str | None = None,
    un_number: str | None = None,
    transport_by: str = "seller",
    seller: Org | None = None,
    buyer: Org | None = None,
    starts_in: timedelta = timedelta(days=1),
) -> Trade:
    """A seller (with a plant) sells a buyer (with a delivery site) one order."""
    seller = seller or await signup(client, "Sweet Sugar Mill", ["seller", "plant_operator"])
    buyer = buyer or await signup(client, "Acme Foods", ["buyer"])
    plant = await site(client, seller, "Uelzen sugar mill", "plant", 52.979, 10.558)
    bakery = await site(client, buyer, "Hamburg bakery works", "delivery_site", 53.546, 10.082)
    start = now() + starts_in
    response = await client.post(
        "/v1/orders",
        headers=seller.headers,
        json={
            "reference": f"SO-{abs(hash((plant, bakery))) % 10**8}",
            "buyer_id": str(buyer.id),
            "commodity": commodity,
            "quantity": quantity,
            "unit": unit,
            "origin_site_id": plant,
            "destination_site_id": bakery,
            "pickup_from": iso(start),
            "pickup_until": iso(start + timedelta(days=2)),
            "deliver_by": iso(start + timedelta(days=3)),
            "transport_by": transport_by,
            "food_grade": food_grade,
            "hazard_class": hazard_class,
            "un_number": un_number,
        },
    )
    assert response.status_code == 201, response.text
    return Trade(seller, buyer, plant, bakery, response.json())


async def post_offer(
    client: httpx.AsyncClient, shipper: Org, order_id: str, **fields: Any
) -> dict[str, Any]:
    """Post a load (by default 25 t of the order at 18.50 EUR/t, grab in lots of 5 t)."""
    body = {
        "order_id": order_id,
        "quantity": 25 * SUGAR_T,
        "min_lot": 5 * SUGAR_T,
        "pricing_mode": "posted",
        "rate_basis": "per_tonne",
        "rate_cents": 1850,
        "body_types": ["silo", "tipper"],
        **fields,
    }
    response = await client.post("/v1/market/offers", headers=shipper.headers, json=body)
    assert response.status_code == 201, response.text
    offer: dict[str, Any] = response.json()
    return offer


async def auction(
    client: httpx.AsyncClient, shipper: Org, order_id: str, **fields: Any
) -> dict[str, Any]:
    """Post a whole-load reverse auction closing in six hours."""
    return await post_offer(
        client,
        shipper,
        order_id,
        **{
            "pricing_mode": "auction",
            "rate_cents": None,
            "min_lot": None,
            "closes_at": iso(now() + timedelta(hours=6)),
            **fields,
        },
    )


async def grab(
    client: httpx.AsyncClient, carrier: Carrier, offer_id: str, quantity: int, **headers: str
) -> httpx.Response:
    """A grab as the carrier's dispatcher."""
    return await client.post(
        f"/v1/market/offers/{offer_id}/grab",
        headers={**carrier.headers, **headers},
        json={"quantity": quantity},
    )


async def bid(
    client: httpx.AsyncClient, carrier: Carrier, offer_id: str, rate_cents: int
) -> httpx.Response:
    """A bid as the carrier's dispatcher."""
    return await client.post(
        f"/v1/market/offers/{offer_id}/bids",
        headers=carrier.headers,
        json={"rate_cents": rate_cents},
    )


async def fresh_headers(client: httpx.AsyncClient, org: Org) -> dict[str, str]:
    """Log an organization's owner in again (after a test moved the clock past the session)."""
    return bearer(await login(client, org.email))
