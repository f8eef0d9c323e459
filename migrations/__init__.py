"""The one Alembic migration tree for SQLite and PostgreSQL, and a way to apply it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from sqlalchemy import JSON, Connection, Enum
from sqlalchemy.ext.asyncio import AsyncEngine

SCRIPT_LOCATION = Path(__file__).parent


def render_item(kind: str, item: Any, autogen: AutogenContext) -> str | bool:
    """How autogenerate spells our portable column types."""
    # Enums are plain strings in the database, so a new member never needs a migration;
    # JSON is JSONB on PostgreSQL through the shared column type.
    if kind == "type" and isinstance(item, Enum) and not item.native_enum:
        return f"sa.String(length={item.length})"
    if kind == "type" and isinstance(item, JSON):
        autogen.imports.add("import core.types")
        return "core.types.JSONColumn"
    return False


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Config:
    """An Alembic config pointing at this tree, bound to a connection or URL."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    if url is not None:
        config.attributes["url"] = url
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on an engine, from inside an event loop."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)
