"""The backtest's pure math (``engine/backtest.py``): candidates, budget periods, the SLI rows
and the proposal's rule on hand-built figures."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np

from errorbudget.catalogs import builtin_policies
from errorbudget.cli.backtest_command import parse_targets
from errorbudget.engine.backtest import (
    Candidate,
    CandidateAlerts,
    PeriodBudget,
    budget_blocks,
    candidate_targets,
    episodes,
    period_budgets,
    propose,
    sli_rows,
)
from errorbudget.model import CalendarWindow, RollingWindow, to_minute

OCT = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
PRESET = builtin_policies()["contact-center"]


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


def _candidate(
    target: float, ends: list[float], worst: float, pages: int, eligible: int = 10_000
) -> Candidate:
    ran_out = OCT + 60 if worst <= 0 else None  # the contact-center policy: exhausted at 0
    periods = [
        PeriodBudget(
            OCT + i * 1440, OCT + (i + 1) * 1440, True, eligible, 1, end, worst, OCT + 60, ran_out
        )
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


def test_running_out_is_the_policy_s_exhausted_state_not_a_negative_budget() -> None:
    # exactly 0 % left is exhausted under the contact-center policy: it ran out
    ran_out = propose([_candidate(0.99, [0.9], 0.0, 0)], 30)
    assert ran_out.target is None
    assert "would have run out of budget (exhausted from 2026-10-01 01:00 UTC" in (
        ran_out.reasoning
    )
    # a worst point below 0 that the policy never judged exhausted does not count
    [period] = _candidate(0.99, [0.9], 0.5, 0).periods
    kept = Candidate(0.99, "default", [dataclasses.replace(period, worst=-0.1)])
    assert propose([kept], 30).target == 0.99


def test_a_target_allowing_under_one_bad_event_per_period_is_not_proposed() -> None:
    # 1,000 eligible events a day: 99.9 % allows 1 bad event, 99.95 % half of one
    thin = _candidate(0.9995, [0.9, 0.9], 0.5, 0, eligible=1_000)
    held = _candidate(0.999, [0.9, 0.9], 0.5, 0, eligible=1_000)
    found = propose([thin, held], 30)
    assert found.target == 0.999
    assert "The next higher, 99.95%, allows 0.5 bad events in 2026-10-01 → 2026-10-01" in (
        found.reasoning
    )
    assert "at least 1 per period needed" in found.reasoning


def test_period_labels_are_dates_in_the_window_s_time_zone() -> None:
    window = CalendarWindow(unit="month", timezone="America/New_York")
    start = to_minute(datetime(2026, 9, 1, 4, tzinfo=UTC))  # 1 September, 00:00 in New York
    end = to_minute(datetime(2026, 11, 1, 4, tzinfo=UTC))
    total = np.full(end - start + 31 * 1440, 1, dtype=np.int64)
    found = period_budgets(total, total, start - 31 * 1440, start, end, window, 0.9, PRESET, 0.0)
    assert [p.label for p in found] == ["2026-09-01 → 2026-09-30", "2026-10-01 → 2026-10-31"]


def test_targets_given_as_percentages_are_the_decimals_written() -> None:
    assert parse_targets("99.9%, 0.999, 99.95%") == [0.999, 0.999, 0.9995]
    found = candidate_targets(0.99, parse_targets("99.9%,0.999"), 0.9993)
    assert [t for t, _ in found] == [0.9995, 0.999, 0.995, 0.99]
    assert dict(found)[0.999] == "given"


def test_a_budget_left_at_exactly_zero_is_exhausted_by_the_policy() -> None:
    window = RollingWindow(type="rolling", length=timedelta(days=1))
    total = np.full(3 * 1440, 10, dtype=np.int64)
    good = total.copy()
    hit = 1440 + 600  # 10 % of a day's 14,400 events: the whole budget at 90 %, no more
    good[hit : hit + 144] = 0
    [period] = period_budgets(good, total, OCT - 1440, OCT, OCT + 1440, window, 0.9, PRESET, 0)
    assert period.worst == 0.0 and period.exhausted_at == OCT - 1440 + hit + 144
    assert propose([Candidate(0.9, "default", [period])], 1).target is None


def test_overlapping_firings_are_one_episode() -> None:
    assert episodes([]) == 0
    # four flows paged by one incident (overlapping), then a separate page later
    assert episodes([(10, 50), (12, 40), (30, 60), (45, 55), (500, 520)]) == 2
    assert episodes([(10, 50), (45, None), (500, 520)]) == 1  # never resolved: still on
    assert episodes([(10, 20), (20, 30)]) == 1  # resolved as the next fired: one episode
    assert episodes([(10, 20), (21, 30)]) == 2
    assert episodes([(100, None), (10, 20)]) == 2
