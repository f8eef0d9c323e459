"""When a pass is valid: the plant's pickup day with a margin, inside its grant's window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import PassSettings
from dispatch.authorizations.windows import (
    Window,
    day_window,
    pass_window,
    pickup_day,
    whole_seconds_up,
)

BERLIN = ZoneInfo("Europe/Berlin")
WIDE = Window(datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class TestDayWindow:
    def test_a_plant_day_with_its_margin_on_either_side(self) -> None:
        window = day_window(date(2026, 3, 3), zone=BERLIN, margin_s=3 * 3600)
        # Berlin is UTC+1 in March: the day runs 23:00 to 23:00 UTC.
        assert window == Window(utc(2026, 3, 2, 20), utc(2026, 3, 4, 2))

    @pytest.mark.parametrize(
        ("day", "hours"),
        [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25), (date(2026, 6, 1), 24)],
    )
    def test_days_when_clocks_change_are_as_long_as_they_are(self, day: date, hours: int) -> None:
        window = day_window(day, zone=BERLIN, margin_s=0)
        assert window.length_s == hours * 3600

    def test_the_default_lifetime_covers_the_longest_day_with_its_margins(self) -> None:
        policy = PassSettings()
        longest = day_window(date(2026, 10, 25), zone=BERLIN, margin_s=policy.day_margin_s)
        window = pass_window(
            date(2026, 10, 25),
            zone=BERLIN,
            margin_s=policy.day_margin_s,
            max_lifetime_s=policy.max_lifetime_s,
            within=WIDE,
        )
        assert window == longest


class TestPassWindow:
    def test_the_grant_window_cuts_the_day(self) -> None:
        within = Window(utc(2026, 3, 3, 8), utc(2026, 3, 3, 14, 30))
        window = pass_window(
            date(2026, 3, 3), zone=BERLIN, margin_s=3600, max_lifetime_s=40 * 3600, within=within
        )
        assert window == within

    def test_a_day_outside_the_grant_leaves_no_window(self) -> None:
        within = Window(utc(2026, 3, 5, 8), utc(2026, 3, 6, 8))
        assert (
            pass_window(
                date(2026, 3, 3), zone=BERLIN, margin_s=0, max_lifetime_s=86400, within=within
            )
            is None
        )

    def test_the_lifetime_caps_the_window(self) -> None:
        window = pass_window(
            date(2026, 3, 3), zone=BERLIN, margin_s=6 * 3600, max_lifetime_s=30 * 3600, within=WIDE
        )
        assert window is not None
        assert window.length_s == 30 * 3600

    def test_a_slot_decides_the_day_in_the_plant_s_time(self) -> None:
        late_slot = utc(2026, 3, 3, 23, 30)  # 00:30 on the 4th in Berlin
        day = pickup_day(planned_day=date(2026, 3, 3), slot_starts_at=late_slot, zone=BERLIN)
        assert day == date(2026, 3, 4)
        assert pickup_day(planned_day=date(2026, 3, 3), slot_starts_at=None, zone=BERLIN) == (
            date(2026, 3, 3)
        )

    @given(
        day_offset=st.integers(min_value=0, max_value=360),
        margin_s=st.integers(min_value=0, max_value=12 * 3600),
        lifetime_s=st.integers(min_value=3600, max_value=72 * 3600),
        start_us=st.integers(min_value=0, max_value=400 * 86_400 * 10**6),
        length_us=st.integers(min_value=1, max_value=5 * 86_400 * 10**6),
    )
    def test_a_window_always_lies_inside_the_day_and_the_grant_on_whole_seconds(
        self, day_offset: int, margin_s: int, lifetime_s: int, start_us: int, length_us: int
    ) -> None:
        day = date(2026, 1, 1) + timedelta(days=day_offset)
        starts = WIDE.starts_at + timedelta(microseconds=start_us)
        within = Window(starts, starts + timedelta(microseconds=length_us))
        window = pass_window(
            day, zone=BERLIN, margin_s=margin_s, max_lifetime_s=lifetime_s, within=within
        )
        wide = day_window(day, zone=BERLIN, margin_s=margin_s)
        if window is None:
            first = whole_seconds_up(max(wide.starts_at, within.starts_at))
            assert first >= min(wide.ends_at, within.ends_at) - timedelta(seconds=1)
            return
        assert window.starts_at >= max(wide.starts_at, within.starts_at)
        assert window.ends_at <= min(wide.ends_at, within.ends_at)
        assert 0 < window.length_s <= lifetime_s
        assert window.starts_at.microsecond == window.ends_at.microsecond == 0


class TestPassSettings:
    def test_a_lifetime_shorter_than_the_longest_day_is_refused(self) -> None:
        with pytest.raises(ValueError, match="25 hours"):
            PassSettings(day_margin_s=3 * 3600, max_lifetime_s=30 * 3600)

    def test_a_retired_key_stays_published_as_long_as_a_pass_it_signed_may_live(self) -> None:
        policy = PassSettings(max_lifetime_s=40 * 3600, issue_ahead_s=2 * 86400, leeway_s=300)
        assert policy.key_publish_s == 2 * 86400 + 40 * 3600 + 300
