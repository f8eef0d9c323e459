"""Child accounts, roles, organization boundaries, reassignment and the owner's report."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx

from core.clock import FrozenClock
from tests.helpers import PASSWORD, add_member, bearer, login, signup


class TestRoles:
    async def test_dispatcher_cannot_create_accounts(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        _, token = await add_member(client, org, "dispatcher")
        response = await client.post(
            "/v1/members",
            headers=bearer(token),
            json={"name": "X", "email": "x@example.com", "password": PASSWORD, "role": "driver"},
        )
        assert response.status_code == 403
        assert response.json()["code"] == "role_required"
        listed = await client.get("/v1/members", headers=org.headers)
        assert "x@example.com" not in listed.text

    async def test_admin_cannot_create_an_owner(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        _, token = await add_member(client, org, "admin")
        response = await client.post(
            "/v1/members",
            headers=bearer(token),
            json={"name": "X", "email": "x@example.com", "password": PASSWORD, "role": "owner"},
        )
        assert response.status_code == 403

    async def test_the_last_owner_cannot_be_deactivated(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        response = await client.post(
            f"/v1/members/{org.owner_member_id}/deactivate", headers=org.headers
        )
        assert response.status_code == 422
        assert response.json()["code"] == "last_owner"


class TestOrganizationBoundary:
    async def test_another_organizations_member_is_404(self, client: httpx.AsyncClient) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        buyer = await signup(client, "Acme Buyers", ["buyer"])
        member_id, _ = await add_member(client, carrier, "dispatcher")
        response = await client.get(f"/v1/members/{member_id}", headers=buyer.headers)
        assert response.status_code == 404
        assert "dispatcher" not in response.text
        assert "email" not in response.json()
        patched = await client.patch(
            f"/v1/members/{member_id}", headers=buyer.headers, json={"version": 1, "role": "viewer"}
        )
        assert patched.status_code == 404

    async def test_members_list_shows_only_own_organization(
        self, client: httpx.AsyncClient
    ) -> None:
        carrier = await signup(client, "Rapid Haulage", ["carrier"])
        buyer = await signup(client, "Acme Buyers", ["buyer"])
        listed = await client.get("/v1/members", headers=buyer.headers)
        assert listed.json()["count"] == 1
        assert carrier.email not in listed.text


class TestValidation:
    async def test_malformed_body_is_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        response = await client.post(
            "/v1/members",
            headers=org.headers,
            json={"name": "X", "email": "not-an-email", "password": PASSWORD, "role": "pilot"},
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "validation_failed"
        assert {e["field"] for e in body["errors"]} == {"email", "role"}

    async def test_unknown_field_is_refused(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        response = await client.patch(
            "/v1/organization", headers=org.headers, json={"version": 1, "nmae": "typo"}
        )
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "nmae"

    async def test_invalid_json_is_422(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        response = await client.post(
            "/v1/members",
            headers={**org.headers, "content-type": "application/json"},
            content=b"{not json",
        )
        assert response.status_code == 422

    async def test_stale_version_is_409(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        first = await client.patch(
            "/v1/organization",
            headers=org.headers,
            json={"version": 1, "name": "Rapid Haulage Ltd"},
        )
        assert first.status_code == 200
        assert first.json()["version"] == 2
        stale = await client.patch(
            "/v1/organization", headers=org.headers, json={"version": 1, "name": "Other"}
        )
        assert stale.status_code == 409
        assert stale.json()["code"] == "stale_version"
        current = await client.get("/v1/organization", headers=org.headers)
        assert current.json()["name"] == "Rapid Haulage Ltd"

    async def test_duplicate_email_is_409_and_creates_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        response = await client.post(
            "/v1/members",
            headers=org.headers,
            json={"name": "X", "email": org.email, "password": PASSWORD, "role": "driver"},
        )
        assert response.status_code == 409
        assert response.json()["code"] == "login_taken"
        listed = await client.get("/v1/members", headers=org.headers)
        assert listed.json()["count"] == 1


class TestDeactivationKeepsRecords:
    async def test_deactivated_members_records_remain_and_move(
        self, client: httpx.AsyncClient
    ) -> None:
        seller = await signup(client, "Sweet Sugar Mill", ["seller"])
        buyer = await signup(client, "Acme Buyers", ["buyer"])
        sales_id, sales_token = await add_member(client, seller, "dispatcher", department="sales")
        successor_id, _ = await add_member(client, seller, "dispatcher", department="sales")
        created = await client.post(
            "/v1/partners",
            headers=bearer(sales_token),
            json={"partner_id": str(buyer.id), "relation": "customer"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["manager_id"] == sales_id

        left = await client.post(f"/v1/members/{sales_id}/deactivate", headers=seller.headers)
        assert left.status_code == 200
        assert left.json()["active"] is False
        assert (await client.get("/v1/me", headers=bearer(sales_token))).status_code == 401
        partners = await client.get("/v1/partners", headers=seller.headers)
        assert partners.json()["data"][0]["manager_id"] == sales_id

        moved = await client.post(
            f"/v1/members/{sales_id}/reassign",
            headers=seller.headers,
            json={"to_member_id": successor_id},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["moved"]["partnerships"] == 1
        partners = await client.get("/v1/partners", headers=seller.headers)
        assert partners.json()["data"][0]["manager_id"] == successor_id
        assert partners.json()["data"][0]["partner_name"] == "Acme Buyers"

    async def test_work_cannot_go_to_an_inactive_member(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        a, _ = await add_member(client, org, "dispatcher")
        b, _ = await add_member(client, org, "dispatcher")
        await client.post(f"/v1/members/{b}/deactivate", headers=org.headers)
        response = await client.post(
            f"/v1/members/{a}/reassign", headers=org.headers, json={"to_member_id": b}
        )
        assert response.status_code == 422
        assert response.json()["code"] == "member_inactive"


class TestActivityReport:
    async def test_owner_sees_child_accounts_actions_per_day(
        self, client: httpx.AsyncClient, clock: FrozenClock
    ) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        buyer = await signup(client, "Acme Buyers", ["buyer"])
        clerk_email = "clerk@example.com"
        clerk_id, clerk_token = await add_member(client, org, "clerk", email=clerk_email)
        await client.post(
            "/v1/partners",
            headers=bearer(clerk_token),
            json={"partner_id": str(buyer.id), "relation": "customer"},
        )
        clock.advance(timedelta(days=1))
        clerk_token = await login(client, clerk_email)
        owner_token = await login(client, org.email)
        await client.patch(
            "/v1/organization", headers=bearer(clerk_token), json={"version": 1, "name": "Nope"}
        )
        today = clock.now().date()
        report = await client.get(
            "/v1/activity/report",
            headers=bearer(owner_token),
            params={"start": str(today - timedelta(days=1)), "end": str(today)},
        )
        assert report.status_code == 200, report.text
        lines = {line["member_id"]: line for line in report.json()["members"]}
        clerk = lines[clerk_id]
        # Day one: login and a partner. Day two: login; the refused PATCH (403) is no action.
        assert clerk["actions_per_day"] == {str(today - timedelta(days=1)): 2, str(today): 1}
        assert clerk["total_actions"] == 3
        assert clerk["last_seen_at"] is not None
        owner = lines[str(org.owner_member_id)]
        assert owner["total_actions"] >= 2  # sign-up and creating the clerk

    async def test_activity_log_names_actor_action_and_target(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        member_id, _ = await add_member(client, org, "clerk")
        log = await client.get("/v1/activity", headers=org.headers)
        actions = [(a["action"], a["membership_id"]) for a in log.json()["data"]]
        assert ("create_member", str(org.owner_member_id)) in actions
        assert ("login", member_id) in actions

    async def test_child_account_sees_only_its_own_activity(
        self, client: httpx.AsyncClient
    ) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        member_id, token = await add_member(client, org, "clerk")
        own = await client.get("/v1/activity", headers=bearer(token))
        assert {a["membership_id"] for a in own.json()["data"]} == {member_id}
        other = await client.get(
            "/v1/activity", headers=bearer(token), params={"member_id": str(org.owner_member_id)}
        )
        assert other.status_code == 403

    async def test_report_is_for_managers_only(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Sweet Sugar Mill", ["seller"])
        _, token = await add_member(client, org, "viewer")
        today = date.today()
        response = await client.get(
            "/v1/activity/report",
            headers=bearer(token),
            params={"start": str(today), "end": str(today)},
        )
        assert response.status_code == 403


class TestIdempotency:
    async def test_retried_create_is_applied_once(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        body = {"name": "Driver", "email": "d@example.com", "password": PASSWORD, "role": "driver"}
        headers = {**org.headers, "Idempotency-Key": "create-driver-1"}
        first = await client.post("/v1/members", headers=headers, json=body)
        again = await client.post("/v1/members", headers=headers, json=body)
        assert first.status_code == again.status_code == 201
        assert again.headers["idempotent-replayed"] == "true"
        assert first.json() == again.json()
        listed = await client.get("/v1/members", headers=org.headers)
        assert listed.json()["count"] == 2

    async def test_same_key_with_another_body_is_refused(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        headers = {**org.headers, "Idempotency-Key": str(uuid.uuid4())}
        body = {"name": "Driver", "email": "d@example.com", "password": PASSWORD, "role": "driver"}
        assert (await client.post("/v1/members", headers=headers, json=body)).status_code == 201
        other = await client.post(
            "/v1/members", headers=headers, json={**body, "email": "e@example.com"}
        )
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"

    async def test_failed_request_does_not_burn_the_key(self, client: httpx.AsyncClient) -> None:
        org = await signup(client, "Rapid Haulage", ["carrier"])
        headers = {**org.headers, "Idempotency-Key": "k-1"}
        body = {"name": "Dup", "email": org.email, "password": PASSWORD, "role": "driver"}
        assert (await client.post("/v1/members", headers=headers, json=body)).status_code == 409
        fixed = {**body, "email": "fresh@example.com"}
        retry = await client.post(
            "/v1/members", headers={**org.headers, "Idempotency-Key": "k-2"}, json=fixed
        )
        assert retry.status_code == 201
        again = await client.post("/v1/members", headers=headers, json=body)
        assert again.status_code == 409
        assert "idempotent-replayed" not in again.headers


class TestSites:
    async def test_sites_belong_to_their_organization(self, client: httpx.AsyncClient) -> None:
        seller = await signup(client, "Sweet Sugar Mill", ["seller", "plant_operator"])
        buyer = await signup(client, "Acme Buyers", ["buyer"])
        created = await client.post(
            "/v1/sites",
            headers=seller.headers,
            json={
                "name": "Mill North",
                "kind": "plant",
                "lat": 52.52,
                "lon": 13.40,
                "timezone": "Europe/Berlin",
            },
        )
        assert created.status_code == 201, created.text
        site_id = created.json()["id"]
        assert (await client.get(f"/v1/sites/{site_id}", headers=seller.headers)).status_code == 200
        assert (await client.get(f"/v1/sites/{site_id}", headers=buyer.headers)).status_code == 404
        assert (await client.get("/v1/sites", headers=buyer.headers)).json()["count"] == 0

    async def test_bad_coordinates_and_zone_name_the_fields(
        self, client: httpx.AsyncClient
    ) -> None:
        seller = await signup(client, "Sweet Sugar Mill", ["seller"])
        response = await client.post(
            "/v1/sites",
            headers=seller.headers,
            json={"name": "X", "kind": "plant", "lat": 95, "lon": 13.4, "timezone": "Mars/Olympus"},
        )
        assert response.status_code == 422
        assert {e["field"] for e in response.json()["errors"]} == {"lat", "timezone"}
