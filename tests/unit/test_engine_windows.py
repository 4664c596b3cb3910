"""Rolling windows and calendar periods in IANA time zones, across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from errorbudget.engine.windows import (
    clip,
    merge_ranges,
    nominal_length,
    period_at,
    plan,
)
from errorbudget.model import CalendarWindow, RollingWindow, to_minute


def minute(text: str) -> int:
    return to_minute(datetime.fromisoformat(text))


def test_rolling_window_ends_before_the_open_minute() -> None:
    window = RollingWindow(length=timedelta(days=28))
    at = minute("2026-11-25T10:07:00+00:00")
    period = period_at(window, at)
    assert period.end == at
    assert period.minutes == 28 * 1440


def test_new_york_november_has_an_extra_hour_after_dst_ends() -> None:
    # DST ends 2026-11-01 02:00 EDT: the month runs from 04:00Z to 05:00Z a month later.
    window = CalendarWindow(unit="month", timezone="America/New_York")
    period = period_at(window, minute("2026-11-25T10:00:00+00:00"))
    assert period.start == minute("2026-11-01T04:00:00+00:00")
    assert period.end == minute("2026-12-01T05:00:00+00:00")
    assert period.minutes == 30 * 1440 + 60


def test_new_york_march_is_an_hour_short() -> None:
    window = CalendarWindow(unit="month", timezone="America/New_York")
    period = period_at(window, minute("2026-03-20T12:00:00+00:00"))
    assert period.start == minute("2026-03-01T05:00:00+00:00")
    assert period.end == minute("2026-04-01T04:00:00+00:00")
    assert period.minutes == 31 * 1440 - 60


def test_local_month_boundary_not_utc_boundary() -> None:
    window = CalendarWindow(unit="month", timezone="America/New_York")
    # 2026-12-01T03:00Z is still November 30th, 22:00 in New York.
    period = period_at(window, minute("2026-12-01T03:00:00+00:00"))
    assert period.start == minute("2026-11-01T04:00:00+00:00")
    # At 05:01Z December has begun locally.
    december = period_at(window, minute("2026-12-01T05:01:00+00:00"))
    assert december.start == minute("2026-12-01T05:00:00+00:00")


def test_evaluating_exactly_at_period_start_reports_the_closed_period() -> None:
    window = CalendarWindow(unit="month", timezone="Europe/Berlin")
    # At the first minute of November (Berlin) nothing of November is counted yet, so the
    # status is October's: 2026-10 in Berlin runs 30 Sep 22:00Z to 31 Oct 23:00Z (DST ends).
    period = period_at(window, minute("2026-10-31T23:00:00+00:00"))
    assert period.start == minute("2026-09-30T22:00:00+00:00")
    assert period.minutes == 31 * 1440 + 60


def test_week_starts_monday_in_zone_and_quarter() -> None:
    week = period_at(
        CalendarWindow(unit="week", timezone="Asia/Kolkata"), minute("2026-11-25T20:00:00+00:00")
    )
    # Thursday 26 Nov 01:30 in Kolkata -> week from Monday 23 Nov 00:00 IST (22 Nov 18:30Z)
    assert week.start == minute("2026-11-22T18:30:00+00:00")
    assert week.minutes == 7 * 1440
    quarter = period_at(CalendarWindow(unit="quarter"), minute("2026-11-25T00:00:00+00:00"))
    assert quarter.start == minute("2026-10-01T00:00:00+00:00")
    assert quarter.end == minute("2027-01-01T00:00:00+00:00")


def test_nominal_lengths_scale_catalogs() -> None:
    assert nominal_length(CalendarWindow(unit="month")) == timedelta(days=30)
    assert nominal_length(RollingWindow(length=timedelta(days=28))) == timedelta(days=28)


def test_plan_has_every_burn_window_period_and_lookbacks() -> None:
    at = minute("2026-11-25T10:00:00+00:00")
    evaluation = plan(CalendarWindow(unit="month", timezone="UTC"), at, timedelta(days=1))
    assert evaluation.intervals["5m"] == (at - 5, at)
    assert evaluation.intervals["3d"] == (at - 4320, at)
    assert evaluation.intervals["period"] == (minute("2026-11-01T00:00:00+00:00"), at)
    assert evaluation.intervals["lookback"] == (at - 1440, at)
    assert evaluation.leaving == ()  # a calendar budget starts again; nothing leaves


def test_a_rolling_plan_cuts_the_window_at_utc_midnights() -> None:
    at = minute("2026-11-25T10:00:00+00:00")
    evaluation = plan(RollingWindow(length=timedelta(days=3)), at, timedelta(hours=1))
    pieces = [evaluation.intervals[name] for name in evaluation.leaving]
    assert pieces == [
        (at - 3 * 1440, minute("2026-11-23T00:00:00+00:00")),
        (minute("2026-11-23T00:00:00+00:00"), minute("2026-11-24T00:00:00+00:00")),
        (minute("2026-11-24T00:00:00+00:00"), minute("2026-11-25T00:00:00+00:00")),
        (minute("2026-11-25T00:00:00+00:00"), at),
    ]
    assert sum(evaluation.minutes(name) for name in evaluation.leaving) == 3 * 1440


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), max_size=20),
    st.integers(0, 500),
    st.integers(0, 500),
)
def test_merge_and_clip_count_each_minute_once(
    ranges: list[tuple[int, int]], a: int, b: int
) -> None:
    start, end = min(a, b), max(a, b)
    covered = {m for s, e in ranges for m in range(s, e)}
    merged = merge_ranges(ranges)
    assert {m for s, e in merged for m in range(s, e)} == covered
    assert all(merged[i][1] < merged[i + 1][0] for i in range(len(merged) - 1))
    parts = clip((start, end), merged)
    assert sum(e - s for s, e in parts) == len(covered & set(range(start, end)))


def test_to_minute_rejects_naive() -> None:
    import pytest

    with pytest.raises(ValueError, match="naive"):
        to_minute(datetime(2026, 1, 1))
    assert to_minute(datetime(1970, 1, 1, 0, 1, tzinfo=UTC)) == 1
