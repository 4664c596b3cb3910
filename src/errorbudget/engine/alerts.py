"""Multiwindow, multi-burn-rate conditions (Google SRE Workbook, "Alerting on SLOs").

A condition holds when ``burn(long) > factor`` and ``burn(short) > factor``, compared at full
precision, with ``factor = budget_fraction × period hours / long-window hours``.

Low targets: the highest burn a series can reach is ``1 / (1 − target)`` (every event bad);
at 85 % that is 6.67, so the 14.4 page could never fire. Rule (documented in
docs/concepts.md): a factor above ``max_burn_fraction × max_burn`` is lowered to that value,
so a total outage still pages; a factor below 1 is raised to 1 (on-pace spending is not an
incident). Conditions also need ``min_events`` eligible events in the long window, so one
failed call out of ten does not page a quiet queue.
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
from errorbudget.model import BurnCatalog, ConditionResult


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
) -> list[EffectiveCondition]:
    """Scale ``catalog`` to an SLO ``period`` and adapt its factors to ``target``, exactly
    (``target`` may be a Fraction: a whole-SLO row's effective target)."""
    highest = highest_burn(target)
    ceiling = decimal(max_burn_fraction) * highest
    period_seconds = int(period.total_seconds())
    conditions = []
    for condition in catalog.conditions:
        catalog_threshold = decimal(condition.budget_fraction) * Fraction(
            period_seconds, int(condition.long_window.total_seconds())
        )
        # Burning at or below 1 is on pace, never an incident: a long window scaled to a
        # short period (3d of a week: 0.23) would otherwise raise tickets for healthy series.
        threshold = min(max(catalog_threshold, ONE), ceiling)
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
            )
        )
    return conditions


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
                catalog_factor=condition.catalog_factor,
                adapted=condition.adapted,
                long_burn=long.ratio if long is not None else None,
                short_burn=short.ratio if short is not None else None,
                long_eligible=eligible.get(condition.long_name, 0.0),
                firing=firing,
            )
        )
    return tuple(results)
