"""Rotating the signing key: passes signed with the old key keep verifying at the gate (and
offline, from the JWKS) until they expire; new passes carry the new key."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from api.cli import main
from core.clock import FrozenClock, now
from core.database import Database
from core.settings import PassSettings, Settings, SigningSettings
from core.signing import generate_private_key, key_ring_from_settings, parse_retired_keys
from dispatch.authorizations.keys import rotate_for_passes
from tests.dispatch.authz_factory import long_session_settings, prepared, token_of, verify


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Sessions that outlive the clock moving to the pickup day."""
    return long_session_settings(tmp_path)


class TestRotation:
    async def test_an_old_pass_verifies_until_it_expires_and_new_ones_use_the_new_key(
        self, client: httpx.AsyncClient, database: Database, clock: FrozenClock
    ) -> None:
        pickup = await prepared(client, database)
        token = await token_of(client, pickup)
        old_ring = database.key_ring
        assert old_ring is not None
        rotated = rotate_for_passes(
            old_ring, generate_private_key(), now=now(), policy=PassSettings()
        )
        expires_at = datetime.fromisoformat(pickup.passes[0]["expires_at"])
        assert rotated.retired[0].publish_until >= expires_at + timedelta(seconds=120)
        database.key_ring = rotated
        try:
            kids = {k["kid"] for k in (await client.get("/v1/keys")).json()["keys"]}
            assert kids == {old_ring.active_kid, rotated.active_kid}
            clock.advance(days=1, hours=2)
            assert (await verify(client, pickup, token)).json()["valid"] is True
            revoked = await client.post(
                f"/v1/passes/{pickup.passes[1]['id']}/revoke",
                headers=pickup.carrier,
                json={"reason": "new key"},
            )
            assert revoked.status_code == 200
            again = await client.post(
                "/v1/passes",
                headers=pickup.carrier,
                json={"delivery_id": pickup.passes[1]["delivery_id"]},
            )
            assert again.json()["kid"] == rotated.active_kid
            clock.set(rotated.retired[0].publish_until)
            kids = {k["kid"] for k in (await client.get("/v1/keys")).json()["keys"]}
            assert kids == {rotated.active_kid}
        finally:
            database.key_ring = old_ring


class TestRotateCommand:
    def test_the_command_prints_settings_that_keep_the_old_key_for_the_longest_pass(
        self,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("HAULPOINT_DATA_DIR", str(tmp_path))
        monkeypatch.setenv("HAULPOINT_PASSES__MAX_LIFETIME_S", str(40 * 3600))
        from core.settings import get_settings

        get_settings.cache_clear()
        try:
            before = key_ring_from_settings(get_settings())
            out = tmp_path / "next.pem"
            assert main(["keys", "rotate", "--out", str(out)]) == 0
            assert main(["keys", "rotate", "--out", str(out)]) == 1
        finally:
            get_settings.cache_clear()
        lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("#")]
        values = dict(line.split("=", 1) for line in lines)
        retired_text = values["HAULPOINT_SIGNING__RETIRED_KEYS"].strip("'")
        retired = parse_retired_keys(retired_text)
        assert [r.kid for r in retired] == [before.active_kid]
        window = (retired[0].publish_until - now()).total_seconds()
        expected = 7 * 86400 + 40 * 3600 + 120
        assert expected - 60 < window <= expected
        after = key_ring_from_settings(
            Settings(
                data_dir=tmp_path,
                signing=SigningSettings(
                    key_file=Path(values["HAULPOINT_SIGNING__KEY_FILE"]),
                    retired_keys=retired_text,
                ),
            )
        )
        assert after.active_kid != before.active_kid
        assert after.published_key(before.active_kid, now=now()) is not None
        assert json.loads(retired_text)[0]["x"]
