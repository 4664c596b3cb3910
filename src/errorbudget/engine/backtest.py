"""Backtest of targets (seed 002, days 8–10: "backtest 30–60 days of production calls:
baseline and proposed targets"): over stored minutes, the SLI per day and ISO week, the
budget each candidate target would have left at the end of each budget period and its worst
point, and the highest target that history says a team could have held.

Pure: 1-minute budget-counting counts of the whole SLO (its series summed, exclusions,
schedule and broken data already removed) in, figures out. The budget of a candidate at
each minute is the evaluator's (``engine.minutes``: the same integers a status of the whole
SLO at that target reports), and the alerts each candidate would have raised are counted by
the caller from the alert replay (``replay.evaluate_slo``), which this module does not run.

Budget periods: a calendar window's periods (months, weeks …) as they fall in the range,
the first and last possibly partial; a rolling window's range is cut into consecutive
blocks of the window's length from the range's start (the last possibly shorter), and the
budget at an instant is that of the trailing window, as a status reports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from itertools import pairwise
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from errorbudget.engine.evaluator import STATE_CODE
from errorbudget.engine.exact import allowed_per_event, common_scale, decimal
from errorbudget.engine.minutes import MinuteSeries, evaluate_minutes, periods
from errorbudget.engine.windows import period_at
from errorbudget.model import CalendarWindow, Minute, PolicyPreset, RollingWindow, from_minute

IntArray = npt.NDArray[np.int64]

DEFAULT_LADDER: tuple[float, ...] = (
    0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999,
)  # fmt: skip
"""The targets teams usually pick; the defaults of a backtest are taken around the observed
SLI from these (:func:`candidate_targets`)."""
DEFAULTS_BELOW = 3
"""Ladder targets at or below the observed SLI tried by default (the highest ones)."""
DEFAULTS_ABOVE = 1
"""Ladder targets above the observed SLI tried by default (the lowest ones)."""

MIN_REMAINING = 0.25
"""Default of the proposal: at least this share of the budget left at the end of every
period."""
MAX_PAGES_PER_30_DAYS = 2
"""Default of the proposal: at most this many pages per 30 days of the range."""


@dataclass(frozen=True, slots=True)
class SliRow:
    """One day or ISO week of the range: eligible and bad events, the SLI (None: no data)."""

    label: str
    start: Minute
    end: Minute
    eligible: int
    bad: int

    @property
    def sli(self) -> float | None:
        return None if self.eligible <= 0 else (self.eligible - self.bad) / self.eligible


@dataclass(frozen=True, slots=True)
class PeriodBudget:
    """One budget period (its part inside the range: ``[start, end)``) under one target.

    ``eligible`` and ``bad`` are the period's counts as a status at ``end`` reports them
    (period to date, or the trailing window); ``remaining`` the budget left then (None when
    the data did not suffice to judge it); ``worst`` the lowest budget left at any minute of
    the part with enough data, and ``worst_at`` that minute; ``exhausted_at`` the first
    minute the policy judged the budget exhausted (the preset's threshold, as a status
    does), None when it never was; ``timezone`` the window's (the label's dates are there)."""

    start: Minute
    end: Minute
    complete: bool
    eligible: int
    bad: int
    remaining: float | None
    worst: float | None
    worst_at: Minute | None
    exhausted_at: Minute | None = None
    timezone: str = "UTC"

    @property
    def label(self) -> str:
        zone = ZoneInfo(self.timezone)
        first = from_minute(self.start).astimezone(zone)
        last = from_minute(self.end - 1).astimezone(zone)
        return f"{first:%Y-%m-%d} → {last:%Y-%m-%d}"

    def allowed_bad(self, target: float) -> Fraction:
        """The bad events ``target`` allows over the period's eligible events, exactly."""
        return (1 - decimal(target)) * self.eligible


def episodes(firings: Sequence[tuple[Minute, Minute | None]]) -> int:
    """How many separate episodes ``(fired_at, resolved_at)`` firings make: firings that
    overlap or touch (one fires before another resolved; None = never resolved) are one —
    one incident paging four flows' series is one page, not four."""
    count, until = 0, None
    for fired, resolved in sorted(firings, key=lambda f: f[0]):
        end = np.iinfo(np.int64).max if resolved is None else resolved
        if until is None or fired > until:
            count += 1
            until = end
        else:
            until = max(until, end)
    return count


