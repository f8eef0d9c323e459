"""The pickup grant chain over HTTP: who may grant what to whom, offers answered once,
shares never larger or longer than what their grant holds, revocation down the chain."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import Settings
from tests.dispatch.authz_factory import (
    Pickup,
    accept,
    assign,
    events_of,
    grant_delivery,
    long_session_settings,
    offer_grant,
    prepared,
    self_pickup,
    token_of,
    verify,
)
from tests.dispatch.delivery_factory import driver, split
from tests.dispatch.market_factory import Carrier, carrier
from tests.helpers import add_member, bearer, signup

AT_GATE = timedelta(days=1, hours=2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the clock moving to the pickup day."""
    return long_session_settings(tmp_path)


async def subcontract(
    client: httpx.AsyncClient, headers: dict[str, str], grant_id: str, **fields: Any
) -> httpx.Response:
    return await client.post(f"/v1/grants/{grant_id}/grants", headers=headers, json=fields)


async def revoke(
    client: httpx.AsyncClient, headers: dict[str, str], grant_id: str, why: str = "stop"
) -> httpx.Response:
    return await client.post(f"/v1/grants/{grant_id}/revoke", headers=headers, json={"reason": why})


async def brokered(client: httpx.AsyncClient) -> tuple[Pickup, Carrier]:
    """A self-pickup trade whose load a carrier booked, and a forwarder the buyer will
    authorize instead, with that carrier as the forwarder's subcontractor."""
    booked = await self_pickup(client)
    forwarder = await carrier(client, "Forwarder Ltd", vehicles=())
    return Pickup(booked=booked, deliveries=[]), forwarder


async def forwarder_grant(
    client: httpx.AsyncClient, pickup: Pickup, forwarder: Carrier, **fields: Any
) -> dict[str, Any]:
    """The buyer authorizes the forwarder for the order (no booking); it accepts."""
    offered = await offer_grant(
        client, pickup, booking_id=None, carrier_id=str(forwarder.org.id), **fields
    )
    assert offered.status_code == 201, offered.text
    return await accept(client, forwarder.headers, offered.json())


