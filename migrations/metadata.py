"""Every table of every domain, for Alembic to compare against."""

from __future__ import annotations

import accounts.models
import core.eventlog
import core.idempotency
import dispatch.authorizations.models
import dispatch.deliveries.models
import dispatch.fleet.models
import dispatch.market.models
import dispatch.orders.models
import tracking.devices.models
import tracking.evidence.models
import tracking.positions.models
import tracking.shipments.models
import yard.models
from core.models import metadata

__all__ = ["metadata"]

_loaded = (
    accounts.models,
    core.eventlog,
    core.idempotency,
    dispatch.authorizations.models,
    dispatch.deliveries.models,
    dispatch.fleet.models,
    dispatch.market.models,
    dispatch.orders.models,
    tracking.devices.models,
    tracking.evidence.models,
    tracking.positions.models,
    tracking.shipments.models,
    yard.models,
)
