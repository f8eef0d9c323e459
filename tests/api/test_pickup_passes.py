"""Pickup passes over HTTP: issued from the driver grant of a delivery, shown on the driver's
phone, judged at the gate with a reason code for every refusal, checked in once, used up
once with the loaded quantity, and every step on the delivery's log."""

from __future__ import annotations

import base64
import io
import json
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock
from core.database import Database
from core.settings import PassSettings, Settings
from core.signing import KeyRing, generate_private_key
from dispatch.authorizations.passes import PassClaims, issue_pass
from tests.dispatch.authz_factory import (
    Pickup,
    events_of,
    grant_delivery,
    long_session_settings,
    prepared,
    token_of,
    verify,
)
from tests.dispatch.market_factory import site
from tests.helpers import add_member, bearer, signup

AT_GATE = timedelta(days=1, hours=2)  # the pickup day, 10:00 at the plant


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the clock moving to the pickup day."""
    return long_session_settings(tmp_path)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return decoded


def with_payload(token: str, **changes: Any) -> str:
    """The token with its payload edited and its signature kept."""
    header, _, signature = token.split(".")
    payload = json.dumps({**_claims(token), **changes}, separators=(",", ":")).encode()
    return f"{header}.{_b64(payload)}.{signature}"


def with_foreign_signature(token: str) -> str:
    """The token signed again by a key that is not the platform's (same header and kid)."""
    header, payload, _ = token.split(".")
    signature = generate_private_key().sign(f"{header}.{payload}".encode("ascii"))
    return f"{header}.{payload}.{_b64(signature)}"


def resigned(token: str, ring: KeyRing, **changes: Any) -> str:
    """The pass's claims changed and signed by ``ring`` (the platform's key in wrong hands,
    or another key altogether)."""
    claims = replace(PassClaims.from_payload(_claims(token)), **changes)
    return issue_pass(claims, ring=ring)


async def reason(response: httpx.Response) -> str | None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["valid"] is (body["reason"] is None)
    found: str | None = body["reason"]
    return found


async def delivery_state(client: httpx.AsyncClient, pickup: Pickup, index: int = 0) -> str:
    response = await client.get(
        f"/v1/deliveries/{pickup.deliveries[index]['id']}", headers=pickup.carrier
    )
    state: str = response.json()["state"]
    return state


async def present(
    client: httpx.AsyncClient, pickup: Pickup, token: str, **fields: Any
) -> httpx.Response:
    return await verify(client, pickup, token, path="/v1/passes/present", **fields)


async def consume(
    client: httpx.AsyncClient, pickup: Pickup, quantity: int, index: int = 0
) -> httpx.Response:
    return await client.post(
        f"/v1/passes/{pickup.passes[index]['id']}/consume",
        headers=pickup.clerk,
        json={"loaded_quantity": quantity},
    )


