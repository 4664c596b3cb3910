"""One forecast model: time to exhaustion and the period-end projection never disagree, and a
rolling window gives back the budget of the events that leave it."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorbudget.engine.exact import Spend
from errorbudget.engine.forecast import (
    SpendColumns,
    calendar_forecast,
    calendar_forecasts,
    rolling_forecast,
    rolling_forecasts,
)

SCALE = 100  # targets in whole percent: allowed = (100 − T%) × E


def spend(bad: int, eligible: int, allowed_percent: int) -> Spend:
    return Spend(bad, allowed_percent * eligible, SCALE)


@settings(max_examples=400, deadline=None)
@given(
    eligible=st.integers(1, 100_000),
    bad_share=st.integers(0, 1000),
    allowed_percent=st.integers(1, 50),
    lookback_eligible=st.integers(0, 10_000),
    lookback_bad_share=st.integers(0, 1000),
    lookback_minutes=st.sampled_from([60, 360, 1440]),
    minutes_left=st.integers(0, 45 * 1440),
)
def test_exhaustion_before_the_period_end_iff_projection_above_100_percent(
    eligible: int,
    bad_share: int,
    allowed_percent: int,
    lookback_eligible: int,
    lookback_bad_share: int,
    lookback_minutes: int,
    minutes_left: int,
) -> None:
    bad = eligible * bad_share // 1000
    lookback_bad = lookback_eligible * lookback_bad_share // 1000
    period = spend(bad, eligible, allowed_percent)
    lookback = spend(lookback_bad, lookback_eligible, allowed_percent)
    result = calendar_forecast(period, lookback, lookback_minutes, minutes_left, 10_000, 43_200)
    # the projection, exactly: (B + r_B τ) / (A + r_A τ)
    allowed = Fraction(allowed_percent, 100)
    projected = Fraction(
        bad * lookback_minutes + lookback_bad * minutes_left,
        1,
    ) / (allowed * (eligible * lookback_minutes + lookback_eligible * minutes_left))
    spent = bad * 100 >= allowed_percent * eligible
    # spent now or before the period ends ⇔ the projection is above 100 %, exactly
    assert (result.outlook in ("exhausts", "spent")) == (projected > 1)
    if spent:
        assert result.outlook in ("spent", "recovers")
        assert result.time_to_exhaustion_seconds == 0.0
        return
    if result.outlook == "exhausts":
        assert result.time_to_exhaustion_seconds is not None
        assert 0 < result.time_to_exhaustion_seconds < minutes_left * 60
        assert result.projected_consumed_ratio is not None
        assert result.projected_consumed_ratio >= 1.0
    else:
        assert result.time_to_exhaustion_seconds is None


def test_hand_checked_calendar_forecast() -> None:
    # 85 %: 10,000 calls so far, 750 bad (half the budget); the last day 1,000 calls, 300 bad
    period = spend(750, 10_000, 15)
    lookback = spend(300, 1_000, 15)
    # per day: +300 bad, +150 budget: 750 left shrink by 150 a day → 5 days
    result = calendar_forecast(period, lookback, 1440, 15 * 1440, 15 * 1440, 30 * 1440)
    assert result.outlook == "exhausts"
    assert result.time_to_exhaustion_seconds == pytest.approx(5 * 86_400)
    # (750 + 300 × 15) / (1,500 + 150 × 15) = 5,250 / 3,750
    assert result.projected_consumed_ratio == pytest.approx(1.4)
    assert result.linear_projected_consumed_ratio == pytest.approx(1.0)
    late = calendar_forecast(period, lookback, 1440, 4 * 1440, 26 * 1440, 30 * 1440)
    assert late.outlook == "not_before_period_end" and late.time_to_exhaustion_seconds is None
    assert late.projected_consumed_ratio is not None and late.projected_consumed_ratio < 1


def test_burning_under_one_never_runs_out_of_a_calendar_budget() -> None:
    # 0.31×: the budget grows faster than it is spent
    result = calendar_forecast(
        spend(1_000, 10_000, 15), spend(465, 10_000, 15), 1440, 20 * 1440, 10 * 1440, 30 * 1440
    )
    assert result.outlook == "not_at_this_rate"
    assert result.time_to_exhaustion_seconds is None


def rolling(
    daily_eligible: list[int], daily_bad: list[int], allowed_percent: int
) -> tuple[Spend, Spend, list[tuple[int, int, int]]]:
    """A rolling window from per-day counts (oldest first) as (minutes, bad, allowed)
    pieces; the lookback is the last day."""
    pieces = [
        (1440, b, allowed_percent * e) for e, b in zip(daily_eligible, daily_bad, strict=True)
    ]
    period = spend(sum(daily_bad), sum(daily_eligible), allowed_percent)
    lookback = spend(daily_bad[-1], daily_eligible[-1], allowed_percent)
    return period, lookback, pieces


def test_steady_burn_under_one_never_exhausts_a_rolling_window() -> None:
    period, lookback, pieces = rolling([1_000] * 30, [31] * 30, 10)  # 0.31×
    result = rolling_forecast(period, lookback, 1440, pieces)
    assert result.outlook == "not_at_this_rate"


def test_an_old_incident_leaving_the_window_gives_budget_back() -> None:
    # 30 days at 99 %: the oldest day had an incident (2,800 bad), since then 0.05×; 2,945
    # of 3,000 allowed are spent, and the incident leaves the window within a day.
    daily_bad = [2_800] + [5] * 29
    period, lookback, pieces = rolling([10_000] * 30, daily_bad, 1)
    assert period.ratio is not None and period.ratio > 0.98
    result = rolling_forecast(period, lookback, 1440, pieces)
    assert result.outlook == "not_at_this_rate"


def test_rolling_exhaustion_matches_a_minute_by_minute_simulation() -> None:
    # 30 days of 1,000 calls a day at 95 %, 40 bad a day (0.8×), then the rate doubles to
    # 120 bad a day (2.4×) — the lookback. The budget runs out when enough new bad days
    # replace old ones.
    days = 30
    eligible, bad = [1_000] * days, [40] * (days - 1) + [120]
    period, lookback, pieces = rolling(eligible, bad, 5)
    result = rolling_forecast(period, lookback, 1440, pieces)
    assert result.outlook == "exhausts" and result.time_to_exhaustion_seconds is not None
    # simulate: each minute 1/1440 of the oldest day leaves and 1/1440 of a 120-bad day comes
    window_bad = np.repeat(np.array(bad, dtype=float) / 1440, 1440)
    window_total = np.repeat(np.array(eligible, dtype=float) / 1440, 1440)
    budget = 0.05
    for step in range(1, days * 1440):
        in_bad = window_bad[step:].sum() + step * 120 / 1440
        in_total = window_total[step:].sum() + step * 1_000 / 1440
        if in_bad >= budget * in_total:
            break
    assert result.time_to_exhaustion_seconds / 60 == pytest.approx(step, abs=2)


def test_spent_budgets_say_so() -> None:
    period, lookback, pieces = rolling([100] * 30, [10] * 30, 5)
    assert rolling_forecast(period, lookback, 1440, pieces).outlook == "spent"
    spent = calendar_forecast(spend(20, 100, 5), spend(0, 0, 5), 1440, 1440, 1440, 43_200)
    # spent now, and nothing comes in: still spent at the period end
    assert spent.outlook == "spent" and spent.time_to_exhaustion_seconds == 0.0
    # spent now, but a clean rest of the month brings it back within budget
    recovers = calendar_forecast(
        spend(20, 100, 5), spend(0, 1_000, 5), 1440, 20 * 1440, 1440, 43_200
    )
    assert recovers.outlook == "recovers"
    assert recovers.projected_consumed_ratio is not None
    assert recovers.projected_consumed_ratio < 1
    empty = calendar_forecast(spend(0, 0, 5), spend(0, 0, 5), 1440, 1440, 1440, 43_200)
    assert empty.outlook == "no_data" and empty.time_to_exhaustion_seconds is None


def exact_rolling(
    period: Spend, lookback: Spend, length: int, pieces: list[tuple[int, int, int]]
) -> bool:
    """Whether the budget reaches zero within the window, with Fractions."""
    level = Fraction(period.allowed - period.bad * period.scale)
    gain = Fraction(lookback.allowed - lookback.bad * lookback.scale, length)
    for minutes, bad, allowed in pieces:
        level += gain * minutes - (allowed - bad * period.scale)
        if level <= 0:
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(
    daily=st.lists(st.tuples(st.integers(0, 2_000), st.integers(0, 100)), min_size=2, max_size=8),
    allowed_percent=st.integers(1, 20),
    lookback_share=st.integers(0, 100),
)
def test_the_rolling_outlook_is_decided_exactly(
    daily: list[tuple[int, int]], allowed_percent: int, lookback_share: int
) -> None:
    """Including on the boundary (the budget reaching exactly zero at a piece's end), which
    floats decided both ways."""
    eligible = [e for e, _ in daily]
    bad = [min(e, e * share // 100) for e, share in daily]
    period = spend(sum(bad), sum(eligible), allowed_percent)
    if not period.has_data or period.bad * SCALE >= period.allowed:
        return
    pieces = [(1440, b, allowed_percent * e) for e, b in zip(eligible, bad, strict=True)]
    # a lookback burning at exactly 1× of the last day's traffic, or at its share
    last = eligible[-1]
    lookback = spend(last * lookback_share // 100, last, allowed_percent)
    result = rolling_forecast(period, lookback, 1440, pieces)
    assert (result.outlook == "exhausts") == exact_rolling(period, lookback, 1440, pieces)


def test_rolling_at_exactly_one_reaching_zero_at_the_window_end() -> None:
    # 5 % allowed, one day's window with 4 bad of 100; the lookback burns exactly 1× (5 in
    # 100): once the old day has left, the budget is exactly spent — it exhausts in a day
    period = spend(4, 100, 5)
    pieces = [(1440, 4, 5 * 100)]
    result = rolling_forecast(period, spend(5, 100, 5), 1440, pieces)
    assert result.outlook == "exhausts"
    assert result.time_to_exhaustion_seconds == pytest.approx(86_400)
    under = rolling_forecast(period, spend(4, 100, 5), 1440, pieces)
    assert under.outlook == "not_at_this_rate"


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(1, 6),
    pieces=st.lists(st.one_of(st.sampled_from([0, -1]), st.integers(1, 1440)), max_size=8),
    scale=st.sampled_from([1, 5, 100, 1000, 10**6]),
    lookback_minutes=st.sampled_from([-60, 0, 60, 1440]),
    magnitude=st.sampled_from([10, 10_000, 10**9, 10**14]),
)
def test_rolling_forecasts_of_many_rows_are_each_rows_rolling_forecast(
    data: st.DataObject,
    rows: int,
    pieces: list[int],
    scale: int,
    lookback_minutes: int,
    magnitude: int,
) -> None:
    """The status' batched forecast (int64 when every sum fits, else row by row) gives each
    row exactly what :func:`rolling_forecast` gives it: same outlook, same float time —
    budgets running out in the first, a middle or no piece, spent and empty periods, and
    numbers too large for int64."""

    counts = st.integers(0, magnitude)
    period_bad = data.draw(st.lists(counts, min_size=rows, max_size=rows))
    period_allowed = data.draw(st.lists(counts, min_size=rows, max_size=rows))
    lookback_bad = data.draw(st.lists(counts, min_size=rows, max_size=rows))
    lookback_allowed = data.draw(st.lists(counts, min_size=rows, max_size=rows))
    small = st.integers(0, min(magnitude, 2**40))  # leaving counts are the store's int64
    leaving_bad = np.array(
        data.draw(st.lists(st.lists(small, min_size=len(pieces), max_size=len(pieces)),
                           min_size=rows, max_size=rows)),
        dtype=np.int64,
    ).reshape(rows, len(pieces))  # fmt: skip
    leaving_allowed = np.array(
        data.draw(st.lists(st.lists(small, min_size=len(pieces), max_size=len(pieces)),
                           min_size=rows, max_size=rows)),
        dtype=np.int64,
    ).reshape(rows, len(pieces))  # fmt: skip
    spends = SpendColumns(
        period_bad, period_allowed, lookback_bad, lookback_allowed, scale, lookback_minutes
    )
    found = rolling_forecasts(spends, pieces, leaving_bad, leaving_allowed)
    expected = [
        rolling_forecast(
            Spend(period_bad[row], period_allowed[row], scale),
            Spend(lookback_bad[row], lookback_allowed[row], scale),
            lookback_minutes,
            list(
                zip(pieces, leaving_bad[row].tolist(), leaving_allowed[row].tolist(), strict=True)
            ),
        )
        for row in range(rows)
    ]
    assert found == expected


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    rows=st.integers(1, 6),
    scale=st.sampled_from([1, 5, 100, 10**6]),
    lookback_minutes=st.sampled_from([-60, 0, 60, 1440]),
    minutes_left=st.integers(-100, 45 * 1440),
    elapsed_minutes=st.integers(-5, 45 * 1440),
    magnitude=st.sampled_from([10, 10_000, 10**14]),
)
def test_calendar_forecasts_of_many_rows_are_each_rows_calendar_forecast(
    data: st.DataObject,
    rows: int,
    scale: int,
    lookback_minutes: int,
    minutes_left: int,
    elapsed_minutes: int,
    magnitude: int,
) -> None:
    """The status' batched calendar forecast gives each row exactly what
    :func:`calendar_forecast` gives it (outlook, times and both projections)."""

    column = st.lists(st.integers(0, magnitude), min_size=rows, max_size=rows)
    period_bad, period_allowed, lookback_bad, lookback_allowed = (
        data.draw(column) for _ in range(4)
    )
    spends = SpendColumns(
        period_bad, period_allowed, lookback_bad, lookback_allowed, scale, lookback_minutes
    )
    found = calendar_forecasts(spends, minutes_left, elapsed_minutes, 43_200)
    expected = [
        calendar_forecast(
            Spend(period_bad[row], period_allowed[row], scale),
            Spend(lookback_bad[row], lookback_allowed[row], scale),
            lookback_minutes,
            minutes_left,
            elapsed_minutes,
            43_200,
        )
        for row in range(rows)
    ]
    assert found == expected
