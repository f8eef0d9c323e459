"""What the app holds for its lifetime: settings, database, bus, token cache."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from accounts.tokens import TokenCache
from core.bus import Bus
from core.database import Database
from core.settings import Settings


@dataclass
class Runtime:
    """The long-lived parts one API process shares between requests."""

    settings: Settings
    database: Database
    bus: Bus
    tokens: TokenCache
    extras: dict[str, Any] = field(default_factory=dict)
