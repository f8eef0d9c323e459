"""Every table of every domain, for Alembic to compare against."""

from __future__ import annotations

import accounts.models
import core.eventlog
import core.idempotency
import tracking.devices.models
import tracking.positions.models
from core.models import metadata

__all__ = ["metadata"]

_loaded = (
    accounts.models,
    core.eventlog,
    core.idempotency,
    tracking.devices.models,
    tracking.positions.models,
)
