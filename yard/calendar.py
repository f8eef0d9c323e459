"""A plant's day as the scheduler sees it: minutes from local midnight, opening hours, the
slot grid, and the scheduler's dock and load built from stored rows. Pure: no session.

The plan's origin is the plant's local midnight of the day, so every appointment of a day is
a whole number of minutes after it (`yard.scheduling.minutes_from`, `at_minute`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yard.scheduling import Dock, Load, is_compatible, loading_duration_min, minutes_from

# Pallets and pieces have no weight of their own here: a rate-based dock counts each as a
# tonne. Bays for them usually load in a fixed time, which ignores the quantity.
_KG_PER_UNIT = {"kg": 1, "l": 1, "pallet": 1000, "piece": 1000}
WEEKDAYS = 7


def zone_of(timezone: str) -> ZoneInfo:
    """The plant's time zone (UTC when the site names an unknown one)."""
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def origin_of(day: date, zone: ZoneInfo) -> datetime:
    """The plant's local midnight at the start of ``day``, in UTC."""
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def day_of(moment: datetime, zone: ZoneInfo) -> date:
    """The plant's calendar day at a moment."""
    return moment.astimezone(zone).date()


@dataclass(frozen=True)
class Hours:
    """When a plant is open on one day, in minutes after its local midnight."""

    opens_min: int
    closes_min: int


def hours_on(
    day: date, *, opening_hours: Sequence[Sequence[int] | None], closed_days: Iterable[str]
) -> Hours | None:
    """The plant's hours on a day, or None when it is closed (weekday or closed date)."""
    if day.isoformat() in set(closed_days) or len(opening_hours) != WEEKDAYS:
        return None
    span = opening_hours[day.weekday()]
    if span is None:
        return None
    return Hours(opens_min=span[0], closes_min=span[1])


def check_opening_hours(opening_hours: Sequence[Sequence[int] | None]) -> str | None:
    """What is wrong with a week of opening hours, or None when it is well formed."""
    if len(opening_hours) != WEEKDAYS:
        return "give seven entries, Monday first"
    for index, span in enumerate(opening_hours):
        if span is None:
            continue
        if len(span) != 2 or not 0 <= span[0] < span[1] <= 24 * 60:
            return f"entry {index}: [opens_min, closes_min] within 0..1440, opening first"
    return None


def on_grid(minute: int, slot_min: int) -> bool:
    """Whether a start lies on the slot grid."""
    return minute % slot_min == 0


def next_slot(minute: float, slot_min: int) -> int:
    """The first slot start at or after a minute."""
    return math.ceil(minute / slot_min) * slot_min


def quantity_kg(quantity: int, unit: str) -> int:
    """A delivery's planned quantity as the docks' loading rates count it."""
    return quantity * _KG_PER_UNIT.get(unit, 1)


def load_of(*, product: str, body: str, quantity: int, unit: str, hazardous: bool) -> Load:
    """The scheduler's load for a delivery."""
    return Load(
        product=product, body=body, quantity_kg=quantity_kg(quantity, unit), hazardous=hazardous
    )


@dataclass(frozen=True)
class DockSpec:
    """What the scheduler needs of a stored dock."""

    dock_id: str
    products: Sequence[str]
    bodies: Sequence[str]
    hazardous: bool
    loading_rate_kg_per_min: float | None
    fixed_duration_min: int | None
    handling_min: int
    changeover_min: int


def dock_of(spec: DockSpec, hours: Hours) -> Dock:
    """The scheduler's dock for a stored dock on a day with these hours."""
    return Dock(
        dock_id=spec.dock_id,
        products=frozenset(spec.products),
        bodies=frozenset(spec.bodies),
        hazardous_bay=spec.hazardous,
        loading_rate_kg_per_min=spec.loading_rate_kg_per_min,
        fixed_duration_min=spec.fixed_duration_min,
        handling_min=spec.handling_min,
        changeover_min=spec.changeover_min,
        opens_min=hours.opens_min,
        closes_min=hours.closes_min,
    )


@dataclass(frozen=True)
class Held:
    """A dock's time already taken by an appointment: [start, end) and its product."""

    start_min: int
    end_min: int
    product: str


def fits(dock: Dock, load: Load, start_min: int, held: Iterable[Held]) -> bool:
    """Whether a load can start on a dock at a minute: compatible, inside the dock's hours,
    and clear of every held appointment (a change of product adds the dock's changeover)."""
    if not is_compatible(dock, load):
        return False
    end_min = start_min + loading_duration_min(dock, load)
    if start_min < dock.opens_min or end_min > dock.closes_min:
        return False
    for h in held:
        gap = dock.changeover_min if h.product != load.product else 0
        if h.start_min < end_min + gap and start_min < h.end_min + gap:
            return False
    return True


def minute_in_day(origin: datetime, moment: datetime) -> int:
    """Whole minutes from the day's origin to a moment."""
    return minutes_from(origin, moment)
