"""Authentication: tokens are required, and expired or revoked ones are refused."""

from __future__ import annotations

from datetime import timedelta

import httpx

from core.clock import FrozenClock
from tests.helpers import PASSWORD, add_member, bearer, signup


class TestTokensAreRequired:
    async def test_no_token_is_401_problem(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/me")
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthenticated"

    async def test_unknown_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/me", headers=bearer("hps_not-a-real-token"))
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"

    async def test_signup_token_answers_me(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller", "plant_operator"])
        response = await client.get("/v1/me", headers=org.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["organization"]["id"] == str(org.id)
        assert body["role"] == "owner"
        assert body["member"]["email"] == org.email


class TestLogin:
    async def test_login_by_email_any_case(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Acme Buyers", ["buyer"])
        response = await client.post(
            "/v1/auth/login", json={"login": org.email.upper(), "password": PASSWORD}
        )
        assert response.status_code == 200
        assert response.json()["token_type"] == "bearer"

    async def test_login_by_phone(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        created = await client.post(
            "/v1/members",
            headers=org.headers,
            json={
                "name": "Li Wei",
                "phone": "+86 138-0013-8000",
                "password": PASSWORD,
                "role": "driver",
            },
        )
        assert created.status_code == 201, created.text
        response = await client.post(
            "/v1/auth/login", json={"login": "+8613800138000", "password": PASSWORD}
        )
        assert response.status_code == 200
        assert response.json()["member"]["role"] == "driver"

    async def test_wrong_password_is_401_and_says_nothing_more(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await signup(client, "Acme Buyers", ["buyer"])
        wrong = await client.post(
            "/v1/auth/login", json={"login": org.email, "password": "not the password"}
        )
        unknown = await client.post(
            "/v1/auth/login", json={"login": "nobody@example.com", "password": "whatever"}
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json()["detail"] == unknown.json()["detail"]


class TestExpiryAndRevocation:
    async def test_expired_token_is_401(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        org = await signup(client, "Acme Buyers", ["buyer"])
        assert (await client.get("/v1/me", headers=org.headers)).status_code == 200
        clock.advance(timedelta(hours=12, seconds=1))
        response = await client.get("/v1/me", headers=org.headers)
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"

    async def test_logout_revokes_the_token(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Acme Buyers", ["buyer"])
        assert (await client.post("/v1/auth/logout", headers=org.headers)).status_code == 204
        assert (await client.get("/v1/me", headers=org.headers)).status_code == 401

    async def test_owner_revokes_a_members_token(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        _, token = await add_member(client, org, "dispatcher")
        listed = await client.get("/v1/auth/tokens", headers=org.headers)
        theirs = [t for t in listed.json()["data"] if t["role"] == "dispatcher"]
        assert len(theirs) == 1
        revoked = await client.delete(f"/v1/auth/tokens/{theirs[0]['id']}", headers=org.headers)
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 401

    async def test_tokens_list_never_shows_the_token(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Acme Buyers", ["buyer"])
        listed = await client.get("/v1/auth/tokens", headers=org.headers)
        assert org.token not in listed.text
        assert listed.json()["data"][0]["prefix"] == org.token[:12]


class TestApiKeys:
    async def test_api_key_carries_its_scopes(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        created = await client.post(
            "/v1/auth/api-keys",
            headers=org.headers,
            json={"name": "ERP", "scopes": ["market:write", "deliveries:read"]},
        )
        assert created.status_code == 201, created.text
        key = created.json()["access_token"]
        assert key.startswith("hpk_")
        me = await client.get("/v1/me", headers=bearer(key))
        assert me.status_code == 200
        assert me.json()["scopes"] == ["deliveries:read", "market:write"]
        assert me.json()["token_kind"] == "api_key"
        assert me.json()["member"] is None

    async def test_api_key_cannot_be_an_owner(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        created = await client.post(
            "/v1/auth/api-keys",
            headers=org.headers,
            json={"name": "ERP", "scopes": ["market:write"], "role": "owner"},
        )
        assert created.status_code == 422
        assert created.json()["code"] == "api_key_role"

    async def test_dispatcher_cannot_issue_api_keys(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        _, token = await add_member(client, org, "dispatcher")
        created = await client.post(
            "/v1/auth/api-keys",
            headers=bearer(token),
            json={"name": "ERP", "scopes": ["market:write"]},
        )
        assert created.status_code == 403
        assert created.json()["code"] == "role_required"
