"""The migration tree builds the schema the models describe, on either database."""

from __future__ import annotations

import re
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

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
