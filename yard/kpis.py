"""Yard KPIs per plant and day: wait (arrival to call), turn (arrival to departure), dock
utilization, on-time arrival rate and no-shows. `day_kpis` is pure; `plant_kpis` reads."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from accounts.principal import Principal
from yard import repository
from yard.calendar import hours_on, origin_of, zone_of
from yard.enums import AppointmentState, DockState
from yard.plants import own_plant, require_operator


@dataclass(frozen=True)
class VisitTimes:
    """The moments of one visit the KPIs need."""

    arrived_at: datetime
    called_at: datetime | None
    at_dock_at: datetime | None
    loaded_at: datetime | None
    left_at: datetime | None
    slot_starts_at: datetime | None


@dataclass(frozen=True)
class DayKpis:
    """A plant's day in figures; a mean is None when nothing was measured."""

    site_id: str
    day: str
    trucks: int
    called: int
    left: int
    mean_wait_min: float | None
    median_wait_min: float | None
    max_wait_min: float | None
    mean_turn_min: float | None
    dock_utilization: float | None
    on_time_rate: float | None
    appointments: int
    no_shows: int


def _minutes(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / 60


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def day_kpis(
    *,
    site_id: str,
    day: date,
    visits: Sequence[VisitTimes],
    open_dock_min: float,
    late_tolerance_min: int,
    appointments: int,
    no_shows: int,
) -> DayKpis:
    """The KPIs of a day's visits; utilization is loading time over the docks' open time."""
    waits = [_minutes(v.arrived_at, v.called_at) for v in visits if v.called_at is not None]
    turns = [_minutes(v.arrived_at, v.left_at) for v in visits if v.left_at is not None]
    loading = sum(
        _minutes(v.at_dock_at, v.loaded_at)
        for v in visits
        if v.at_dock_at is not None and v.loaded_at is not None
    )
    planned = [v for v in visits if v.slot_starts_at is not None]
    on_time = [
        v
        for v in planned
        if v.slot_starts_at is not None
        and v.arrived_at <= v.slot_starts_at + timedelta(minutes=late_tolerance_min)
    ]
    return DayKpis(
        site_id=site_id,
        day=day.isoformat(),
        trucks=len(visits),
        called=len(waits),
        left=len(turns),
        mean_wait_min=_mean(waits),
        median_wait_min=round(statistics.median(waits), 2) if waits else None,
        max_wait_min=round(max(waits), 2) if waits else None,
        mean_turn_min=_mean(turns),
        dock_utilization=round(loading / open_dock_min, 4) if open_dock_min > 0 else None,
        on_time_rate=round(len(on_time) / len(planned), 4) if planned else None,
        appointments=appointments,
        no_shows=no_shows,
    )


async def plant_kpis(
    session: AsyncSession, *, principal: Principal, site_id: uuid.UUID, day: date
) -> DayKpis:
    """A plant's KPIs for one of its days."""
    require_operator(principal)
    plant = await own_plant(session, principal=principal, site_id=site_id)
    zone = zone_of(plant.site.timezone)
    start = origin_of(day, zone)
    end = origin_of(day + timedelta(days=1), zone)
    visits = await repository.visits_arrived_between(session, plant.site.id, starts=start, ends=end)
    times = []
    for v in visits:
        slot = None
        if v.delivery_id is not None and v.appointment_id is not None:
            a = await repository.appointment_of(session, v.delivery_id)
            slot = None if a is None else a.starts_at
        times.append(
            VisitTimes(v.arrived_at, v.called_at, v.at_dock_at, v.loaded_at, v.left_at, slot)
        )
    hours = hours_on(
        day, opening_hours=plant.yard.opening_hours, closed_days=plant.yard.closed_days
    )
    docks = [
        d for d in await repository.docks_of(session, plant.site.id) if d.state != DockState.BLOCKED
    ]
    open_min = 0 if hours is None else (hours.closes_min - hours.opens_min) * len(docks)
    booked = await repository.appointments_between(
        session, plant.site.id, starts=start, ends=end, states=list(AppointmentState)
    )
    return day_kpis(
        site_id=str(plant.site.id),
        day=day,
        visits=times,
        open_dock_min=open_min,
        late_tolerance_min=plant.yard.late_tolerance_min,
        appointments=len(booked),
        no_shows=sum(1 for a in booked if a.no_shows > 0),
    )


def kpis_csv(kpis: DayKpis) -> str:
    """The KPIs as a CSV document: a header row and one row."""
    out = io.StringIO()
    row = asdict(kpis)
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
