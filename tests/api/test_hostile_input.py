"""Hostile and broken input gets a clean 4xx and changes nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.helpers import PASSWORD, signup


class TestBodyLimits:
    async def test_a_ten_megabyte_body_is_413(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        response = await client.post(
            "/v1/sites",
            headers={**org.headers, "content-type": "application/json"},
            content=b"[" + b"1," * (5 << 20) + b"1]",
        )
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"

    async def test_a_lying_chunked_body_is_413(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 65536

        response = await client.post(
            "/v1/sites",
            headers={**org.headers, "content-type": "application/json"},
            content=chunks(),
        )
        assert response.status_code == 413


class TestBadJson:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"name": "X", "kind": "plant", "lat": NaN, "lon": 1}',
            b'{"name": "X", "kind": "plant", "lat": Infinity, "lon": 1}',
            b'{"name": "X", "kind": "plant", "lat": 1e400, "lon": 1}',
            b'{"name": "X", "kind": "plant", "lat": 123456789012345678901234567890, "lon": 1}',
            b'{"name": "' + b"x" * 5000 + b'", "kind": "plant", "lat": 1, "lon": 1}',
            b'{"name": "\xff\xfe", "kind": "plant", "lat": 1, "lon": 1}',
            b"[" * 100_000 + b"]" * 100_000,
            b'{"name": "X", "kind": "plant", "lat": "1", "lon": [1]}',
            b"",
            b"null",
        ],
        ids=[
            "nan",
            "infinity",
            "overflow",
            "huge-int",
            "long-string",
            "invalid-utf8",
            "deep-nesting",
            "wrong-types",
            "empty",
            "null",
        ],
    )
    async def test_is_a_4xx_and_stores_nothing(
        self, client: httpx.AsyncClient, body: bytes
    ) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        response = await client.post(
            "/v1/sites", headers={**org.headers, "content-type": "application/json"}, content=body
        )
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        listed = await client.get("/v1/sites", headers=org.headers)
        assert listed.json()["count"] == 0


class TestLoginRateLimit:
    async def test_password_guessing_is_slowed_down(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Acme Buyers", ["buyer"])
        statuses = [
            (
                await client.post(
                    "/v1/auth/login", json={"login": org.email, "password": f"guess-{n}"}
                )
            ).status_code
            for n in range(12)
        ]
        assert statuses[:10] == [401] * 10
        assert statuses[10:] == [429, 429]
        limited = await client.post(
            "/v1/auth/login", json={"login": org.email, "password": PASSWORD}
        )
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0


class TestSecretsStayOutOfLogs:
    async def test_no_token_or_password_in_any_log_line(
        self, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        org = await signup(client, "Acme Buyers", ["buyer"])
        await client.post("/v1/auth/login", json={"login": org.email, "password": PASSWORD})
        await client.get("/v1/me", headers=org.headers)
        await client.get("/v1/me", headers={"Authorization": "Bearer hps_wrong-token-value"})
        text = caplog.text
        assert org.token not in text
        assert org.token[4:20] not in text
        assert PASSWORD not in text
        assert "hps_wrong-token-value" not in text
