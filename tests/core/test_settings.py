"""Settings: environment overrides and the refusal of the default secret in production."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.settings import Environment, Settings
from core.signing import (
    KeyRing,
    SigningKeyError,
    dump_retired_keys,
    generate_private_key,
    key_ring_from_settings,
    private_key_pem,
)

PRODUCTION_SECRET = {"secret_key": "a-long-random-production-secret"}


class TestSettings:
    def test_defaults_to_a_sqlite_file_in_the_data_dir(self, tmp_path: object) -> None:
        settings = Settings(data_dir=tmp_path)  # type: ignore[arg-type]
        assert settings.database_url.startswith("sqlite+aiosqlite:///")
        assert settings.database_url.endswith("haulpoint.db")

    def test_nested_environment_variables(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("HAULPOINT_DATABASE__URL", "postgresql://u@h/db")
        monkeypatch.setenv("HAULPOINT_BUS__URL", "redis://127.0.0.1:6379/0")
        settings = Settings()
        assert settings.database_url == "postgresql://u@h/db"
        assert settings.bus.url == "redis://127.0.0.1:6379/0"

    def test_production_refuses_the_default_secret(self) -> None:
        with pytest.raises(ValidationError, match="SECRET_KEY"):
            Settings(environment=Environment.PRODUCTION)

    def test_production_accepts_a_real_secret_and_key(self, tmp_path: Path) -> None:
        key_file = tmp_path / "signing.pem"
        key_file.write_bytes(private_key_pem(generate_private_key()))
        settings = Settings(
            environment=Environment.PRODUCTION,
            security=PRODUCTION_SECRET,  # type: ignore[arg-type]
            signing={"key_file": key_file},  # type: ignore[arg-type]
        )
        assert settings.environment is Environment.PRODUCTION


class TestSigningKey:
    def test_production_refuses_the_development_key(self) -> None:
        with pytest.raises(ValidationError, match="SIGNING__KEY"):
            Settings(
                environment=Environment.PRODUCTION,
                security=PRODUCTION_SECRET,  # type: ignore[arg-type]
            )

    def test_the_key_comes_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        key = generate_private_key()
        monkeypatch.setenv("HAULPOINT_SIGNING__KEY", private_key_pem(key).decode())
        monkeypatch.setenv("HAULPOINT_ENVIRONMENT", "production")
        monkeypatch.setenv("HAULPOINT_SECURITY__SECRET_KEY", "a-long-random-production-secret")
        ring = key_ring_from_settings(Settings(data_dir=tmp_path))
        assert ring.active_kid == KeyRing(active=key).active_kid
        assert not (tmp_path / "keys").exists()

    def test_development_generates_a_private_key_in_the_data_dir_once(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path)
        first = key_ring_from_settings(settings)
        again = key_ring_from_settings(settings)
        assert first.active_kid == again.active_kid
        assert (settings.dev_signing_key_file.stat().st_mode & 0o077) == 0

    def test_retired_keys_stay_in_the_ring(self, tmp_path: Path) -> None:
        old = KeyRing(active=generate_private_key())
        rotated = old.rotate(
            generate_private_key(), now=datetime(2026, 1, 1, tzinfo=UTC), publish_for_s=60
        )
        settings = Settings(
            data_dir=tmp_path,
            signing={"retired_keys": dump_retired_keys(rotated.retired)},  # type: ignore[arg-type]
        )
        ring = key_ring_from_settings(settings)
        assert ring.known_key(old.active_kid) is not None

    def test_a_bad_key_is_refused(self, tmp_path: Path) -> None:
        settings = Settings(data_dir=tmp_path, signing={"key": "not a key"})  # type: ignore[arg-type]
        with pytest.raises(SigningKeyError):
            key_ring_from_settings(settings)
