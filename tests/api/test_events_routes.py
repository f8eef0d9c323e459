"""The events API: catch-up by sequence, verification, bundles and the published keys."""

from __future__ import annotations

import io
import uuid
import zipfile

import httpx
from sqlalchemy import text

from core import eventlog
from core.bundle import verify_bundle
from core.clock import now
from core.database import Database
from core.logchain import decode_signature, signing_input
from core.signing import JwksKeys, verify_raw
from tests.dbadmin import guards_lifted
from tests.helpers import Org, add_member, bearer, signup

SUBJECT = "delivery:0190aaaa-0000-7000-8000-000000000001"


async def _shipment(database: Database, *, buyer: Org, carrier: Org) -> None:
    """Five entries: 1, 3 and 5 for both parties, 2 and 4 for the carrier alone."""
    async with database.transaction() as session:
        for n in range(1, 6):
            audience = [carrier.id] if n % 2 == 0 else [buyer.id, carrier.id]
            await eventlog.append(
                session,
                subject=SUBJECT,
                kind=f"step_{n}",
                payload={"n": n},
                audience=audience,
                actor="member:x",
            )


async def _parties(client: httpx.AsyncClient, database: Database) -> tuple[Org, Org, Org]:
    buyer = await signup(client, "Acme Buyers", ["buyer"])
    carrier = await signup(client, "Rapid Haulage", ["carrier"])
    stranger = await signup(client, "Other Freight", ["carrier"])
    await _shipment(database, buyer=buyer, carrier=carrier)
    return buyer, carrier, stranger


