"""A plant gate with no network: it holds only the platform's JWKS and its plant's revocation
list, synced incrementally over the API while it could, and judges passes alone."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.clock import FrozenClock, now
from core.database import Database
from core.settings import Settings
from dispatch.authorizations.offline import (
    RevocationDelta,
    RevocationEntry,
    RevocationList,
    verify_offline,
)
from dispatch.authorizations.passes import PassCheck, PassReason
from tests.dispatch.authz_factory import Pickup, long_session_settings, prepared, token_of, verify

AT_GATE = timedelta(days=1, hours=2)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the clock moving to the pickup day."""
    return long_session_settings(tmp_path)


@contextmanager
def network_cut(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No socket can be opened inside the block."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the gate opened a network connection")

    with monkeypatch.context() as patched:
        patched.setattr(socket, "socket", refuse)
        patched.setattr(socket, "create_connection", refuse)
        patched.setattr(socket, "getaddrinfo", refuse)
        yield


async def sync(client: httpx.AsyncClient, pickup: Pickup, held: RevocationList) -> RevocationList:
    """Fetch the plant's revocations after what the device holds and merge them."""
    response = await client.get(
        "/v1/passes/revocations",
        headers=pickup.clerk,
        params={"plant_site_id": pickup.plant_id, "after": held.high_seq},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    delta = RevocationDelta(
        after=body["after"],
        up_to=body["up_to"],
        entries=tuple(
            RevocationEntry(
                seq=e["seq"],
                pass_id=e["pass_id"],
                expires_at=datetime.fromisoformat(e["expires_at"]),
            )
            for e in body["entries"]
        ),
    )
    return held.merge(delta, synced_at=now())


def judge(
    pickup: Pickup, token: str, jwks: dict[str, Any], held: RevocationList, index: int = 0
) -> PassCheck:
    """The gate app's offline check of delivery ``index``'s truck, from what it stored."""
    return verify_offline(
        token,
        jwks=jwks,
        revocations=RevocationList.from_json(held.to_json()),
        plate_seen=pickup.passes[index]["vehicle_plate"],
        plant_id=pickup.plant_id,
        now=now(),
    )


class TestOfflineGate:
    async def test_a_valid_pass_verifies_and_a_revoked_one_does_not(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        pickup = await prepared(client, database)
        tokens = [await token_of(client, pickup, 0), await token_of(client, pickup, 1)]
        jwks = (await client.get("/v1/keys")).json()
        held = await sync(client, pickup, RevocationList())
        assert held.high_seq == 0
        revoked = await client.post(
            f"/v1/passes/{pickup.passes[1]['id']}/revoke",
            headers=pickup.carrier,
            json={"reason": "driver replaced"},
        )
        assert revoked.status_code == 200
        held = await sync(client, pickup, held)
        assert held.high_seq == 1
        assert pickup.passes[1]["id"] in held
        clock.advance(AT_GATE)
        with network_cut(monkeypatch):
            valid = judge(pickup, tokens[0], jwks, held)
            refused = judge(pickup, tokens[1], jwks, held, 1)
        assert valid.valid
        assert valid.claims is not None
        assert valid.claims.pass_id == pickup.passes[0]["id"]
        assert refused.reason is PassReason.REVOKED

    async def test_a_pass_used_up_online_is_refused_offline_after_the_next_sync(
        self,
        client: httpx.AsyncClient,
        database: Database,
        clock: FrozenClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        jwks = (await client.get("/v1/keys")).json()
        clock.advance(AT_GATE)
        held = await sync(client, pickup, RevocationList())
        await verify(client, pickup, token, path="/v1/passes/present")
        used = await client.post(
            f"/v1/passes/{pickup.passes[0]['id']}/consume",
            headers=pickup.clerk,
            json={"loaded_quantity": 20_000},
        )
        assert used.status_code == 200
        with network_cut(monkeypatch):
            assert judge(pickup, token, jwks, held).valid
        held = await sync(client, pickup, held)
        with network_cut(monkeypatch):
            assert judge(pickup, token, jwks, held).reason is PassReason.REVOKED

    async def test_the_sync_serves_only_what_is_new_and_refuses_a_mark_past_its_end(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        for issued in pickup.passes:
            await client.post(
                f"/v1/passes/{issued['id']}/revoke", headers=pickup.carrier, json={"reason": "x"}
            )
        page = await client.get(
            "/v1/passes/revocations",
            headers=pickup.clerk,
            params={"plant_site_id": pickup.plant_id, "after": 1},
        )
        assert [e["seq"] for e in page.json()["entries"]] == [2]
        assert page.json()["up_to"] == 2
        ahead = await client.get(
            "/v1/passes/revocations",
            headers=pickup.clerk,
            params={"plant_site_id": pickup.plant_id, "after": 9},
        )
        assert ahead.status_code == 422
        assert ahead.json()["code"] == "after_beyond_head"
        # Once the passes have expired no gate needs them: the range is covered, empty.
        clock.advance(days=3)
        later = await client.get(
            "/v1/passes/revocations",
            headers=pickup.clerk,
            params={"plant_site_id": pickup.plant_id},
        )
        assert later.json()["entries"] == []
        assert later.json()["up_to"] == 2
        driver = await client.get(
            "/v1/passes/revocations",
            headers=pickup.drivers[0].headers,
            params={"plant_site_id": pickup.plant_id},
        )
        assert driver.status_code == 403
