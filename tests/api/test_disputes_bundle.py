"""A disputed delivery's bundle: downloaded through the API, checked offline with
`haulpoint verify`, and failing once one byte changes; and the delivery's log, tampered with
in the database, names the entry that was touched."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import bindparam, text

from api.cli import main
from core import eventlog
from core.bundle import verify_bundle
from core.clock import FrozenClock, now
from core.database import Database
from core.logchain import EntryContent, content_hash, encode_signature, signing_input
from core.signing import KeyRing, generate_private_key
from core.types import UTCDateTime
from tests.dbadmin import guards_lifted
from tests.helpers import register_device
from tests.tracking.evidence_factory import OnTheRoad, on_the_road, png, receipt_body, upload

Statement = tuple[Any, dict[str, Any]]


async def disputed(
    client: httpx.AsyncClient, database: Database, clock: FrozenClock
) -> tuple[OnTheRoad, str, list[str]]:
    """A delivery driven with a tracked phone, received short with a signature and a photo."""
    road = await on_the_road(client, database)
    device = await register_device(
        client, road.deal.carrier.org, vehicle_id=road.delivery["vehicle_id"]
    )
    clock.advance(hours=2)
    pings = [
        {
            "id": f"p{n}",
            "recorded_at": (now() - timedelta(minutes=100 - 10 * n)).isoformat(),
            "lat": 52.98 + n * 0.05,
            "lon": 10.55 - n * 0.04,
            "accuracy_m": 6.0,
        }
        for n in range(8)
    ]
    sent = await client.post("/v1/ingest/pings", headers=device.headers, json={"pings": pings})
    assert sent.json()["accepted"] == 8, sent.text
    signature = await upload(client, road.id, road.carrier_headers, png(1), purpose="signature")
    photo = await upload(client, road.id, road.carrier_headers, png(2))
    hashes = [signature.json()["sha256"], photo.json()["sha256"]]
    response = await client.post(
        f"/v1/deliveries/{road.id}/receipt",
        headers=road.carrier_headers,
        json=receipt_body(
            road.loaded_quantity - 900,
            signature_sha256=hashes[0],
            photos=[hashes[1]],
        ),
    )
    assert response.status_code == 201, response.text
    dispute_id: str = response.json()["dispute_id"]
    said = await client.post(
        f"/v1/disputes/{dispute_id}/statements",
        headers=road.seller.headers,
        json={"text": "Ticket WB-7 says otherwise. <script>alert(1)</script>"},
    )
    assert said.status_code == 201
    return road, dispute_id, hashes


class TestDisputeBundle:
    async def test_the_bundle_verifies_offline_and_one_changed_byte_fails(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        road, dispute_id, hashes = await disputed(client, database, clock)
        response = await client.get(f"/v1/disputes/{dispute_id}/bundle", headers=road.buyer.headers)
        assert response.status_code == 200, response.text
        bundle = response.content
        keys = (await client.get("/v1/keys", params={"include_retired": "true"})).json()
        check = verify_bundle(bundle, trusted_jwks=keys, now=now())
        assert check.ok, check.problems
        assert check.chain is not None
        assert check.chain.ok
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            names = archive.namelist()
            manifest = json.loads(archive.read("manifest.json"))
            trail = json.loads(archive.read("attachments/trail.geojson"))
            receipt = json.loads(archive.read("attachments/receipt.json"))
            weighing = json.loads(archive.read("attachments/weighbridge.json"))
            found = json.loads(archive.read("attachments/disputes.json"))
            summary = archive.read("summary.html").decode()
            page = archive.read("attachments/delivery.html").decode()
        assert {
            "attachments/trail.geojson",
            "attachments/weighbridge.json",
            "attachments/receipt.json",
            "attachments/disputes.json",
            "keys.json",
            "summary.html",
        } <= set(names)
        assert [r["sha256"] for r in manifest["references"]] == hashes
        (feature,) = trail["features"]
        assert feature["geometry"]["type"] == "LineString"
        assert len(feature["geometry"]["coordinates"]) == 8
        assert receipt["received_quantity"] == road.loaded_quantity - 900
        assert [w["kind"] for w in weighing] == ["delivery.loaded"]
        assert found[0]["reasons"] == ["short_delivery"]
        assert [s["party"] for s in found[0]["statements"]] == ["seller"]
        for fact in (
            "Rapid Haulage",
            "short_delivery",
            str(road.loaded_quantity - 900),
            "Ticket WB-7 says otherwise. &lt;script&gt;",
            *hashes,
        ):
            assert fact in page, fact
        assert "<script>" not in page
        assert "receipt.recorded" in summary
        assert "dispute.opened" in summary
        same = await client.get(
            "/v1/events/bundle",
            headers=road.buyer.headers,
            params={"subject": f"delivery:{road.id}"},
        )
        assert verify_bundle(same.content, trusted_jwks=keys, now=now()).ok

        path = tmp_path / "bundle.zip"
        key_file = tmp_path / "keys.json"
        path.write_bytes(bundle)
        key_file.write_text(json.dumps(keys))
        assert main(["verify", str(path), "--keys", str(key_file)]) == 0
        assert "result:  VALID" in capsys.readouterr().out
        tampered = bytearray(bundle)
        at = tampered.index(b'"received_quantity"') + 25
        tampered[at] ^= 0x01
        path.write_bytes(bytes(tampered))
        assert main(["verify", str(path), "--keys", str(key_file), "--json"]) == 1
        result = json.loads(capsys.readouterr().out)
        assert result["ok"] is False
        assert result["problems"]

    async def test_each_party_gets_a_bundle_and_a_stranger_none(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        road, dispute_id, _ = await disputed(client, database, clock)
        keys = (await client.get("/v1/keys", params={"include_retired": "true"})).json()
        for headers in (road.seller.headers, road.carrier_headers):
            got = await client.get(f"/v1/disputes/{dispute_id}/bundle", headers=headers)
            assert verify_bundle(got.content, trusted_jwks=keys, now=now()).ok
        for path, params in (
            (f"/v1/disputes/{dispute_id}/bundle", {}),
            ("/v1/events/bundle", {"subject": f"delivery:{road.id}"}),
        ):
            refused = await client.get(path, headers=road.stranger.headers, params=params)
            assert refused.status_code == 404


async def _entries(database: Database, subject: str) -> list[dict[str, Any]]:
    async with database.session() as session:
        return [e.model_dump() for e in await eventlog.entries_of(session, subject)]


def _forged(subject: str, seq: int, template: dict[str, Any], prev_hash: str) -> Statement:
    """An entry computed correctly but signed with a key that is not the platform's."""
    payload = '{"receipt":"forged"}'
    content = EntryContent(
        subject=subject,
        kind=template["kind"],
        payload=payload,
        audience=tuple(template["audience"]),
        actor=template["actor"],
        recorded_at=template["recorded_at"].isoformat(),
    )
    digest = content_hash(prev_hash=prev_hash, seq=seq, content=content)
    forger = KeyRing(active=generate_private_key())
    statement = text(
        "INSERT INTO event_log (subject, seq, kind, payload, audience, actor, recorded_at,"
        " prev_hash, hash, kid, signature) VALUES (:s, :seq, :k, :p, :a, :actor, :t, :prev,"
        " :h, :kid, :sig)"
    ).bindparams(bindparam("t", type_=UTCDateTime()))
    return statement, {
        "s": subject,
        "seq": seq,
        "k": template["kind"],
        "p": payload,
        "a": json.dumps(template["audience"]),
        "actor": template["actor"],
        "t": template["recorded_at"],
        "prev": prev_hash,
        "h": digest,
        "kid": template["kid"],
        "sig": encode_signature(forger.active.sign(signing_input(digest))),
    }


