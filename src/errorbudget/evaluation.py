"""Evaluating one SLO at one instant: read its counts from the store in bulk, hand them to the
pure engine, and get one BudgetStatus per series (plus the whole-SLO row).

This is the App's workhorse; with `history` (timelines), the only place where store reads
and engine calls meet.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from errorbudget.engine import ranges as minute_ranges
from errorbudget.engine.ranges import EMPTY, RangeArray
from errorbudget.engine.schedule import Eligibility
from errorbudget.engine.status import (
    Bounds,
    ConditionsFor,
    Int64Array,
    RangeCounts,
    RowInputs,
    WordsFor,
    aggregate_inputs,
    allowances_per_event,
    batch_key,
    evaluate_batch,
    range_counts,
    series_inputs,
    slo_words,
    timeslice_counts,
)
from errorbudget.engine.timeslices import BoolArray, Counts, FloatArray, dropped_slices
from errorbudget.engine.windows import Plan, merge_ranges, plan
from errorbudget.model import (
    SLO,
    BudgetStatus,
    DataIssue,
    Exclusion,
    Minute,
    PolicyPreset,
    SegmentKey,
)
from errorbudget.store import SeriesInfo, Store

__all__ = ["ConditionsFor", "SloEvaluation", "SloInputs", "evaluate_slo", "evaluate_slos"]


def excluded_ranges(
    slo: SLO, segment: SegmentKey, exclusions: list[Exclusion]
) -> list[tuple[Minute, Minute]]:
    """The merged minute ranges excluded from one series."""
    return merge_ranges([(e.start, e.end) for e in exclusions if e.applies_to(slo, segment)])


def broken_ranges(
    slo: SLO, segment: SegmentKey, issues: Sequence[DataIssue]
) -> list[tuple[Minute, Minute]]:
    """The merged minute ranges a source reported broken for one series (unresolved data
    issues): left out of budget counting like exclusions, never counted as bad events."""
    return merge_ranges([(i.start, i.end) for i in issues if i.applies_to(slo.id, segment)])


def minutes_within(ranges: list[tuple[Minute, Minute]], interval: tuple[Minute, Minute]) -> int:
    """How many minutes of merged ``ranges`` fall inside ``interval``."""
    return sum(max(0, min(end, interval[1]) - max(start, interval[0])) for start, end in ranges)


@dataclass(frozen=True, slots=True)
class Uncounted:
    """The minutes of some series of one SLO that do not count toward its budget over a
    span: per series, everything removed — out of schedule, maintenance windows and
    exclusions, merged — and the out-of-schedule part alone (the same for every series)."""

    per_series: list[RangeArray]
    off_schedule: RangeArray

    @property
    def removes(self) -> bool:
        """Whether anything is removed from any series' counts."""
        return bool(self.off_schedule.size) or any(ranges.size for ranges in self.per_series)

    def groups(self) -> list[tuple[RangeArray, list[int]]]:
        """Series with the same removed ranges (one store read serves each group); series
        with nothing removed are left out."""
        found: dict[bytes, tuple[RangeArray, list[int]]] = {}
        seen: dict[int, bytes] = {}  # series often share one array: hash it once
        for index, ranges in enumerate(self.per_series):
            if ranges.size:
                key = seen.get(id(ranges))
                if key is None:
                    key = seen[id(ranges)] = ranges.tobytes()
                found.setdefault(key, (ranges, []))[1].append(index)
        return list(found.values())


