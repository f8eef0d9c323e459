"""The demo world seeds and its printed tokens work."""

from __future__ import annotations

import httpx

from api.demo import seed
from core.database import Database
from tests.helpers import bearer


class TestDemoWorld:
    async def test_every_demo_token_answers_me(
        self, client: httpx.AsyncClient, database: Database
    ) -> None:
        accounts = await seed(database)
        organizations = {a.organization for a in accounts}
        assert {"Sweet Sugar Mill", "Acme Foods", "Rapid Haulage", "Longroad Logistics"} <= (
            organizations
        )
        for account in accounts:
            me = await client.get("/v1/me", headers=bearer(account.token))
            assert me.status_code == 200, account
            assert me.json()["role"] == account.role
        mill_owner = next(a for a in accounts if a.organization == "Sweet Sugar Mill")
        sites = await client.get("/v1/sites", headers=bearer(mill_owner.token))
        assert [s["kind"] for s in sites.json()["data"]] == ["plant"]
