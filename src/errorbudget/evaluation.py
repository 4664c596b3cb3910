"""Evaluating one SLO at one instant: read its counts from the store in bulk, hand them to the
pure engine, and get one BudgetStatus per series (plus the whole-SLO row).

This is the App's workhorse; it is the only place where store reads and engine calls meet.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from errorbudget.engine.alerts import EffectiveCondition
from errorbudget.engine.budget import Counts
from errorbudget.engine.status import evaluate_series, segment_allowances, timeslice_counts
from errorbudget.engine.timeslices import BoolArray, FloatArray
from errorbudget.engine.windows import Plan, clip, merge_ranges, plan
from errorbudget.model import SLO, BudgetStatus, Exclusion, Minute, PolicyPreset, SegmentKey
from errorbudget.store import SeriesInfo, Store

SeriesCounts = tuple[dict[str, Counts], dict[str, Counts]]
"""Raw and budget-counting counts per range name of a plan."""

ConditionsFor = Callable[[SLO, float], list[EffectiveCondition]]


def excluded_ranges(
    slo: SLO, segment: SegmentKey, exclusions: list[Exclusion]
) -> list[tuple[Minute, Minute]]:
    """The merged minute ranges excluded from one series."""
    return merge_ranges([(e.start, e.end) for e in exclusions if e.applies_to(slo, segment)])


def evaluate_slo(
    store: Store,
    slo: SLO,
    series: list[SeriesInfo],
    at: Minute,
    exclusions: list[Exclusion],
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
    include_total: bool = True,
) -> list[BudgetStatus]:
    """Statuses of every series of ``slo`` at ``at``; the whole-SLO row first when the SLO
    has segments (or no series yet, so it still shows up, as no data)."""
    evaluation = plan(
        slo.window, at, slo.forecast.exhaustion_lookback, slo.forecast.projection_lookback
    )
    counted_sums = None
    if slo.budgeting == "timeslices":
        per_series, whole = _timeslices(store, slo, evaluation, series, exclusions)
    else:
        per_series, whole, counted_sums = _occurrences(store, slo, evaluation, series, exclusions)

    statuses = [
        evaluate_series(
            slo,
            info.segment,
            evaluation,
            raw,
            counted,
            preset,
            conditions_for(slo, slo.target_for(info.segment)),
        )
        for info, (raw, counted) in zip(series, per_series, strict=True)
    ]
    if include_total and (bool(slo.segments.keys) or not series):
        allowances = None
        whole_target = slo.target
        if slo.segments.overrides and counted_sums is not None and series:
            allowances = segment_allowances(
                np.array([slo.target_for(info.segment) for info in series]),
                counted_sums,
                evaluation.names,
            )
            eligible = whole[1]["period"].total
            if eligible > 0:
                whole_target = 1.0 - allowances["period"] / eligible
        statuses.insert(
            0,
            evaluate_series(
                slo,
                (),
                evaluation,
                whole[0],
                whole[1],
                preset,
                conditions_for(slo, whole_target),
                allowances,
            ),
        )
    return statuses


def _named(names: list[str], sums: FloatArray) -> dict[str, Counts]:
    """One series' (ranges × [good, total]) sums as Counts by range name."""
    return {
        name: Counts(good, total) for name, (good, total) in zip(names, sums.tolist(), strict=True)
    }


def _occurrences(
    store: Store,
    slo: SLO,
    evaluation: Plan,
    series: list[SeriesInfo],
    exclusions: list[Exclusion],
) -> tuple[list[SeriesCounts], SeriesCounts, FloatArray]:
    """Event counts per series and for the whole SLO, plus the budget-counting sums array
    (series × ranges × [good, total]). One bulk ``sums`` read serves every series and
    range; a series with exclusions costs one more read for the excluded parts."""
    names = evaluation.names
    if not series:
        empty = np.zeros((0, len(names), 2))
        return [], (_named(names, empty.sum(axis=0)),) * 2, empty
    raw = store.sums([s.id for s in series], [evaluation.intervals[n] for n in names])
    counted = raw.copy()
    for index, info in enumerate(series):
        ranges = excluded_ranges(slo, info.segment, exclusions)
        if not ranges:
            continue
        parts = [clip(evaluation.intervals[name], ranges) for name in names]
        flat = [part for name_parts in parts for part in name_parts]
        if not flat:
            continue
        excluded = store.sums([info.id], flat)[0]
        bounds = np.cumsum([0, *(len(p) for p in parts)])
        for position in range(len(names)):
            counted[index, position] -= excluded[bounds[position] : bounds[position + 1]].sum(
                axis=0
            )
    per_series = [
        (_named(names, raw[index]), _named(names, counted[index])) for index in range(len(series))
    ]
    whole = (_named(names, raw.sum(axis=0)), _named(names, counted.sum(axis=0)))
    return per_series, whole, counted


def _timeslices(
    store: Store,
    slo: SLO,
    evaluation: Plan,
    series: list[SeriesInfo],
    exclusions: list[Exclusion],
) -> tuple[list[SeriesCounts], SeriesCounts]:
    """Slice counts of every series, and of the whole SLO judged on summed minutes (adding
    up segment slices would judge a different thing)."""
    if not series:
        empty = {name: Counts(0.0, 0.0) for name in evaluation.intervals}
        return [], (empty, empty)
    origin, good, total, excluded = _minute_matrix(store, slo, evaluation, series, exclusions)
    per_series = timeslice_counts(slo, evaluation, good, total, origin, excluded)
    whole_raw = timeslice_counts(
        slo,
        evaluation,
        good.sum(axis=0, keepdims=True),
        total.sum(axis=0, keepdims=True),
        origin,
        None,
    )[0][0]
    if excluded is None:
        return per_series, (whole_raw, whole_raw)
    kept_good = np.where(excluded, 0.0, good).sum(axis=0, keepdims=True)
    kept_total = np.where(excluded, 0.0, total).sum(axis=0, keepdims=True)
    everywhere = np.all(excluded, axis=0, keepdims=True).astype(bool)
    whole_counted = timeslice_counts(slo, evaluation, kept_good, kept_total, origin, everywhere)[0][
        1
    ]
    return per_series, (whole_raw, whole_counted)


def _minute_matrix(
    store: Store,
    slo: SLO,
    evaluation: Plan,
    series: list[SeriesInfo],
    exclusions: list[Exclusion],
) -> tuple[int, FloatArray, FloatArray, BoolArray | None]:
    """(series × minutes) counts from the earliest range start (on the slice grid) to the
    evaluation minute, and the excluded-minute mask (None when nothing is excluded)."""
    assert slo.timeslice is not None
    length = int(slo.timeslice.length.total_seconds() // 60)
    origin = evaluation.earliest()
    origin -= origin % length
    good, total = store.minute_arrays([s.id for s in series], origin, evaluation.at)
    excluded: BoolArray | None = None
    for index, info in enumerate(series):
        for start, end in clip(
            (origin, evaluation.at), excluded_ranges(slo, info.segment, exclusions)
        ):
            if excluded is None:
                excluded = np.zeros(good.shape, dtype=bool)
            excluded[index, start - origin : end - origin] = True
    return origin, good, total, excluded