def uncounted_ranges(
    slo: SLO,
    segments: list[SegmentKey],
    exclusions: list[Exclusion],
    eligibility: Eligibility | None,
    span: tuple[Minute, Minute],
    issues: Sequence[DataIssue] = (),
) -> Uncounted:
    """What :class:`Uncounted` says for the series ``segments`` of ``slo`` over ``span``:
    exclusions and broken data (``issues``), and with a schedule or maintenance windows,
    those too."""
    # only what can apply to this SLO is asked about each series (usually nothing)
    exclusions = [e for e in exclusions if e.counted and e.scoped_to(slo)]
    issues = [i for i in issues if i.open_about(slo.id)]
    if not exclusions and not issues and (eligibility is None or eligibility.empty):
        return Uncounted([EMPTY] * len(segments), EMPTY)
    excluded: list[list[tuple[Minute, Minute]]] = (
        [
            merge_ranges(
                excluded_ranges(slo, segment, exclusions) + broken_ranges(slo, segment, issues)
            )
            if issues
            else excluded_ranges(slo, segment, exclusions)
            for segment in segments
        ]
        if exclusions or issues
        else [[]] * len(segments)
    )
    if eligibility is None or eligibility.empty:
        return Uncounted([minute_ranges.as_ranges(r) if r else EMPTY for r in excluded], EMPTY)
    start, end = span
    off = eligibility.off_schedule(start, end)
    maintenance = (
        eligibility.maintenance_for(segments, start, end)
        if eligibility.maintenance
        else [EMPTY] * len(segments)
    )
    shared: dict[int, RangeArray] = {}  # series without exclusions share their array
    removed = []
    for under, own in zip(maintenance, excluded, strict=True):
        if own:
            ranges = minute_ranges.union(off, under, minute_ranges.as_ranges(own))
            removed.append(minute_ranges.clip(ranges, start, end))
        elif id(under) not in shared:
            both = minute_ranges.union(off, under) if under.size else off
            removed.append(shared.setdefault(id(under), minute_ranges.clip(both, start, end)))
        else:
            removed.append(shared[id(under)])
    return Uncounted(removed, off)


Intervals = Sequence[tuple[Minute, Minute]]


def range_sums(
    store: Store, series: list[int], *wanted: tuple[Intervals, RangeArray]
) -> list[FloatArray]:
    """For each (intervals, normal ranges) wanted: [good, total] of each series in the part
    of each interval inside the ranges, (series × intervals × 2). One bulk read of every
    part of every request."""
    cut = [minute_ranges.parts(intervals, ranges) for intervals, ranges in wanted]
    every = np.concatenate([parts for parts, _ in cut])
    found = np.zeros((len(series), every.shape[0], 2))
    if every.size:
        found = store.sums(series, [(int(a), int(b)) for a, b in every.tolist()])
    results = []
    offset = 0
    for parts, bounds in cut:
        prefix = np.zeros((len(series), parts.shape[0] + 1, 2))
        np.cumsum(found[:, offset : offset + parts.shape[0]], axis=1, out=prefix[:, 1:])
        results.append(prefix[:, bounds[1:]] - prefix[:, bounds[:-1]])
        offset += parts.shape[0]
    return results


@dataclass(frozen=True, slots=True)
class SloEvaluation:
    """One SLO at one instant: ``statuses`` (the whole-SLO row first when the SLO has
    segments, then every series) and ``groups``: for an SLO with two or more segment keys,
    one aggregate row per (key, value) — a tier, a queue across media — evaluated like the
    whole-SLO row (docs/concepts.md "Aggregates")."""

    statuses: list[BudgetStatus]
    groups: list[BudgetStatus]


@dataclass(frozen=True, slots=True)
class PlanSums:
    """The raw sums of every series of the SLOs that share one plan, read once, and what
    the SLOs with nothing removed from their counts (no exclusion, schedule, maintenance
    window or broken data) need besides: each one's rows, and the allowed bad events of
    its series at its own scale (its targets' common denominator). Read-only: an SLO's
    counts are views of them."""

    rows: dict[int, int]
    """Series id → row."""
    sums: FloatArray
    spans: dict[str, tuple[int, int, int]]
    """SLO id → its series' rows ``[start, stop)`` (in its series' order) and the scale of
    their allowed bad events: the SLO's own (its targets' common denominator), as if it
    were read alone — another SLO's many-decimal target does not touch it."""
    allowed: Int64Array

    def plain(self, slo: str, count: int) -> tuple[FloatArray, Int64Array, int] | None:
        """An SLO's raw sums and allowed bad events (views) and their scale, or None when
        it was not read here with ``count`` series."""
        span = self.spans.get(slo)
        if span is None or span[1] - span[0] != count:
            return None
        start, stop, scale = span
        return self.sums[start:stop], self.allowed[start:stop], scale


