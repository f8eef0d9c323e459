"""Every query on positions: the batched hot-path writes, trails, latest fixes and purges."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final, cast

from sqlalchemy import delete, select, tuple_
from sqlmodel.ext.asyncio.session import AsyncSession

from core.sql import dialect_name, table_of
from tracking.devices.models import Device
from tracking.positions.codec import COLUMNS, Row
from tracking.positions.models import UNKNOWN_READING, LastPosition, Position

_POSITIONS = table_of(Position)
_LAST = table_of(LastPosition)
_LAST_COLUMNS: Final = ("received_at", *COLUMNS)
_SQLITE_CHUNK: Final = 500
_OPTIONAL: Final = ("speed_cmps", "heading_deg", "altitude_m", "accuracy_m", "battery_pct")
_OPTIONAL_AT: Final = frozenset(COLUMNS.index(name) for name in _OPTIONAL)

# On PostgreSQL one statement carries the whole group commit as ten arrays: the SQL text
# never changes (no compile per batch size) and the server unpacks the arrays itself. The
# arrays go in binary (%(name)b): measured here, 3.5 times cheaper to encode than as text.
_PG_ARRAY_TYPES: Final = (
    "timestamptz",
    "int4",
    "int4",
    "int4",
    "int2",
    "int2",
    "int2",
    "int2",
    "int2",
    "int2",
)
_PG_UNNEST: Final = ", ".join(
    f"%({name})b::{kind}[]" for name, kind in zip(COLUMNS, _PG_ARRAY_TYPES, strict=True)
)
_PG_INSERT: Final = (
    f"INSERT INTO positions ({', '.join(COLUMNS)}) "  # noqa: S608 - fixed column names
    f"SELECT * FROM unnest({_PG_UNNEST}) ON CONFLICT DO NOTHING"
)
_PG_ADVANCE: Final = (
    "ON CONFLICT (device_no) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in _LAST_COLUMNS if name != "device_no")
    + " WHERE last_positions.recorded_at < EXCLUDED.recorded_at RETURNING device_no"
)
_PG_LATEST: Final = (
    f"INSERT INTO last_positions ({', '.join(_LAST_COLUMNS)}) "  # noqa: S608
    f"SELECT * FROM unnest(%(received_at)b::timestamptz[], {_PG_UNNEST}) " + _PG_ADVANCE
)
_PG_NEWEST_UNNEST: Final = ", ".join(
    f"%(newest_{name})b::{kind}[]" for name, kind in zip(COLUMNS, _PG_ARRAY_TYPES, strict=True)
)
PG_GROUP_COMMIT: Final = (
    f"WITH stored AS (INSERT INTO positions ({', '.join(COLUMNS)}) "  # noqa: S608
    f"SELECT * FROM unnest({_PG_UNNEST}) ON CONFLICT DO NOTHING) "
    f"INSERT INTO last_positions ({', '.join(_LAST_COLUMNS)}) "
    f"SELECT * FROM unnest(%(received_at)b::timestamptz[], {_PG_NEWEST_UNNEST}) " + _PG_ADVANCE
)
"""A whole group commit as one PostgreSQL statement: store the rows, advance each device's
newest fix, return the devices whose newest fix moved. Run alone in autocommit mode it is
its own transaction, so the commit costs one round trip instead of four."""


def pg_group_commit_params(
    rows: Sequence[Row], newest: Sequence[Row], *, received_at: datetime
) -> dict[str, Any]:
    """The arrays :data:`PG_GROUP_COMMIT` takes."""
    params = _arrays(rows)
    ordered = sorted(newest, key=lambda row: row[1])  # a fixed lock order across writers
    params.update(
        {f"newest_{name}": values for name, values in _arrays(ordered).items()}
        if ordered
        else {f"newest_{name}": [] for name in COLUMNS}
    )
    params["received_at"] = [received_at] * len(ordered)
    return params


def _arrays(rows: Sequence[Row]) -> dict[str, list[Any]]:
    # Every row is a full Row, so the transposed columns line up.
    arrays = dict(zip(COLUMNS, map(list, zip(*rows, strict=False)), strict=True))
    for name in _OPTIONAL:
        arrays[name] = [UNKNOWN_READING if value is None else value for value in arrays[name]]
    return arrays


def _loaded(values: Sequence[Any]) -> Row:
    unknown = UNKNOWN_READING
    return cast(
        Row,
        tuple(None if i in _OPTIONAL_AT and v == unknown else v for i, v in enumerate(values)),
    )


async def insert_positions(session: AsyncSession, rows: Sequence[Row]) -> None:
    """Store rows; a row whose (device, fix time) is already stored is skipped."""
    if not rows:
        return
    connection = await session.connection()
    if dialect_name(session) == "postgresql":
        await connection.exec_driver_sql(_PG_INSERT, _arrays(rows))
        return
    await connection.exec_driver_sql(_SQLITE_INSERT, [_sqlite_row(row) for row in rows])


# SQLite gets plain tuples through the driver's executemany: SQLAlchemy's per-row parameter
# processing cost more than the insert. The fix time is written exactly as the column type
# writes it (naive UTC, microseconds), so keys compare equal whichever path stored them.
_SQLITE_INSERT: Final = (
    f"INSERT INTO positions ({', '.join(COLUMNS)}) "  # noqa: S608 - fixed column names
    f"VALUES ({', '.join('?' for _ in COLUMNS)}) ON CONFLICT DO NOTHING"
)


_SQLITE_LATEST: Final = (
    f"INSERT INTO last_positions ({', '.join(_LAST_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' for _ in _LAST_COLUMNS)}) ON CONFLICT (device_no) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _LAST_COLUMNS if name != "device_no")
    + " WHERE last_positions.recorded_at < excluded.recorded_at"
)


def _sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_row(row: Row) -> tuple[Any, ...]:
    unknown = UNKNOWN_READING
    return (
        _sqlite_time(row[0]),
        row[1],
        row[2],
        row[3],
        unknown if row[4] is None else row[4],
        unknown if row[5] is None else row[5],
        unknown if row[6] is None else row[6],
        unknown if row[7] is None else row[7],
        unknown if row[8] is None else row[8],
        row[9],
    )


async def advance_latest(
    session: AsyncSession, rows: Sequence[Row], *, received_at: datetime
) -> set[int]:
    """Move each device's newest fix forward to these rows (at most one per device).

    Returns the device numbers whose newest fix moved; an older row changes nothing.
    """
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: row[1])  # a fixed lock order across writers
    connection = await session.connection()
    if dialect_name(session) == "postgresql":
        params = _arrays(ordered)
        params["received_at"] = [received_at] * len(ordered)
        result = await connection.exec_driver_sql(_PG_LATEST, params)
        return {int(row[0]) for row in result.fetchall()}
    # SQLite's writers hold the database lock (BEGIN IMMEDIATE), so reading the current fixes
    # and then writing only the newer ones cannot race; two fixed statements replace one
    # multi-row upsert whose SQL, and so its compilation, changed with every batch size.
    moved: set[int] = set()
    received = _sqlite_time(received_at)
    for start in range(0, len(ordered), _SQLITE_CHUNK):
        chunk = [_sqlite_row(row) for row in ordered[start : start + _SQLITE_CHUNK]]
        marks = ", ".join("?" for _ in chunk)
        found = await connection.exec_driver_sql(
            f"SELECT device_no, recorded_at FROM last_positions WHERE device_no IN ({marks})",  # noqa: S608
            tuple(row[1] for row in chunk),
        )
        hits: Sequence[Any] = found.fetchall()
        current: dict[int, str] = {int(hit[0]): str(hit[1]) for hit in hits}
        newer: list[tuple[Any, ...]] = [
            (received, *item) for item in chunk if current.get(item[1], "") < item[0]
        ]
        if newer:
            await connection.exec_driver_sql(_SQLITE_LATEST, newer)
            moved.update(int(item[2]) for item in newer)
    return moved


async def trail_rows(
    session: AsyncSession,
    *,
    device_no: int,
    since: datetime,
    until: datetime,
    limit: int,
) -> list[Row]:
    """A device's rows in a time range, oldest first, at most ``limit``."""
    columns = [_POSITIONS.c[name] for name in COLUMNS]
    statement = (
        select(*columns)
        .where(
            _POSITIONS.c.device_no == device_no,
            _POSITIONS.c.recorded_at >= since,
            _POSITIONS.c.recorded_at <= until,
        )
        .order_by(_POSITIONS.c.recorded_at)
        .limit(limit)
    )
    result = await (await session.connection()).execute(statement)
    return [_loaded(row) for row in result.all()]


