"""Cumulative good, bad and excluded events of every series: what ``/metrics`` exports as
``errorbudget_slo_{good,bad,excluded}_events_total`` and ``errorbudget export`` writes as
history for a backfill (docs/metrics.md).

The counter of a series at instant ``t`` with anchor ``A`` is the sum over its stored
minutes ``[A, at)``, ``at`` being the minute containing ``t`` (status's evaluation minute:
the open minute is left out, as in a status). Eligible events are counted exactly as a
status counts them — exclusions, maintenance windows, out-of-schedule minutes and broken
data (unresolved data issues) removed — so for data that is not revised later

    increase(good[w]) + increase(bad[w]) = status's eligible events in ``[at − w, at)``

and likewise for the bad events. ``excluded`` counts the events removed by exclusions and
maintenance windows (a status's ``excluded``: not those out of schedule or broken).

A timeslices SLO counts slices, as its status does: good and bad slices, closed on the
epoch's slice grid, so differences over a window equal the status's slice counts there;
its ``excluded`` counts every slice not counted (exclusions, maintenance, schedule and
broken data together).

:func:`counter_totals` is the one function behind both surfaces: the live collector asks
for one instant, the export for every instant of a range, in one bulk read per SLO.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from errorbudget.engine import ranges as minute_ranges
from errorbudget.engine.schedule import Eligibility
from errorbudget.engine.timeslices import FloatArray, SlicePrefix
from errorbudget.evaluation import broken_ranges, range_sums, uncounted_ranges
from errorbudget.model import SLO, DataIssue, Exclusion, Minute, segment_label
from errorbudget.services.evaluations import EvaluationService
from errorbudget.store import SeriesInfo, Store

COUNTERS = ("good", "bad", "excluded")
"""The counters of a series, in the order of :attr:`CounterTotals.values`' last axis."""


@dataclass(frozen=True, slots=True)
class CounterSeries:
    """The labels of one series' counters (``segment`` as ``model.segment_label``)."""

    slo: str
    service: str
    segment: str

    @property
    def labels(self) -> list[str]:
        return [self.slo, self.service, self.segment]


@dataclass(frozen=True, slots=True)
class CounterTotals:
    """Cumulative events from ``anchor`` to each of ``instants`` (minutes, ascending):
    ``values[i, s]`` is [good, bad, excluded] of ``series[s]`` over ``[anchor, instants[i])``
    (0 for an instant at or before the anchor)."""

    anchor: Minute
    instants: list[Minute]
    series: list[CounterSeries]
    values: FloatArray


def _slo_totals(
    store: Store,
    slo: SLO,
    series: list[SeriesInfo],
    eligibility: Eligibility | None,
    exclusions: list[Exclusion],
    issues: Sequence[DataIssue],
    edges: list[Minute],
) -> FloatArray:
    """(intervals × series × 3) good, bad and excluded events of ``series`` in each
    ``[edges[k], edges[k + 1])``, removed minutes as ``evaluation.uncounted_ranges`` says."""
    ids = [info.id for info in series]
    intervals = list(pairwise(edges))
    start, end = edges[0], edges[-1]
    raw = store.sums(ids, intervals)  # (series × intervals × [good, total])
    segments = [info.segment for info in series]
    uncounted = uncounted_ranges(slo, segments, exclusions, eligibility, (start, end), issues)
    removed = np.zeros_like(raw)
    for ranges, members in uncounted.groups():
        [found] = range_sums(store, [ids[i] for i in members], (intervals, ranges))
        removed[members] = found
    not_excluded = np.zeros_like(raw)  # removed but not an exclusion: off schedule, broken
    off = minute_ranges.clip(uncounted.off_schedule, start, end)
    if off.size:
        [not_excluded] = range_sums(store, ids, (intervals, off))
    if issues:
        scheduled = minute_ranges.complement(off, start, end)
        for index, segment in enumerate(segments):
            broken = broken_ranges(slo, segment, issues)
            if not broken:
                continue
            cut = minute_ranges.clip(
                minute_ranges.union(minute_ranges.as_ranges(broken)), start, end
            )
            # broken minutes in schedule: the schedule's part is already counted above
            cut = minute_ranges.complement(
                minute_ranges.union(
                    minute_ranges.complement(cut, start, end),
                    minute_ranges.complement(scheduled, start, end),
                ),
                start,
                end,
            )
            if cut.size:
                [found] = range_sums(store, [ids[index]], (intervals, cut))
                not_excluded[index] += found[0]
    counted = raw - removed
    totals = np.stack(
        [
            counted[:, :, 0],
            counted[:, :, 1] - counted[:, :, 0],
            (removed - not_excluded)[:, :, 1],
        ],
        axis=2,
    )
    return np.asarray(totals.transpose(1, 0, 2), dtype=np.float64)


