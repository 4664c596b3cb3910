"""Burn episodes and the estimated impact of a change: engine math the pages and the change
service call (engine/episodes.py, engine/impact.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from errorbudget.engine.episodes import Episode, burn_episodes, fast_burn_thresholds
from errorbudget.engine.impact import consumed_share, historic_impact
from errorbudget.model import ConditionResult

NAN = math.nan


def condition(severity: str, long_window: str, factor: float) -> ConditionResult:
    return ConditionResult(
        severity=severity,
        long_window=long_window,
        short_window="5m",
        factor=factor,
        catalog_factor=factor,
        adapted=False,
        long_burn=None,
        short_burn=None,
        long_eligible=0.0,
        firing=False,
    )


def test_thresholds_are_the_page_conditions_on_timeline_windows() -> None:
    found = fast_burn_thresholds(
        [
            condition("page", "1h", 14.4),
            condition("page", "6h", 6.0),
            condition("page", "6h", 5.0),  # two share a window: the lowest
            condition("ticket", "1d", 3.0),  # slow burns are not episodes
            condition("page", "3d", 1.0),  # not a window a timeline reports
        ]
    )
    assert found == {"1h": 14.4, "6h": 5.0}


def test_episodes_start_a_step_early_and_reset_when_no_window_is_over() -> None:
    at = np.arange(10, dtype=np.int64) * 60 + 6_000
    burns = {
        "1h": np.array([1, 20, 30, 1, NAN, 15, 15, 1, 1, 16], dtype=np.float64),
        "6h": np.array([1, 1, 1, 1, 1, 1, 7, 1, 1, 1], dtype=np.float64),
    }
    found = burn_episodes(at, burns, {"1h": 14.4, "6h": 6.0}, 60)
    assert found == [
        Episode(6_000, 6_120, "1h", 30.0),  # hours 1-2, worst at the 30× hour
        Episode(6_240, 6_360, "6h", 7.0),  # hours 5-6: 7/6 is further over than 15/14.4
        Episode(6_480, 6_540, "1h", 16.0),  # still burning at the last instant
    ]


def test_no_data_is_never_a_burn_and_no_threshold_no_episode() -> None:
    at = np.arange(3, dtype=np.int64)
    assert burn_episodes(at, {"1h": np.full(3, NAN)}, {"1h": 14.4}, 1) == []
    assert burn_episodes(at, {"1h": np.full(3, 99.0)}, {}, 1) == []


def test_consumed_share_is_burn_times_horizon_over_period() -> None:
    # two series, two past changes; 99 % and 95 % targets
    counted = np.array(
        [
            [[990, 1_000], [0, 0]],
            [[950, 1_000], [0, 0]],
        ],
        dtype=np.float64,
    )
    found = consumed_share(counted, [0.99, 0.95], 1440, 30 * 1440)
    # (10 + 50) bad against 10 + 50 allowed: burn 1 for a day of 30
    assert found[0] == pytest.approx(1 / 30)
    assert math.isnan(found[1])


def test_a_change_costs_what_its_worst_slo_consumed() -> None:
    found = historic_impact(
        {
            "a": np.array([0.01, NAN, 0.03]),
            "b": np.array([0.02, 0.04, NAN]),
            "quiet": np.array([NAN, NAN, NAN]),
        },
        3,
    )
    assert found.ratio == pytest.approx((0.02 + 0.04 + 0.03) / 3)
    assert found.observed == 3
    assert found.per_slo == pytest.approx({"a": 0.02, "b": 0.03})
    assert historic_impact({"quiet": np.array([NAN])}, 1).ratio is None
