"""Multiwindow, multi-burn-rate conditions (Google SRE Workbook, "Alerting on SLOs").

A condition holds when ``burn(long) > factor`` and ``burn(short) > factor``, compared at full
precision, with ``factor = budget_fraction × period hours / long-window hours``.

Low targets: the highest burn a series can reach is ``1 / (1 − target)`` (every event bad);
at 85 % that is 6.67, so the 14.4 page could never fire. Rule (docs/concepts.md, "Low
targets"): for a condition whose factor ``F`` exceeds the ceiling
``c = max_burn_fraction × highest``, the condition becomes ``burn(short) > c`` and
``burn(long) > c × short / long``: the short window says the series is burning at close to
its highest rate now, and the long window must hold at least one short window's worth of bad
events at that rate. At 85 % (c = 6) a total outage pages after 5 minutes, and a steady 2×
burn never pages (the short window never exceeds 6). Unadapted conditions keep ``F`` on both
windows, and an ``F`` below 1 is raised to 1 (on-pace spending is not an incident).

The low-traffic guard: a condition also needs ``min_events`` eligible events and
``min_bad_events`` bad events in its long window, so one failed call never pages a quiet
queue, whatever the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from fractions import Fraction

import numpy as np

from errorbudget.durations import format_duration
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.evaluator import Spends, condition_holds, conditions_per_series
from errorbudget.engine.exact import ONE, Spend, decimal
from errorbudget.engine.windows import nominal_length
from errorbudget.model import SLO, BurnCatalog, ConditionResult


def highest_burn(target: float | Fraction) -> Fraction:
    """The highest possible burn rate, reached when every event is bad: ``1 / (1 − T)``,
    exactly (a target is the decimal it was written as)."""
    exact = target if isinstance(target, Fraction) else decimal(target)
    return ONE / (ONE - exact)


def max_burn_rate(target: float) -> float:
    """:func:`highest_burn` as a float."""
    return float(highest_burn(target))


def effective_conditions(
    catalog: BurnCatalog,
    period: timedelta,
    target: float | Fraction,
    max_burn_fraction: float = 0.9,
    *,
    min_bad_events: int = 0,
) -> list[EffectiveCondition]:
    """Scale ``catalog`` to an SLO ``period`` and adapt its factors to ``target``, exactly
    (``target`` may be a Fraction: a whole-SLO row's effective target); each condition needs
    ``min_bad_events`` bad events in its long window (``alerting.min_bad_events``)."""
    highest = highest_burn(target)
    ceiling = decimal(max_burn_fraction) * highest
    period_seconds = int(period.total_seconds())
    conditions = []
    for condition in catalog.conditions:
        catalog_threshold = decimal(condition.budget_fraction) * Fraction(
            period_seconds, int(condition.long_window.total_seconds())
        )
        long_threshold = None
        if catalog_threshold > ceiling:
            # Low target: near the highest burn in the short window, and one short window's
            # worth of bad events at that rate in the long window (module docstring).
            threshold = ceiling
            long_threshold = ceiling * Fraction(
                int(condition.short_window.total_seconds()),
                int(condition.long_window.total_seconds()),
            )
        else:
            # Burning at or below 1 is on pace, never an incident: a long window scaled to a
            # short period (3d of a week: 0.23) would otherwise raise tickets for healthy
            # series.
            threshold = max(catalog_threshold, ONE)
        conditions.append(
            EffectiveCondition(
                severity=condition.severity,
                long_window=condition.long_window,
                short_window=condition.short_window,
                budget_fraction=condition.budget_fraction,
                threshold=threshold,
                catalog_threshold=catalog_threshold,
                highest=highest,
                long_name=format_duration(condition.long_window),
                short_name=format_duration(condition.short_window),
                long_threshold=long_threshold,
                name=condition.condition_name,
                min_bad_events=min_bad_events,
            )
        )
    return conditions


def slo_conditions(
    catalog: BurnCatalog, slo: SLO, target: float | Fraction | None = None
) -> list[EffectiveCondition]:
    """``catalog`` scaled to ``slo``'s window (a calendar month as 30 days) and adapted to
    ``target`` (default the SLO's), with its alerting settings: what every status, replay
    and ``validate`` judge the SLO's series by."""
    return effective_conditions(
        catalog,
        nominal_length(slo.window),
        slo.target if target is None else target,
        slo.alerting.max_burn_fraction,
        min_bad_events=slo.alerting.min_bad_events,
    )


def evaluate_conditions(
    conditions: list[EffectiveCondition],
    spends: Mapping[str, Spend],
    eligible: Mapping[str, float],
    min_events: int,
    slice_minutes: int | None = None,
) -> tuple[ConditionResult, ...]:
    """Which conditions hold, given each window's :class:`Spend` and eligible count keyed
    by window name: the evaluator over instants (``engine.evaluator``) at one instant, so
    ``burn > factor`` is decided as for every status and replay.

    For timeslices (``slice_minutes`` set) eligible counts are slices, and a long window
    holds only so many: the guard is then at most half the slices the window can hold
    (a 1h window of 5-minute slices needs 6, not 20).
    """
    names = tuple(spends)
    scale = next(iter(spends.values())).scale if spends else 1
    one = Spends(
        names,
        np.array([[[spends[n].bad]] for n in names], dtype=np.int64).reshape(-1, 1, 1),
        np.array([eligible.get(n, 0.0) for n in names], dtype=np.float64)
        .reshape(-1, 1, 1)
        .astype(np.int64),
        np.array([spends[n].allowed for n in names], dtype=np.int64).reshape(-1, 1, 1),
        scale,
    )
    stacked = conditions_per_series([conditions])
    results = []
    for condition, row in zip(conditions, stacked, strict=True):
        long = spends.get(condition.long_name)
        short = spends.get(condition.short_name)
        firing = (
            long is not None
            and short is not None
            and bool(condition_holds(one, row, min_events, slice_minutes)[0, 0])
        )
        results.append(
            ConditionResult(
                severity=condition.severity,
                long_window=condition.long_name,
                short_window=condition.short_name,
                factor=condition.factor,
                long_factor=condition.long_factor if condition.split else None,
                name=condition.name,
                catalog_factor=condition.catalog_factor,
                adapted=condition.adapted,
                long_burn=long.ratio if long is not None else None,
                short_burn=short.ratio if short is not None else None,
                long_eligible=eligible.get(condition.long_name, 0.0),
                firing=firing,
            )
        )
    return tuple(results)
