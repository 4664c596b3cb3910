"""OpenSLO alert policies → the nearest errorbudget burn catalog.

errorbudget alerts by catalog (multiwindow, multi-burn-rate conditions scaled to each SLO),
so imported burn-rate conditions are not kept one by one: the catalog whose conditions, at
the SLO's period and target, are closest to them is chosen. Closeness is a log distance on
threshold and lookback window (``alertAfter`` is compared with the short window), so 14.4
vs 14 counts as much as 1.44 vs 1.4.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from errorbudget.durations import format_duration
from errorbudget.engine.alerts import EffectiveCondition, effective_conditions
from errorbudget.engine.windows import nominal_length
from errorbudget.model import SLO, BurnCatalog
from errorbudget.openslo.objects import (
    NOTIFICATION_TARGET,
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
