"""What the app holds for its lifetime: settings, database, bus, token cache, split solver."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.tokens import TokenCache
from api.limits import RateLimiter
from core.bus import Bus
from core.database import Database
from core.settings import Settings
from dispatch.deliveries.solver import Solver
from tracking.runtime import TrackingRuntime


@dataclass
class Runtime:
    """The long-lived parts one API process shares between requests."""

    settings: Settings
    database: Database
    bus: Bus
    tokens: TokenCache
    login_limiter: RateLimiter
    tracking: TrackingRuntime
    ingest_limiter: RateLimiter
    solver: Solver | None = None
    extras: dict[str, Any] = field(default_factory=dict)