class TestCatchUp:
    async def test_each_party_sees_what_is_addressed_to_it_in_order(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, carrier, _ = await _parties(client, database)
        mine = await client.get("/v1/events", params={"subject": SUBJECT}, headers=buyer.headers)
        assert mine.status_code == 200
        assert [e["seq"] for e in mine.json()["data"]] == [1, 3, 5]
        theirs = await client.get(
            "/v1/events", params={"subject": SUBJECT}, headers=carrier.headers
        )
        assert [e["kind"] for e in theirs.json()["data"]] == [f"step_{n}" for n in range(1, 6)]

    async def test_a_child_account_sees_what_its_organization_sees(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        _, token = await add_member(client, buyer, "viewer")
        response = await client.get(
            "/v1/events", params={"subject": SUBJECT}, headers=bearer(token)
        )
        assert [e["seq"] for e in response.json()["data"]] == [1, 3, 5]

    async def test_pages_follow_the_sequence(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        _, carrier, _ = await _parties(client, database)
        seen: list[int] = []
        after = 0
        while True:
            page = await client.get(
                "/v1/events",
                params={"subject": SUBJECT, "after": after, "limit": 2},
                headers=carrier.headers,
            )
            body = page.json()
            seen += [e["seq"] for e in body["data"]]
            if body["next_after"] is None:
                break
            after = body["next_after"]
        assert seen == [1, 2, 3, 4, 5]

    async def test_catching_up_after_a_sequence_number(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        response = await client.get(
            "/v1/events", params={"subject": SUBJECT, "after": 3}, headers=buyer.headers
        )
        assert [e["seq"] for e in response.json()["data"]] == [5]
        assert response.json()["next_after"] is None

    async def test_an_entry_is_a_receipt_checkable_with_the_published_keys(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        entry = (
            await client.get("/v1/events", params={"subject": SUBJECT}, headers=buyer.headers)
        ).json()["data"][0]
        keys = JwksKeys.from_document((await client.get("/v1/keys")).json())
        signature = decode_signature(entry["signature"])
        assert signature is not None
        assert verify_raw(keys.keys[entry["kid"]], signing_input(entry["hash"]), signature)


class TestOtherOrganizations:
    async def test_a_subject_outside_the_audience_is_not_found(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        _, _, stranger = await _parties(client, database)
        for path in ("/v1/events", "/v1/events/verify", "/v1/events/bundle"):
            response = await client.get(path, params={"subject": SUBJECT}, headers=stranger.headers)
            assert response.status_code == 404, path
            assert response.json()["code"] == "subject_not_found"
            assert "step_" not in response.text

    async def test_an_unknown_subject_is_not_found(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        response = await client.get(
            "/v1/events", params={"subject": f"delivery:{uuid.uuid4()}"}, headers=buyer.headers
        )
        assert response.status_code == 404

    async def test_no_token_no_events(self, client: httpx.AsyncClient, database: Database) -> None:
        await _parties(client, database)
        response = await client.get("/v1/events", params={"subject": SUBJECT})
        assert response.status_code == 401

    async def test_a_missing_subject_is_named(self, client: httpx.AsyncClient) -> None:
        buyer = await signup(client, "Acme Buyers", ["buyer"])
        response = await client.get("/v1/events", headers=buyer.headers)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["query.subject"]


class TestVerify:
    async def test_an_intact_chain(self, client: httpx.AsyncClient, database: Database) -> None:
        buyer, _, _ = await _parties(client, database)
        response = await client.get(
            "/v1/events/verify", params={"subject": SUBJECT}, headers=buyer.headers
        )
        body = response.json()
        assert response.status_code == 200
        assert (body["ok"], body["entries"], body["last_seq"], body["finding"]) == (
            True,
            5,
            5,
            None,
        )

    async def test_a_changed_entry_is_reported(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        async with database.transaction() as session:
            connection = await session.connection()
            async with guards_lifted(connection):
                await connection.execute(
                    text("UPDATE event_log SET payload = :p WHERE subject = :s AND seq = 4"),
                    {"p": '{"n":40}', "s": SUBJECT},
                )
        body = (
            await client.get(
                "/v1/events/verify", params={"subject": SUBJECT}, headers=buyer.headers
            )
        ).json()
        assert body["ok"] is False
        assert (body["finding"]["seq"], body["finding"]["problem"]) == (4, "modified")
        assert "40" not in body["finding"]["detail"]

    async def test_a_receipt_is_checked(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        held = (
            await client.get("/v1/events", params={"subject": SUBJECT}, headers=buyer.headers)
        ).json()["data"][-1]
        ok = await client.get(
            "/v1/events/verify",
            params={"subject": SUBJECT, "known_seq": held["seq"], "known_hash": held["hash"]},
            headers=buyer.headers,
        )
        assert ok.json()["ok"] is True
        wrong = await client.get(
            "/v1/events/verify",
            params={"subject": SUBJECT, "known_seq": 3, "known_hash": held["hash"]},
            headers=buyer.headers,
        )
        assert wrong.json()["finding"]["problem"] == "modified"

    async def test_half_a_receipt_is_refused(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        response = await client.get(
            "/v1/events/verify", params={"subject": SUBJECT, "known_seq": 2}, headers=buyer.headers
        )
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["query.known_hash"]


class TestBundle:
    async def test_a_party_downloads_a_bundle_that_verifies_against_the_published_keys(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        buyer, _, _ = await _parties(client, database)
        response = await client.get(
            "/v1/events/bundle", params={"subject": SUBJECT}, headers=buyer.headers
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/zip"
        assert "attachment;" in response.headers["content-disposition"]
        published = (await client.get("/v1/keys", params={"include_retired": True})).json()
        check = verify_bundle(response.content, trusted_jwks=published, now=now())
        assert check.ok, check.problems
        assert check.chain is not None
        assert (check.chain.entries, check.chain.withheld) == (5, 2)
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            chain = archive.read("chain.jsonl")
        assert b"step_2" not in chain
        assert b"step_3" in chain


class TestKeys:
    async def test_the_keys_are_public_and_cacheable(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        assert database.key_ring is not None
        response = await client.get("/v1/keys")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/jwk-set+json"
        assert "max-age" in response.headers["cache-control"]
        keys = response.json()["keys"]
        assert [k["kid"] for k in keys] == [database.key_ring.active_kid]
        assert set(keys[0]) == {"kty", "crv", "x", "kid", "alg", "use"}
