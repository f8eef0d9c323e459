"""Alembic environment: async engines, batch mode for SQLite, one tree for both databases."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from core.database import Database, normalize_url
from core.settings import get_settings
from migrations import render_item
from migrations.metadata import metadata

config = context.config


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    database = Database(url)
    async with database.engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await database.dispose()


def run_offline() -> None:
    """Print the SQL instead of running it."""
    url = config.attributes.get("url") or get_settings().database_url
    context.configure(
        url=str(normalize_url(url)),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Run against a connection handed in, or the configured database."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or get_settings().database_url
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
