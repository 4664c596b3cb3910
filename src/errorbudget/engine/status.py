"""Series (and aggregates of series) at one instant: from per-range counts to BudgetStatus.

The caller (``evaluation``) reads, for every range of the
:class:`~errorbudget.engine.windows.Plan`, the raw counts and the budget-counting counts
(raw minus exclusions) of every series of an SLO into one :class:`RangeCounts`; this module
does the rest with no I/O. A whole-SLO row, a tier or a group of series is evaluated by the
same function as one series, on the sums of its members (DESIGN.md "Aggregates"): its budget
is the sum of their budgets, its state comes from that same sum, and it "meets its target"
only when every member meets its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from fractions import Fraction
from functools import cache, lru_cache
from operator import attrgetter

import numpy as np
import numpy.typing as npt

from errorbudget.durations import format_duration
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.evaluator import Spends, conditions_per_series
from errorbudget.engine.evaluator import evaluate as evaluate_instants
from errorbudget.engine.exact import ONE, allowed_per_event, common_scale, decimal
from errorbudget.engine.forecast import (
    INSUFFICIENT,
    ForecastResult,
    SpendColumns,
    calendar_forecasts,
    rolling_forecasts,
)
from errorbudget.engine.timeslices import BoolArray, Counts, FloatArray, SlicePrefix
from errorbudget.engine.windows import FORECAST_LOOKBACK, Plan
from errorbudget.model import (
    BURN_WINDOWS,
    SLO,
    BudgetStatus,
    CalendarWindow,
    ConditionResult,
    DataCoverage,
    Minute,
    PolicyPreset,
    SegmentKey,
)
from errorbudget.record_builders import Columns, Same, slot_constructor

Int64Array = npt.NDArray[np.int64]
Bounds = tuple[Minute, Minute] | None
"""(first minute with data, last minute with data + 1) of a series, or None."""

ConditionsFor = Callable[[SLO, Fraction], list[EffectiveCondition]]

# a status builds these by the thousand: through their slots (record_builders.py)
_BUILD_STATUSES = Columns(BudgetStatus)
_BUILD_CONDITIONS = Columns(ConditionResult)
_build_coverage = slot_constructor(DataCoverage)


@dataclass(frozen=True, slots=True)
class RangeCounts:
    """Counts of the series of one SLO over every range of one plan.

    ``raw`` and ``counted`` are (series × ranges × [good, total]) in ``plan.names`` order
    (events, or slices for timeslices budgeting); ``allowed`` is (series × ranges) allowed
    bad events times ``scale``, an integer (engine/exact.py). ``bounds`` are each series'
    data bounds, ``targets`` their configured targets.
    """

    raw: FloatArray
    counted: FloatArray
    allowed: Int64Array
    scale: int
    targets: tuple[float, ...]
    bounds: tuple[Bounds, ...]
    off_schedule: FloatArray | None = None
    """(series × [good, total]) events (slices) of the period outside the SLO's schedule;
    None when it has none."""
    broken_minutes: tuple[int, ...] = ()
    """Per series: minutes of the period left out because a source reported them broken
    (data issues); empty when none is."""
    events: FloatArray | None = None
    """Timeslices budgeting: each series' events in the period's counted minutes (its
    eligible figures count slices); None for occurrences."""
    broken_events: FloatArray | None = None
    """Occurrences budgeting: (series × [good, total]) events of the period in broken
    minutes (part of ``raw``, not of ``counted``); None when no data issue applies."""

    def __len__(self) -> int:
        return len(self.targets)


_duration = cache(format_duration)
"""A forecast lookback as words, remembered: every SLO of a status asks (most the same)."""


def slo_words(slo: SLO) -> tuple[str, str]:
    """An SLO's window and forecast lookback in words, as every status row shows them."""
    return (slo.window.describe(), _duration(slo.forecast.lookback))


WordsFor = Callable[[SLO], tuple[str, str]]
""":func:`slo_words`, or a caller's memo of it (``evaluation.SloMemo``)."""


def scaled_allowances(targets: Sequence[float], eligible: FloatArray) -> tuple[Int64Array, int]:
    """Allowed bad events × scale per series and range, ``(1 − Tᵢ) × Eᵢ`` as integers over
    the common denominator of the targets; ``eligible`` is (series × ranges)."""
    per_event, scale = allowances_per_event(targets)
    whole = np.rint(eligible).astype(np.int64)
    return per_event.reshape(-1, *([1] * (whole.ndim - 1))) * whole, scale