class TestOrderGrant:
    async def test_the_buyer_authorizes_its_carrier_and_the_parties_see_it(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        booked = await self_pickup(client)
        pickup = Pickup(booked=booked, deliveries=[])
        offered = await offer_grant(client, pickup)
        assert offered.status_code == 201, offered.text
        grant = offered.json()
        assert grant["status"] == "offered"
        assert grant["level"] == "order"
        assert grant["quantity"] == booked.booking["quantity"]
        # The window defaults to the booking's pickup window.
        assert grant["not_before"] == booked.booking["pickup_from"].replace("+00:00", "Z")
        for party in (pickup.buyer, pickup.seller, pickup.carrier):
            seen = await client.get(f"/v1/grants/{grant['id']}", headers=party)
            assert seen.status_code == 200
        stranger = await signup(client, "Nosy Freight", ["carrier"])
        hidden = await client.get(f"/v1/grants/{grant['id']}", headers=stranger.headers)
        assert hidden.status_code == 404
        assert hidden.json()["code"] == "grant_not_found"
        assert (await client.get("/v1/grants", headers=stranger.headers)).json()["count"] == 0
        events = await events_of(client, pickup.buyer, f"order:{pickup.order_id}")
        assert events[-1]["kind"] == "grant.offered"

    async def test_only_the_organization_arranging_transport_grants(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        booked = await self_pickup(client)
        pickup = Pickup(booked=booked, deliveries=[])
        body = {
            "order_id": pickup.order_id,
            "carrier_id": str(booked.carrier.org.id),
            "quantity": 1000,
        }
        seller = await client.post("/v1/grants", headers=pickup.seller, json=body)
        assert seller.status_code == 403
        assert seller.json()["code"] == "not_transport_arranger"
        outsider = await client.post("/v1/grants", headers=pickup.carrier, json=body)
        assert outsider.status_code == 404
        not_a_carrier = await offer_grant(
            client, pickup, booking_id=None, carrier_id=str(booked.deal.seller.id)
        )
        assert not_a_carrier.status_code == 422
        assert not_a_carrier.json()["code"] == "not_a_carrier"

    async def test_grants_never_cover_more_than_the_booking_or_the_order(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        booked = await self_pickup(client)
        pickup = Pickup(booked=booked, deliveries=[])
        booked_quantity = booked.booking["quantity"]
        over = await offer_grant(client, pickup, quantity=booked_quantity + 1)
        assert over.status_code == 422
        assert over.json()["code"] == "quantity_exceeds_booking"
        assert over.json()["errors"][0]["field"] == "body.quantity"
        first = await offer_grant(client, pickup, booking_id=None, quantity=80_000)
        assert first.status_code == 201
        rest = await offer_grant(client, pickup, booking_id=None, quantity=20_001)
        assert rest.status_code == 422
        assert rest.json()["code"] == "quantity_exceeds_order"
        declined = await client.post(
            f"/v1/grants/{first.json()['id']}/decline",
            headers=pickup.carrier,
            json={"version": first.json()["version"], "reason": "no trucks that week"},
        )
        assert declined.status_code == 200
        assert declined.json()["status"] == "declined"
        assert (
            await offer_grant(client, pickup, booking_id=None, quantity=100_000)
        ).status_code == 201

    async def test_an_offer_is_answered_once_by_its_carrier(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        booked = await self_pickup(client)
        pickup = Pickup(booked=booked, deliveries=[])
        grant = (await offer_grant(client, pickup)).json()
        path = f"/v1/grants/{grant['id']}"
        by_buyer = await client.post(
            f"{path}/accept", headers=pickup.buyer, json={"version": grant["version"]}
        )
        assert by_buyer.status_code == 403
        assert by_buyer.json()["code"] == "grantee_only"
        accepted = await accept(client, pickup.carrier, grant)
        assert accepted["status"] == "accepted"
        stale = await client.post(
            f"{path}/decline", headers=pickup.carrier, json={"version": grant["version"]}
        )
        assert stale.status_code == 409
        assert stale.json()["code"] == "stale_version"
        again = await client.post(
            f"{path}/decline", headers=pickup.carrier, json={"version": accepted["version"]}
        )
        assert again.status_code == 409
        assert again.json()["code"] == "invalid_transition"


class TestSubcontracting:
    async def test_a_grant_that_does_not_allow_subcontracting_cannot_be_passed_on(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup, forwarder = await brokered(client)
        grant = await forwarder_grant(client, pickup, forwarder)
        refused = await subcontract(
            client,
            forwarder.headers,
            grant["id"],
            carrier_id=str(pickup.booked.carrier.org.id),
            quantity=10_000,
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "subcontracting_not_allowed"

    async def test_no_share_to_a_carrier_more_quantity_or_a_longer_window_than_allowed(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup, forwarder = await brokered(client)
        sub = str(pickup.booked.carrier.org.id)
        grant = await forwarder_grant(
            client,
            pickup,
            forwarder,
            may_subcontract=True,
            allowed_carrier_ids=[sub],
            quantity=50_000,
        )
        other = await signup(client, "Unlisted Haulage", ["carrier"])
        cases = {
            "carrier_not_allowed": {"carrier_id": str(other.id), "quantity": 10_000},
            "quantity_exceeds_parent": {"carrier_id": sub, "quantity": 50_001},
            "validity_exceeds_parent": {
                "carrier_id": sub,
                "quantity": 10_000,
                "not_after": (
                    datetime.fromisoformat(grant["not_after"]) + timedelta(hours=1)
                ).isoformat(),
            },
        }
        for code, body in cases.items():
            refused = await subcontract(client, forwarder.headers, grant["id"], **body)
            assert refused.status_code == 422, code
            assert refused.json()["code"] == code
        widened = await subcontract(
            client,
            forwarder.headers,
            grant["id"],
            carrier_id=sub,
            quantity=10_000,
            may_subcontract=True,
            allowed_carrier_ids=[str(other.id)],
        )
        assert widened.status_code == 422
        assert widened.json()["code"] == "carrier_not_allowed"
        share = await subcontract(
            client, forwarder.headers, grant["id"], carrier_id=sub, quantity=40_000
        )
        assert share.status_code == 201, share.text
        assert share.json()["level"] == "carrier"
        more = await subcontract(
            client, forwarder.headers, grant["id"], carrier_id=sub, quantity=10_001
        )
        assert more.status_code == 422
        assert more.json()["code"] == "quantity_exceeds_parent"
        assert more.json()["held_quantity"] == 10_000

    async def test_an_offer_not_yet_accepted_cannot_be_passed_on(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup, forwarder = await brokered(client)
        booked = pickup.booked
        offered = await offer_grant(
            client, pickup, booking_id=None, carrier_id=str(forwarder.org.id), may_subcontract=True
        )
        early = await subcontract(
            client,
            forwarder.headers,
            offered.json()["id"],
            carrier_id=str(booked.carrier.org.id),
            quantity=1000,
        )
        assert early.status_code == 409
        assert early.json()["code"] == "parent_not_accepted"


class TestDriverGrants:
    async def test_a_carrier_grants_its_drivers_no_more_than_it_holds(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database, grant_all=False)
        first, second = pickup.deliveries
        revoked = await revoke(client, pickup.buyer, pickup.grant["id"], "wrong quantity")
        assert revoked.status_code == 200
        small = await offer_grant(client, pickup, quantity=first["quantity"] + 1000)
        grant = await accept(client, pickup.carrier, small.json())
        made = await grant_delivery(client, pickup.carrier, grant["id"], first["id"])
        assert made.status_code == 201, made.text
        refused = await grant_delivery(client, pickup.carrier, grant["id"], second["id"])
        assert refused.status_code == 422
        assert refused.json()["code"] == "quantity_exceeds_parent"
        longer = await grant_delivery(
            client,
            pickup.carrier,
            grant["id"],
            second["id"],
            quantity=1000,
            not_before=grant["not_before"],
            not_after=(datetime.fromisoformat(grant["not_after"]) + timedelta(days=1)).isoformat(),
        )
        assert longer.status_code == 422
        assert longer.json()["code"] == "validity_exceeds_parent"

    async def test_only_the_carrier_holding_the_grant_passes_it_to_its_deliveries(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database, grant_all=False)
        by_buyer = await grant_delivery(
            client, pickup.buyer, pickup.grant["id"], pickup.deliveries[0]["id"]
        )
        assert by_buyer.status_code == 403
        assert by_buyer.json()["code"] == "grantee_only"


class TestRevocation:
    async def test_revoking_the_order_grant_revokes_every_hop_and_pass_below(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        by_carrier = await revoke(client, pickup.carrier, pickup.grant["id"])
        assert by_carrier.status_code == 403
        assert by_carrier.json()["code"] == "grantor_only"
        revoked = await revoke(client, pickup.buyer, pickup.grant["id"], "payment overdue")
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        for issued in pickup.passes:
            seen = await client.get(f"/v1/passes/{issued['id']}", headers=pickup.carrier)
            assert seen.json()["state"] == "revoked"
            hop = await client.get(f"/v1/grants/{issued['grant_id']}", headers=pickup.carrier)
            assert hop.json()["status"] == "revoked"
            delivery = await client.get(
                f"/v1/deliveries/{issued['delivery_id']}", headers=pickup.carrier
            )
            assert delivery.json()["state"] == "assigned"
            kinds = [
                e["kind"]
                for e in await events_of(client, pickup.buyer, f"delivery:{issued['delivery_id']}")
            ]
            assert kinds[-3:] == [
                "grant.revoked",
                "delivery.authorization_withdrawn",
                "pass.revoked",
            ]
        listed = await client.get(
            "/v1/passes/revocations",
            headers=pickup.clerk,
            params={"plant_site_id": pickup.plant_id},
        )
        assert listed.status_code == 200, listed.text
        assert {e["pass_id"] for e in listed.json()["entries"]} == {p["id"] for p in pickup.passes}
        assert listed.json()["up_to"] == 2
        again = await revoke(client, pickup.buyer, pickup.grant["id"])
        assert again.status_code == 409

    async def test_a_revoked_middle_hop_refuses_the_pass_below_it(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup, forwarder = await brokered(client)
        booked, sub = pickup.booked, pickup.booked.carrier
        grant = await forwarder_grant(client, pickup, forwarder, may_subcontract=True)
        share = await subcontract(
            client, forwarder.headers, grant["id"], carrier_id=str(sub.org.id), quantity=50_000
        )
        share_grant = await accept(client, sub.headers, share.json())
        pickup.deliveries = await split(client, booked)
        account = await driver(client, booked)
        await assign(database, pickup.deliveries[0]["id"], account)
        pickup.drivers.append(account)
        _, pickup.clerk_token = await add_member(client, booked.deal.seller, "clerk")
        made = await grant_delivery(
            client, sub.headers, share_grant["id"], pickup.deliveries[0]["id"]
        )
        assert made.status_code == 201, made.text
        pickup.passes.append(made.json()["pickup_pass"])
        token = await token_of(client, pickup)
        clock.advance(AT_GATE)
        assert (await verify(client, pickup, token)).json()["valid"] is True
        cut = await revoke(client, forwarder.headers, share_grant["id"], "carrier replaced")
        assert cut.status_code == 200, cut.text
        answer = await verify(client, pickup, token)
        assert answer.json()["reason"] == "revoked"
        root = await client.get(f"/v1/grants/{grant['id']}", headers=pickup.buyer)
        assert root.json()["status"] == "accepted"
        assert root.json()["allotted_quantity"] == 0

    async def test_a_used_driver_grant_cannot_be_revoked(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.advance(AT_GATE)
        await verify(client, pickup, token, path="/v1/passes/present")
        used = await client.post(
            f"/v1/passes/{pickup.passes[0]['id']}/consume",
            headers=pickup.clerk,
            json={"loaded_quantity": 25_000},
        )
        assert used.status_code == 200, used.text
        refused = await revoke(client, pickup.carrier, pickup.passes[0]["grant_id"])
        assert refused.status_code == 409
        assert refused.json()["status"] == "used"
        # Revoking the order grant now leaves what was loaded counted.
        assert (await revoke(client, pickup.buyer, pickup.grant["id"])).status_code == 200
        root = await client.get(f"/v1/grants/{pickup.grant['id']}", headers=pickup.buyer)
        assert root.json()["loaded_quantity"] == 25_000
        drivers_view = await client.get("/v1/grants", headers=bearer(pickup.drivers[0].token))
        assert drivers_view.json()["count"] == 0
