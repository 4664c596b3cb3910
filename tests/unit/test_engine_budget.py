"""The budget formulas and the seed documents' worked examples (DESIGN.md)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbudget.engine import budget
from errorbudget.engine.budget import Counts
from errorbudget.engine.timeslices import SlicePrefix, slice_counts


def test_seed_100k_calls_at_95_percent_gives_5000_call_budget() -> None:
    assert budget.budget_total(Counts(good=95_000, total=100_000), 0.95) == pytest.approx(5_000)


def test_seed_99_5_percent_with_380_bad_leaves_120() -> None:
    counted = Counts(good=100_000 - 380, total=100_000)
    allowed = budget.budget_total(counted, 0.995)
    assert allowed == pytest.approx(500)
    assert allowed - counted.bad == pytest.approx(120)
    assert budget.consumed_ratio(counted, 0.995) == pytest.approx(0.76)


def test_seed_failing_2_percent_at_99_5_burns_at_4x() -> None:
    assert budget.burn_rate(Counts(good=98, total=100), 0.995) == pytest.approx(4.0)


def test_seed_99_9_over_30_days_is_about_43_minutes_of_slices() -> None:
    slices = 30 * 24 * 60
    assert budget.budget_total(Counts(slices, slices), 0.999) == pytest.approx(43.2)


def test_seed_85_percent_voice_sla_budget_is_15_percent() -> None:
    assert budget.budget_total(Counts(0, 10_000), 0.85) == pytest.approx(1_500)


def test_no_data_is_neither_zero_nor_hundred_percent() -> None:
    empty = Counts(0, 0)
    assert budget.sli(empty) is None
    assert budget.burn_rate(empty, 0.99) is None
    assert budget.consumed_ratio(empty, 0.99) is None


def test_remaining_goes_negative_when_overspent() -> None:
    counted = Counts(good=900, total=1_000)  # 100 bad against a budget of 50
    consumed = budget.consumed_ratio(counted, 0.95)
    assert consumed == pytest.approx(2.0)
    assert 1 - consumed == pytest.approx(-1.0)


def test_highest_possible_burn_is_one_over_allowed_ratio() -> None:
    assert budget.burn_rate(Counts(0, 500), 0.85) == pytest.approx(1 / 0.15)


def test_time_to_exhaustion_is_remaining_over_bad_rate() -> None:
    # 120 bad events left; 60 bad in the last hour -> 2 hours
    seconds = budget.time_to_exhaustion_seconds(120, Counts(940, 1_000), 3_600)
    assert seconds == pytest.approx(7_200)
    assert budget.time_to_exhaustion_seconds(-5, Counts(0, 10), 3_600) == 0.0
    assert budget.time_to_exhaustion_seconds(120, Counts(10, 10), 3_600) is None


def test_projection_grows_both_bad_events_and_budget() -> None:
    # 15 days in: 10,000 eligible, 750 bad at 85% (half the budget); the last day had
    # 1,000 eligible and 150 bad (burn 1) and 15 days remain.
    counted = Counts(good=10_000 - 750, total=10_000)
    lookback = Counts(good=850, total=1_000)
    projected = budget.projected_consumed_ratio(
        counted.bad, 0.15 * counted.total, lookback.bad, 0.15 * lookback.total, 1440, 15 * 1440
    )
    # (750 + 150*15) / (0.15 * (10,000 + 1,000*15)) = 3,000 / 3,750
    assert projected == pytest.approx(0.8)


def test_seed_linear_projection_consumed_over_elapsed_times_period() -> None:
    # 42.3% consumed after 10 of 30 days -> 126.9% projected ("127%")
    assert budget.linear_projected_consumed_ratio(0.423, 10 * 1440, 30 * 1440) == pytest.approx(
        1.269
    )


@given(
    good=st.integers(min_value=0, max_value=10**9),
    extra_bad=st.integers(min_value=0, max_value=10**9),
    target=st.floats(min_value=0.5, max_value=0.9999),
    factor=st.integers(min_value=2, max_value=1000),
)
def test_doubling_all_counts_leaves_ratios_unchanged(
    good: int, extra_bad: int, target: float, factor: int
) -> None:
    counts = Counts(good, good + extra_bad)
    scaled = Counts(good * factor, (good + extra_bad) * factor)
    for fn in (
        budget.sli,
        lambda c: budget.burn_rate(c, target),
        lambda c: budget.consumed_ratio(c, target),
    ):
        a, b = fn(counts), fn(scaled)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@given(
    target=st.floats(min_value=0.5, max_value=0.9999),
    eligible_per_minute=st.integers(min_value=1, max_value=10_000),
    days=st.integers(min_value=1, max_value=90),
)
def test_burn_one_for_a_whole_window_spends_exactly_the_budget(
    target: float, eligible_per_minute: int, days: int
) -> None:
    minutes = days * 1440
    total = eligible_per_minute * minutes
    bad = (1 - target) * total  # the bad ratio that burns at exactly 1
    counted = Counts(total - bad, total)
    assert budget.burn_rate(counted, target) == pytest.approx(1.0)
    assert budget.consumed_ratio(counted, target) == pytest.approx(1.0)
    assert budget.budget_total(counted, target) - counted.bad == pytest.approx(
        0.0, abs=1e-6 * total
    )


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), min_size=1, max_size=200))
def test_timeslice_good_and_counted_never_exceed_slices(pairs: list[tuple[int, int]]) -> None:
    import numpy as np

    good = np.array([min(g, t) for g, t in pairs], dtype=float)
    total = np.array([t for _, t in pairs], dtype=float)
    counted, is_good = slice_counts(good, total, 1, 0.99)
    assert counted.sum() == (total > 0).sum()
    assert (is_good <= counted).all()


def window_slice_counts(
    good, total, origin, interval, length, target, no_data="ignore", excluded=None
):  # type: ignore[no-untyped-def]
    prefix = SlicePrefix(good, total, origin, length, target, no_data, excluded)
    slice_good, slice_counted = prefix.counts(interval)
    return Counts(float(slice_good), float(slice_counted))


def test_timeslices_no_data_policies_and_exclusions() -> None:
    import numpy as np

    good = np.array([10, 0, 9, 10, 0, 10], dtype=float)
    total = np.array([10, 0, 10, 10, 0, 10], dtype=float)
    assert window_slice_counts(good, total, 0, (0, 6), 1, 0.95) == Counts(3, 4)
    assert window_slice_counts(good, total, 0, (0, 6), 1, 0.95, "good") == Counts(5, 6)
    assert window_slice_counts(good, total, 0, (0, 6), 1, 0.95, "bad") == Counts(3, 6)
    excluded = np.array([False, False, True, False, False, False])
    # the bad slice is excluded: 3 good of 3 counted
    assert window_slice_counts(good, total, 0, (0, 6), 1, 0.95, "ignore", excluded) == Counts(3, 3)
    # 2-minute slices: 10/10, 19/20 = 0.95 (good: ≥ target), 10/10
    assert window_slice_counts(good, total, 0, (0, 6), 2, 0.95) == Counts(3, 3)