def allowances_per_event(targets: Sequence[float]) -> tuple[Int64Array, int]:
    """The common scale of ``targets`` (their decimals' common denominator) and each one's
    allowed bad events per event × that scale: ``(1 − Tᵢ) × scale``."""
    scale, of = _allowances(frozenset(targets))
    if len(of) == 1:
        [only] = of.values()
        return np.full(len(targets), only, dtype=np.int64), scale
    return np.fromiter(map(of.__getitem__, targets), dtype=np.int64, count=len(targets)), scale


@lru_cache(maxsize=1024)
def _allowances(distinct: frozenset[float]) -> tuple[int, dict[float, int]]:
    """:func:`allowances_per_event` of each distinct target, remembered: an SLO has one
    target, or the same few."""
    scale = common_scale(sorted(distinct))
    return scale, {target: allowed_per_event(target, scale) for target in distinct}


def range_counts(
    raw: FloatArray,
    counted: FloatArray,
    targets: Sequence[float],
    bounds: Sequence[Bounds],
    off_schedule: FloatArray | None = None,
    broken_minutes: Sequence[int] = (),
    events: FloatArray | None = None,
    broken_events: FloatArray | None = None,
) -> RangeCounts:
    allowed, scale = scaled_allowances(targets, counted[..., 1])
    return RangeCounts(
        raw, counted, allowed, scale, tuple(targets), tuple(bounds), off_schedule,
        tuple(broken_minutes), events, broken_events,
    )  # fmt: skip


def data_coverage(
    plan: Plan,
    bounds: Bounds,
    min_coverage: float,
    max_age: timedelta | None,
    broken_minutes: int = 0,
    broken_series: int = 0,
) -> DataCoverage:
    """How much of the window the data spans, and its age at ``plan.at``; ``sufficient`` is
    decided exactly against ``min_coverage`` of the *whole* window — for a calendar window
    the whole period, so the first hours of a month (a handful of events, where one bad
    call would spend the budget) are "insufficient data", not a verdict."""
    at = plan.intervals["period"][1]
    window = plan.budget_period.minutes
    max_age_seconds = max_age.total_seconds() if max_age is not None else None
    sufficient = coverage_sufficient(plan, bounds, min_coverage)
    if bounds is None:
        return DataCoverage(
            window, 0, None, None, None, min_coverage, max_age_seconds, sufficient, False,
            broken_minutes, broken_series,
        )  # fmt: skip
    first, end = bounds
    age = max(0, at - end) * 60.0
    stale = max_age_seconds is not None and age > max_age_seconds
    return DataCoverage(
        window, _covered(plan, bounds), first, end, age, min_coverage, max_age_seconds,
        sufficient, stale, broken_minutes, broken_series,
    )  # fmt: skip


def _covered(plan: Plan, bounds: tuple[Minute, Minute]) -> int:
    start, at = plan.intervals["period"]
    first, end = bounds
    return max(0, min(at, end) - max(start, first))


def coverage_sufficient(plan: Plan, bounds: Bounds, min_coverage: float) -> bool:
    """:func:`data_coverage`'s ``sufficient`` alone (no record built): whether the data
    covers at least ``min_coverage`` of the whole window, decided exactly."""
    [found] = _sufficient(plan, [bounds], min_coverage)
    return found


def _sufficient(plan: Plan, bounds: Sequence[Bounds], min_coverage: float) -> list[bool]:
    """:func:`coverage_sufficient` of each of ``bounds``, the window and the exact threshold
    read once (the one copy of that rule)."""
    start, at = plan.intervals["period"]
    window = plan.budget_period.minutes
    need = _exact(min_coverage)
    numerator, denominator = need.numerator * window, need.denominator
    return [
        window == 0
        if found is None
        else max(0, min(at, found[1]) - max(start, found[0])) * denominator >= numerator
        for found in bounds
    ]


_exact = cache(decimal)
"""``decimal`` of a configured setting, remembered: every row asks for the same few."""


def merged_bounds(bounds: Sequence[Bounds]) -> Bounds:
    """The data bounds of several series together: the earliest start, the latest end."""
    known = [b for b in bounds if b is not None]
    if not known:
        return None
    return min(b[0] for b in known), max(b[1] for b in known)


