"""``failure_streaks``: the trailing streak of failed synthetic checks, the one function live
alerting and replay both count it with, against a plain reading of its definition."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from errorbudget.engine.alert_rules import failure_streaks

ORIGIN = 1_000


def plainly(good: list[int], total: list[int], at: int, lookback: int) -> int:
    """Walk back from the instant: failures add up until a minute with a passing check."""
    streak = 0
    for minute in range(at - 1, max(ORIGIN, at - lookback) - 1, -1):
        index = minute - ORIGIN
        if index >= len(good):
            continue
        if good[index] > 0:
            break
        streak += total[index] - good[index]
    return streak


minutes = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=60)


@given(rows=st.lists(minutes, min_size=1, max_size=3), lookback=st.integers(1, 70))
def test_the_streak_is_the_failures_after_the_last_pass(
    rows: list[list[tuple[int, int]]], lookback: int
) -> None:
    width = max(len(r) for r in rows)
    good = np.zeros((len(rows), width))
    total = np.zeros((len(rows), width))
    for i, row in enumerate(rows):
        for j, (passed, failed) in enumerate(row):
            good[i, j], total[i, j] = passed, passed + failed
    at = np.arange(ORIGIN - 2, ORIGIN + width + 3, dtype=np.int64)
    found = failure_streaks(good, total, ORIGIN, at, lookback)
    for i in range(len(rows)):
        g, t = good[i].astype(int).tolist(), total[i].astype(int).tolist()
        assert found[i].tolist() == [plainly(g, t, int(a), lookback) for a in at]


def test_a_minute_with_a_pass_ends_the_streak_with_its_failures() -> None:
    # minutes: fail, fail, (1 pass + 2 fails), fail, fail
    good = np.array([[0, 0, 1, 0, 0]])
    total = np.array([[1, 1, 3, 1, 1]])
    at = np.array([ORIGIN + 2, ORIGIN + 3, ORIGIN + 5], dtype=np.int64)
    assert failure_streaks(good, total, ORIGIN, at).tolist() == [[2, 0, 2]]