async def latest_of_organization(
    session: AsyncSession, *, organization_id: uuid.UUID, device_id: uuid.UUID | None = None
) -> list[tuple[uuid.UUID, Row]]:
    """The newest fix of each active device of an organization (or of one device)."""
    columns = [_LAST.c[name] for name in COLUMNS]
    devices = table_of(Device)
    statement = (
        select(devices.c.id, *columns)
        .join(devices, devices.c.number == _LAST.c.device_no)
        .where(devices.c.organization_id == organization_id, devices.c.revoked_at.is_(None))
        .order_by(devices.c.number)
    )
    if device_id is not None:
        statement = statement.where(devices.c.id == device_id)
    result = await (await session.connection()).execute(statement)
    return [(row[0], _loaded(row[1:])) for row in result.all()]


async def purge_before(session: AsyncSession, *, cutoff: datetime, chunk: int = 20_000) -> int:
    """Delete up to ``chunk`` positions recorded before ``cutoff``; returns how many went."""
    doomed = (
        select(_POSITIONS.c.device_no, _POSITIONS.c.recorded_at)
        .where(_POSITIONS.c.recorded_at < cutoff)
        .limit(chunk)
    )
    statement = delete(_POSITIONS).where(
        tuple_(_POSITIONS.c.device_no, _POSITIONS.c.recorded_at).in_(doomed)
    )
    result = await (await session.connection()).execute(statement)
    return int(result.rowcount or 0)