_EDIT = "UPDATE event_log SET payload = :p WHERE subject = :s AND seq = :n"
_DELETE = "DELETE FROM event_log WHERE subject = :s AND seq = :n"
_MAKE_ROOM = "UPDATE event_log SET seq = seq + 1000 WHERE subject = :s AND seq >= :n"
_CLOSE_UP = "UPDATE event_log SET seq = seq - 999 WHERE subject = :s AND seq > 1000"
_MOVE = "UPDATE event_log SET seq = :to WHERE subject = :s AND seq = :n"


def _tampering(
    how: str, subject: str, seq: int, entries: Sequence[dict[str, Any]]
) -> list[Statement]:
    """What an operator with the guards lifted runs to edit, delete, insert or reorder."""
    at = {"s": subject, "n": seq}
    if how == "edit":
        payload = entries[seq - 1]["payload"].replace(
            '"received_quantity":', '"received_quantity":1'
        )
        return [(text(_EDIT), {**at, "p": payload})]
    if how == "delete":
        return [(text(_DELETE), at)]
    if how == "insert":
        return [
            (text(_MAKE_ROOM), at),
            (text(_CLOSE_UP), {"s": subject}),
            _forged(subject, seq, entries[seq - 1], entries[seq - 2]["hash"]),
        ]
    assert how == "reorder"
    return [
        (text(_MOVE), {**at, "to": -1}),
        (text(_MOVE), {"s": subject, "n": seq + 1, "to": seq}),
        (text(_MOVE), {"s": subject, "n": -1, "to": seq + 1}),
    ]


class TestTamperedDeliveryLog:
    @pytest.mark.parametrize(
        ("how", "problem"),
        [
            ("edit", "modified"),
            ("delete", "deleted"),
            ("insert", "inserted"),
            ("reorder", "reordered"),
        ],
    )
    async def test_verification_names_the_entry_touched(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        how: str,
        problem: str,
    ) -> None:
        road, _, _ = await disputed(client, database, clock)
        subject = f"delivery:{road.id}"
        verify = {"subject": subject}
        intact = await client.get("/v1/events/verify", headers=road.buyer.headers, params=verify)
        assert intact.json()["ok"] is True
        entries = await _entries(database, subject)
        seq = next(e["seq"] for e in entries if e["kind"] == "receipt.recorded")
        async with database.transaction() as session:
            connection = await session.connection()
            async with guards_lifted(connection):
                for statement, params in _tampering(how, subject, seq, entries):
                    await connection.execute(statement, params)
        report = await client.get("/v1/events/verify", headers=road.buyer.headers, params=verify)
        body = report.json()
        assert body["ok"] is False
        assert (body["finding"]["seq"], body["finding"]["problem"]) == (seq, problem)
        # The bundle made now carries the broken chain, and its offline check says so.
        keys = (await client.get("/v1/keys", params={"include_retired": "true"})).json()
        bundle = await client.get("/v1/events/bundle", headers=road.buyer.headers, params=verify)
        check = verify_bundle(bundle.content, trusted_jwks=keys, now=now())
        assert not check.ok
        assert check.chain is not None
        assert check.chain.finding is not None
        assert check.chain.finding.seq == seq
