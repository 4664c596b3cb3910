"""Backtest of an SLO's targets over stored history (docs/backtest.md): orchestration only.

For each candidate target the alert replay runs over the range with the SLO's alerting
settings at that target (``replay.evaluate_slo``: the rules live alerting uses, on the
evaluator's integers), and its counted minutes — exclusions, schedule, maintenance and
broken data removed as a status removes them — are summed over the SLO's series once for
the budget math (``engine.backtest``). A candidate's target applies to every series; the
SLO's own target keeps its per-segment overrides for the alerts, as live alerting does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from errorbudget.config import LoadedConfig
from errorbudget.engine import backtest as backtest_math
from errorbudget.engine.backtest import Candidate, CandidateAlerts, PeriodBudget, Proposal, SliRow
from errorbudget.errors import InvalidRequestError
from errorbudget.model import SLO, Minute, from_minute, to_minute
from errorbudget.replay import Incident, Replay, collect, evaluate_slo, instants
from errorbudget.store import Store

IntArray = npt.NDArray[np.int64]

MAX_DAYS = 400
"""The longest range a backtest accepts (the CLI's bound; the API's is :data:`API_MAX_DAYS`)."""
API_MAX_DAYS = 90
"""The longest range ``GET /api/v1/slos/{id}/backtest`` accepts."""
MAX_TARGETS = 10
"""The most candidate targets a caller may give."""
API_MAX_REPLAY = 20_000_000
"""The most series × candidate targets × minutes a backtest over the API replays (about
20 s of work: 60 days × 20 segments × 5 candidates is 8.6 M and takes ~8 s; 90 days of 15
candidates is ~2 M per series)."""
LATE_MINUTES = 60
"""Data ending less than this before the range's end is not called short history."""


@dataclass(frozen=True, slots=True)
class CandidateResult:
    """One candidate: its budget per period and alerts (``engine.backtest.Candidate``) and
    the incidents the replay found under it (their firing intervals)."""

    candidate: Candidate
    incidents: list[Incident] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Backtest:
    """What a backtest found over ``[start, end)``; ``history`` is the stored data's
    (first minute, last + 1) of the SLO's series, ``notes`` say what limits the figures."""

    slo: str
    start: Minute
    end: Minute
    series: int
    history: tuple[Minute, Minute] | None
    days: list[SliRow]
    weeks: list[SliRow]
    observed_sli: float | None
    candidates: list[CandidateResult]
    proposal: Proposal
    notes: list[str]


def check_range(start: datetime, end: datetime, max_days: int) -> None:
    """A backtest's range: ``end`` after ``start``, at most ``max_days`` days."""
    if end <= start:
        raise InvalidRequestError("the backtest's --to must be after its --from")
    if end - start > timedelta(days=max_days):
        raise InvalidRequestError(
            f"a backtest covers at most {max_days} days ({(end - start).days} asked); "
            "30 to 60 days is typical"
        )


