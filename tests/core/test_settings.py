"""Settings: environment overrides and the refusal of the default secret in production."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.settings import Environment, Settings


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

    def test_production_accepts_a_real_secret(self) -> None:
        settings = Settings(
            environment=Environment.PRODUCTION,
            security={"secret_key": "a-long-random-production-secret"},  # type: ignore[arg-type]
        )
        assert settings.environment is Environment.PRODUCTION