@dataclass(frozen=True, slots=True)
class CandidateAlerts:
    """What the alert rules would have sent under a candidate: notified page and ticket
    episodes of the SLO (inhibited firings send nothing; overlapping firings of its series
    are one episode, :func:`episodes`)."""

    pages: int = 0
    tickets: int = 0


@dataclass(frozen=True, slots=True)
class Candidate:
    """One candidate target: where it comes from (``configured``, ``given``, ``default``),
    its budget per period and the alerts it would have raised."""

    target: float
    origin: str
    periods: list[PeriodBudget]
    alerts: CandidateAlerts = field(default_factory=CandidateAlerts)

    @property
    def lowest_remaining(self) -> PeriodBudget | None:
        """The period that ended with the least budget left (among the judged ones)."""
        judged = [p for p in self.periods if p.remaining is not None]
        return min(judged, key=lambda p: p.remaining or 0.0) if judged else None

    @property
    def worst(self) -> PeriodBudget | None:
        """The period whose worst point was the lowest."""
        judged = [p for p in self.periods if p.worst is not None]
        return min(judged, key=lambda p: p.worst or 0.0) if judged else None


@dataclass(frozen=True, slots=True)
class Proposal:
    """The proposed target (None when no candidate qualifies) and why, in words."""

    target: float | None
    reasoning: str
    min_remaining: float
    max_pages: int


def _sums(values: IntArray, origin: Minute, edges: Sequence[Minute]) -> IntArray:
    """Sums of ``values`` (from minute ``origin``) between consecutive ``edges``."""
    prefix = np.concatenate(([0], np.cumsum(values, dtype=np.int64)))
    at = np.clip(np.asarray(edges, dtype=np.int64) - origin, 0, values.size)
    found: IntArray = np.diff(prefix[at])
    return found


