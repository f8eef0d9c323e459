"""Limits and secrets beyond tests/api/test_hostile_input.py: the per-device rate limit and
the bad-input corpus on ingest, tokens with enough entropy, secrets compared in constant time
and stored only hashed, argon2 for passwords, and no secret in any log line."""

from __future__ import annotations

import ast
import logging
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from core.database import Database
from core.settings import Environment, SecuritySettings, Settings, TrackingSettings
from migrations.metadata import metadata
from tests.helpers import PASSWORD, add_member, bearer, register_device, signup

ROOT = Path(__file__).resolve().parents[2]
SECRET_WORDS = ("token", "secret", "password", "signature")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A small ingest allowance per device, so the limit shows in a few requests."""
    return Settings(
        environment=Environment.TEST,
        data_dir=tmp_path,
        security=SecuritySettings(token_cache_s=0),
        tracking=TrackingSettings(ingest_rate_per_s=1.0, ingest_burst=5),
    )


def _batch(n: int) -> dict[str, object]:
    moment = datetime.now(UTC) - timedelta(seconds=60 - n)
    return {"pings": [{"id": f"p{n}", "recorded_at": moment.isoformat(), "lat": 52.5, "lon": 10.1}]}


class TestIngestRateLimit:
    async def test_a_device_token_past_its_burst_gets_429_and_others_do_not(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        noisy = await register_device(client, carrier)
        quiet = await register_device(client, carrier)
        statuses = [
            (
                await client.post("/v1/ingest/pings", headers=noisy.headers, json=_batch(n))
            ).status_code
            for n in range(8)
        ]
        assert statuses[:5] == [200] * 5
        assert 429 in statuses[5:]
        limited = await client.post("/v1/ingest/pings", headers=noisy.headers, json=_batch(9))
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert limited.headers["content-type"] == "application/problem+json"
        other = await client.post("/v1/ingest/pings", headers=quiet.headers, json=_batch(0))
        assert other.status_code == 200


class TestIngestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"pings": [{"id": "a", "recorded_at": "2026-01-01T00:00:00Z", "lat": NaN, '
            b'"lon": 1}]}',
            b'{"pings": [{"id": "a", "recorded_at": "2026-01-01T00:00:00Z", "lat": 1e400, '
            b'"lon": 1}]}',
            b'{"pings": [{"id": "\xff\xfe", "recorded_at": "x", "lat": 1, "lon": 1}]}',
            b"[" * 100_000 + b"]" * 100_000,
            b'{"pings": "' + b"x" * 500_000 + b'"}',
            b'{"pings": [' + b"1," * 100_000 + b"1]}",
            b"",
        ],
        ids=["nan", "overflow", "invalid-utf8", "deep", "long-string", "many-junk", "empty"],
    )
    async def test_is_a_clean_4xx_or_a_refusal_and_stores_nothing(
        self, client: httpx.AsyncClient, database: Database, body: bytes
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        response = await client.post(
            "/v1/ingest/pings",
            headers={**device.headers, "content-type": "application/json"},
            content=body,
        )
        if response.status_code == 200:
            assert response.json()["accepted"] == 0
        else:
            assert 400 <= response.status_code < 500, response.text
            assert response.headers["content-type"] == "application/problem+json"
        async with database.engine.connect() as connection:
            stored = await connection.execute(text("SELECT count(*) FROM positions"))
            assert stored.scalar_one() == 0

    async def test_a_ten_megabyte_ping_batch_is_413(self, client: httpx.AsyncClient) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        device = await register_device(client, carrier)
        response = await client.post(
            "/v1/ingest/pings",
            headers={**device.headers, "content-type": "application/json"},
            content=b'{"pings": [' + b"{}," * ((10 << 20) // 3) + b"{}]}",
        )
        assert response.status_code == 413
        assert response.headers["content-type"] == "application/problem+json"


class TestTokens:
    async def test_tokens_carry_at_least_192_random_bits_and_never_repeat(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await signup(client, "Acme Foods", ["buyer", "carrier"])
        issued = [org.token]
        for _ in range(8):
            login = {"login": org.email, "password": PASSWORD}
            reply = await client.post("/v1/auth/login", json=login)
            issued += [reply.json()["access_token"]]
        key = await client.post(
            "/v1/auth/api-keys",
            headers=org.headers,
            json={"name": "erp", "scopes": ["market:read"]},
        )
        assert key.status_code == 201, key.text
        issued.append(key.json()["access_token"])
        issued.append((await register_device(client, org)).token)
        assert len(set(issued)) == len(issued)
        for token in issued:
            secret = token.split("_", 1)[1]
            # URL-safe base64: six bits a character.
            assert len(secret) * 6 >= 192, token[:6]
            assert _shannon_bits_per_char("".join(t.split("_", 1)[1] for t in issued)) > 5.5

    async def test_secrets_are_stored_hashed_and_passwords_with_argon2(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        org = await signup(client, "Acme Foods", ["buyer", "carrier"])
        _, member_token = await add_member(client, org, "dispatcher")
        device = await register_device(client, org)
        secrets_given = [org.token, member_token, device.token, PASSWORD]
        dump = await _dump_tables(database)
        for secret in secrets_given:
            assert secret not in dump, f"a secret stored in clear: {secret[:6]}…"
        assert "$argon2id$" in dump


class TestConstantTime:
    def test_no_secret_is_compared_with_equals(self) -> None:
        """A secret compared with ``==`` leaks its prefix through timing: hash it and look
        the hash up, or use ``hmac.compare_digest``."""
        found = []
        for package in ("accounts", "tracking", "dispatch", "api", "core"):
            for path in (ROOT / package).rglob("*.py"):
                tree = ast.parse(path.read_text(), filename=str(path))
                for node in ast.walk(tree):
                    if isinstance(node, ast.Compare) and any(
                        isinstance(op, ast.Eq | ast.NotEq) for op in node.ops
                    ):
                        names = [_name(side) for side in (node.left, *node.comparators)]
                        if any(_secret(name) for name in names):
                            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {names}")
        assert found == [], "\n".join(found)


class TestLogs:
    async def test_no_secret_in_any_log_line_through_a_working_day(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        org = await signup(client, "Rapid Haulage", ["carrier"])
        _, member_token = await add_member(client, org, "dispatcher")
        key = await client.post(
            "/v1/auth/api-keys",
            headers=org.headers,
            json={"name": "erp", "scopes": ["market:read"]},
        )
        device = await register_device(client, org)
        await client.post("/v1/ingest/pings", headers=device.headers, json=_batch(1))
        await client.post("/v1/ingest/pings", headers=bearer("hpd_forged-device-token"), json={})
        await client.get("/v1/me", headers=bearer(member_token))
        await client.get("/v1/me", headers=bearer(key.json()["access_token"]))
        await client.get(f"/v1/me?access_token={member_token}")
        await client.post("/v1/auth/login", json={"login": org.email, "password": PASSWORD + "x"})
        rotated = await client.post(f"/v1/devices/{device.id}/rotate", headers=org.headers)
        secrets_used = [org.token, member_token, key.json()["access_token"], device.token, PASSWORD]
        if rotated.status_code == 200:
            secrets_used.append(rotated.json()["credentials"]["token"])
        # The test's own HTTP client logs the URLs it calls: that is the caller's log, not ours.
        ours = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
        logged = "\n".join(caplog.handler.format(r) for r in ours)
        assert len(ours) > 5, "nothing was logged: the check would be empty"
        assert "haulpoint.access" in logged
        for secret in [*secrets_used, "hpd_forged-device-token"]:
            assert secret not in logged, f"{secret[:6]}… in the log"
            assert secret[4:24] not in logged


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    return ""


def _secret(name: str) -> bool:
    lowered = name.lower()
    # A hash is looked up, not compared byte by byte against the secret: that is the point.
    if lowered.endswith(("_id", "_kind", "_prefix", "_type", "_s", "_at", "_hash", "_hashes")):
        return False
    if "kind" in lowered:
        return False
    return any(word in lowered for word in SECRET_WORDS)


def _shannon_bits_per_char(textual: str) -> float:
    counts: dict[str, int] = {}
    for char in textual:
        counts[char] = counts.get(char, 0) + 1
    total = len(textual)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


async def _dump_tables(database: Database) -> str:
    parts = []
    async with database.engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = await connection.execute(table.select())
            parts += [repr(tuple(row)) for row in rows]
    return "\n".join(parts)
