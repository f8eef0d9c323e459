"""The passes' clock: passes never presented expire; passes whose delivery no longer expects
them are revoked and listed for the plant's gates."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from core.clock import FrozenClock, now
from core.database import Database
from core.settings import PassSettings, Settings
from dispatch.authorizations.sweep import PassSweep, sweep_passes
from tests.dispatch.authz_factory import (
    events_of,
    long_session_settings,
    prepared,
    token_of,
    verify,
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the clock moving past the pickup day."""
    return long_session_settings(tmp_path)


async def run_sweep(database: Database) -> PassSweep:
    async with database.transaction() as session:
        return await sweep_passes(session, policy=PassSettings())


class TestExpiry:
    async def test_a_pass_never_presented_expires_and_a_presented_one_does_not(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        clock.advance(timedelta(days=1, hours=2))
        await verify(client, pickup, token, path="/v1/passes/present")
        assert await run_sweep(database) == PassSweep()
        expiry = datetime.fromisoformat(pickup.passes[1]["expires_at"])
        clock.set(expiry + timedelta(seconds=60))
        # Within the gates' leeway nothing expires yet.
        assert await run_sweep(database) == PassSweep()
        clock.set(expiry + timedelta(minutes=5))
        assert await run_sweep(database) == PassSweep(expired=1)
        assert await run_sweep(database) == PassSweep()
        states = {
            p["id"]: p["state"]
            for p in (await client.get("/v1/passes", headers=pickup.carrier)).json()["data"]
        }
        assert states == {pickup.passes[0]["id"]: "presented", pickup.passes[1]["id"]: "expired"}
        events = await events_of(
            client, pickup.buyer, f"delivery:{pickup.passes[1]['delivery_id']}"
        )
        assert events[-1]["kind"] == "pass.expired"
        assert events[-1]["actor"] == "system:passes"


class TestOrphans:
    async def test_a_cancelled_delivery_s_pass_is_refused_at_once_and_listed_by_the_sweep(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        delivery = pickup.deliveries[0]
        current = await client.get(f"/v1/deliveries/{delivery['id']}", headers=pickup.carrier)
        cancelled = await client.post(
            f"/v1/deliveries/{delivery['id']}/cancel",
            headers=pickup.carrier,
            json={"version": current.json()["version"], "reason": "buyer changed plans"},
        )
        assert cancelled.status_code == 200, cancelled.text
        clock.advance(timedelta(days=1, hours=2))
        answer = await verify(client, pickup, token)
        assert answer.json()["reason"] == "revoked"
        assert "cancelled" in answer.json()["detail"]
        assert await run_sweep(database) == PassSweep(revoked=1)
        listed = await client.get(
            "/v1/passes/revocations",
            headers=pickup.clerk,
            params={"plant_site_id": pickup.plant_id},
        )
        assert [e["pass_id"] for e in listed.json()["entries"]] == [pickup.passes[0]["id"]]
        assert now() < datetime.fromisoformat(listed.json()["entries"][0]["expires_at"])