def replay_size(series: int, targets: Sequence[float], start: datetime, end: datetime) -> int:
    """An upper bound of what a backtest replays: series × candidate targets (the SLO's own,
    the given ones, the ladder's defaults) × minutes of the range."""
    candidates = 1 + len(set(targets)) + backtest_math.DEFAULTS_BELOW + backtest_math.DEFAULTS_ABOVE
    minutes = max(0, int((end - start).total_seconds() // 60))
    return series * candidates * minutes


def check_targets(targets: Sequence[float]) -> None:
    """At most :data:`MAX_TARGETS` targets, each strictly between 0 and 1."""
    if len(targets) > MAX_TARGETS:
        raise InvalidRequestError(f"at most {MAX_TARGETS} targets ({len(targets)} given)")
    for target in targets:
        if not 0.0 < target < 1.0:
            raise InvalidRequestError(f"a target is a ratio between 0 and 1 ({target!r} given)")


def with_target(slo: SLO, target: float) -> SLO:
    """``slo`` with ``target`` for every series (per-segment overrides dropped)."""
    segments = slo.segments.model_copy(update={"overrides": []})
    return slo.model_copy(update={"target": target, "segments": segments})


class BacktestService:
    """Backtests of the configured SLOs over the store's history."""

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store

    def series_count(self, slo_id: str) -> int:
        """How many current series ``slo_id`` has (for a progress bar's total)."""
        slo = self.loaded.slo(slo_id)
        keys = set(slo.segments.keys)
        return sum(1 for s in self.store.list_series(slo.id) if {k for k, _ in s.segment} == keys)

    def run(
        self,
        slo_id: str,
        start: datetime,
        end: datetime,
        targets: Sequence[float] = (),
        *,
        max_days: int = MAX_DAYS,
        min_remaining: float = backtest_math.MIN_REMAINING,
        max_pages_per_30_days: int = backtest_math.MAX_PAGES_PER_30_DAYS,
        progress: Callable[[int, int], None] | None = None,
    ) -> Backtest:
        """Backtest ``slo_id`` over ``[start, end)`` with its own target, ``targets`` and
        the defaults around the observed SLI; ``progress`` is told, after each replayed
        chunk of series, the series replayed so far and how many in all (candidates ×
        series: known once the first pass has found the observed SLI)."""
        slo = self.loaded.slo(slo_id)
        check_range(start, end, max_days)
        check_targets(targets)
        if slo.timeslice is not None:
            raise InvalidRequestError(
                f"SLO {slo.id!r} budgets time slices: a backtest replays event-based SLOs only"
            )
        low, high = to_minute(start), to_minute(end)
        at = instants(low, high, 1)
        catalog = self.loaded.catalog(slo.alerting.catalog)
        preset = self.loaded.policy(slo.policy)
        eligibility = self.loaded.eligibility(slo)
        exclusions = self.store.list_exclusions()
        issues = self.store.list_data_issues()
        keys = set(slo.segments.keys)
        series = [s for s in self.store.list_series(slo.id) if {k for k, _ in s.segment} == keys]
        found = [b for b in self.store.series_bounds([s.id for s in series]) if b is not None]
        history = (min(b[0] for b in found), max(b[1] for b in found)) if found else None
        defaults = backtest_math.DEFAULTS_BELOW + backtest_math.DEFAULTS_ABOVE
        done = [0, len(series) * (1 + len(targets) + defaults)]

        def replay_at(target: float, keep_overrides: bool) -> tuple[Replay, list[IntArray], int]:
            chosen = slo if keep_overrides else with_target(slo, target)
            into = Replay(low, high, 1)
            sums: list[IntArray] = []
            origin = low
            for evaluated in evaluate_slo(
                self.store, chosen, catalog, preset, at, exclusions, eligibility, issues
            ):
                collect(into, slo.id, at, evaluated, threshold=False)
                good = np.rint(np.asarray(evaluated.counts.good)).astype(np.int64).sum(axis=0)
                total = np.rint(np.asarray(evaluated.counts.total)).astype(np.int64).sum(axis=0)
                sums.append(np.stack([good, total]))
                origin = evaluated.counts.origin
                done[0] += len(evaluated.segments)
                if progress is not None:
                    progress(done[0], max(done))
            return into, sums, origin

        own, sums, origin = replay_at(slo.target, keep_overrides=True)
        good, total = _aggregate(sums, high - origin)
        days, weeks = backtest_math.sli_rows(good, total, origin, low, high)
        observed = backtest_math.observed_sli(days)
        replays: dict[float, Replay] = {slo.target: own}
        results: list[CandidateResult] = []
        chosen = backtest_math.candidate_targets(slo.target, targets, observed)
        done[1] = len(series) * len(chosen)
        for target, origin_name in chosen:
            if target not in replays:
                replays[target] = replay_at(target, keep_overrides=False)[0]
            replayed = replays[target]
            replayed.incidents.sort(key=lambda i: (i.fired_at, i.segment, i.alertname))
            budgets: list[PeriodBudget] = backtest_math.period_budgets(
                good,
                total,
                origin,
                low,
                high,
                slo.window,
                target,
                preset,
                slo.data.min_coverage,
            )
            results.append(
                CandidateResult(
                    Candidate(target, origin_name, budgets, _alerts(replayed.incidents)),
                    replayed.incidents,
                )
            )
        if progress is not None:
            progress(done[1], done[1])
        span = backtest_math.range_days(low, high)
        proposal = backtest_math.propose(
            [r.candidate for r in results],
            span,
            min_remaining=min_remaining,
            max_pages_per_30_days=max_pages_per_30_days,
        )
        return Backtest(
            slo.id,
            low,
            high,
            len(series),
            history,
            days,
            weeks,
            observed,
            results,
            proposal,
            _notes(slo, low, high, history, days),
        )


def _aggregate(sums: Sequence[IntArray], width: int) -> tuple[IntArray, IntArray]:
    """The whole SLO's good and total per minute (its series' chunks summed)."""
    good = np.zeros(width, dtype=np.int64)
    total = np.zeros(width, dtype=np.int64)
    for chunk in sums:
        good += chunk[0]
        total += chunk[1]
    return good, total


def _alerts(incidents: Sequence[Incident]) -> CandidateAlerts:
    """Pages and tickets of the SLO: episodes of its notified firings (overlapping firings
    of several series are one page)."""
    notified = [i for i in incidents if not i.inhibited]

    def count(severity: str) -> int:
        return backtest_math.episodes(
            [(i.fired_at, i.resolved_at) for i in notified if i.severity == severity]
        )

    return CandidateAlerts(pages=count("page"), tickets=count("ticket"))


def _notes(
    slo: SLO, start: Minute, end: Minute, history: tuple[Minute, Minute] | None, days: list[SliRow]
) -> list[str]:
    """What limits the figures: less history than asked, days without data, overrides."""
    notes: list[str] = []
    asked = (end - start) / 1440
    if history is None:
        notes.append(f"the store holds no data for SLO {slo.id!r}: nothing to backtest")
    else:
        first, last = history
        held = max(0, min(end, last) - max(start, first)) / 1440
        # data a source has not brought yet (the last minutes before now) is not "less
        # history": only a shortfall of an hour or more at the end is
        if first > start or last < end - LATE_MINUTES:
            notes.append(
                f"the store holds less history than asked: data from "
                f"{from_minute(first):%Y-%m-%d %H:%M} to {from_minute(last):%Y-%m-%d %H:%M} UTC, "
                f"{held:.1f} of the {asked:.1f} days asked"
            )
    empty = sum(1 for d in days if d.eligible == 0)
    if empty and history is not None:
        notes.append(f"{empty} of {len(days)} day(s) have no data")
    if slo.segments.overrides:
        notes.append(
            "the SLO's own target keeps its per-segment overrides for the alerts; every budget "
            "figure is the whole SLO's at one target"
        )
    return notes
