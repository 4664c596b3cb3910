"""The budget formulas and the seed documents' worked examples (DESIGN.md), on the functions
every status runs: the evaluator over instants and the forecast."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbudget.catalogs import builtin_policies
from errorbudget.engine.budget import Counts
from errorbudget.engine.evaluator import Instants, evaluate, spends
from errorbudget.engine.exact import Spend, allowed_per_event, common_scale
from errorbudget.engine.forecast import calendar_forecast
from errorbudget.engine.timeslices import SlicePrefix, slice_counts

CONTACT_CENTER = builtin_policies()["contact-center"]


def period(good: int, total: int, target: float, *, window: str = "period") -> Instants:
    """One series at one instant through the evaluator every status uses."""
    scale = common_scale([target])
    found = spends([window], [[[good]]], [[[total]]], [allowed_per_event(target, scale)], scale)
    return evaluate(found, [], CONTACT_CENTER, min_events=0, period=window)


def test_seed_100k_calls_at_95_percent_gives_5000_call_budget() -> None:
    assert period(95_000, 100_000, 0.95).budget_total[0, 0] == 5_000


def test_seed_99_5_percent_with_380_bad_leaves_120() -> None:
    found = period(100_000 - 380, 100_000, 0.995)
    assert found.budget_total[0, 0] == 500
    assert found.budget_remaining[0, 0] == 120
    assert found.consumed_ratio[0, 0] == pytest.approx(0.76)
    assert found.remaining_ratio[0, 0] == pytest.approx(0.24)


def test_seed_failing_2_percent_at_99_5_burns_at_4x() -> None:
    assert period(98, 100, 0.995, window="1h").burn_rate("1h")[0, 0] == pytest.approx(4.0)


def test_seed_99_9_over_30_days_is_about_43_minutes_of_slices() -> None:
    slices = 30 * 24 * 60
    assert period(slices, slices, 0.999).budget_total[0, 0] == pytest.approx(43.2)


def test_seed_85_percent_voice_sla_budget_is_15_percent() -> None:
    assert period(0, 10_000, 0.85).budget_total[0, 0] == 1_500


def test_no_data_is_neither_zero_nor_hundred_percent() -> None:
    empty = period(0, 0, 0.99)
    assert math.isnan(empty.sli[0, 0])
    assert math.isnan(empty.burn_rate("period")[0, 0])
    assert math.isnan(empty.consumed_ratio[0, 0])
    assert empty.states()[0, 0] == "no_data"


def test_remaining_goes_negative_when_overspent() -> None:
    found = period(900, 1_000, 0.95)  # 100 bad against a budget of 50
    assert found.consumed_ratio[0, 0] == pytest.approx(2.0)
    assert found.remaining_ratio[0, 0] == pytest.approx(-1.0)
    assert found.budget_remaining[0, 0] == -50


def test_highest_possible_burn_is_one_over_allowed_ratio() -> None:
    assert period(0, 500, 0.85).burn_rate("period")[0, 0] == pytest.approx(1 / 0.15)


def test_time_to_exhaustion_is_remaining_over_net_bad_rate() -> None:
    # 99.5 %: 120 bad events left of 500; the last hour had 1,000 eligible and 60 bad,
    # so the budget shrinks by 60 − 5 = 55 events an hour: 120 / 55 hours.
    scale = 200  # 0.995 = 199/200: one allowed bad event per eligible event, scaled
    forecast = calendar_forecast(
        Spend(380, 100_000, scale), Spend(60, 1_000, scale), 60, 20 * 1440, 10 * 1440, 30 * 1440
    )
    assert forecast.outlook == "exhausts"
    assert forecast.time_to_exhaustion_seconds == pytest.approx(120 / 55 * 3_600)
    spent = calendar_forecast(
        Spend(600, 100_000, scale), Spend(60, 1_000, scale), 60, 20 * 1440, 10 * 1440, 30 * 1440
    )
    assert spent.time_to_exhaustion_seconds == 0.0
    calm = calendar_forecast(
        Spend(380, 100_000, scale), Spend(0, 1_000, scale), 60, 20 * 1440, 10 * 1440, 30 * 1440
    )
    assert calm.time_to_exhaustion_seconds is None


def test_projection_grows_both_bad_events_and_budget() -> None:
    # 15 days in: 10,000 eligible, 750 bad at 85% (half the budget); the last day had
    # 1,000 eligible and 150 bad (burn 1) and 15 days remain.
    scale = 20  # 0.85 = 17/20: 3 allowed bad events per 20 eligible
    forecast = calendar_forecast(
        Spend(750, 3 * 10_000, scale), Spend(150, 3 * 1_000, scale), 1440, 15 * 1440,
        15 * 1440, 30 * 1440,
    )  # fmt: skip
    # (750 + 150*15) / (0.15 * (10,000 + 1,000*15)) = 3,000 / 3,750
    assert forecast.projected_consumed_ratio == pytest.approx(0.8)


def test_seed_linear_projection_consumed_over_elapsed_times_period() -> None:
    # 42.3% consumed after 10 of 30 days -> 126.9% projected ("127%")
    scale = 20
    forecast = calendar_forecast(
        Spend(1_269, 3 * 20_000, scale), Spend(0, 0, scale), 1440, 20 * 1440, 10 * 1440,
        30 * 1440,
    )  # fmt: skip
    assert forecast.linear_projected_consumed_ratio == pytest.approx(1.269)


@given(
    good=st.integers(min_value=0, max_value=10**9),
    extra_bad=st.integers(min_value=0, max_value=10**9),
    target=st.sampled_from([0.5, 0.8, 0.85, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999]),
    factor=st.integers(min_value=2, max_value=1000),
)
def test_doubling_all_counts_leaves_ratios_unchanged(
    good: int, extra_bad: int, target: float, factor: int
) -> None:
    counts = period(good, good + extra_bad, target)
    scaled = period(good * factor, (good + extra_bad) * factor, target)
    for read in (
        lambda found: found.sli[0, 0],
        lambda found: found.burn_rate("period")[0, 0],
        lambda found: found.consumed_ratio[0, 0],
    ):
        a, b = float(read(counts)), float(read(scaled))
        assert math.isnan(a) == math.isnan(b)
        if not math.isnan(a):
            assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


@given(
    target=st.sampled_from([0.5, 0.8, 0.85, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995]),
    eligible_per_minute=st.integers(min_value=1, max_value=10_000),
    days=st.integers(min_value=1, max_value=90),
)
def test_burn_one_for_a_whole_window_spends_exactly_the_budget(
    target: float, eligible_per_minute: int, days: int
) -> None:
    total = eligible_per_minute * days * 1440 * 10_000  # the budget is a whole number
    bad = round((1 - target) * total)  # the bad ratio that burns at exactly 1
    found = period(total - bad, total, target)
    assert found.burn_rate("period")[0, 0] == 1.0
    assert found.consumed_ratio[0, 0] == 1.0
    assert found.budget_remaining[0, 0] == 0.0
    # exactly spent is "remaining ≤ 0": the contact-center preset's exhausted state
    assert found.states()[0, 0] == "exhausted"


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
