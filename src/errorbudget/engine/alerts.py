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
from dataclasses import dataclass
from datetime import timedelta

from errorbudget.durations import format_duration
from errorbudget.model import BurnCatalog, ConditionResult


@dataclass(frozen=True, slots=True)
class EffectiveCondition:
    """A catalog condition scaled to one SLO period and adapted to one target."""

    severity: str
    long_window: timedelta
    short_window: timedelta
    budget_fraction: float
    catalog_factor: float
    factor: float
    max_burn: float
    long_name: str
    short_name: str

    @property
    def reachable(self) -> bool:
        """Whether the catalog factor can be exceeded at all at this target."""
        return self.catalog_factor < self.max_burn

    @property
    def adapted(self) -> bool:
        return self.factor != self.catalog_factor


def max_burn_rate(target: float) -> float:
    """The highest possible burn rate, reached when every event is bad: ``1 / (1 − T)``."""
    return 1.0 / (1.0 - target)


def effective_conditions(
    catalog: BurnCatalog,
    period: timedelta,
    target: float,
    max_burn_fraction: float = 0.9,
) -> list[EffectiveCondition]:
    """Scale ``catalog`` to an SLO ``period`` and adapt its factors to ``target``."""
    ceiling = max_burn_fraction * max_burn_rate(target)
    conditions = []
    for condition in catalog.conditions:
        catalog_factor = condition.budget_fraction * (period / condition.long_window)
        # Burning at or below 1 is on pace, never an incident: a long window scaled to a
        # short period (3d of a week: 0.23) would otherwise raise tickets for healthy series.
        factor = min(max(catalog_factor, 1.0), ceiling)
        conditions.append(
            EffectiveCondition(
                severity=condition.severity,
                long_window=condition.long_window,
                short_window=condition.short_window,
                budget_fraction=condition.budget_fraction,
                catalog_factor=catalog_factor,
                factor=factor,
                max_burn=max_burn_rate(target),
                long_name=format_duration(condition.long_window),
                short_name=format_duration(condition.short_window),
            )
        )
    return conditions


def evaluate_conditions(
    conditions: list[EffectiveCondition],
    burn_rates: Mapping[str, float | None],
    eligible: Mapping[str, float],
    min_events: int,
    slice_minutes: int | None = None,
) -> tuple[ConditionResult, ...]:
    """Which conditions hold, given burn rates and eligible counts keyed by window name.

    For timeslices (``slice_minutes`` set) eligible counts are slices, and a long window
    holds only so many: the guard is then at most half the slices the window can hold
    (a 1h window of 5-minute slices needs 6, not 20).
    """
    results = []
    for condition in conditions:
        long_burn = burn_rates.get(condition.long_name)
        short_burn = burn_rates.get(condition.short_name)
        long_eligible = eligible.get(condition.long_name, 0.0)
        guard = float(min_events)
        if slice_minutes:
            slices = condition.long_window.total_seconds() / 60 / slice_minutes
            guard = min(guard, slices / 2)
        firing = (
            long_burn is not None
            and short_burn is not None
            and long_eligible >= guard
            and long_burn > condition.factor
            and short_burn > condition.factor
        )
        results.append(
            ConditionResult(
                severity=condition.severity,
                long_window=condition.long_name,
                short_window=condition.short_name,
                factor=condition.factor,
                catalog_factor=condition.catalog_factor,
                adapted=condition.adapted,
                long_burn=long_burn,
                short_burn=short_burn,
                long_eligible=long_eligible,
                firing=firing,
            )
        )
    return tuple(results)