@dataclass(frozen=True, slots=True)
class Prefetched:
    """Reads shared by every SLO of one evaluation (read once for all of them): each
    series' data bounds, and for every distinct set of ranges (SLOs whose window and
    forecast lookback agree share one plan) the raw sums of all the series that need it."""

    bounds: dict[int, Bounds]
    sums: dict[tuple[tuple[Minute, Minute], ...], PlanSums]

    def raw(self, intervals: Intervals, ids: list[int]) -> FloatArray | None:
        found = self.sums.get(tuple(intervals))
        if found is None:
            return None
        rows = found.rows
        return found.sums[[rows[i] for i in ids]]


def plan_key(slo: SLO) -> tuple[object, ...]:
    """What an SLO's plan depends on (its window and forecast lookback) as plain values."""
    window = slo.window
    return (type(window), *window.model_dump().values(), slo.forecast.lookback)


class SloMemo:
    """What is worked out once per SLO object and reused by every evaluation of it — its
    plan key (hashing the config's models costs microseconds) and its words — for a status
    of many SLOs every minute. The evaluation service holds one; an entry goes when its SLO
    object does (a weak reference), so a reloaded config's SLOs are not kept."""

    def __init__(self) -> None:
        self._found: dict[int, tuple[weakref.ref[SLO], tuple[object, ...], tuple[str, str]]] = {}

    def _entry(self, slo: SLO) -> tuple[weakref.ref[SLO], tuple[object, ...], tuple[str, str]]:
        found = self._found.get(id(slo))
        if found is not None and found[0]() is slo:
            return found
        key = id(slo)

        def forget(ref: weakref.ref[SLO]) -> None:
            current = self._found.get(key)
            if current is not None and current[0] is ref:
                del self._found[key]

        entry = (weakref.ref(slo, forget), plan_key(slo), slo_words(slo))
        self._found[key] = entry
        return entry

    def plan_key(self, slo: SLO) -> tuple[object, ...]:
        return self._entry(slo)[1]

    def words(self, slo: SLO) -> tuple[str, str]:
        return self._entry(slo)[2]


class Plans:
    """The evaluation plans of one instant, one per distinct (window, lookback): SLOs that
    share them share the plan (and the store read of its ranges)."""

    def __init__(self, at: Minute, memo: SloMemo | None = None) -> None:
        self.at = at
        self._memo = memo
        self._found: dict[tuple[object, ...], Plan] = {}
        self._of: dict[int, tuple[SLO, Plan]] = {}  # by SLO object: asked twice per SLO

    def __call__(self, slo: SLO) -> Plan:
        known = self._of.get(id(slo))
        if known is not None and known[0] is slo:
            return known[1]
        key = self._memo.plan_key(slo) if self._memo is not None else plan_key(slo)
        found = self._found.get(key)
        if found is None:
            found = self._found[key] = plan(slo.window, self.at, slo.forecast.lookback)
        self._of[id(slo)] = (slo, found)  # the SLO held, so its id stays its own
        return found


def prefetch(
    store: Store,
    slos: Sequence[SLO],
    series: dict[str, list[SeriesInfo]],
    plans: Plans,
) -> Prefetched:
    """One bounds read for every series of ``slos`` and one sums read per distinct plan of
    their occurrence SLOs (timeslices SLOs read minute arrays instead)."""
    ids = [info.id for slo in slos for info in series.get(slo.id, [])]
    bounds = dict(zip(ids, store.series_bounds(ids), strict=True)) if ids else {}
    wanted: dict[tuple[tuple[Minute, Minute], ...], list[tuple[SLO, list[SeriesInfo]]]] = {}
    for slo in slos:
        chosen = series.get(slo.id, [])
        if slo.budgeting == "timeslices" or not chosen:
            continue
        wanted.setdefault(plans(slo).ranges, []).append((slo, chosen))
    sums = {}
    for key, members in wanted.items():
        rows: dict[int, int] = {}
        spans: dict[str, tuple[int, int, int]] = {}
        per_event: list[Int64Array] = []
        for slo, chosen in members:
            start = len(rows)
            for info in chosen:
                if info.id not in rows:
                    rows[info.id] = len(rows)
            if len(rows) - start != len(chosen):  # not its own rows: read apart
                per_event.append(np.zeros(len(rows) - start, dtype=np.int64))
                continue
            found, scale = allowances_per_event([slo.target_for(i.segment) for i in chosen])
            per_event.append(found)
            spans[slo.id] = (start, len(rows), scale)
        read = store.sums(list(rows), list(key))
        # each SLO's allowed bad events at its own scale, in one multiplication
        allowed = np.concatenate(per_event)[:, None] * np.rint(read[..., 1]).astype(np.int64)
        read.flags.writeable = False
        allowed.flags.writeable = False
        sums[key] = PlanSums(rows, read, spans, allowed)
    return Prefetched(bounds, sums)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One SLO's counts at one instant, ready for the engine."""

    slo: SLO
    series: list[SeriesInfo]
    plan: Plan
    counts: RangeCounts
    preset: PolicyPreset
    uncounted: Uncounted
    whole: SliceCounts | None