def _slice_totals(
    store: Store,
    slo: SLO,
    series: list[SeriesInfo],
    eligibility: Eligibility | None,
    exclusions: list[Exclusion],
    issues: Sequence[DataIssue],
    edges: list[Minute],
) -> FloatArray:
    """For a timeslices SLO: (intervals × series × 3) good slices, bad slices and slices
    not counted (exclusions, maintenance, schedule, broken data) in each
    ``[edges[k], edges[k + 1])``, slices on the epoch grid as a status judges them
    (``engine.timeslices.SlicePrefix``: a slice counts once closed, at the end of the
    interval holding its end)."""
    assert slo.timeslice is not None
    length = int(slo.timeslice.length.total_seconds() // 60)
    origin = edges[0] - edges[0] % length
    end = max(edges[-1], origin)
    good, total = store.minute_arrays([info.id for info in series], origin, end)
    segments = [info.segment for info in series]
    uncounted = uncounted_ranges(slo, segments, exclusions, eligibility, (origin, end), issues)
    excluded = None
    for index, ranges in enumerate(uncounted.per_series):
        if minute_ranges.clip(ranges, origin, end).size:
            if excluded is None:
                excluded = np.zeros(good.shape, dtype=bool)
            excluded[index] = minute_ranges.mask(ranges, origin, good.shape[1])
    settings = slo.timeslice
    raw = SlicePrefix(good, total, origin, length, settings.target, settings.no_data)
    counted = (
        raw
        if excluded is None
        else SlicePrefix(good, total, origin, length, settings.target, settings.no_data, excluded)
    )
    cumulative = np.zeros((len(edges), len(series), len(COUNTERS)))
    for row, edge in enumerate(edges):
        good_slices, counted_slices = counted.counts((origin, edge))
        _, raw_slices = raw.counts((origin, edge))
        cumulative[row, :, 0] = good_slices
        cumulative[row, :, 1] = counted_slices - good_slices
        cumulative[row, :, 2] = raw_slices - counted_slices
    return np.diff(cumulative, axis=0)


def counter_totals(
    evaluations: EvaluationService,
    anchor: Minute,
    instants: Sequence[Minute],
    slo_ids: Sequence[str] | None = None,
) -> CounterTotals:
    """Cumulative good, bad and excluded events (slices, for a timeslices SLO) of every
    series of the chosen SLOs (all by default) from ``anchor`` to each of ``instants``
    (ascending), read
    from the store the evaluation service reads, with the exclusions, data issues,
    schedules and maintenance windows a status applies."""
    wanted = list(instants)
    if any(later < earlier for earlier, later in pairwise(wanted)):
        raise ValueError("instants must be in ascending order")
    slos = evaluations.select_slos(slo_ids)
    grouped = evaluations.series_by_slo(slos) if slos else {}
    store = evaluations.store
    exclusions = store.list_exclusions()
    issues = store.list_data_issues()
    edges = [anchor, *(max(anchor, instant) for instant in wanted)]
    labels: list[CounterSeries] = []
    parts: list[FloatArray] = []
    for slo in slos:
        series = sorted(grouped.get(slo.id, []), key=lambda info: info.segment)
        if not series:
            continue
        eligibility = evaluations.loaded.eligibility(slo)
        totals = _slice_totals if slo.budgeting == "timeslices" else _slo_totals
        per_interval = totals(store, slo, series, eligibility, exclusions, issues, edges)
        parts.append(np.cumsum(per_interval, axis=0))
        labels.extend(CounterSeries(slo.id, slo.service, segment_label(s.segment)) for s in series)
    values = np.concatenate(parts, axis=1) if parts else np.zeros((len(wanted), 0, len(COUNTERS)))
    return CounterTotals(anchor, wanted, labels, values)