@dataclass(frozen=True, slots=True)
class Row:
    """What a row of a status needs besides its counts: its segment, the target shown (the
    segment's, or the SLO's for an aggregate), its data coverage and, for an aggregate,
    whether each member meets its own target. ``off_schedule`` and ``broken`` are the
    period's [good, total] outside the SLO's schedule and in broken minutes (part of the
    raw counts, not of the counted ones); ``eligible_events`` a timeslices row's events."""

    segment: SegmentKey
    target: float
    coverage: DataCoverage
    members_within: Sequence[bool | None] | None = None
    off_schedule: tuple[float, float] = (0.0, 0.0)
    broken: tuple[float, float] = (0.0, 0.0)
    eligible_events: float | None = None


_build_row = slot_constructor(Row)


def _pair(values: FloatArray | None) -> tuple[float, float]:
    return (0.0, 0.0) if values is None else (float(values[0]), float(values[1]))


def evaluate_rows(
    slos: SLO | Sequence[SLO],
    plan: Plan,
    rows: Sequence[Row],
    raw: FloatArray,
    counted: FloatArray,
    allowed: Int64Array,
    scale: int,
    *,
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
    words_for: WordsFor = slo_words,
) -> list[BudgetStatus]:
    """The status of each row at ``plan.at``: one series, or the sum of several.

    ``raw`` and ``counted`` are (rows × ranges × [good, total]) in ``plan.names`` order,
    ``allowed`` the allowed bad events × ``scale`` per row and range. Every figure a
    status decides on comes from the evaluator over instants (``engine.evaluator``), here
    with one instant; the forecast and the words are added per row. ``slos`` is the SLO of
    every row, or one for all; rows of several SLOs must agree on :func:`batch_key`.
    """
    if not rows:
        return []
    per_row = [slos] * len(rows) if isinstance(slos, SLO) else list(slos)
    slo = per_row[0]
    at = plan.positions
    names = tuple(plan.names)
    # (ranges × rows × one instant), as the evaluator takes them
    good_counts = np.rint(counted[:, :, 0].T[:, :, None]).astype(np.int64)
    total_counts = np.rint(counted[:, :, 1].T[:, :, None]).astype(np.int64)
    spends = Spends(
        names,
        total_counts - good_counts,
        total_counts,
        np.ascontiguousarray(allowed.T[:, :, None], dtype=np.int64),
        scale,
    )
    # Python values only of the ranges read per row below: the period and the lookback
    period_goods = counted[:, at["period"], 0].tolist()
    period_totals = counted[:, at["period"], 1].tolist()
    period_allowed = allowed[:, at["period"]].tolist()
    period_bad = [int(t) - int(g) for g, t in zip(period_goods, period_totals, strict=True)]
    effective: list[Fraction | None] = [
        ONE - Fraction(a, scale * int(t)) if row.members_within is not None and t > 0 else None
        for row, a, t in zip(rows, period_allowed, period_totals, strict=True)
    ]
    # rows of one SLO at its segments' own targets share their conditions: asked once
    asked: dict[tuple[int, float], list[EffectiveCondition]] = {}
    row_conditions = []
    for row_slo, row, found in zip(per_row, rows, effective, strict=True):
        if found is not None:
            row_conditions.append(conditions_for(row_slo, found))
            continue
        key = (id(row_slo), row.target)
        conditions = asked.get(key)
        if conditions is None:
            conditions = asked[key] = conditions_for(row_slo, decimal(row.target))
        row_conditions.append(conditions)
    enabled = slo.alerting.enabled
    slice_minutes = (
        int(slo.timeslice.length.total_seconds() // 60) if slo.timeslice is not None else None
    )
    evaluated = evaluate_instants(
        spends,
        conditions_per_series(row_conditions) if enabled else [],
        preset,
        min_events=slo.alerting.min_events,
        slice_minutes=slice_minutes,
        sufficient=np.array([[row.coverage.sufficient] for row in rows], dtype=bool),
        alerting=enabled,
    )
    burns = {name: _floats(spends.ratio(name)) for name in BURN_WINDOWS}
    consumed_all = _floats(evaluated.consumed_ratio)
    sli_all = _floats(evaluated.sli)
    budget_all = evaluated.budget_total[:, 0].tolist()
    remaining_all = evaluated.budget_remaining[:, 0].tolist()
    remaining_ratio_all = _floats(evaluated.remaining_ratio)
    states = evaluated.states()[:, 0].tolist()
    raw_period = raw[:, at["period"]].tolist()
    lookback_bad = [
        int(t) - int(g)
        for g, t in zip(
            counted[:, at[FORECAST_LOOKBACK], 0].tolist(),
            counted[:, at[FORECAST_LOOKBACK], 1].tolist(),
            strict=True,
        )
    ]
    lookback_allowed = allowed[:, at[FORECAST_LOOKBACK]].tolist()
    leaving_positions = [i for i, _ in plan.leaving_minutes]
    leaving_minutes = [minutes for _, minutes in plan.leaving_minutes]
    leaving_bad = spends.bad[leaving_positions, :, 0].T
    leaving_allowed = allowed[:, leaving_positions]
    count = len(rows)
    # What is the same for every row of one SLO worked out once, and each figure of every
    # row as one column: the records are then built by one map over the columns
    # (record_builders.py), not field by field in a loop per row.
    described = {id(row_slo): words_for(row_slo) for row_slo in per_row}
    shown = [described[id(row_slo)] for row_slo in per_row]
    offs = [row.off_schedule for row in rows]
    brokens = [row.broken for row in rows]
    coverages = [row.coverage for row in rows]
    meets: list[bool | None] = []
    missing: list[int] = []
    forecasts: list[ForecastResult] = []
    calendar: list[int] = []  # rows of a calendar window with enough data
    rolling: list[int] = []  # … of a rolling window
    lookback_minutes = plan.minutes(FORECAST_LOOKBACK)
    budget_period = plan.budget_period
    for index, row in enumerate(rows):
        sufficient = row.coverage.sufficient
        if row.members_within is not None:
            known = [w for w in row.members_within if w is not None]
            within: bool | None = all(known) if known else None
            missing.append(sum(1 for w in known if not w))
        elif sufficient and period_allowed[index] > 0:  # Spend.within, exactly
            within = period_bad[index] * scale <= period_allowed[index]
            missing.append(0 if within else 1)
        else:
            within = None
            missing.append(0)
        forecasts.append(INSUFFICIENT)  # the others worked out together below
        if not sufficient:
            meets.append(None)
            remaining_ratio_all[index] = consumed_all[index] = None
            continue
        meets.append(within)
        (calendar if isinstance(per_row[index].window, CalendarWindow) else rolling).append(index)
    spends_of = SpendColumns(
        period_bad, period_allowed, lookback_bad, lookback_allowed, scale, lookback_minutes
    )
    if calendar:
        dated = calendar_forecasts(
            spends_of.rows(calendar),
            budget_period.end - plan.at,
            plan.at - budget_period.start,
            budget_period.minutes,
        )
        for index, forecast in zip(calendar, dated, strict=True):
            forecasts[index] = forecast
    if rolling:
        rolled = rolling_forecasts(
            spends_of.rows(rolling),
            leaving_minutes,
            leaving_bad[rolling],
            leaving_allowed[rolling],
        )
        for index, forecast in zip(rolling, rolled, strict=True):
            forecasts[index] = forecast
    words_of = {state: preset.state_policy(state) for state in set(states)}
    words = [words_of[state] for state in states]
    return _BUILD_STATUSES.build(
        count,
        slo=[row_slo.id for row_slo in per_row],
        service=[row_slo.service for row_slo in per_row],
        segment=[row.segment for row in rows],
        target=[row.target for row in rows],
        window=[found[0] for found in shown],
        at=Same(plan.at),
        period_start=Same(budget_period.start),
        period_end=Same(budget_period.end),
        budgeting=[row_slo.budgeting for row_slo in per_row],
        eligible=period_totals,
        good=period_goods,
        bad=[t - g for g, t in zip(period_goods, period_totals, strict=True)],
        raw_total=[raw_total for _, raw_total in raw_period],
        raw_bad=[raw_total - raw_good for raw_good, raw_total in raw_period],
        excluded=[
            raw_total - period_total - off[1] - broken[1]
            for (_, raw_total), period_total, off, broken in zip(
                raw_period, period_totals, offs, brokens, strict=True
            )
        ],
        sli=sli_all,
        budget_total=budget_all,
        budget_consumed=[float(bad) for bad in period_bad],
        budget_remaining=remaining_all,
        budget_remaining_ratio=remaining_ratio_all,
        burn_rates=[
            dict(zip(BURN_WINDOWS, values, strict=True))
            for values in zip(*(burns[name] for name in BURN_WINDOWS), strict=True)
        ],
        period_burn_rate=consumed_all,
        time_to_exhaustion_seconds=[f.time_to_exhaustion_seconds for f in forecasts],
        projected_consumed_ratio=[f.projected_consumed_ratio for f in forecasts],
        linear_projected_consumed_ratio=[f.linear_projected_consumed_ratio for f in forecasts],
        state=states,
        conditions=(
            _condition_results(row_conditions, burns, counted, at, evaluated.holding)
            if enabled
            else Same(())
        ),
        effective_target=[
            float(found) if found is not None else row.target
            for row, found in zip(rows, effective, strict=True)
        ],
        meets_target=meets,
        series=[len(row.members_within) if row.members_within is not None else 1 for row in rows],
        series_missing_target=missing,
        outlook=[f.outlook for f in forecasts],
        forecast_lookback=[found[1] for found in shown],
        policy=Same(preset.name),
        state_label=[w.label for w in words],
        band=[w.band for w in words],
        advice=[w.advice for w in words],
        coverage=coverages,
        out_of_schedule=[off[1] for off in offs],
        out_of_schedule_bad=[off[1] - off[0] for off in offs],
        eligible_events=[row.eligible_events for row in rows],
        broken=[broken[1] for broken in brokens],
        broken_bad=[broken[1] - broken[0] for broken in brokens],
    )


def _condition_results(
    row_conditions: Sequence[Sequence[EffectiveCondition]],
    burns: dict[str, list[float | None]],
    counted: FloatArray,
    at: dict[str, int],
    holding: BoolArray,
) -> list[tuple[ConditionResult, ...]]:
    """Each row's condition results, built a condition at a time over every row: what the
    condition is (the same for every row of one SLO and target) and, per row, its windows'
    burn rates, its long window's eligible events and whether it holds (``holding`` is
    conditions × rows × instants, the first instant read)."""
    count = len(row_conditions)
    if not count or not row_conditions[0]:
        return [()] * count
    place: dict[int, int] = {}
    distinct: list[Sequence[EffectiveCondition]] = []
    which = []
    for conditions in row_conditions:
        found = place.get(id(conditions))
        if found is None:
            found = place[id(conditions)] = len(distinct)
            distinct.append(conditions)
        which.append(found)
    firing = holding[:, :, 0].tolist()
    columns = []
    for index, first in enumerate(row_conditions[0]):

        def column(
            get: Callable[[EffectiveCondition], object], index: int = index
        ) -> Same | list[object]:
            values = [get(conditions[index]) for conditions in distinct]
            shared = values[0]
            if all(v == shared and type(v) is type(shared) for v in values):
                return Same(shared)  # e.g. the same factor at every target
            return list(map(values.__getitem__, which))

        columns.append(
            _BUILD_CONDITIONS.build(
                count,
                severity=column(attrgetter("severity")),
                long_window=column(attrgetter("long_name")),
                short_window=column(attrgetter("short_name")),
                factor=column(attrgetter("factor")),
                catalog_factor=column(attrgetter("catalog_factor")),
                adapted=column(attrgetter("adapted")),
                long_burn=burns[first.long_name],
                short_burn=burns[first.short_name],
                long_eligible=counted[:, at[first.long_name], 1].tolist(),
                firing=firing[index],
                long_factor=column(lambda c: c.long_factor if c.split else None),
                name=column(attrgetter("name")),
            )
        )
    return list(zip(*columns, strict=True))


def _floats(values: FloatArray) -> list[float | None]:
    """The first instant of (rows × instants) as floats, NaN (no data) as None."""
    first = values[:, 0]
    found: list[float | None] = first.tolist()
    for index in np.flatnonzero(np.isnan(first)).tolist():
        found[index] = None
    return found


def evaluate_row(
    slo: SLO,
    segment: SegmentKey,
    plan: Plan,
    raw: FloatArray,
    counted: FloatArray,
    allowed: Sequence[int],
    scale: int,
    *,
    target: float,
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
    coverage: DataCoverage,
    members_within: Sequence[bool | None] | None = None,
    off_schedule: FloatArray | None = None,
    eligible_events: float | None = None,
    broken: FloatArray | None = None,
) -> BudgetStatus:
    """The status of one row at ``plan.at``: one series, or the sum of several
    (:func:`evaluate_rows` with one row). ``raw`` and ``counted`` are (ranges × [good,
    total]) in ``plan.names`` order, ``allowed`` the allowed bad events × ``scale`` per
    range; ``members_within`` says, for an aggregate, whether each member series meets its
    own target."""
    row = Row(
        segment, target, coverage, members_within, _pair(off_schedule), _pair(broken),
        eligible_events,
    )  # fmt: skip
    [status] = evaluate_rows(
        slo,
        plan,
        [row],
        raw[None],
        counted[None],
        np.asarray([list(allowed)], dtype=np.int64),
        scale,
        preset=preset,
        conditions_for=conditions_for,
    )
    return status


def _series_rows(
    slo: SLO, segments: Sequence[SegmentKey], plan: Plan, counts: RangeCounts
) -> list[Row]:
    """One :class:`Row` per series; each coverage is :func:`data_coverage`'s, with what is
    the same for every series of the SLO (window, instant, exact threshold) worked out once."""
    start, at = plan.intervals["period"]
    window = plan.budget_period.minutes
    min_coverage = slo.data.min_coverage
    need = _exact(min_coverage)
    max_age_seconds = slo.max_data_age.total_seconds() if slo.max_data_age is not None else None
    none_sufficient = window == 0
    broken_minutes = counts.broken_minutes or (0,) * len(segments)
    off_schedule = counts.off_schedule.tolist() if counts.off_schedule is not None else None
    broken_events = counts.broken_events.tolist() if counts.broken_events is not None else None
    events = counts.events.tolist() if counts.events is not None else None
    rows = []
    for index, segment in enumerate(segments):
        bounds = counts.bounds[index]
        if bounds is None:
            coverage = _build_coverage(
                window, 0, None, None, None, min_coverage, max_age_seconds, none_sufficient,
                False, broken_minutes[index], 0,
            )  # fmt: skip
        else:
            first, end = bounds
            covered = max(0, min(at, end) - max(start, first))
            age = max(0, at - end) * 60.0
            coverage = _build_coverage(
                window, covered, first, end, age, min_coverage, max_age_seconds,
                covered * need.denominator >= need.numerator * window,
                max_age_seconds is not None and age > max_age_seconds,
                broken_minutes[index], 0,
            )  # fmt: skip
        rows.append(
            _build_row(
                segment,
                counts.targets[index],
                coverage,
                None,
                _listed_pair(off_schedule, index),
                _listed_pair(broken_events, index),
                float(events[index]) if events is not None else None,
            )
        )
    return rows


def _listed_pair(values: list[list[float]] | None, index: int) -> tuple[float, float]:
    """``_pair`` of row ``index`` of an array already turned into lists."""
    if values is None:
        return (0.0, 0.0)
    good, total = values[index]
    return (float(good), float(total))


def evaluate_every_series(
    slo: SLO,
    segments: Sequence[SegmentKey],
    plan: Plan,
    counts: RangeCounts,
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
) -> list[BudgetStatus]:
    """The status of every series of ``counts`` (``segments`` in its order), evaluated
    together: one pass of the evaluator over all of them."""
    return evaluate_rows(
        slo, plan, _series_rows(slo, segments, plan, counts), counts.raw, counts.counted,
        counts.allowed, counts.scale, preset=preset, conditions_for=conditions_for,
    )  # fmt: skip


def batch_key(slo: SLO, plan: Plan, preset: PolicyPreset) -> tuple[object, ...]:
    """SLOs with the same key can have their series evaluated in one pass
    (:func:`evaluate_many`): the same ranges at the same instant, window kind, policy,
    budgeting and alerting settings."""
    slice_minutes = slo.timeslice.length if slo.timeslice is not None else None
    return (
        plan.key,
        plan.budget_period,
        type(slo.window),
        id(preset),
        slo.budgeting,
        slice_minutes,
        slo.alerting.enabled,
        slo.alerting.min_events,
        slo.alerting.catalog,  # the conditions are stacked row by row, catalog row by row
    )


@dataclass(frozen=True, slots=True)
class RowInputs:
    """Rows of one SLO ready for the evaluator: what each row needs besides its counts
    (:class:`Row`), its raw and counted counts (rows × ranges × [good, total]) and its
    allowed bad events × ``scale`` (rows × ranges)."""

    slo: SLO
    rows: list[Row]
    raw: FloatArray
    counted: FloatArray
    allowed: Int64Array
    scale: int


def series_inputs(
    slo: SLO, segments: Sequence[SegmentKey], plan: Plan, counts: RangeCounts
) -> RowInputs:
    """The rows of every series of ``counts`` (``segments`` in its order)."""
    return RowInputs(
        slo, _series_rows(slo, segments, plan, counts), counts.raw, counts.counted,
        counts.allowed, counts.scale,
    )  # fmt: skip


def evaluate_batch(
    items: Sequence[RowInputs],
    plan: Plan,
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
    words_for: WordsFor = slo_words,
) -> list[list[BudgetStatus]]:
    """The statuses of the rows of several items whose SLOs share a :func:`batch_key`, in
    one pass of the evaluator (per item, in its rows' order). Budgets are brought to one
    scale, the least common multiple of the items' scales: the same rationals, so the same
    decisions and the same floats.

    When bringing an item's allowed bad events to that scale could pass int64 (a target
    with many decimals beside a plain one), the items are evaluated in groups of one scale
    each instead — the same statuses, never a wrapped budget."""
    scale = 1
    for item in items:
        scale = math.lcm(scale, item.scale)
    if any(
        item.allowed.size and int(np.abs(item.allowed).max()) * (scale // item.scale) >= _INT64_ROOM
        for item in items
        if item.scale != scale
    ):
        by_scale: dict[int, list[int]] = {}
        for index, item in enumerate(items):
            by_scale.setdefault(item.scale, []).append(index)
        grouped: list[list[BudgetStatus]] = [[] for _ in items]
        for members in by_scale.values():
            parts = evaluate_batch(
                [items[i] for i in members], plan, preset, conditions_for, words_for
            )
            for index, statuses in zip(members, parts, strict=True):
                grouped[index] = statuses
        return grouped
    slos: list[SLO] = []
    rows: list[Row] = []
    raws, counteds, alloweds, sizes = [], [], [], []
    for item in items:
        rows.extend(item.rows)
        slos.extend([item.slo] * len(item.rows))
        raws.append(item.raw)
        counteds.append(item.counted)
        factor = scale // item.scale
        alloweds.append(item.allowed * factor if factor != 1 else item.allowed)
        sizes.append(len(item.rows))
    width = len(plan.names)
    found = evaluate_rows(
        slos,
        plan,
        rows,
        np.concatenate(raws) if raws else np.zeros((0, width, 2)),
        np.concatenate(counteds) if counteds else np.zeros((0, width, 2)),
        np.concatenate(alloweds) if alloweds else np.zeros((0, width), dtype=np.int64),
        scale,
        preset=preset,
        conditions_for=conditions_for,
        words_for=words_for,
    )
    result = []
    offset = 0
    for size in sizes:
        result.append(found[offset : offset + size])
        offset += size
    return result


_INT64_ROOM = 2**62
"""Allowed bad events × scale below this leave the evaluator room to add two of them."""


def evaluate_many(
    items: Sequence[tuple[SLO, Sequence[SegmentKey], RangeCounts]],
    plan: Plan,
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
) -> list[list[BudgetStatus]]:
    """The statuses of every series of several SLOs that share a :func:`batch_key`, in one
    pass of the evaluator (per item, in its series' order): :func:`evaluate_batch`."""
    return evaluate_batch(
        [series_inputs(slo, segments, plan, counts) for slo, segments, counts in items],
        plan,
        preset,
        conditions_for,
    )


def evaluate_series(
    slo: SLO,
    segment: SegmentKey,
    plan: Plan,
    counts: RangeCounts,
    index: int,
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
) -> BudgetStatus:
    """The status of the series at ``index`` of ``counts``."""
    return evaluate_row(
        slo,
        segment,
        plan,
        counts.raw[index],
        counts.counted[index],
        counts.allowed[index].tolist(),
        counts.scale,
        target=counts.targets[index],
        preset=preset,
        conditions_for=conditions_for,
        coverage=data_coverage(
            plan,
            counts.bounds[index],
            slo.data.min_coverage,
            slo.max_data_age,
            counts.broken_minutes[index] if counts.broken_minutes else 0,
        ),
        off_schedule=counts.off_schedule[index] if counts.off_schedule is not None else None,
        eligible_events=float(counts.events[index]) if counts.events is not None else None,
        broken=counts.broken_events[index] if counts.broken_events is not None else None,
    )


def evaluate_aggregate(
    slo: SLO,
    segment: SegmentKey,
    plan: Plan,
    counts: RangeCounts,
    members: Sequence[int],
    preset: PolicyPreset,
    conditions_for: ConditionsFor,
    whole: tuple[FloatArray, FloatArray] | None = None,
    whole_off_schedule: FloatArray | None = None,
) -> BudgetStatus:
    """Several series of ``counts`` as one row: counts and budgets summed (the whole-SLO
    row, a tier, a group); :func:`aggregate_inputs` says what ``whole`` and
    ``whole_off_schedule`` replace."""
    item = aggregate_inputs(slo, segment, plan, counts, members, whole, whole_off_schedule)
    [[status]] = evaluate_batch([item], plan, preset, conditions_for)
    return status


def aggregate_inputs(
    slo: SLO,
    segment: SegmentKey,
    plan: Plan,
    counts: RangeCounts,
    members: Sequence[int],
    whole: tuple[FloatArray, FloatArray] | None = None,
    whole_off_schedule: FloatArray | None = None,
) -> RowInputs:
    """The one row of several series of ``counts``, ready for :func:`evaluate_batch`:
    counts and budgets summed. ``whole`` replaces the summed (raw, counted) counts where
    they do not add up (timeslices: slices are judged on the summed minutes, with the SLO's
    own target), and ``whole_off_schedule`` the summed out-of-schedule counts."""
    chosen = list(members)
    off_schedule = whole_off_schedule
    if whole is None and counts.off_schedule is not None:
        off_schedule = counts.off_schedule[chosen].sum(axis=0)
    if whole is not None:
        raw, counted = whole
        allowed, scale = scaled_allowances([slo.target], counted[None, :, 1])
    else:
        raw = counts.raw[chosen].sum(axis=0) if chosen else np.zeros(counts.raw.shape[1:])
        counted = (
            counts.counted[chosen].sum(axis=0) if chosen else np.zeros(counts.counted.shape[1:])
        )
        allowed = (
            counts.allowed[chosen].sum(axis=0, keepdims=True)
            if chosen
            else np.zeros((1, counts.counted.shape[1]), dtype=np.int64)
        )
        scale = counts.scale
    position = plan.names.index("period")
    # a member whose data is too little to judge is neither meeting nor missing its target
    min_coverage = slo.data.min_coverage
    period_counted = counts.counted[chosen, position].tolist()
    period_allowed = counts.allowed[chosen, position].tolist()
    sufficient = _sufficient(plan, [counts.bounds[i] for i in chosen], min_coverage)
    scale_of = counts.scale
    within = [
        # Spend(bad, allowed, scale).within, without building the Spend
        (None if member_allowed <= 0 else (int(total) - int(good)) * scale_of <= member_allowed)
        if enough
        else None
        for enough, (good, total), member_allowed in zip(
            sufficient, period_counted, period_allowed, strict=True
        )
    ]
    bounds = merged_bounds([counts.bounds[i] for i in chosen])
    broken_minutes = [counts.broken_minutes[i] for i in chosen] if counts.broken_minutes else []
    coverage = data_coverage(
        plan,
        bounds,
        min_coverage,
        slo.max_data_age,
        sum(broken_minutes),
        sum(1 for minutes in broken_minutes if minutes),
    )
    broken = (
        counts.broken_events[chosen].sum(axis=0)
        if counts.broken_events is not None and whole is None
        else None
    )
    eligible_events = float(counts.events[chosen].sum()) if counts.events is not None else None
    row = Row(
        segment, slo.target, coverage, within, _pair(off_schedule), _pair(broken),
        eligible_events,
    )  # fmt: skip
    return RowInputs(
        slo, [row], raw[None], counted[None], np.asarray(allowed, dtype=np.int64), scale
    )


def timeslice_counts(
    slo: SLO,
    plan: Plan,
    good: Counts,
    total: Counts,
    origin: int,
    excluded: BoolArray | None,
) -> tuple[FloatArray, FloatArray]:
    """Raw and counted slice counts, each (series × ranges × [good, total]) in
    ``plan.names`` order, from (series × minutes) arrays that start at minute ``origin`` on
    the slice grid and end at ``plan.at``; ``excluded`` masks excluded minutes (None: no
    exclusion applies)."""
    settings = slo.timeslice
    if settings is None:
        raise ValueError(f"SLO {slo.id} does not use timeslices budgeting")
    length = int(settings.length.total_seconds() // 60)
    raw = SlicePrefix(good, total, origin, length, settings.target, settings.no_data)
    counted = (
        raw
        if excluded is None
        else SlicePrefix(good, total, origin, length, settings.target, settings.no_data, excluded)
    )

    def stack(prefix: SlicePrefix) -> FloatArray:
        good, slices = prefix.counts_many([plan.intervals[n] for n in plan.names])
        return np.stack([good, slices], axis=-1)  # (series, ranges, [good, total])

    raw_counts = stack(raw)
    return raw_counts, raw_counts if counted is raw else stack(counted)
