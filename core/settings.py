"""Settings from the environment (prefix ``HAULPOINT_``, ``__`` between groups) and ``.env``."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105 - refused outside development


class Environment(StrEnum):
    """Where the process runs; only development accepts the default secret key."""

    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class DatabaseSettings(BaseModel):
    """The system of record: a SQLite file by default, PostgreSQL by URL."""

    url: str | None = None
    pool_size: int = Field(default=10, ge=1)
    max_overflow: int = Field(default=10, ge=0)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    lock_retries: int = Field(default=5, ge=0)
    echo: bool = False


class BusSettings(BaseModel):
    """Where committed events fan out: ``memory://`` in one process, ``redis://`` across many."""

    url: str = "memory://"


class SecuritySettings(BaseModel):
    """Secrets and token lifetimes."""

    secret_key: SecretStr = SecretStr(DEFAULT_SECRET_KEY)
    session_ttl_s: int = Field(default=12 * 3600, ge=60)
    api_key_ttl_s: int = Field(default=365 * 24 * 3600, ge=60)
    token_cache_s: float = Field(default=5.0, ge=0)


class MarketSettings(BaseModel):
    """The load market's clock: how often a server process fires passed deadlines."""

    sweep_interval_s: float = Field(default=5.0, gt=0)


class Settings(BaseSettings):
    """All of Haulpoint's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="HAULPOINT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Environment = Environment.DEVELOPMENT
    data_dir: Path = Path("data")
    database: DatabaseSettings = DatabaseSettings()
    bus: BusSettings = BusSettings()
    security: SecuritySettings = SecuritySettings()
    market: MarketSettings = MarketSettings()
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        default = self.security.secret_key.get_secret_value() == DEFAULT_SECRET_KEY
        if default and self.environment is Environment.PRODUCTION:
            raise ValueError("set HAULPOINT_SECURITY__SECRET_KEY: the default is for development")
        return self

    @property
    def database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data directory."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'haulpoint.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
