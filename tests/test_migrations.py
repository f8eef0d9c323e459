"""The migration tree builds the schema the models describe, on either database."""

from __future__ import annotations

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from core.database import Database
from migrations import SCRIPT_LOCATION, alembic_config, render_item
from migrations.metadata import metadata


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_item": render_item}
    )
    return list(compare_metadata(context, metadata))


class TestMigrations:
    async def test_head_matches_the_models(self, database: Database) -> None:
        # The session fixture migrated an empty database to head.
        async with database.engine.connect() as connection:
            drift = await connection.run_sync(_drift)
        assert drift == []

    def test_one_head_and_date_named_files(self) -> None:
        scripts = ScriptDirectory.from_config(alembic_config())
        assert len(scripts.get_heads()) == 1
        for path in (SCRIPT_LOCATION / "versions").glob("*.py"):
            assert re.match(r"^\d{4}_\d{2}_\d{2}_\d{4}-", path.name), path.name

    async def test_the_event_log_guards_exist_at_head(self, database: Database) -> None:
        # A batch migration that recreates a guarded table on SQLite drops its triggers.
        query = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            if not database.is_sqlite
            else "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        )
        async with database.engine.connect() as connection:
            names = set((await connection.execute(text(query))).scalars())
        expected = (
            {"event_log_no_update", "event_log_no_delete", "event_subjects_no_delete"}
            if database.is_sqlite
            else {"event_log_append_only", "event_log_no_truncate", "event_subjects_no_truncate"}
        )
        assert expected | {"event_subjects_forward_only"} <= names
