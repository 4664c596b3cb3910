"""OpenSLO alert policies → an errorbudget burn catalog that alerts the same way.

errorbudget alerts by catalog (multiwindow, multi-burn-rate conditions scaled to each SLO).
Imported burn-rate conditions (``threshold`` over ``lookbackWindow`` and ``alertAfter``:
errorbudget's long and short windows) are matched, at the SLO's period and target, to:

1. a catalog whose conditions are exactly these (:func:`exact_catalog`), else
2. a new catalog made from them (:func:`catalog_from`): ``budget_fraction = threshold ×
   long window / SLO period``, so its factors at this SLO are the thresholds, else (windows
   errorbudget cannot evaluate, no ``alertAfter``)
3. the nearest catalog (:func:`nearest_catalog`): a log distance on threshold and windows,
   so 14.4 vs 14 counts as much as 1.44 vs 1.4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from pydantic import ValidationError

from errorbudget.durations import format_duration
from errorbudget.engine.alerts import effective_conditions
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.windows import nominal_length
from errorbudget.model import SLO, BurnCatalog, BurnCondition
from errorbudget.openslo.objects import (
    LONG_THRESHOLD_ANNOTATION,
    NOTIFICATION_TARGET,
    SHORT_THRESHOLD_ANNOTATION,
    Context,
    OpenSLOObject,
    shorthand_delta,
)
from errorbudget.yamlsource import YamlPath


@dataclass(frozen=True)
class WantedCondition:
    """One burn-rate AlertCondition as written in OpenSLO."""

    severity: str
    lookback: timedelta
    threshold: float
    alert_after: timedelta | None

    def describe(self) -> str:
        return f"{self.severity} {format_duration(self.lookback)} > {self.threshold:g}"


def alert_conditions(context: Context, slo: OpenSLOObject) -> list[WantedCondition]:
    """The burn-rate conditions of an SLO's alert policies (others are reported)."""
    wanted = []
    for owner, spec in _condition_specs(context, slo):
        owner.get(*spec, "description")
        for annotation in (SHORT_THRESHOLD_ANNOTATION, LONG_THRESHOLD_ANNOTATION):
            owner.get("metadata", "annotations", annotation)
        condition: YamlPath = (*spec, "condition")
        kind = owner.get(*condition, "kind") or "burnrate"
        if kind != "burnrate":
            context.warn(owner, (*condition, "kind"), f"condition kind {kind!r} is not mapped")
            continue
        op = owner.get(*condition, "op")
        if op in ("lt", "lte"):
            message = f"op {op} ignored: burn-rate alerts fire above the threshold"
            context.warn(owner, (*condition, "op"), message)
        threshold = owner.get(*condition, "threshold")
        lookback = shorthand_delta(owner.get(*condition, "lookbackWindow"))
        if not isinstance(threshold, int | float) or threshold <= 0 or lookback is None:
            message = "a burn-rate condition needs a positive threshold and a lookbackWindow"
            context.warn(owner, condition, message)
            continue
        wanted.append(
            WantedCondition(
                severity=str(owner.get(*spec, "severity")),
                lookback=lookback,
                threshold=float(threshold),
                alert_after=shorthand_delta(owner.get(*condition, "alertAfter")),
            )
        )
    return wanted


def _condition_specs(context: Context, slo: OpenSLOObject) -> list[tuple[OpenSLOObject, YamlPath]]:
    found: list[tuple[OpenSLOObject, YamlPath]] = []
    policies = slo.get("spec", "alertPolicies")
    for position in range(len(policies) if isinstance(policies, list) else 0):
        path: YamlPath = ("spec", "alertPolicies", position)
        policy = context.resolve(slo, path, "AlertPolicy", "alertPolicyRef")
        if policy is None:
            continue
        owner, spec = policy
        owner.get(*spec, "description")
        owner.get(*spec, "alertWhenBreaching")
        for flag in ("alertWhenResolved", "alertWhenNoData"):
            if owner.peek(*spec, flag) is not True:  # only "true" asks for something unmapped
                owner.get(*spec, flag)
        targets = owner.get(*spec, "notificationTargets")
        for t, target in enumerate(targets if isinstance(targets, list) else []):
            if isinstance(target, dict) and target.get("targetRef") == NOTIFICATION_TARGET:
                owner.get(*spec, "notificationTargets", t, take=True)
        conditions = owner.get(*spec, "conditions")
        for c in range(len(conditions) if isinstance(conditions, list) else 0):
            condition = context.resolve(
                owner, (*spec, "conditions", c), "AlertCondition", "conditionRef"
            )
            if condition is not None:
                found.append(condition)
    return found


