"""Schedules, holidays and maintenance windows as UTC minute ranges (engine/schedule.py), and
the range algebra under them (engine/ranges.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorbudget.engine import ranges
from errorbudget.engine.schedule import (
    Eligibility,
    compile_schedule,
    local_minute,
    maintenance_ranges,
)
from errorbudget.model import from_minute, to_minute
from errorbudget.schedules import HolidayCalendar, MaintenanceWindow, Schedule

NEW_YORK = "America/New_York"


def minute(text: str) -> int:
    return to_minute(datetime.fromisoformat(text))


def utc(pairs: np.ndarray) -> list[tuple[str, str]]:
    """Ranges as ISO strings, for readable failures."""
    return [
        (from_minute(int(a)).strftime("%m-%d %H:%M"), from_minute(int(b)).strftime("%m-%d %H:%M"))
        for a, b in pairs
    ]


BUSINESS = Schedule(
    timezone=NEW_YORK,
    hours={"mon-fri": ["08:00-20:00"], "sat": ["09:00-13:00"]},
)


def test_business_hours_over_the_week_dst_ends_in_new_york_are_exact() -> None:
    # DST ends on Sunday 2026-11-01 at 02:00 EDT: Thursday to Saturday are UTC-4, from
    # Monday on UTC-5, so the open hours move an hour later in UTC.
    schedule = compile_schedule(BUSINESS, {})
    start, end = minute("2026-10-29T00:00+00:00"), minute("2026-11-05T00:00+00:00")
    assert utc(schedule.open_ranges(start, end)) == [
        ("10-29 12:00", "10-30 00:00"),  # Thu 08:00-20:00 EDT
        ("10-30 12:00", "10-31 00:00"),  # Fri
        ("10-31 13:00", "10-31 17:00"),  # Sat 09:00-13:00 EDT
        ("11-02 13:00", "11-03 01:00"),  # Mon 08:00-20:00 EST
        ("11-03 13:00", "11-04 01:00"),  # Tue
        ("11-04 13:00", "11-05 00:00"),  # Wed, cut at the end of the span
    ]
    closed = schedule.closed_ranges(start, end)
    assert ranges.minutes(closed) == (end - start) - (2 * 720 + 240 + 2 * 720 + 660)
    assert utc(closed)[0] == ("10-29 00:00", "10-29 12:00")
    # the weekend gap runs from Saturday 13:00 EDT to Monday 08:00 EST: 43 hours of wall
    # clock, 44 hours of real time
    weekend = [(a, b) for a, b in closed.tolist() if a == minute("2026-10-31T17:00+00:00")]
    assert weekend == [(minute("2026-10-31T17:00+00:00"), minute("2026-11-02T13:00+00:00"))]
    assert (weekend[0][1] - weekend[0][0]) == 44 * 60


def test_dst_days_follow_the_wall_clock() -> None:
    around_the_clock = compile_schedule(
        Schedule(timezone=NEW_YORK, hours={"sun": ["00:00-24:00"]}), {}
    )
    fall = around_the_clock.open_ranges(
        minute("2026-11-01T00:00+00:00"), minute("2026-11-03T00:00+00:00")
    )
    assert ranges.minutes(fall) == 25 * 60  # the day DST ends has 25 hours
    spring = around_the_clock.open_ranges(
        minute("2026-03-08T00:00+00:00"), minute("2026-03-10T00:00+00:00")
    )
    assert ranges.minutes(spring) == 23 * 60
    # the repeated hour: 01:00-03:00 covers both 01:00s; a skipped time opens when the
    # clocks spring forward
    assert local_minute(date(2026, 11, 1), 60, NEW_YORK) == minute("2026-11-01T05:00+00:00")
    assert local_minute(date(2026, 11, 1), 180, NEW_YORK) == minute("2026-11-01T08:00+00:00")
    assert local_minute(date(2026, 3, 8), 150, NEW_YORK) == minute("2026-03-08T07:00+00:00")
    early = compile_schedule(Schedule(timezone=NEW_YORK, hours={"sun": ["02:00-04:00"]}), {})
    opened = early.open_ranges(minute("2026-03-08T00:00+00:00"), minute("2026-03-09T00:00+00:00"))
    assert utc(opened) == [("03-08 07:00", "03-08 08:00")]  # 03:00-04:00 EDT: one hour


def test_a_zone_with_a_half_hour_offset() -> None:
    india = compile_schedule(Schedule(timezone="Asia/Kolkata", hours={"mon": ["09:00-17:30"]}), {})
    opened = india.open_ranges(minute("2026-11-02T00:00+00:00"), minute("2026-11-03T00:00+00:00"))
    assert utc(opened) == [("11-02 03:30", "11-02 12:00")]


ZONES = ["UTC", NEW_YORK, "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"]


@settings(max_examples=60, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    days=st.lists(
        st.lists(
            st.tuples(st.integers(0, 95), st.integers(1, 96)).filter(lambda r: r[0] < r[1]),
            max_size=3,
        ),
        min_size=7,
        max_size=7,
    ),
    offset=st.integers(0, 400 * 1440),
    length=st.integers(1, 9 * 1440),
)
def test_open_minutes_are_the_minutes_whose_wall_clock_is_open(
    zone: str, days: list[list[tuple[int, int]]], offset: int, length: int
) -> None:
    """Against a minute-by-minute reading of the wall clock, away from clock changes."""
    week: dict[str, list[str]] = {}
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    for name, quarters in zip(names, days, strict=True):
        merged = ranges.union(np.array(quarters, dtype=np.int64).reshape(-1, 2) * 15)
        week[name] = [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in merged]
    if not any(week.values()):
        week["mon"] = ["08:00-09:00"]
    schedule = compile_schedule(Schedule(timezone=zone, hours=week), {})
    start = minute("2025-06-01T00:00+00:00") + offset
    mask = ranges.mask(schedule.open_ranges(start, start + length), start, length)
    tz = ZoneInfo(zone)
    opened = {
        name: [tuple(int(x[:2]) * 60 + int(x[3:5]) for x in r.split("-")) for r in hours]
        for name, hours in week.items()
    }
    for index in range(0, length, 7):
        moment = datetime.fromtimestamp((start + index) * 60, tz=UTC).astimezone(tz)
        today = moment.date()
        midnight = datetime(today.year, today.month, today.day, tzinfo=tz)
        tomorrow = (midnight + timedelta(days=1)).replace(tzinfo=tz)
        if tomorrow.utcoffset() != midnight.utcoffset():
            continue  # a day with a clock change: the explicit tests above
        wall = moment.hour * 60 + moment.minute
        expected = any(a <= wall < b for a, b in opened[names[moment.weekday()]])
        assert mask[index] == expected, (zone, moment.isoformat())


def test_holidays_close_a_day_or_give_it_special_hours() -> None:
    calendar = HolidayCalendar(
        name="us",
        days=[
            {"date": "2026-11-26", "name": "Thanksgiving"},
            {"date": "2026-11-27", "hours": ["08:00-12:00"]},
            {"date": "2026-11-28", "hours": ["10:00-11:00"]},
        ],
    )
    # The schedule's own holiday replaces the calendar's Saturday; Sunday (closed every
    # week) opens for a one-off event.
    schedule = Schedule(
        timezone=NEW_YORK,
        hours=BUSINESS.hours,
        holidays=[
            {"date": "2026-11-28", "name": "inventory", "hours": []},
            {"date": "2026-11-29", "hours": ["12:00-14:00"]},
        ],
        holiday_calendars=["us"],
    )
    compiled = compile_schedule(schedule, {"us": calendar})
    opened = compiled.open_ranges(
        minute("2026-11-25T00:00+00:00"), minute("2026-11-30T00:00+00:00")
    )
    assert utc(opened) == [
        ("11-25 00:00", "11-25 01:00"),  # Tuesday evening, until 20:00 EST
        ("11-25 13:00", "11-26 01:00"),  # Wednesday, a normal day
        ("11-27 13:00", "11-27 17:00"),  # Friday: 08:00-12:00 only
        ("11-29 17:00", "11-29 19:00"),  # Sunday: 12:00-14:00
    ]


def test_a_maintenance_window_every_sunday_across_dst() -> None:
    window = MaintenanceWindow(
        name="patching", timezone=NEW_YORK, start="02:00", duration="2h", weekdays=["sun"]
    )
    found = maintenance_ranges(
        window, minute("2026-10-18T00:00+00:00"), minute("2026-11-16T00:00+00:00")
    )
    assert utc(found) == [
        ("10-18 06:00", "10-18 08:00"),  # 02:00 EDT
        ("10-25 06:00", "10-25 08:00"),
        ("11-01 07:00", "11-01 09:00"),  # 02:00 EST: the clocks went back at 02:00 EDT
        ("11-08 07:00", "11-08 09:00"),
        ("11-15 07:00", "11-15 09:00"),
    ]
    assert window.describe() == "every Sun 02:00 for 2h (America/New_York)"


def test_monthly_maintenance_windows() -> None:
    first_sunday = MaintenanceWindow(
        name="m", timezone="UTC", start="23:00", duration="3h", weekdays=["sun"], nth=[1]
    )
    span = (minute("2026-11-01T00:00+00:00"), minute("2027-01-01T00:00+00:00"))
    assert utc(maintenance_ranges(first_sunday, *span)) == [
        ("11-01 23:00", "11-02 02:00"),  # runs past midnight
        ("12-06 23:00", "12-07 02:00"),
    ]
    last_day = MaintenanceWindow(
        name="m", timezone="UTC", start="00:00", duration="30m", days_of_month=[-1, 15]
    )
    assert utc(maintenance_ranges(last_day, *span)) == [
        ("11-15 00:00", "11-15 00:30"),
        ("11-30 00:00", "11-30 00:30"),
        ("12-15 00:00", "12-15 00:30"),
        ("12-31 00:00", "12-31 00:30"),
    ]
    # an occurrence that started before the span is cut to it; starts_on/ends_on bound it
    bounded = first_sunday.model_copy(update={"starts_on": date(2026, 12, 1)})
    late = (minute("2026-12-07T01:00+00:00"), minute("2027-02-28T00:00+00:00"))
    assert utc(maintenance_ranges(bounded, *late)) == [
        ("12-07 01:00", "12-07 02:00"),
        ("01-03 23:00", "01-04 02:00"),
        ("02-07 23:00", "02-08 02:00"),
    ]
    ended = bounded.model_copy(update={"ends_on": date(2026, 12, 31)})
    assert utc(maintenance_ranges(ended, *late)) == [("12-07 01:00", "12-07 02:00")]


def test_maintenance_is_scoped_by_segment() -> None:
    window = MaintenanceWindow(
        name="m",
        timezone="UTC",
        start="02:00",
        duration="1h",
        weekdays=["sun"],
        segment={"flow": "main"},
    )
    eligibility = Eligibility(None, (window,))
    main, other = eligibility.maintenance_for(
        [(("flow", "main"),), (("flow", "billing"),)],
        minute("2026-11-01T00:00+00:00"),
        minute("2026-11-02T00:00+00:00"),
    )
    assert utc(main) == [("11-01 02:00", "11-01 03:00")]
    assert other.size == 0


# --- range algebra -----------------------------------------------------------------------------

spans = st.lists(
    st.tuples(st.integers(0, 300), st.integers(0, 60)).map(lambda p: (p[0], p[0] + p[1])),
    max_size=12,
)


def as_set(found: np.ndarray) -> set[int]:
    return {m for a, b in found.tolist() for m in range(a, b)}


@given(spans, spans, st.integers(0, 200), st.integers(0, 200))
def test_union_complement_clip_and_mask_agree_with_sets(
    first: list[tuple[int, int]], second: list[tuple[int, int]], low: int, width: int
) -> None:
    joined = ranges.union(ranges.as_ranges(first), ranges.as_ranges(second))
    expected = {m for a, b in first + second for m in range(a, b)}
    assert as_set(joined) == expected
    assert np.all(joined[1:, 0] > joined[:-1, 1])  # normal: sorted, apart
    high = low + width
    assert as_set(ranges.clip(joined, low, high)) == {m for m in expected if low <= m < high}
    assert as_set(ranges.complement(joined, low, high)) == set(range(low, high)) - expected
    mask = ranges.mask(joined, low, width)
    assert {low + i for i in np.flatnonzero(mask).tolist()} == expected & set(range(low, high))


@given(spans, st.lists(st.tuples(st.integers(0, 360), st.integers(0, 100)), max_size=6))
def test_parts_cut_each_interval(
    first: list[tuple[int, int]], wanted: list[tuple[int, int]]
) -> None:
    joined = ranges.union(ranges.as_ranges(first))
    intervals = [(a, a + w) for a, w in wanted]
    found, bounds = ranges.parts(intervals, joined)
    assert len(bounds) == len(intervals) + 1
    for index, (a, b) in enumerate(intervals):
        mine = found[bounds[index] : bounds[index + 1]]
        assert as_set(mine) == as_set(joined) & set(range(a, b))
        assert np.all(mine[:, 0] < mine[:, 1])


def test_invalid_schedules_say_why() -> None:
    with pytest.raises(ValueError, match="ends before it starts"):
        Schedule(timezone="UTC", hours={"mon": ["20:00-08:00"]})
    with pytest.raises(ValueError, match="mon: 09:00-11:00 overlaps 08:00-10:00"):
        Schedule(timezone="UTC", hours={"mon": ["08:00-10:00"], "mon-tue": ["09:00-11:00"]})
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        Schedule(timezone="Mars/Olympus", hours={"mon": ["08:00-10:00"]})
    with pytest.raises(ValueError, match="not a weekday"):
        Schedule(timezone="UTC", hours={"mon-fry": ["08:00-10:00"]})
    with pytest.raises(ValueError, match="at least one day"):
        Schedule(timezone="UTC", hours={"sun": []})
