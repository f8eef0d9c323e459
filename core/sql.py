"""Statements whose spelling differs by database, kept in one place."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession


def dialect_name(session: AsyncSession | Session) -> str:
    """``sqlite`` or ``postgresql``."""
    bind = session.bind
    return bind.dialect.name if bind is not None else "sqlite"


def upsert(session: AsyncSession | Session, table: Any) -> Any:
    """An ``INSERT`` that supports ``on_conflict_do_…`` on either database."""
    insert = pg_insert if dialect_name(session) == "postgresql" else sqlite_insert
    return insert(table)


def table_of(model: Any) -> Table:
    """The Core table behind a SQLModel table class."""
    return cast(Table, model.__table__)


def json_array_contains(session: AsyncSession | Session, column: Any, value: str) -> Any:
    """A condition: the JSON array in ``column`` holds the string ``value``."""
    if dialect_name(session) == "postgresql":
        return column.op("@>")(func.jsonb_build_array(value))
    members = func.json_each(column).table_valued("value")
    return exists(select(literal(1)).select_from(members).where(members.c.value == value))
