"""Open work that belongs to a member and moves to another when the owner reassigns it.

Each domain registers its own (for example the loads a dispatcher manages, the deliveries a
driver drives), so accounts need not know them: what a child account created belongs to the
organization and outlives the account.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class OpenWork:
    """A kind of record with a responsible member, and which of them are still open."""

    name: str
    model: Any
    member_column: str
    is_open: Callable[[], ColumnElement[bool]] | None = None
    organization_column: str = "organization_id"


_registry: dict[str, OpenWork] = {}


def register_open_work(work: OpenWork) -> None:
    """Declare a kind of open work (done once, at import of the domain's models)."""
    _registry[work.name] = work


async def reassign_open_work(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    from_member_id: uuid.UUID,
    to_member_id: uuid.UUID,
) -> dict[str, int]:
    """Move every open record of one member to another; returns counts by kind."""
    moved: dict[str, int] = {}
    for work in sorted(_registry.values(), key=lambda w: w.name):
        table = work.model.__table__
        member = table.c[work.member_column]
        values: dict[str, Any] = {work.member_column: to_member_id}
        if "version" in table.c:
            values["version"] = table.c.version + 1
        statement = (
            update(table)
            .where(table.c[work.organization_column] == organization_id, member == from_member_id)
            .values(values)
        )
        if work.is_open is not None:
            statement = statement.where(work.is_open())
        result = await session.exec(statement)
        moved[work.name] = int(result.rowcount or 0)
    return moved
