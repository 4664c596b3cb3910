"""Alert replay (docs/alerting.md "Replay"): the alert rules over stored minutes, at every
step of a range, to see what would have fired before anyone is paged.

For each SLO, its series are read a few at a time (memory stays bounded by the chunk, not by
the number of series), exclusions, schedule and maintenance windows are removed as a status
removes them (``evaluation.uncounted_ranges``), and the evaluator runs at every instant
(``engine.minutes``: the same integers and comparisons as a status at that minute). The rules
then decide on those arrays (``engine.alert_rules.decide``, the function live alerting uses)
and ``engine.lifecycle.episodes`` turns each alert's active instants into incidents.

Beside them, the same data under a single-window threshold alert (the SLI of the last
5 minutes below target), for comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from errorbudget.engine import ranges as minute_ranges
from errorbudget.engine.alert_rules import (
    STREAK_LOOKBACK_MINUTES,
    Decision,
    data_ends,
    decide,
    failure_streaks,
    instants_facts,
)
from errorbudget.engine.alerts import slo_conditions
from errorbudget.engine.evaluator import Instants, conditions_per_series
from errorbudget.engine.exact import allowed_per_event, common_scale
from errorbudget.engine.lifecycle import Episode, episodes
from errorbudget.engine.minutes import MinuteSeries, evaluate_minutes, periods, series_chunk
from errorbudget.engine.schedule import Eligibility
from errorbudget.engine.windows import BURN_WINDOW_MINUTES
from errorbudget.evaluation import uncounted_ranges
from errorbudget.indicators import is_synthetic
from errorbudget.model import (
    SLO,
    BurnCatalog,
    DataIssue,
    Exclusion,
    Minute,
    PolicyPreset,
    SegmentKey,
)
from errorbudget.store import Store

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

READ_CELLS = 1 << 22
"""Series × minutes read from the store at once (two float64 arrays of 32 MB each)."""

BRIDGE_MINUTES = 5
"""A bad stretch bridges good gaps up to this long (one good minute inside an outage does
not end it)."""

THRESHOLD_WINDOW = "5m"
"""The single-window threshold alert compared against: SLI over 5 minutes below target."""


@dataclass(frozen=True, slots=True)
class Incident:
    """One firing of one alert in a replay. ``detection``: fired − the start of the bad
    stretch it fired in (minutes of per-minute burn above 1×); ``reset``: resolved − the
    end of that stretch (None when unresolved or when no stretch is found)."""

    alertname: str
    slo: str
    segment: SegmentKey
    severity: str
    rule: str
    active_since: Minute
    fired_at: Minute
    resolved_at: Minute | None
    inhibited: bool
    detection_minutes: int | None
    reset_minutes: int | None

    @property
    def notifications(self) -> int:
        """How many notifications it sends: none when inhibited, else firing + resolve."""
        if self.inhibited:
            return 0
        return 1 if self.resolved_at is None else 2


@dataclass(slots=True)
class Replay:
    """What a replay found: the incidents, and the threshold alert's for comparison."""

    start: Minute
    end: Minute
    step: int
    incidents: list[Incident] = field(default_factory=list)
    threshold_incidents: list[Incident] = field(default_factory=list)
    series: int = 0

    def notifications_per_week(self, threshold: bool = False) -> dict[Minute, int]:
        """Notifications by the week (Monday 00:00 UTC, a minute) their incident fired in."""
        found: dict[Minute, int] = {}
        for incident in self.threshold_incidents if threshold else self.incidents:
            week = _week(incident.fired_at)
            found[week] = found.get(week, 0) + incident.notifications
        return dict(sorted(found.items()))


def _week(minute: Minute) -> Minute:
    # minute 0 is Thursday 1970-01-01: Mondays are 3 days later, every 7 days
    days = minute // 1440
    return (days - (days - 4) % 7) * 1440


