"""``haulpoint verify``: a bundle checked offline, with or without a trusted key set."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from api.cli import main
from core import eventlog
from core.bundle_builder import build_bundle
from core.database import Database
from core.signing import KeyRing, generate_private_key

ORG = uuid.UUID("01900000-0000-7000-8000-0000000000aa")
SUBJECT = "delivery:cli"


@pytest.fixture
async def bundle_file(database: Database, tmp_path: Path) -> Path:
    """A bundle of a three-entry chain, written to a file."""
    assert database.key_ring is not None
    async with database.transaction() as session:
        for n in range(3):
            await eventlog.append(
                session, subject=SUBJECT, kind="step", payload={"n": n}, audience=[ORG]
            )
    async with database.session() as session:
        data = await build_bundle(
            session, subject=SUBJECT, organization_id=ORG, key_ring=database.key_ring
        )
    path = tmp_path / "bundle.zip"
    path.write_bytes(data)
    return path


@pytest.fixture
def platform_keys(database: Database, tmp_path: Path) -> Path:
    """The platform's JWKS, as someone saved it from GET /v1/keys."""
    assert database.key_ring is not None
    path = tmp_path / "platform-keys.json"
    path.write_text(json.dumps(database.key_ring.archive_jwks()))
    return path


class TestVerifyCommand:
    def test_a_genuine_bundle_with_the_platform_keys(
        self, bundle_file: Path, platform_keys: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["verify", str(bundle_file), "--keys", str(platform_keys)]) == 0
        out = capsys.readouterr().out
        assert "result:  VALID" in out
        assert "trusted key set" in out

    def test_without_trusted_keys_it_says_what_it_proves(
        self, bundle_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["verify", str(bundle_file)]) == 0
        assert "self-consistent" in capsys.readouterr().out

    def test_one_changed_byte_fails(
        self, bundle_file: Path, platform_keys: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        data = bytearray(bundle_file.read_bytes())
        position = data.index(b'"payload"')
        data[position + 15] ^= 0x01
        bundle_file.write_bytes(bytes(data))
        assert main(["verify", str(bundle_file), "--keys", str(platform_keys), "--json"]) == 1
        result = json.loads(capsys.readouterr().out)
        assert result["ok"] is False
        # The zip's own CRC is the first thing to notice a flipped byte inside a file.
        assert any("chain.jsonl" in p for p in result["problems"])

    def test_another_key_set_fails(
        self, bundle_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        other = tmp_path / "other.json"
        other.write_text(json.dumps(KeyRing(active=generate_private_key()).archive_jwks()))
        assert main(["verify", str(bundle_file), "--keys", str(other)]) == 1
        assert "INVALID" in capsys.readouterr().out

    def test_unreadable_input(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["verify", str(tmp_path / "missing.zip")]) == 2
        assert "cannot read" in capsys.readouterr().err
