"""What someone with full database access can do that the application never does.

The event log's guards (triggers refusing UPDATE, DELETE and TRUNCATE) hold against the
application and against careless hands; an administrator can lift them. Tests lift them to
empty tables between tests and to play the operator who tampers with the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

GUARDED_TABLES = ("event_log", "event_subjects")


@asynccontextmanager
async def guards_lifted(connection: AsyncConnection) -> AsyncIterator[None]:
    """Lift the log's guards inside the connection's transaction; they are back at its end.

    PostgreSQL: ``session_replication_role = replica`` (superuser only) stops ordinary
    triggers for the transaction. SQLite: the triggers are dropped and created again from
    their stored SQL; DDL is transactional there, so a rollback restores them too.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        await connection.execute(text("SET LOCAL session_replication_role = origin"))
        return
    rows = (
        await connection.execute(
            text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name IN ('event_log', 'event_subjects')"
            )
        )
    ).all()
    for name, _sql in rows:
        await connection.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _name, sql in rows:
        await connection.execute(text(sql))
