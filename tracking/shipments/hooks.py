"""Callbacks the application registers for what tracking sees but other domains act on.

Arrival at a plant calls the check-in registered here, in the same transaction as the
arrival event, so tracking does not depend on how (or whether) a plant's yard checks in.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession


class CheckIn(Protocol):
    """Check a delivery in at its plant's gate because its truck was seen arriving."""

    def __call__(
        self,
        session: AsyncSession,
        *,
        delivery_id: uuid.UUID,
        at: datetime,
        lat: float,
        lon: float,
    ) -> Awaitable[object]: ...


class ShipmentHooks:
    """The registered callbacks; none by default."""

    def __init__(self) -> None:
        self.check_in: CheckIn | None = None

    def register_check_in(self, hook: CheckIn | None) -> None:
        """Call ``hook`` when a truck's arrival at its plant is proven (None removes it)."""
        self.check_in = hook