def instants(start: Minute, end: Minute, step: int) -> IntArray:
    """The evaluation instants of a replay: every ``step`` minutes after ``start`` up to
    ``end`` (each an exclusive end, as the minute a status evaluates at)."""
    if step < 1:
        raise ValueError("a replay step is at least 1 minute")
    return np.arange(start + step, end + 1, step, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class Evaluated:
    """Some series of one SLO over a replay's instants: their segments, what the evaluator
    found (``engine.minutes``), the rules' decisions on it and the counted minutes."""

    segments: list[SegmentKey]
    instants: Instants
    decisions: list[Decision]
    counts: MinuteSeries


def evaluate_slo(
    store: Store,
    slo: SLO,
    catalog: BurnCatalog,
    preset: PolicyPreset,
    at: IntArray,
    exclusions: list[Exclusion],
    eligibility: Eligibility | None,
    issues: Sequence[DataIssue] = (),
) -> Iterator[Evaluated]:
    """``slo``'s current series at the instants ``at``, a chunk at a time: counts read from
    the store with exclusions, schedule, maintenance and broken data removed as a status
    removes them, evaluated at every instant, and the alert rules' decisions."""
    keys = set(slo.segments.keys)
    series = [info for info in store.list_series(slo.id) if {k for k, _ in info.segment} == keys]
    if not series or not at.size or slo.timeslice is not None:
        return
    period_start, period_length = periods(slo.window, at)
    reach = max(*BURN_WINDOW_MINUTES.values(), STREAK_LOOKBACK_MINUTES)
    origin = int(min(int(period_start.min()), int(at[0]) - reach))
    end = int(at[-1])
    width = end - origin
    targets = [slo.target_for(info.segment) for info in series]
    scale = common_scale(sorted(set(targets)))
    schedule = eligibility.schedule if eligibility is not None else None
    segments = [info.segment for info in series]
    uncounted = uncounted_ranges(slo, segments, exclusions, eligibility, (origin, end), issues)
    bounds = store.series_bounds([info.id for info in series])
    read = max(1, READ_CELLS // max(width, 1))
    chunk = series_chunk(at.shape[0])
    period_end = period_start + period_length
    synthetic = is_synthetic(slo.indicator) and slo.alerting.synthetic is not None
    for first in range(0, len(series), read):
        part = series[first : first + read]
        good, total = store.minute_arrays([info.id for info in part], origin, end)
        raw_ends = data_ends(total, origin, at)
        for index in range(len(part)):
            removed = uncounted.per_series[first + index]
            if minute_ranges.clip(removed, origin, end).size:
                dropped = minute_ranges.mask(removed, origin, width)
                good[index, dropped] = 0.0
                total[index, dropped] = 0.0
        for low in range(0, len(part), chunk):
            rows = range(first + low, first + min(low + chunk, len(part)))
            chunk_targets = [targets[i] for i in rows]
            counts = MinuteSeries(
                good[low : low + chunk],
                total[low : low + chunk],
                origin,
                np.array([allowed_per_event(t, scale) for t in chunk_targets], dtype=np.int64),
                scale,
            )
            found = [bounds[i] for i in rows]
            evaluated = evaluate_minutes(
                counts,
                at,
                slo.window,
                conditions_per_series([slo_conditions(catalog, slo, t) for t in chunk_targets])
                if slo.alerting.enabled
                else [],
                preset,
                min_events=slo.alerting.min_events,
                min_coverage=slo.data.min_coverage,
                bounds=(
                    np.array([b[0] if b else 0 for b in found], dtype=np.int64),
                    np.array([b[1] if b else 0 for b in found], dtype=np.int64),
                ),
                period=(period_start, period_length),
            )
            # the failure streak over the counted minutes, as live alerting reads them
            streaks = (
                failure_streaks(good[low : low + chunk], total[low : low + chunk], origin, at)
                if synthetic
                else None
            )
            facts = instants_facts(
                evaluated, slo, at, period_end, raw_ends[low : low + chunk], schedule, streaks
            )
            yield Evaluated(
                [segments[i] for i in rows], evaluated, decide(facts, slo.alerting), counts
            )


def replay_slo(
    store: Store,
    slo: SLO,
    catalog: BurnCatalog,
    preset: PolicyPreset,
    at: IntArray,
    exclusions: list[Exclusion],
    eligibility: Eligibility | None,
    into: Replay,
    progress: Callable[[int], None] | None = None,
    issues: Sequence[DataIssue] = (),
) -> None:
    """Replay ``slo``'s current series at the instants ``at`` into ``into``; ``progress``
    is told how many series each chunk finished."""
    chunks = evaluate_slo(store, slo, catalog, preset, at, exclusions, eligibility, issues)
    for evaluated in chunks:
        collect(into, slo.id, at, evaluated)
        if progress is not None:
            progress(len(evaluated.segments))


def collect(
    into: Replay, slo: str, at: IntArray, evaluated: Evaluated, *, threshold: bool = True
) -> None:
    """Add the incidents of some series of ``slo`` to ``into``, and (``threshold``) the
    threshold alert's, which a backtest does not need: on a noisy series they are many."""
    stretches = _bad_stretches(evaluated.counts)
    below = evaluated.instants.spends.compare(THRESHOLD_WINDOW, 1, 1) if threshold else None
    for row, segment in enumerate(evaluated.segments):
        for decision in evaluated.decisions:
            into.incidents += _incidents(decision, row, at, slo, segment, stretches[row])
        if below is not None:
            into.threshold_incidents += [
                _incident("SLIBelowTarget", "threshold", "", slo, segment, e, stretches[row])
                for e in episodes(at, below[row])
            ]
    into.series += len(evaluated.segments)


def _incidents(
    decision: Decision,
    row: int,
    at: IntArray,
    slo: str,
    segment: SegmentKey,
    stretches: IntArray,
) -> list[Incident]:
    active = decision.active[row]
    if not active.any():
        return []
    hold = decision.hold_until[row].tolist() if decision.hold_until is not None else None
    found = episodes(
        at,
        active,
        for_minutes=decision.for_minutes,
        keep_minutes=decision.keep_minutes,
        hold_until=hold,
        inhibited=decision.inhibited[row],
    )
    return [
        _incident(decision.alertname, decision.severity, decision.rule, slo, segment, e, stretches)
        for e in found
    ]


def _incident(
    alertname: str,
    severity: str,
    rule: str,
    slo: str,
    segment: SegmentKey,
    episode: Episode,
    stretches: IntArray,
) -> Incident:
    detection = reset = None
    # the stretch the alert fired in: the last one starting before the fire instant
    starts = stretches[:, 0]
    index = int(np.searchsorted(starts, episode.fired_at, side="left")) - 1
    if index >= 0:
        begin, finish = (int(v) for v in stretches[index])
        detection = episode.fired_at - begin
        if episode.resolved_at is not None:
            reset = episode.resolved_at - finish
    return Incident(
        alertname,
        slo,
        segment,
        severity,
        rule,
        episode.active_since,
        episode.fired_at,
        episode.resolved_at,
        episode.inhibited,
        detection,
        reset,
    )


def _bad_stretches(counts: MinuteSeries) -> list[IntArray]:
    """Per series: (start, end) minutes of each stretch of minutes burning above 1×
    (bad × scale > allowed per event × total), good gaps up to :data:`BRIDGE_MINUTES`
    bridged."""
    good = np.rint(np.asarray(counts.good, dtype=np.float64)).astype(np.int64)
    total = np.rint(np.asarray(counts.total, dtype=np.float64)).astype(np.int64)
    per_event = np.asarray(counts.per_event, dtype=np.int64)[:, None]
    bad = (total - good) * counts.scale > per_event * total
    found = []
    for row in bad:
        edges = np.flatnonzero(np.diff(np.concatenate(([False], row, [False])).astype(np.int8)))
        runs = edges.reshape(-1, 2) + counts.origin
        if runs.shape[0] > 1:
            gaps = runs[1:, 0] - runs[:-1, 1]
            keep = np.concatenate(([True], gaps > BRIDGE_MINUTES))
            merged = np.empty((int(keep.sum()), 2), dtype=np.int64)
            merged[:, 0] = runs[keep, 0]
            merged[:, 1] = np.maximum.reduceat(runs[:, 1], np.flatnonzero(keep))
            runs = merged
        found.append(runs.astype(np.int64))
    return found


def replay(
    store: Store,
    slos: Sequence[tuple[SLO, BurnCatalog, PolicyPreset, Eligibility | None]],
    start: Minute,
    end: Minute,
    step: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Replay:
    """Replay ``slos`` (each with its catalog, policy preset and eligibility) over
    ``[start, end]`` at every ``step`` minutes."""
    at = instants(start, end, step)
    exclusions = store.list_exclusions()
    issues = store.list_data_issues()
    found = Replay(start, end, step)
    for slo, catalog, preset, eligibility in slos:
        replay_slo(
            store, slo, catalog, preset, at, exclusions, eligibility, found, progress, issues
        )
    found.incidents.sort(key=lambda i: (i.fired_at, i.slo, i.segment, i.alertname))
    found.threshold_incidents.sort(key=lambda i: (i.fired_at, i.slo, i.segment))
    return found