def _prepare(
    store: Store,
    slo: SLO,
    series: list[SeriesInfo],
    at: Minute,
    exclusions: list[Exclusion],
    preset: PolicyPreset,
    eligibility: Eligibility | None,
    issues: Sequence[DataIssue],
    prefetched: Prefetched | None,
    plans: Plans | None = None,
) -> _Prepared:
    evaluation = plans(slo) if plans is not None else plan(slo.window, at, slo.forecast.lookback)
    targets = [slo.target_for(info.segment) for info in series]
    ids = [info.id for info in series]
    if prefetched is not None and all(i in prefetched.bounds for i in ids):
        bounds = [prefetched.bounds[i] for i in ids]
    else:
        bounds = store.series_bounds(ids) if series else []
    span_start = evaluation.earliest()
    if slo.timeslice is not None:  # slices are read from the slice holding the start
        span_start -= span_start % int(slo.timeslice.length.total_seconds() // 60)
    segments = [info.segment for info in series]
    uncounted = uncounted_ranges(slo, segments, exclusions, eligibility, (span_start, at), issues)
    period = evaluation.intervals["period"]
    broken_sets = [broken_ranges(slo, s, issues) for s in segments] if issues else []
    broken = [minutes_within(ranges, period) for ranges in broken_sets]
    whole: SliceCounts | None = None
    events: FloatArray | None = None
    shared = prefetched.sums.get(evaluation.ranges) if prefetched is not None else None
    plain = (
        shared.plain(slo.id, len(series))
        if shared is not None
        and slo.budgeting != "timeslices"
        and not uncounted.removes
        and not any(broken)
        else None
    )
    if plain is not None:
        # nothing removed from its counts: the plan's read as it is (views, read-only)
        raw, allowed, scale = plain
        counts = RangeCounts(
            raw, raw, allowed, scale, tuple(targets), tuple(bounds), None, tuple(broken),
            None, None,
        )  # fmt: skip
        return _Prepared(slo, series, evaluation, counts, preset, uncounted, None)
    if slo.budgeting == "timeslices":
        raw, counted, off, whole, events = _timeslices(store, slo, evaluation, series, uncounted)
    else:
        raw, counted, off = _occurrences(store, evaluation, series, uncounted, prefetched)
    broken_events = (
        _broken_events(store, evaluation, series, broken_sets, uncounted.off_schedule)
        if slo.budgeting != "timeslices" and any(broken)
        else None
    )
    counts = range_counts(raw, counted, targets, bounds, off, broken, events, broken_events)
    return _Prepared(slo, series, evaluation, counts, preset, uncounted, whole)


def _aggregate_inputs(
    store: Store, prepared: _Prepared, include_total: bool
) -> tuple[RowInputs | None, list[RowInputs]]:
    """The whole-SLO row (None when it is not shown) and the group rows of one SLO, ready
    for the engine."""
    slo, series, evaluation, counts = prepared.slo, prepared.series, prepared.plan, prepared.counts
    whole = prepared.whole
    total: RowInputs | None = None
    if include_total and (bool(slo.segments.keys) or not series):
        everything = list(range(len(series)))
        total = aggregate_inputs(slo, (), evaluation, counts, everything, *_whole(whole))
    groups: list[RowInputs] = []
    if include_total and len(slo.segments.keys) >= 2:
        for key in slo.segments.keys:
            members: dict[str, list[int]] = {}
            for index, info in enumerate(series):
                members.setdefault(dict(info.segment)[key], []).append(index)
            for value in sorted(members):
                part = None
                if whole is not None:
                    part = _timeslice_part(
                        store, slo, evaluation, series, members[value], prepared.uncounted
                    )
                groups.append(
                    aggregate_inputs(
                        slo, ((key, value),), evaluation, counts, members[value], *_whole(part)
                    )
                )
    return total, groups


def _evaluate_together(
    store: Store,
    chosen: Sequence[_Prepared],
    conditions_for: ConditionsFor,
    include_total: bool,
    words_for: WordsFor = slo_words,
) -> list[SloEvaluation]:
    """SLOs that share a ``batch_key``: their series rows, whole-SLO rows and group rows all
    in one pass of the engine (``engine.status.evaluate_batch``)."""
    items: list[RowInputs] = []
    layout: list[tuple[bool, int]] = []
    for prepared in chosen:
        total, groups = _aggregate_inputs(store, prepared, include_total)
        segments = [info.segment for info in prepared.series]
        items.append(series_inputs(prepared.slo, segments, prepared.plan, prepared.counts))
        items.extend([total, *groups] if total is not None else groups)
        layout.append((total is not None, len(groups)))
    found = evaluate_batch(items, chosen[0].plan, chosen[0].preset, conditions_for, words_for)
    result = []
    position = 0
    for has_total, group_count in layout:
        statuses = list(found[position])
        position += 1
        if has_total:
            statuses.insert(0, found[position][0])
            position += 1
        group_statuses = [rows[0] for rows in found[position : position + group_count]]
        position += group_count
        result.append(SloEvaluation(statuses, group_statuses))
    return result


def evaluate_slo(
    store: Store,
    slo: SLO,
    series: list[SeriesInfo],
    at: Minute,
    exclusions: list[Exclusion],
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
    include_total: bool = True,
    eligibility: Eligibility | None = None,
    issues: Sequence[DataIssue] = (),
) -> SloEvaluation:
    """Statuses of every series of ``slo`` at ``at``; the whole-SLO row first when the SLO
    has segments (or no series yet, so it still shows up, as no data), and its group rows.
    ``eligibility`` is the SLO's schedule and maintenance windows (``LoadedConfig``),
    ``issues`` the unresolved data issues (broken data, left out and reported)."""
    prepared = _prepare(store, slo, series, at, exclusions, preset, eligibility, issues, None)
    [evaluated] = _evaluate_together(store, [prepared], conditions_for, include_total)
    return evaluated


@dataclass(frozen=True, slots=True)
class SloInputs:
    """What evaluating one SLO needs besides the store: its series, policy preset,
    schedule and maintenance windows (``LoadedConfig.eligibility``)."""

    slo: SLO
    series: list[SeriesInfo]
    preset: PolicyPreset
    eligibility: Eligibility | None


def evaluate_slos(
    store: Store,
    inputs: Sequence[SloInputs],
    at: Minute,
    exclusions: list[Exclusion],
    conditions_for: ConditionsFor,
    include_total: bool = True,
    issues: Sequence[DataIssue] = (),
    memo: SloMemo | None = None,
) -> dict[str, SloEvaluation]:
    """:func:`evaluate_slo` for many SLOs at once: the store is read once for all of them
    (:func:`prefetch`), and the series of SLOs that share a plan and a policy are evaluated
    together in one pass of the engine (``engine.status.evaluate_batch``), their whole-SLO
    and group rows with them, so an SLO with one series costs about what one more segment
    of another SLO costs."""
    slos = [item.slo for item in inputs]
    plans = Plans(at, memo)
    shared = prefetch(store, slos, {item.slo.id: item.series for item in inputs}, plans)
    prepared = [
        _prepare(
            store, item.slo, item.series, at, exclusions, item.preset, item.eligibility, issues,
            shared, plans,
        )
        for item in inputs
    ]  # fmt: skip
    batches: dict[tuple[object, ...], list[int]] = {}
    for index, ready in enumerate(prepared):
        batches.setdefault(batch_key(ready.slo, ready.plan, ready.preset), []).append(index)
    evaluated: dict[int, SloEvaluation] = {}
    for members in batches.values():
        found = _evaluate_together(
            store,
            [prepared[i] for i in members],
            conditions_for,
            include_total,
            memo.words if memo is not None else slo_words,
        )
        evaluated.update(zip(members, found, strict=True))
    return {item.slo.id: evaluated[i] for i, item in enumerate(inputs)}


SliceCounts = tuple[FloatArray, FloatArray, FloatArray | None]
"""Slice counts of several series judged on their summed minutes: raw and counted
(ranges × [good, total]), and the out-of-schedule [good, total] of the period (None: the
SLO has no schedule)."""


def _whole(
    found: SliceCounts | None,
) -> tuple[tuple[FloatArray, FloatArray] | None, FloatArray | None]:
    """``aggregate_inputs``' ``whole`` and ``whole_off_schedule`` arguments."""
    return (None, None) if found is None else ((found[0], found[1]), found[2])


def _occurrences(
    store: Store,
    evaluation: Plan,
    series: list[SeriesInfo],
    uncounted: Uncounted,
    prefetched: Prefetched | None = None,
) -> tuple[FloatArray, FloatArray, FloatArray | None]:
    """Raw and budget-counting event counts, each (series × ranges × [good, total]), and
    the out-of-schedule [good, total] of the period per series (None without a schedule).

    One bulk ``sums`` read serves every series and range; the removed parts cost one more
    read per distinct set of removed ranges (a schedule gives every series the same set).
    """
    names = evaluation.names
    if not series:
        empty = np.zeros((0, len(names), 2))
        return empty, empty.copy(), None
    ids = [s.id for s in series]
    intervals = evaluation.ranges
    found = prefetched.raw(intervals, ids) if prefetched is not None else None
    raw = found if found is not None else store.sums(ids, intervals)
    counted = raw.copy()
    off = uncounted.off_schedule
    period = names.index("period")
    off_schedule = np.zeros((len(series), 2)) if off.size else None
    for ranges, members in uncounted.groups():  # with a schedule, every series is in one
        chosen = [ids[i] for i in members]
        if off_schedule is None or np.array_equal(ranges, off):
            [removed] = range_sums(store, chosen, (intervals, ranges))
            if off_schedule is not None:  # nothing removed but the schedule
                off_schedule[members] = removed[:, period]
        else:  # more is removed: the schedule's part of the period is read beside it
            period_interval = [evaluation.intervals["period"]]
            removed, scheduled = range_sums(
                store, chosen, (intervals, ranges), (period_interval, off)
            )
            off_schedule[members] = scheduled[:, 0]
        counted[members] -= removed
    return raw, counted, off_schedule


def _broken_events(
    store: Store,
    evaluation: Plan,
    series: list[SeriesInfo],
    broken: list[list[tuple[Minute, Minute]]],
    off_schedule: RangeArray,
) -> FloatArray:
    """(series × [good, total]) events of the period in each series' broken minutes (those
    out of schedule are counted there, not here), so a status reports them apart from
    exclusions. One read per distinct set of broken ranges."""
    start, end = evaluation.intervals["period"]
    found = np.zeros((len(series), 2))
    groups: dict[tuple[tuple[Minute, Minute], ...], list[int]] = {}
    for index, ranges in enumerate(broken):
        if ranges:
            groups.setdefault(tuple(ranges), []).append(index)
    scheduled = minute_ranges.complement(minute_ranges.clip(off_schedule, start, end), start, end)
    for merged, members in groups.items():
        cut = minute_ranges.clip(minute_ranges.union(minute_ranges.as_ranges(merged)), start, end)
        if off_schedule.size:  # broken ∩ in schedule = not (not broken ∪ off schedule)
            cut = minute_ranges.complement(
                minute_ranges.union(
                    minute_ranges.complement(cut, start, end),
                    minute_ranges.complement(scheduled, start, end),
                ),
                start,
                end,
            )
        if not cut.size:
            continue
        [sums] = range_sums(store, [series[i].id for i in members], ([(start, end)], cut))
        found[members] = sums[:, 0]
    return found


def _timeslices(
    store: Store,
    slo: SLO,
    evaluation: Plan,
    series: list[SeriesInfo],
    uncounted: Uncounted,
) -> tuple[FloatArray, FloatArray, FloatArray | None, SliceCounts, FloatArray]:
    """Slice counts of every series (raw, counted, out of schedule), of the whole SLO
    judged on summed minutes (adding up segment slices would judge a different thing), and
    each series' events in the period's counted minutes (its volume, for the gate)."""
    names = evaluation.names
    if not series:
        empty = np.zeros((0, len(names), 2))
        zero = np.zeros((len(names), 2))
        return empty, empty.copy(), None, (zero, zero.copy(), None), np.zeros(0)
    origin, good, total, excluded = _minute_matrix(slo, evaluation, store, series, uncounted)
    raw, counted = timeslice_counts(slo, evaluation, good, total, origin, excluded)
    off_schedule = _off_schedule_slices(slo, evaluation, origin, good, total, uncounted)
    whole = _summed_slices(slo, evaluation, origin, good, total, excluded, uncounted)
    first, end = (m - origin for m in evaluation.intervals["period"])
    period = total[:, first:end]
    if excluded is not None:
        period = np.where(excluded[:, first:end], 0, period)
    return raw, counted, off_schedule, whole, period.sum(axis=1, dtype=np.float64)


def _summed_slices(
    slo: SLO,
    evaluation: Plan,
    origin: int,
    good: Counts,
    total: Counts,
    excluded: BoolArray | None,
    uncounted: Uncounted,
) -> SliceCounts:
    """Slice counts (ranges × [good, total]) of several series judged on their summed
    minutes; a minute is excluded only where every series excludes it."""
    summed_good = good.sum(axis=0, keepdims=True)
    summed_total = total.sum(axis=0, keepdims=True)
    whole_raw = timeslice_counts(slo, evaluation, summed_good, summed_total, origin, None)[0][0]
    found = _off_schedule_slices(slo, evaluation, origin, summed_good, summed_total, uncounted)
    off_schedule = found[0] if found is not None else None
    if excluded is None:
        return whole_raw, whole_raw, off_schedule
    kept_good = np.where(excluded, 0, good).sum(axis=0, keepdims=True)
    kept_total = np.where(excluded, 0, total).sum(axis=0, keepdims=True)
    everywhere = np.all(excluded, axis=0, keepdims=True).astype(bool)
    whole_counted = timeslice_counts(slo, evaluation, kept_good, kept_total, origin, everywhere)[1][
        0
    ]
    return whole_raw, whole_counted, off_schedule


def _off_schedule_slices(
    slo: SLO,
    evaluation: Plan,
    origin: int,
    good: Counts,
    total: Counts,
    uncounted: Uncounted,
) -> FloatArray | None:
    """(series × [good, total]) slices of the period not counted because the minutes that
    would make them count are out of schedule (None: no schedule)."""
    settings = slo.timeslice
    if settings is None or not uncounted.off_schedule.size:
        return None
    off = minute_ranges.mask(uncounted.off_schedule, origin, good.shape[1])
    return dropped_slices(
        good,
        total,
        origin,
        int(settings.length.total_seconds() // 60),
        settings.target,
        settings.no_data,
        off,
        evaluation.intervals["period"],
    )


def _timeslice_part(
    store: Store,
    slo: SLO,
    evaluation: Plan,
    series: list[SeriesInfo],
    members: list[int],
    uncounted: Uncounted,
) -> SliceCounts:
    """Slice counts of a group of a timeslices SLO, judged on its summed minutes."""
    chosen = [series[i] for i in members]
    part = Uncounted([uncounted.per_series[i] for i in members], uncounted.off_schedule)
    origin, good, total, excluded = _minute_matrix(slo, evaluation, store, chosen, part)
    return _summed_slices(slo, evaluation, origin, good, total, excluded, part)


def _minute_matrix(
    slo: SLO,
    evaluation: Plan,
    store: Store,
    series: list[SeriesInfo],
    uncounted: Uncounted,
) -> tuple[int, Counts, Counts, BoolArray | None]:
    """(series × minutes) counts from the earliest range start (on the slice grid) to the
    evaluation minute, and the mask of minutes not counted (None when every minute counts)."""
    assert slo.timeslice is not None
    length = int(slo.timeslice.length.total_seconds() // 60)
    origin = evaluation.earliest()
    origin -= origin % length
    good, total = store.minute_counts([s.id for s in series], origin, evaluation.at)
    excluded: BoolArray | None = None
    for index, ranges in enumerate(uncounted.per_series):
        if not minute_ranges.clip(ranges, origin, evaluation.at).size:
            continue
        if excluded is None:
            excluded = np.zeros(good.shape, dtype=bool)
        excluded[index] = minute_ranges.mask(ranges, origin, good.shape[1])
    return origin, good, total, excluded