def nearest_catalog(
    wanted: list[WantedCondition], slo: SLO, catalogs: Mapping[str, BurnCatalog]
) -> tuple[str, bool]:
    """The catalog whose conditions at this SLO are closest to ``wanted``, and if exact."""
    best: tuple[float, str, bool] | None = None
    for name, catalog in sorted(catalogs.items()):
        conditions = conditions_at(catalog, slo)
        cost = abs(len(conditions) - len(wanted)) * 2.0
        exact = len(conditions) == len(wanted)
        for condition in wanted:
            distance = min((_distance(c, condition) for c in conditions), default=10.0)
            cost += distance
            exact = exact and distance < 1e-3
        if best is None or cost < best[0]:
            best = (cost, name, exact)
    if best is None:
        raise ValueError("no burn catalogs to choose from")
    return best[1], best[2]


def conditions_at(catalog: BurnCatalog, slo: SLO) -> list[EffectiveCondition]:
    return effective_conditions(
        catalog, nominal_length(slo.window), slo.target, slo.alerting.max_burn_fraction
    )


def _distance(condition: EffectiveCondition, wanted: WantedCondition) -> float:
    factors = (condition.factor, condition.catalog_factor)  # adapted to the target, or not
    cost = min(abs(math.log(wanted.threshold / factor)) for factor in factors)
    cost += abs(math.log(wanted.lookback / condition.long_window))
    if wanted.alert_after:
        cost += 0.5 * abs(math.log(wanted.alert_after / condition.short_window))
    return cost + (0.0 if wanted.severity == condition.severity else 0.5)


def exact_catalog(
    wanted: list[WantedCondition], slo: SLO, catalogs: Mapping[str, BurnCatalog]
) -> str | None:
    """The first catalog (by name) whose conditions at this SLO are exactly ``wanted``."""
    for name, catalog in sorted(catalogs.items()):
        if same_conditions(wanted, conditions_at(catalog, slo)):
            return name
    return None


def same_conditions(wanted: list[WantedCondition], conditions: list[EffectiveCondition]) -> bool:
    """Equal severities, windows and factors (to a relative 1e-9: exported thresholds are
    written at full precision)."""

    def key(c: WantedCondition | EffectiveCondition) -> tuple[str, timedelta, timedelta | None]:
        if isinstance(c, WantedCondition):
            return (c.severity, c.lookback, c.alert_after)
        return (c.severity, c.long_window, c.short_window)

    if len(wanted) != len(conditions):
        return False
    for w, c in zip(sorted(wanted, key=_order), sorted(conditions, key=_order), strict=True):
        if key(w) != key(c) or abs(w.threshold - c.factor) > 1e-9 * max(1.0, c.factor):
            return False
    return True


def _order(c: WantedCondition | EffectiveCondition) -> tuple[str, float, float]:
    if isinstance(c, WantedCondition):
        after = c.alert_after.total_seconds() if c.alert_after else 0.0
        return (c.severity, c.lookback.total_seconds(), after)
    return (c.severity, c.long_window.total_seconds(), c.short_window.total_seconds())


def catalog_from(wanted: list[WantedCondition], slo: SLO, name: str) -> BurnCatalog | None:
    """A catalog whose conditions at this SLO are ``wanted``; None when errorbudget cannot
    express them (a window that is not a burn-rate window, no ``alertAfter``, a severity
    other than page/ticket, more than the whole budget)."""
    period = nominal_length(slo.window)
    conditions = []
    for condition in wanted:
        if condition.alert_after is None:
            return None
        raw = {
            "severity": condition.severity,
            "budget_fraction": condition.threshold * (condition.lookback / period),
            "long_window": condition.lookback,
            "short_window": condition.alert_after,
        }
        try:
            conditions.append(BurnCondition.model_validate(raw))
        except ValidationError:
            return None
    return BurnCatalog(name=name, period=period, conditions=conditions)
