"""Settings from the environment (prefix ``HAULPOINT_``, ``__`` between groups) and ``.env``."""

from __future__ import annotations

import hmac
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
    login_attempts_per_min: float = Field(default=10, gt=0)
    login_burst: int = Field(default=10, ge=1)


class LimitSettings(BaseModel):
    """How big a request may be."""

    max_body_bytes: int = Field(default=1 << 20, ge=1024)


class SigningSettings(BaseModel):
    """The platform's Ed25519 signing key: from the environment, a key file, or (outside
    production) a development key generated in the data directory.

    Keep the key out of the database and its backups: whoever holds both can rewrite the
    event log and sign the rewrite.
    """

    key: SecretStr | None = None
    key_file: Path | None = None
    retired_keys: str | None = None
    dev_key_file: Path | None = None

    @property
    def configured(self) -> bool:
        """Whether a real key (not the development key) was given."""
        return bool(self.key and self.key.get_secret_value().strip()) or self.key_file is not None


class FilesSettings(BaseModel):
    """Evidence uploads: where they are kept and what is accepted."""

    directory: Path | None = None
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    allowed_media_types: tuple[str, ...] = (
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/heic",
        "image/heif",
        "application/pdf",
    )
    # An S3-compatible bucket instead of the directory (needs the s3 extra). Credentials are
    # boto3's usual ones (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, a role).
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_prefix: str = ""


class MarketSettings(BaseModel):
    """The load market's clock: how often a server process fires passed deadlines."""

    sweep_interval_s: float = Field(default=5.0, gt=0)


class DeliverySettings(BaseModel):
    """The split solver's worker processes and how long one solve may take."""

    solver_processes: int = Field(default=2, ge=1, le=64)
    solve_time_limit_s: float = Field(default=10.0, gt=0, le=120)
    # CP-SAT search workers per solve. Its portfolio needs several even on two cores: with
    # one, 500 t over 1,200 mixed trucks ran out its 10 s; with eight it closed in 0.35 s.
    solver_threads: int = Field(default=8, ge=1, le=16)


class TrackingSettings(BaseModel):
    """Ping ingest, positions and live streams."""

    public_url: str | None = None
    """The base URL devices reach the API at (for setup instructions); else the request's."""
    device_cache_s: float = Field(default=600.0, ge=0)
    """How long a process trusts a checked device credential. Revocations and rotations reach
    every process over the bus at once; this is the backstop for a message the bus lost."""
    ingest_rate_per_s: float = Field(default=10.0, gt=0)
    ingest_burst: int = Field(default=60, ge=1)
    group_commit_linger_ms: float = Field(default=2.0, ge=0)
    """How long the writer waits for more pings after the first before it commits."""
    group_commit_max_rows: int = Field(default=5000, ge=1)
    group_commits_in_flight: int = Field(default=2, ge=1)
    """Group commits a process may have open at once (each on its own database connection;
    SQLite serializes writers, so more than one buys nothing there)."""
    max_pending_rows: int = Field(default=200_000, ge=1)
    """Pings waiting for a commit beyond which ingest answers 503 instead of queueing more."""
    retention_days: int = Field(default=365, ge=1)
    live_tick_ms: float = Field(default=50.0, gt=0)
    live_heartbeat_s: float = Field(default=15.0, gt=0)
    live_connections_per_token: int = Field(default=5, ge=1)
    noop_endpoint: bool = False
    """Benchmarks only: expose an ingest endpoint that reads the body and stores nothing."""


class PassSettings(BaseModel):
    """Pickup passes: how far a pass reaches past its pickup day, the longest a pass may live,
    how long before its day one may be issued, and the clock skew gates are allowed.

    A pass is valid over the plant's calendar day of the pickup (25 hours on the day clocks go
    back) with ``day_margin_s`` on either side, so ``max_lifetime_s`` must cover that. A key
    taken out of service stays published for ``key_publish_s``: a pass signed just before
    the rotation, as far ahead of its day as allowed, expires first.
    """

    day_margin_s: int = Field(default=3 * 3600, ge=0, le=12 * 3600)
    max_lifetime_s: int = Field(default=32 * 3600, ge=3600, le=72 * 3600)
    issue_ahead_s: int = Field(default=7 * 24 * 3600, ge=0, le=30 * 24 * 3600)
    leeway_s: int = Field(default=120, ge=0, le=900)

    @model_validator(mode="after")
    def _covers_a_day(self) -> PassSettings:
        longest_day_s = 25 * 3600
        if self.max_lifetime_s < longest_day_s + 2 * self.day_margin_s:
            raise ValueError("max_lifetime_s must cover 25 hours plus the margin on both sides")
        return self

    @property
    def key_publish_s(self) -> int:
        """How long a retired signing key must stay published: a pass signed with it the
        moment before may start up to ``issue_ahead_s`` later and then live its lifetime,
        plus the gates' leeway."""
        return self.issue_ahead_s + self.max_lifetime_s + self.leeway_s


class WebSettings(BaseModel):
    """The web pages: where the live map takes its background tiles from.

    ``tile_url`` is a Leaflet URL template (``{z}/{x}/{y}``, optionally ``{s}``); empty means
    no tiles, and the map still shows trucks, trails and sites on a plain background.
    """

    tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    tile_attribution: str = "&copy; OpenStreetMap contributors"
    tile_max_zoom: int = Field(default=19, ge=1, le=22)


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
    signing: SigningSettings = SigningSettings()
    files: FilesSettings = FilesSettings()
    limits: LimitSettings = LimitSettings()
    market: MarketSettings = MarketSettings()
    deliveries: DeliverySettings = DeliverySettings()
    tracking: TrackingSettings = TrackingSettings()
    passes: PassSettings = PassSettings()
    web: WebSettings = WebSettings()
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        default = hmac.compare_digest(
            self.security.secret_key.get_secret_value().encode(), DEFAULT_SECRET_KEY.encode()
        )
        if default and self.environment is Environment.PRODUCTION:
            raise ValueError("set HAULPOINT_SECURITY__SECRET_KEY: the default is for development")
        if self.environment is Environment.PRODUCTION and not self.signing.configured:
            raise ValueError(
                "set HAULPOINT_SIGNING__KEY or HAULPOINT_SIGNING__KEY_FILE: the generated"
                " development signing key is refused in production"
            )
        return self

    @property
    def dev_signing_key_file(self) -> Path:
        """Where the development signing key is kept when no real key is configured."""
        return self.signing.dev_key_file or self.data_dir / "keys" / "signing-dev.pem"

    @property
    def files_directory(self) -> Path:
        """Where uploaded evidence files are kept."""
        return self.files.directory or self.data_dir / "files"

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
