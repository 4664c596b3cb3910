"""The backtest's pure math (``engine/backtest.py``): candidates, budget periods, the SLI rows
and the proposal's rule on hand-built figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from errorbudget.engine.backtest import (
    Candidate,
    CandidateAlerts,
    PeriodBudget,
    budget_blocks,
    candidate_targets,
    propose,
    sli_rows,
)
from errorbudget.model import CalendarWindow, RollingWindow, to_minute

OCT = to_minute(datetime(2026, 10, 1, tzinfo=UTC))


def test_candidates_around_the_observed_sli_highest_first() -> None:
    assert candidate_targets(0.99, [0.9995], 0.9976) == [
        (0.9995, "given"), (0.999, "default"), (0.995, "default"), (0.99, "configured"),
        (0.98, "default"),
    ]  # fmt: skip
    # exactly on a ladder value: it counts as "at or below" (decided on decimals)
    assert [t for t, _ in candidate_targets(0.9, [], 0.99)] == [0.995, 0.99, 0.98, 0.97, 0.9]
    # no data: only the configured and the given ones
    assert candidate_targets(0.9, [0.95], None) == [(0.95, "given"), (0.9, "configured")]
    # a given target equal to the configured one stays "configured"
    assert candidate_targets(0.9, [0.9], None) == [(0.9, "configured")]


def test_calendar_months_are_cut_at_the_range_and_marked_partial() -> None:
    window = CalendarWindow(type="calendar", unit="month")
    start = OCT + 10 * 1440
    end = to_minute(datetime(2026, 12, 5, tzinfo=UTC))
    nov, dec = (
        to_minute(datetime(2026, 11, 1, tzinfo=UTC)),
        to_minute(datetime(2026, 12, 1, tzinfo=UTC)),
    )
    assert budget_blocks(window, start, end) == [
        (start, nov, False), (nov, dec, True), (dec, end, False),
    ]  # fmt: skip


def test_rolling_blocks_of_the_window_length_from_the_start() -> None:
    window = RollingWindow(type="rolling", length=timedelta(days=7))
    assert budget_blocks(window, OCT, OCT + 17 * 1440) == [
        (OCT, OCT + 7 * 1440, True),
        (OCT + 7 * 1440, OCT + 14 * 1440, True),
        (OCT + 14 * 1440, OCT + 17 * 1440, False),
    ]


def test_sli_rows_clip_days_and_weeks_to_the_range() -> None:
    origin = OCT - 1440
    total = np.full(5 * 1440, 2, dtype=np.int64)
    good = total.copy()
    good[1440 + 720] = 0  # 2 bad events at noon on 1 October
    days, weeks = sli_rows(good, total, origin, OCT + 720, OCT + 3 * 1440)
    assert [(d.label, d.eligible, d.bad) for d in days] == [
        ("2026-10-01", 1440, 2), ("2026-10-02", 2880, 0), ("2026-10-03", 2880, 0),
    ]  # fmt: skip
    assert [(w.label, w.start, w.end) for w in weeks] == [("2026-W40", OCT + 720, OCT + 3 * 1440)]


def _candidate(target: float, ends: list[float], worst: float, pages: int) -> Candidate:
    periods = [
        PeriodBudget(OCT + i * 1440, OCT + (i + 1) * 1440, True, 100, 1, end, worst, OCT + 60)
        for i, end in enumerate(ends)
    ]
    return Candidate(target, "default", periods, CandidateAlerts(pages, 0))


def test_the_proposal_takes_the_highest_candidate_passing_every_test() -> None:
    candidates = [
        _candidate(0.999, [0.9, 0.8], 0.5, 9),  # pages too often
        _candidate(0.995, [0.9, 0.2], 0.1, 1),  # ends a period with 20 % < 25 %
        _candidate(0.99, [0.9, 0.6], 0.4, 2),
        _candidate(0.98, [0.95, 0.8], 0.7, 0),
    ]
    found = propose(candidates, 30)
    assert found.target == 0.99
    assert found.max_pages == 2
    assert "The next higher, 99.5%, would have ended" in found.reasoning
    assert "with 20.0% left" in found.reasoning
    # 60 days allow 4 pages: 99.9 % still pages 9 times
    assert propose(candidates[:1], 60).target is None
    assert "would have paged 9 times" in propose(candidates[:1], 60).reasoning
    assert propose([_candidate(0.99, [0.9], -0.1, 0)], 30).target is None  # ran out once