def sli_rows(
    good: IntArray, total: IntArray, origin: Minute, start: Minute, end: Minute
) -> tuple[list[SliRow], list[SliRow]]:
    """The SLI of ``[start, end)`` per UTC day and per ISO week (Monday 00:00 UTC), each
    clipped to the range, from 1-minute counts starting at ``origin``."""
    bad = np.asarray(total, dtype=np.int64) - np.asarray(good, dtype=np.int64)
    totals = np.asarray(total, dtype=np.int64)

    def rows(first: Minute, step: int, label: str) -> list[SliRow]:
        edges = [start, *range(first + step, end, step), end]
        eligible, bads = _sums(totals, origin, edges), _sums(bad, origin, edges)
        return [
            SliRow(from_minute(low).strftime(label), low, high, int(eligible[i]), int(bads[i]))
            for i, (low, high) in enumerate(pairwise(edges))
        ]

    day = start - start % 1440
    week = day - ((day // 1440 + 3) % 7) * 1440  # minute 0 is a Thursday
    return rows(day, 1440, "%Y-%m-%d"), rows(week, 7 * 1440, "%G-W%V")


def observed_sli(days: Sequence[SliRow]) -> float | None:
    """The SLI over every day of the range (None without data)."""
    eligible = sum(d.eligible for d in days)
    bad = sum(d.bad for d in days)
    return None if eligible <= 0 else (eligible - bad) / eligible


def candidate_targets(
    configured: float,
    given: Sequence[float],
    observed: float | None,
    ladder: Sequence[float] = DEFAULT_LADDER,
) -> list[tuple[float, str]]:
    """The targets to try, highest first, each with its origin: the SLO's own, the given
    ones, and (when any SLI was observed) the :data:`DEFAULTS_BELOW` highest ladder targets
    at or below the observed SLI and the :data:`DEFAULTS_ABOVE` lowest above it."""
    found: dict[Fraction, tuple[float, str]] = {decimal(configured): (configured, "configured")}
    for target in given:  # one candidate per decimal: 0.999 given as 99.9% is the same
        found.setdefault(decimal(target), (target, "given"))
    if observed is not None:
        seen = decimal(observed) if observed < 1 else decimal(1.0)
        below = [t for t in ladder if decimal(t) <= seen][-DEFAULTS_BELOW:]
        above = [t for t in ladder if decimal(t) > seen][:DEFAULTS_ABOVE]
        for target in (*below, *above):
            found.setdefault(decimal(target), (target, "default"))
    return [found[key] for key in sorted(found, reverse=True)]


def budget_blocks(
    window: RollingWindow | CalendarWindow, start: Minute, end: Minute
) -> list[tuple[Minute, Minute, bool]]:
    """The budget periods of ``[start, end)`` as (start, end, complete): calendar periods
    clipped to the range, or consecutive window-length blocks from ``start``."""
    blocks: list[tuple[Minute, Minute, bool]] = []
    if isinstance(window, RollingWindow):
        length = int(window.length.total_seconds() // 60)
        for low in range(start, end, length):
            high = min(low + length, end)
            blocks.append((low, high, high - low == length))
        return blocks
    low = start
    while low < end:
        period = period_at(window, low + 1)
        high = min(period.end, end)
        blocks.append((low, high, period.start >= start and period.end <= end))
        low = high
    return blocks


def period_budgets(
    good: IntArray,
    total: IntArray,
    origin: Minute,
    start: Minute,
    end: Minute,
    window: RollingWindow | CalendarWindow,
    target: float,
    preset: PolicyPreset,
    min_coverage: float,
) -> list[PeriodBudget]:
    """The budget ``target`` leaves in each budget period of ``[start, end)``
    (:func:`budget_blocks`), from the whole SLO's 1-minute counts starting at ``origin``
    (they should reach back one period before ``start``). Each minute is judged as a
    status of the whole SLO at ``target`` judges it (``engine.minutes``): a minute whose
    data covers less than ``min_coverage`` of its period gives no figure."""
    at = np.arange(start + 1, end + 1, dtype=np.int64)
    scale = common_scale([target])
    counts = MinuteSeries(
        np.asarray(good, dtype=np.int64)[None, :],
        np.asarray(total, dtype=np.int64)[None, :],
        origin,
        np.array([allowed_per_event(target, scale)], dtype=np.int64),
        scale,
    )
    instants = evaluate_minutes(
        counts,
        at,
        window,
        [],
        preset,
        min_events=0,
        min_coverage=min_coverage,
        period=periods(window, at),
    )
    remaining = instants.remaining_ratio[0]
    eligible = instants.eligible[0]
    bad = instants.spends.bad[instants.spends.index("period")][0]
    state = instants.state[0]
    judged = (state != STATE_CODE["no_data"]) & (state != STATE_CODE["insufficient_data"])
    exhausted = state == STATE_CODE["exhausted"]
    zone = window.timezone if isinstance(window, CalendarWindow) else "UTC"
    found: list[PeriodBudget] = []
    for low, high, complete in budget_blocks(window, start, end):
        part = slice(low - start, high - start)  # instants low+1 … high
        last = high - start - 1
        values = np.where(judged[part], remaining[part], np.nan)
        worst = worst_at = None
        if not np.isnan(values).all():
            index = int(np.nanargmin(values))
            worst, worst_at = float(values[index]), int(at[part][index])
        ran_out = np.flatnonzero(exhausted[part])
        found.append(
            PeriodBudget(
                low,
                high,
                complete,
                int(eligible[last]),
                int(bad[last]),
                float(remaining[last]) if judged[last] else None,
                worst,
                worst_at,
                int(at[part][ran_out[0]]) if ran_out.size else None,
                zone,
            )
        )
    return found


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def target_text(target: float) -> str:
    """``99.5%``: a target as the percentage it was written as."""
    return f"{target * 100:.4f}".rstrip("0").rstrip(".") + "%"


def allowed_pages(days: float, per_30_days: int = MAX_PAGES_PER_30_DAYS) -> int:
    """The pages a proposal allows over ``days``: ``per_30_days`` scaled, at least that."""
    return max(per_30_days, int(per_30_days * days // 30))


def _shortfall(candidate: Candidate, min_remaining: float, max_pages: int) -> list[str]:
    """Why ``candidate`` does not qualify (nothing when it does), in words."""
    reasons: list[str] = []
    judged = [p for p in candidate.periods if p.remaining is not None]
    if not judged:
        return ["no period had enough data to judge its budget"]
    lowest = candidate.lowest_remaining
    if lowest is not None and lowest.remaining is not None and lowest.remaining < min_remaining:
        reasons.append(f"would have ended {lowest.label} with {_percent(lowest.remaining)} left")
    ran_out = [p.exhausted_at for p in candidate.periods if p.exhausted_at is not None]
    if ran_out:
        worst = candidate.worst
        left = (
            f"{_percent(worst.worst)} left at worst"
            if worst is not None and worst.worst is not None
            else "exhausted"
        )
        reasons.append(
            f"would have run out of budget (exhausted from "
            f"{from_minute(min(ran_out)):%Y-%m-%d %H:%M} UTC, {left})"
        )
    thin = _thin_period(candidate, judged)
    if thin is not None:
        reasons.append(
            f"allows {float(thin.allowed_bad(candidate.target)):.3g} bad events in "
            f"{thin.label}: too little data for this target (at least 1 per period needed)"
        )
    if candidate.alerts.pages > max_pages:
        reasons.append(f"would have paged {candidate.alerts.pages} times")
    return reasons


def _thin_period(candidate: Candidate, judged: Sequence[PeriodBudget]) -> PeriodBudget | None:
    """The judged period (complete ones, when there are any) whose eligible events allow
    fewer than one bad event under the candidate: a target the data cannot support."""
    complete = [p for p in judged if p.complete] or list(judged)
    thin = [p for p in complete if p.allowed_bad(candidate.target) < 1]
    return min(thin, key=lambda p: p.allowed_bad(candidate.target)) if thin else None


def propose(
    candidates: Sequence[Candidate],
    days: float,
    *,
    min_remaining: float = MIN_REMAINING,
    max_pages_per_30_days: int = MAX_PAGES_PER_30_DAYS,
) -> Proposal:
    """The highest candidate that would have kept at least ``min_remaining`` of its budget
    at the end of every period, never run out of budget inside one (no minute judged
    exhausted by the policy), allowed at least one bad event in every period (less data
    cannot support the target), and paged at most :func:`allowed_pages` times over the
    range's ``days``; with the numbers that decide it and what stopped the next higher
    candidate."""
    max_pages = allowed_pages(days, max_pages_per_30_days)
    rule = (
        f"the highest candidate that keeps at least {_percent(min_remaining)} of its budget at "
        f"the end of every period, never runs out inside one, allows at least 1 bad event "
        f"per period, and pages at most {max_pages} "
        f"times in {round(days, 1):g} days ({max_pages_per_30_days} per 30 days)"
    )
    ordered = sorted(candidates, key=lambda c: -c.target)
    for index, candidate in enumerate(ordered):
        if _shortfall(candidate, min_remaining, max_pages):
            continue
        lowest = candidate.lowest_remaining
        worst = candidate.worst
        assert lowest is not None and lowest.remaining is not None
        text = (
            f"{target_text(candidate.target)} is {rule}: its lowest period end was "
            f"{_percent(lowest.remaining)} left ({lowest.label})"
        )
        if worst is not None and worst.worst is not None:
            text += f", its worst point {_percent(worst.worst)} left"
        text += f", with {candidate.alerts.pages} page(s) and {candidate.alerts.tickets} ticket(s)."
        if index > 0:
            higher = ordered[index - 1]
            why = "; ".join(_shortfall(higher, min_remaining, max_pages))
            text += f" The next higher, {target_text(higher.target)}, {why}."
        return Proposal(candidate.target, text, min_remaining, max_pages)
    if not ordered:
        return Proposal(None, "no candidate target to judge", min_remaining, max_pages)
    lowest_candidate = ordered[-1]
    why = "; ".join(_shortfall(lowest_candidate, min_remaining, max_pages))
    return Proposal(
        None,
        f"no candidate qualifies as {rule}: even the lowest, "
        f"{target_text(lowest_candidate.target)}, {why}.",
        min_remaining,
        max_pages,
    )


def range_days(start: Minute, end: Minute) -> float:
    """The length of ``[start, end)`` in days."""
    return timedelta(minutes=end - start).total_seconds() / 86400
