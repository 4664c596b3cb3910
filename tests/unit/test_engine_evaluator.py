"""The evaluator over instants (``engine.evaluator``) and at every minute
(``engine.minutes``): at any instant ``t`` it says what the status at ``t`` says."""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.engine.alerts import slo_conditions
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.evaluator import STATES, Spends, conditions_per_series
from errorbudget.engine.exact import Spend, allowed_per_event, common_scale
from errorbudget.engine.minutes import MinuteSeries, data_bounds, evaluate_minutes, series_chunk
from errorbudget.engine.status import evaluate_every_series, range_counts
from errorbudget.engine.windows import plan
from errorbudget.model import BURN_WINDOWS, SLO, to_minute

PRESETS = builtin_policies()
CATALOG = builtin_burn_catalogs()["google-30d"]
ORIGIN = to_minute(datetime.fromisoformat("2026-03-02T00:00:00+00:00"))
DAYS = 9


def conditions_for(slo: SLO, target: Fraction) -> list[EffectiveCondition]:
    return slo_conditions(CATALOG, slo, target)


def make_slo(window: str, targets: list[float], min_coverage: float) -> SLO:
    windows = {
        "rolling": {"type": "rolling", "length": "2d"},
        "week": {"type": "calendar", "unit": "week", "timezone": "America/New_York"},
    }
    return SLO.model_validate(
        {
            "id": "replayed",
            "service": "svc",
            "target": targets[0],
            "window": windows[window],
            "segments": {
                "keys": ["queue"],
                "overrides": [
                    {"match": {"queue": f"q{i}"}, "target": t} for i, t in enumerate(targets)
                ],
            },
            "data": {"min_coverage": min_coverage},
        }
    )


def minute_counts(seed: int, series: int, quiet: float) -> tuple[np.ndarray, np.ndarray]:
    """Poisson traffic with a bad stretch per series, some series starting late and quiet
    minutes (no data)."""
    rng = np.random.default_rng(seed)
    width = DAYS * 1440
    total = rng.poisson(rng.uniform(0.5, 30), size=(series, width))
    total[rng.random((series, width)) < quiet] = 0
    rate = np.full((series, width), 0.999)
    for row in range(series):
        start = int(rng.integers(0, width - 600))
        rate[row, start : start + int(rng.integers(5, 600))] = rng.uniform(0.0, 0.9)
        total[row, : int(rng.integers(0, 3 * 1440))] = 0  # data starts late
    good = rng.binomial(total, rate)
    return good.astype(np.float64), total.astype(np.float64)


def statuses_at(slo, targets, good, total, at):  # type: ignore[no-untyped-def]
    """The production status path at ``at``, fed exact range sums of the minute arrays."""
    evaluation = plan(slo.window, at, slo.forecast.lookback)
    prefix_good = np.concatenate([np.zeros((good.shape[0], 1)), good.cumsum(axis=1)], axis=1)
    prefix_total = np.concatenate([np.zeros((total.shape[0], 1)), total.cumsum(axis=1)], axis=1)

    def window_sums(prefix: np.ndarray) -> np.ndarray:
        found = []
        for name in evaluation.names:
            start, end = evaluation.intervals[name]
            first = min(max(start - ORIGIN, 0), prefix.shape[1] - 1)
            last = min(max(end - ORIGIN, 0), prefix.shape[1] - 1)
            found.append(prefix[:, last] - prefix[:, first])
        return np.stack(found, axis=1)

    counted = np.stack([window_sums(prefix_good), window_sums(prefix_total)], axis=-1)
    first, end = data_bounds(MinuteSeries(good, total, ORIGIN, np.zeros(0, np.int64), 1))
    bounds = [(int(a), int(b)) if b > a else None for a, b in zip(first, end, strict=True)]
    counts = range_counts(counted, counted, targets, bounds)
    segments = [(("queue", f"q{i}"),) for i in range(len(targets))]
    return evaluate_every_series(
        slo, segments, evaluation, counts, PRESETS[slo.policy], conditions_for
    )


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=st.sampled_from(["rolling", "week"]),
    targets=st.lists(
        st.sampled_from([0.8, 0.85, 0.95, 0.99, 0.995, 0.999]), min_size=1, max_size=3
    ),
    policy=st.sampled_from(sorted(PRESETS)),
    min_coverage=st.sampled_from([0.0, 0.1, 0.5]),
    quiet=st.sampled_from([0.0, 0.3, 0.95]),
    offsets=st.lists(st.integers(0, DAYS * 1440 - 1), min_size=1, max_size=6),
)
def test_every_minute_equals_the_status_at_that_minute(
    seed: int,
    window: str,
    targets: list[float],
    policy: str,
    min_coverage: float,
    quiet: float,
    offsets: list[int],
) -> None:
    slo = make_slo(window, targets, min_coverage).model_copy(update={"policy": policy})
    good, total = minute_counts(seed, len(targets), quiet)
    scale = common_scale(targets)
    counts = MinuteSeries(
        good,
        total,
        ORIGIN,
        np.array([allowed_per_event(t, scale) for t in targets], dtype=np.int64),
        scale,
    )
    instants = np.array(sorted(set(offsets)), dtype=np.int64) + ORIGIN + 1
    per_series = [conditions_for(slo, Fraction(str(t))) for t in targets]
    replay = evaluate_minutes(
        counts,
        instants,
        slo.window,
        conditions_per_series(per_series),
        PRESETS[policy],
        min_events=slo.alerting.min_events,
        min_coverage=min_coverage,
    )
    states = replay.states()
    for column, at in enumerate(instants.tolist()):
        for row, status in enumerate(statuses_at(slo, targets, good, total, at)):
            assert states[row, column] == status.state
            assert [bool(h) for h in replay.holding[:, row, column]] == [
                c.firing for c in status.conditions
            ]
            for name in BURN_WINDOWS:
                burn = float(replay.burn_rate(name)[row, column])
                expected = status.burn_rates[name]
                assert (math.isnan(burn) and expected is None) or burn == expected
            consumed = float(replay.consumed_ratio[row, column])
            expected_consumed = (
                status.budget_consumed / status.budget_total if (status.budget_total) else None
            )
            if status.coverage.sufficient:
                assert (math.isnan(consumed) and expected_consumed is None) or (
                    consumed == status.period_burn_rate
                )
            assert float(replay.budget_total[row, column]) == status.budget_total
            assert int(replay.eligible[row, column]) == status.eligible


