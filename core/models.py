"""What every table shares: the naming convention, ids, timestamps and the version column."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import declared_attr
from sqlmodel import Field, SQLModel

from core.clock import now
from core.ids import new_id
from core.types import UTCDateTime

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = SQLModel.metadata


def utc_field(*, index: bool = False, nullable: bool = False) -> Any:
    """A UTC timestamp column."""
    return Field(sa_type=UTCDateTime, index=index, nullable=nullable)


def created_at_field() -> Any:
    """A UTC timestamp column set when the row is made."""
    return Field(default_factory=now, sa_type=UTCDateTime, nullable=False)


class Keyed(SQLModel):
    """A UUIDv7 primary key."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)


class Timestamped(SQLModel):
    """When the row was created."""

    created_at: datetime = created_at_field()


class Versioned(SQLModel):
    """Optimistic locking: every ORM update bumps ``version``; a stale one raises."""

    version: int = Field(default=1, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}  # type: ignore[attr-defined]
