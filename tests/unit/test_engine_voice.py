"""The voice views' math (engine/voice.py): worked examples and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from errorbudget.engine.impact import consumed_share
from errorbudget.engine.voice import (
    call_impacts,
    error_stage_weights,
    event_impacts,
    first_seen,
    group_sums,
    latency_stage_weights,
    rank,
    ratio,
    shares,
    split,
    window_burn,
)

counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12)


def test_shares_normalise_and_say_nothing_without_weight() -> None:
    assert shares([1, 3]).tolist() == [0.25, 0.75]
    assert np.isnan(shares([0, 0])).all()
    with pytest.raises(ValueError, match="negative"):
        shares([1, -1])


@given(counts, st.floats(min_value=0, max_value=1e6))
def test_split_parts_add_up_to_the_consumed_budget(weights: list[int], consumed: float) -> None:
    parts = split(weights, consumed)
    if sum(weights) == 0:
        assert np.isnan(parts).all()
    else:
        assert math.isclose(float(parts.sum()), consumed, rel_tol=1e-9, abs_tol=1e-9)
        assert (parts >= 0).all()


def test_error_stage_weights_count_bad_events_per_stage() -> None:
    # stages: 0 telephony, 1 asr, 2 llm; -1 = no stage recorded
    weights = error_stage_weights([2, 1, 2, -1, 5], [3, 1, 4, 7, 2], stages=3)
    assert weights.tolist() == [0.0, 1.0, 7.0]


def test_latency_stage_weights_worked_example() -> None:
    # ASR: 10 bad turns averaging 900 ms vs 300 ms over eligible turns → 10 × 600
    # LLM: 10 bad turns averaging 400 ms vs 500 ms → faster in bad turns: 0
    # TTS: no bad turn timed it → 0
    weights = latency_stage_weights(
        bad_n=[10, 10, 0],
        bad_ms=[9_000, 4_000, 0],
        eligible_n=[100, 100, 100],
        eligible_ms=[30_000, 50_000, 20_000],
    )
    assert weights.tolist() == [6_000.0, 0.0, 0.0]
    assert shares(weights).tolist() == [1.0, 0.0, 0.0]


@given(
    st.lists(
        st.tuples(
            st.integers(0, 1_000),
            st.integers(0, 10**6),
            st.integers(0, 1_000),
            st.integers(0, 10**6),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_latency_weights_are_never_negative(rows: list[tuple[int, int, int, int]]) -> None:
    bn, bms, en, ems = (list(col) for col in zip(*rows, strict=True))
    weights = latency_stage_weights(bn, bms, en, ems)
    assert (weights >= 0).all()
    assert all(w == 0 for w, n in zip(weights.tolist(), bn, strict=True) if n == 0)


def test_window_burn_is_the_engine_burn() -> None:
    # seed 002: failing 2 % of calls at 99.5 % → burn 4
    counted = np.array([[98.0, 100.0]])
    burn = window_burn(counted, [0.995])
    assert burn is not None and math.isclose(burn, 4.0)
    assert window_burn(np.zeros((1, 2)), [0.995]) is None
    assert window_burn(np.zeros((0, 2)), []) is None


@given(
    st.lists(
        st.tuples(st.integers(0, 1_000), st.integers(0, 1_000), st.sampled_from([0.9, 0.99])),
        min_size=1,
        max_size=5,
    ),
    st.integers(1, 1_000),
    st.integers(1, 50_000),
)
def test_window_burn_times_horizon_over_period_is_the_consumed_share(
    rows: list[tuple[int, int, float]], horizon: int, period: int
) -> None:
    counted = np.array([[min(g, t), t] for g, t, _ in rows], dtype=np.float64)
    targets = [target for _, _, target in rows]
    burn = window_burn(counted, targets)
    share = consumed_share(counted[:, None, :], targets, horizon, float(period))[0]
    if burn is None:
        assert np.isnan(share)
    else:
        assert math.isclose(burn * horizon / period, share, rel_tol=1e-9, abs_tol=1e-12)


def test_event_impacts_are_one_over_the_allowed_bad_events() -> None:
    # 100,000 eligible at 99.5 % → 500 allowed: one bad call spends 0.2 % of that budget
    impacts = event_impacts([500.0, 0.0])
    assert impacts[0] == pytest.approx(0.002)
    assert np.isnan(impacts[1])


def test_call_impacts_sum_over_the_slos_a_call_failed_and_rank_highest_first() -> None:
    # call 0 failed two SLOs (1/500 + 1/50), call 1 one (1/500), call 2 one without budget
    per_call = call_impacts([0, 0, 1, 2], event_impacts([500, 50, 500, 0]), calls=3)
    assert per_call.tolist() == pytest.approx([0.022, 0.002, 0.0])
    assert rank(per_call, [10, 20, 30]).tolist() == [0, 1, 2]
    # ties: latest first
    assert rank([1.0, 1.0, 2.0], [10, 20, 5]).tolist() == [2, 1, 0]


def test_ratio_has_no_value_without_a_denominator() -> None:
    result = ratio([9, 0], [10, 0])
    assert result[0] == pytest.approx(0.9)
    assert np.isnan(result[1])


def test_group_sums_and_first_seen() -> None:
    sums = group_sums([0, 1, 0], [[1, 2], [3, 4], [5, 6]], groups=3)
    assert sums.tolist() == [[6.0, 8.0], [3.0, 4.0], [0.0, 0.0]]
    assert first_seen([0, 1, 0], [120, 60, 60], groups=3).tolist() == [60, 60, -1]