def test_minute_evaluation_is_chunked_and_bounded() -> None:
    assert series_chunk(35 * 1440) == 1
    assert series_chunk(60) > 1000
    assert series_chunk(0) >= 1


def test_huge_counts_are_decided_on_python_integers() -> None:
    """Past 64-bit products the decisions are still exact (object arrays), and agree with
    the scalar :class:`Spend`."""
    big = 10**17
    threshold = Fraction(10**12 + 1, 10**12)  # just above 1
    cases = [(big, big), (big + 1, big), (big, big + 1)]  # bad, allowed (scale 1)
    spends = Spends(
        ("period",),
        np.array([[[b for b, _ in cases]]], dtype=np.int64),
        np.zeros((1, 1, len(cases)), dtype=np.int64),
        np.array([[[a for _, a in cases]]], dtype=np.int64),
        1,
    )
    found = spends.compare("period", threshold.numerator, threshold.denominator)[0].tolist()
    assert found == [Spend(b, a, 1).ratio_above(threshold) for b, a in cases]
    at_least = spends.compare("period", 1, 1, strict=False)[0].tolist()
    assert at_least == [Spend(b, a, 1).ratio_at_least(Fraction(1)) for b, a in cases]
    assert spends.ratio("period")[0].tolist() == [Spend(b, a, 1).ratio for b, a in cases]


def test_states_are_coded_in_one_order() -> None:
    assert STATES[0] == "no_data"
    assert len(set(STATES)) == len(STATES) == 6


@pytest.mark.parametrize("window", ["rolling", "week"])
def test_no_data_and_insufficient_data_at_every_minute(window: str) -> None:
    slo = make_slo(window, [0.99], 0.5)
    width = DAYS * 1440
    total = np.zeros((1, width))
    total[0, -60:] = 10.0  # one hour of data at the end: too little to judge
    counts = MinuteSeries(total.copy(), total, ORIGIN, np.array([1], dtype=np.int64), 100)
    instants = np.array([ORIGIN + 10, ORIGIN + width], dtype=np.int64)
    replay = evaluate_minutes(
        counts,
        instants,
        slo.window,
        conditions_per_series([conditions_for(slo, Fraction(99, 100))]),
        PRESETS["contact-center"],
        min_events=20,
        min_coverage=0.5,
    )
    assert replay.states()[0].tolist() == ["insufficient_data", "insufficient_data"]
    relaxed = evaluate_minutes(
        counts,
        instants,
        slo.window,
        conditions_per_series([conditions_for(slo, Fraction(99, 100))]),
        PRESETS["contact-center"],
        min_events=20,
    )
    # without a coverage floor: nothing eligible yet is no data (as a status says it);
    # at the end an hour of good calls is healthy
    assert relaxed.states()[0].tolist() == ["no_data", "healthy"]