class TestIssue:
    async def test_granting_a_delivery_issues_a_pass_for_its_day_and_authorizes_it(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        first = pickup.passes[0]
        delivery = pickup.deliveries[0]
        assert first["state"] == "issued"
        assert first["max_quantity"] == delivery["quantity"]
        assert first["vehicle_plate"] == delivery["vehicle_plate"].replace("-", "")
        assert first["driver_member_id"] == pickup.drivers[0].member_id
        # The plant's day (UTC here) with three hours' margin, cut to the booking's window,
        # which opens at 08:00 on the pickup day.
        assert first["not_before"] == "2026-03-03T08:00:00Z"
        assert first["expires_at"] == "2026-03-04T03:00:00Z"
        assert await delivery_state(client, pickup) == "authorized"
        root = await client.get(f"/v1/grants/{pickup.grant['id']}", headers=pickup.buyer)
        total = sum(d["quantity"] for d in pickup.deliveries)
        assert root.json()["allotted_quantity"] == total
        assert root.json()["available_quantity"] == root.json()["quantity"] - total
        kinds = [
            e["kind"] for e in await events_of(client, pickup.buyer, f"delivery:{delivery['id']}")
        ]
        assert kinds[-3:] == ["grant.driver_assigned", "delivery.authorized", "pass.issued"]

    async def test_a_delivery_without_a_driver_or_cancelled_gets_no_pass(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database, grant_all=False, assigned=1)
        assigned, planned = pickup.deliveries
        refused = await grant_delivery(client, pickup.carrier, pickup.grant["id"], planned["id"])
        assert refused.status_code == 422
        assert refused.json()["code"] == "delivery_not_ready"
        current = await client.get(f"/v1/deliveries/{assigned['id']}", headers=pickup.carrier)
        cancelled = await client.post(
            f"/v1/deliveries/{assigned['id']}/cancel",
            headers=pickup.carrier,
            json={"version": current.json()["version"], "reason": "truck broke down"},
        )
        assert cancelled.status_code == 200, cancelled.text
        refused = await grant_delivery(client, pickup.carrier, pickup.grant["id"], assigned["id"])
        assert refused.status_code == 422
        assert refused.json()["code"] == "delivery_not_ready"
        root = await client.get(f"/v1/grants/{pickup.grant['id']}", headers=pickup.carrier)
        assert root.json()["allotted_quantity"] == 0

    async def test_a_pass_is_not_issued_further_ahead_than_its_keys_stay_published(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        settings: Settings,
    ) -> None:
        pickup = await prepared(client, database, grant_all=False)
        settings.passes = PassSettings(issue_ahead_s=12 * 3600)
        delivery_id = pickup.deliveries[0]["id"]
        early = await grant_delivery(client, pickup.carrier, pickup.grant["id"], delivery_id)
        assert early.status_code == 422
        assert early.json()["code"] == "pass_too_early"
        assert early.json()["issuable_from"] == "2026-03-02T20:00:00+00:00"
        clock.advance(hours=12)
        made = await grant_delivery(client, pickup.carrier, pickup.grant["id"], delivery_id)
        assert made.status_code == 201, made.text

    async def test_a_delivery_is_granted_once_until_its_grant_is_revoked(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        again = await grant_delivery(
            client, pickup.carrier, pickup.grant["id"], pickup.deliveries[0]["id"]
        )
        assert again.status_code == 409
        assert again.json()["code"] == "delivery_already_granted"

    async def test_a_revoked_pass_is_replaced_from_the_same_grant(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        old = pickup.passes[0]
        revoked = await client.post(
            f"/v1/passes/{old['id']}/revoke",
            headers=pickup.carrier,
            json={"reason": "driver lost the phone"},
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["state"] == "revoked"
        assert await delivery_state(client, pickup) == "assigned"
        issued = await client.post(
            "/v1/passes", headers=pickup.carrier, json={"delivery_id": old["delivery_id"]}
        )
        assert issued.status_code == 201, issued.text
        assert issued.json()["id"] != old["id"]
        assert issued.json()["grant_id"] == old["grant_id"]
        assert await delivery_state(client, pickup) == "authorized"
        twice = await client.post(
            "/v1/passes", headers=pickup.carrier, json={"delivery_id": old["delivery_id"]}
        )
        assert twice.status_code == 409
        assert twice.json()["code"] == "pass_live"


class TestDriverPhone:
    async def test_the_driver_gets_the_pass_as_text_png_and_svg(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        image = pytest.importorskip("PIL.Image")
        zxingcpp = pytest.importorskip("zxingcpp")
        pickup = await prepared(client, database)
        pass_id = pickup.passes[0]["id"]
        phone = pickup.drivers[0].headers
        text = await client.get(f"/v1/passes/{pass_id}/token", headers=phone)
        assert text.status_code == 200
        assert text.headers["cache-control"] == "no-store"
        token = text.json()["token"]
        assert text.json()["alg"] == "EdDSA"
        assert _claims(token)["jti"] == pass_id
        png = await client.get(f"/v1/passes/{pass_id}/qr.png", headers=phone)
        assert png.headers["content-type"] == "image/png"
        # QR codes only: a linear-barcode reader may see a false code in the finder patterns.
        decoded = zxingcpp.read_barcodes(
            image.open(io.BytesIO(png.content)), formats=zxingcpp.BarcodeFormat.QRCode
        )
        assert [found.text for found in decoded] == [token]
        svg = await client.get(f"/v1/passes/{pass_id}/qr.svg", headers=phone)
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.startswith("<svg")

    async def test_a_driver_sees_only_their_own_passes(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        mine, theirs = pickup.passes
        phone = pickup.drivers[0].headers
        listed = await client.get("/v1/passes", headers=phone)
        assert [p["id"] for p in listed.json()["data"]] == [mine["id"]]
        for path in ("", "/token", "/qr.png"):
            other = await client.get(f"/v1/passes/{theirs['id']}{path}", headers=phone)
            assert other.status_code == 404, path
            assert other.json()["code"] == "pass_not_found"

    async def test_parties_see_the_pass_and_only_its_holders_get_the_token(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        pass_id = pickup.passes[0]["id"]
        for party in (pickup.buyer, pickup.seller, pickup.carrier):
            assert (await client.get(f"/v1/passes/{pass_id}", headers=party)).status_code == 200
        refused = await client.get(f"/v1/passes/{pass_id}/token", headers=pickup.buyer)
        assert refused.status_code == 403
        assert refused.json()["code"] == "pass_holder_only"
        carrier_copy = await client.get(f"/v1/passes/{pass_id}/token", headers=pickup.carrier)
        assert carrier_copy.status_code == 200
        stranger = await signup(client, "Nosy Freight", ["carrier"])
        for path in ("", "/token"):
            hidden = await client.get(f"/v1/passes/{pass_id}{path}", headers=stranger.headers)
            assert hidden.status_code == 404
        listed = await client.get("/v1/passes", headers=stranger.headers)
        assert listed.json()["count"] == 0


class TestGateRefusals:
    async def test_a_valid_pass_is_admitted_with_the_delivery_and_what_may_be_loaded(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.advance(AT_GATE)
        answer = await verify(client, pickup, token, plate=" rap-000 ")
        assert await reason(answer) is None
        body = answer.json()
        assert body["delivery"]["number"] == pickup.deliveries[0]["number"]
        assert body["may_load"] == {
            "product": "sugar EU2",
            "quantity": pickup.deliveries[0]["quantity"],
            "unit": "kg",
        }
        assert body["claims"]["driver_name"] == "driver driver"

    async def test_forgeries_are_refused_each_with_its_own_code(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        assert database.key_ring is not None
        clock.advance(AT_GATE)
        cases = {
            "signature_invalid": with_foreign_signature(token),
            # The genuine signature over an edited payload: only the platform can tell.
            "tampered": with_payload(token, qty="40000"),
            "unknown_key": resigned(token, KeyRing(active=generate_private_key())),
            "malformed": "not.a-pass",
        }
        for expected, scanned in cases.items():
            assert await reason(await verify(client, pickup, scanned)) == expected, expected
        # Validly signed by the platform's key, but not the pass it issued.
        insider = resigned(token, database.key_ring, max_quantity=Decimal(40000))
        assert await reason(await verify(client, pickup, insider)) == "tampered"
        assert await reason(await verify(client, pickup, token)) is None

    async def test_time_plant_and_plate_are_checked(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        assert await reason(await verify(client, pickup, token)) == "not_yet_valid"
        clock.advance(AT_GATE)
        other_plant = await site(client, pickup.booked.deal.seller, "Second mill", "plant", 52, 10)
        refused = await verify(client, pickup, token, plant_id=other_plant)
        assert await reason(refused) == "wrong_plant"
        assert await reason(await verify(client, pickup, token, plate="HH-1234")) == (
            "plate_mismatch"
        )
        clock.set(datetime.fromisoformat(pickup.passes[0]["expires_at"]) + timedelta(minutes=3))
        assert await reason(await verify(client, pickup, token)) == "expired"

    async def test_a_revoked_grant_anywhere_above_refuses_the_pass(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        first, second = await token_of(client, pickup, 0), await token_of(client, pickup, 1)
        clock.advance(AT_GATE)
        driver_hop = pickup.passes[0]["grant_id"]
        revoked = await client.post(
            f"/v1/grants/{driver_hop}/revoke",
            headers=pickup.carrier,
            json={"reason": "driver off sick"},
        )
        assert revoked.status_code == 200, revoked.text
        assert await reason(await verify(client, pickup, first)) == "revoked"
        plate = pickup.passes[1]["vehicle_plate"]
        assert await reason(await verify(client, pickup, second, plate=plate)) is None
        root = await client.post(
            f"/v1/grants/{pickup.grant['id']}/revoke",
            headers=pickup.buyer,
            json={"reason": "order on hold"},
        )
        assert root.status_code == 200, root.text
        assert await reason(await verify(client, pickup, second, plate=plate)) == "revoked"

    async def test_another_organization_cannot_use_the_plant_gate(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        stranger = await signup(client, "Other Mill", ["seller", "plant_operator"])
        _, clerk = await add_member(client, stranger, "clerk")
        answer = await client.post(
            "/v1/passes/verify",
            headers=bearer(clerk),
            json={"token": token, "plate_seen": "RAP000", "plant_site_id": pickup.plant_id},
        )
        assert answer.status_code == 404
        assert answer.json()["code"] == "plant_not_found"
        driver = await client.post(
            "/v1/passes/verify",
            headers=pickup.drivers[0].headers,
            json={"token": token, "plate_seen": "RAP000", "plant_site_id": pickup.plant_id},
        )
        assert driver.status_code == 403


class TestSingleUse:
    async def test_a_pass_is_checked_in_once_and_used_up_once(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        planned = pickup.deliveries[0]["quantity"]
        clock.advance(AT_GATE)
        early = await consume(client, pickup, planned)
        assert early.status_code == 409
        assert early.json()["code"] == "not_presented"
        admitted = await present(client, pickup, token)
        assert await reason(admitted) is None
        assert admitted.json()["pass_state"] == "presented"
        assert await reason(await present(client, pickup, token)) == "already_presented"
        over = await consume(client, pickup, planned + 1)
        assert over.status_code == 422
        assert over.json()["code"] == "quantity_exceeded"
        used = await consume(client, pickup, planned - 500)
        assert used.status_code == 200, used.text
        assert used.json()["state"] == "consumed"
        assert used.json()["loaded_quantity"] == planned - 500
        again = await consume(client, pickup, 1)
        assert again.status_code == 409
        assert again.json()["code"] == "consumed"
        assert await reason(await verify(client, pickup, token)) == "consumed"
        assert await reason(await present(client, pickup, token)) == "consumed"

    async def test_the_same_pass_on_a_second_truck_is_refused(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.advance(AT_GATE)
        assert await reason(await present(client, pickup, token)) is None
        copy = await present(client, pickup, token, plate="HH-7777")
        assert await reason(copy) == "already_presented"
        assert "RAP000" in copy.json()["detail"]

    async def test_the_grants_track_what_was_authorized_loaded_and_remains(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        planned = pickup.deliveries[0]["quantity"]
        clock.advance(AT_GATE)
        await present(client, pickup, token)
        assert (await consume(client, pickup, planned - 500)).status_code == 200
        root = (await client.get(f"/v1/grants/{pickup.grant['id']}", headers=pickup.buyer)).json()
        assert root["loaded_quantity"] == planned - 500
        assert root["remaining_quantity"] == root["quantity"] - planned + 500
        # What the driver did not load is the carrier's to pass on again.
        total = sum(d["quantity"] for d in pickup.deliveries)
        assert root["allotted_quantity"] == total - 500
        leaf = (
            await client.get(f"/v1/grants/{pickup.passes[0]['grant_id']}", headers=pickup.carrier)
        ).json()
        assert leaf["status"] == "used"
        assert leaf["loaded_quantity"] == planned - 500

    async def test_an_offline_admission_is_judged_when_it_was_seen(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.set(datetime.fromisoformat(pickup.passes[0]["expires_at"]) + timedelta(hours=2))
        seen = datetime.fromisoformat(pickup.passes[0]["expires_at"]) - timedelta(hours=1)
        late = await present(client, pickup, token, seen_at=seen.isoformat())
        assert await reason(late) is None
        assert late.json()["pass_state"] == "presented"


class TestAudit:
    async def test_every_verdict_is_an_event_of_the_delivery_for_its_parties(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.advance(AT_GATE)
        await verify(client, pickup, token, plate="HH-1234")
        await present(client, pickup, token)
        await consume(client, pickup, 20_000)
        subject = f"delivery:{pickup.deliveries[0]['id']}"
        for party in (pickup.buyer, pickup.seller, pickup.carrier):
            events = await events_of(client, party, subject)
            found = [(e["kind"], e["payload"].get("reason")) for e in events[-3:]]
            assert found == [
                ("pass.verified", "plate_mismatch"),
                ("pass.presented", None),
                ("pass.consumed", None),
            ]
        stranger = await signup(client, "Nosy Freight", ["carrier"])
        hidden = await client.get(
            "/v1/events", headers=stranger.headers, params={"subject": subject}
        )
        assert hidden.status_code == 404

    async def test_a_forgery_is_an_event_of_the_plant(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.advance(AT_GATE)
        await verify(client, pickup, with_foreign_signature(token))
        events = await events_of(client, pickup.seller, f"plant:{pickup.plant_id}")
        assert [(e["kind"], e["payload"]["reason"]) for e in events] == [
            ("pass.refused", "signature_invalid")
        ]
        assert events[0]["payload"]["claimed_pass_id"] == pickup.passes[0]["id"]
