"""One series at one instant: from per-window counts to a BudgetStatus.

The caller (the App) fetches, for every range of the :class:`~errorbudget.engine.windows.Plan`,
the raw counts and the budget-counting counts (raw minus exclusions); this module does the
rest with no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from errorbudget.engine import budget
from errorbudget.engine.alerts import EffectiveCondition, evaluate_conditions
from errorbudget.engine.budget import Counts
from errorbudget.engine.policy import policy_state
from errorbudget.engine.timeslices import BoolArray, FloatArray, SlicePrefix
from errorbudget.engine.windows import EXHAUSTION_LOOKBACK, PROJECTION_LOOKBACK, Plan
from errorbudget.model import (
    BURN_WINDOWS,
    SLO,
    BudgetStatus,
    CalendarWindow,
    PolicyPreset,
    SegmentKey,
)


def evaluate_series(
    slo: SLO,
    segment: SegmentKey,
    plan: Plan,
    raw: Mapping[str, Counts],
    counted: Mapping[str, Counts],
    preset: PolicyPreset,
    conditions: list[EffectiveCondition],
    allowances: Mapping[str, float] | None = None,
) -> BudgetStatus:
    """The status of ``slo`` × ``segment`` at ``plan.at``.

    ``raw`` and ``counted`` map each range name of ``plan`` to counts (events, or slices
    for timeslices budgeting); missing names count as zero. The budget of a range is
    ``(1 − T) × E`` at the segment's target, unless ``allowances`` gives it (the whole-SLO
    row passes the sum of its segments' budgets, see :func:`segment_allowances`).
    """
    zero = budget.ZERO
    base_allowed = 1.0 - slo.target_for(segment)
    given = allowances or {}

    def allowed(name: str) -> float:
        return given.get(name, base_allowed * counted.get(name, zero).total)

    period = counted.get("period", zero)
    period_raw = raw.get("period", zero)
    period_allowed = allowed("period")
    target = 1.0 - period_allowed / period.total if period.total > 0 else 1.0 - base_allowed
    rates = {
        name: budget.spent_ratio(counted.get(name, zero).bad, allowed(name))
        for name in BURN_WINDOWS
    }
    consumed = budget.spent_ratio(period.bad, period_allowed)
    remaining_events = period_allowed - period.bad
    remaining_ratio = None if consumed is None else 1.0 - consumed

    exhaustion = counted.get(EXHAUSTION_LOOKBACK, zero)
    exhaustion_range = plan.intervals[EXHAUSTION_LOOKBACK]
    tte = (
        None
        if consumed is None
        else budget.time_to_exhaustion_seconds(
            remaining_events, exhaustion, (exhaustion_range[1] - exhaustion_range[0]) * 60.0
        )
    )

    projected = linear = None
    if isinstance(slo.window, CalendarWindow):
        projection_range = plan.intervals[PROJECTION_LOOKBACK]
        projected = budget.projected_consumed_ratio(
            period.bad,
            period_allowed,
            counted.get(PROJECTION_LOOKBACK, zero).bad,
            allowed(PROJECTION_LOOKBACK),
            projection_range[1] - projection_range[0],
            plan.budget_period.end - plan.at,
        )
        linear = budget.linear_projected_consumed_ratio(
            consumed, plan.at - plan.budget_period.start, plan.budget_period.minutes
        )

    eligible = {name: counted.get(name, zero).total for name in BURN_WINDOWS}
    slice_minutes = (
        int(slo.timeslice.length.total_seconds() // 60) if slo.timeslice is not None else None
    )
    results = evaluate_conditions(
        conditions, rates, eligible, slo.alerting.min_events, slice_minutes
    )
    if not slo.alerting.enabled:
        results = ()
    state = policy_state(preset, remaining_ratio, {**rates, "period": consumed}, results)
    return BudgetStatus(
        slo=slo.id,
        service=slo.service,
        segment=segment,
        target=target,
        window=slo.window.describe(),
        at=plan.at,
        period_start=plan.budget_period.start,
        period_end=plan.budget_period.end,
        budgeting=slo.budgeting,
        eligible=period.total,
        good=period.good,
        bad=period.bad,
        raw_total=period_raw.total,
        raw_bad=period_raw.bad,
        excluded=period_raw.total - period.total,
        sli=budget.sli(period),
        budget_total=period_allowed,
        budget_consumed=period.bad,
        budget_remaining=remaining_events,
        budget_remaining_ratio=remaining_ratio,
        burn_rates=rates,
        period_burn_rate=consumed,
        time_to_exhaustion_seconds=tte,
        projected_consumed_ratio=projected,
        linear_projected_consumed_ratio=linear,
        state=state,
        conditions=results,
    )


def segment_allowances(
    targets: FloatArray, counted: FloatArray, names: list[str]
) -> dict[str, float]:
    """Per range, the whole SLO's budget as the sum of its segments' budgets:
    ``Σ (1 − Tᵢ) × Eᵢ``.

    With per-segment targets (VIP 95 %, standard 80 %), judging the sum of all calls at one
    target would hide or invent burn, and a blended target drifts with the traffic mix.
    ``targets`` has one target per series; ``counted`` is (series × ranges × [good, total]).
    """
    allowed = ((1.0 - targets)[:, None] * counted[:, :, 1]).sum(axis=0)
    return {name: float(allowed[i]) for i, name in enumerate(names)}


def timeslice_counts(
    slo: SLO,
    plan: Plan,
    good: FloatArray,
    total: FloatArray,
    origin: int,
    excluded: BoolArray | None,
) -> list[tuple[dict[str, Counts], dict[str, Counts]]]:
    """Raw and counted slice counts for every range of ``plan`` and every series, from
    (series × minutes) arrays that start at minute ``origin`` on the slice grid and end at
    ``plan.at``; ``excluded`` masks excluded minutes (None: no exclusion applies)."""
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
    per_name = {
        name: (raw.counts(interval), counted.counts(interval))
        for name, interval in plan.intervals.items()
    }
    return [
        (
            {name: Counts(float(r[0][i]), float(r[1][i])) for name, (r, _) in per_name.items()},
            {name: Counts(float(c[0][i]), float(c[1][i])) for name, (_, c) in per_name.items()},
        )
        for i in range(good.shape[0])
    ]
