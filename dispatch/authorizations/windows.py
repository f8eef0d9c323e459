"""When a pickup pass is valid: the plant's calendar day of the pickup, with a margin on
either side, inside the window of the hop it is issued from. Pure: no session, no clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Window:
    """A half-open span of time [starts_at, ends_at), in UTC."""

    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("a window needs timezone-aware bounds")

    @property
    def length_s(self) -> float:
        """The window's length in seconds."""
        return (self.ends_at - self.starts_at).total_seconds()

    def contains(self, moment: datetime) -> bool:
        """Whether ``moment`` lies inside the window."""
        return self.starts_at <= moment < self.ends_at


def whole_seconds_up(moment: datetime) -> datetime:
    """The moment rounded up to a whole second, in UTC (a pass claim holds whole seconds)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + timedelta(seconds=1)
    return moment


def whole_seconds_down(moment: datetime) -> datetime:
    """The moment cut to a whole second, in UTC."""
    return moment.astimezone(UTC).replace(microsecond=0)


def pickup_day(*, planned_day: date, slot_starts_at: datetime | None, zone: ZoneInfo) -> date:
    """The plant's calendar day a pickup happens on: the slot's day once there is a slot."""
    if slot_starts_at is None:
        return planned_day
    return slot_starts_at.astimezone(zone).date()


def day_window(day: date, *, zone: ZoneInfo, margin_s: int) -> Window:
    """The plant's calendar day (23 to 25 hours around clock changes) widened by the margin."""
    margin = timedelta(seconds=margin_s)
    starts = datetime.combine(day, time(0), zone).astimezone(UTC) - margin
    ends = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC) + margin
    return Window(starts_at=starts, ends_at=ends)


def pass_window(
    day: date, *, zone: ZoneInfo, margin_s: int, max_lifetime_s: int, within: Window
) -> Window | None:
    """A pass's validity: the pickup day with its margin, cut to ``within`` (the hop's window)
    and to the longest lifetime, on whole seconds; None when nothing is left."""
    wide = day_window(day, zone=zone, margin_s=margin_s)
    starts = whole_seconds_up(max(wide.starts_at, within.starts_at))
    ends = whole_seconds_down(min(wide.ends_at, within.ends_at))
    ends = min(ends, starts + timedelta(seconds=max_lifetime_s))
    if ends <= starts:
        return None
    return Window(starts_at=starts, ends_at=ends)
