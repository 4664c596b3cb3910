"""One SLO's rule groups: SLI recordings per window and for the period, metadata, and alerts
(docs/prometheus.md). The burn-rate alerts are the built-in alerting's own conditions
(``engine.alerts.slo_conditions``: the catalog scaled to the SLO's period, the low-target
adaptation, the low-traffic guard) with each tier's on/off, severity, ``for`` and ``keep``
(``alert_settings.Alerting.tier``), so Prometheus and ``errorbudget serve`` page on the same
thresholds.

Recording names are Sloth's (``slo:sli_error:ratio_rate5m``) and fixed: dashboards and the
end-to-end test read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from errorbudget.alert_settings import minutes
from errorbudget.durations import format_duration, parse_duration
from errorbudget.engine.alerts import slo_conditions
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.exact import complement
from errorbudget.engine.windows import nominal_length
from errorbudget.errors import NotFoundError
from errorbudget.generate.sli_queries import SLIInput, negated, number, quote, selector, sli_input
from errorbudget.model import BURN_WINDOWS, SLO, BurnCatalog

Target = Literal["prometheus", "vmalert"]
Rule = dict[str, Any]
Group = dict[str, Any]

ERROR_RATIO = "slo:sli_error:ratio_rate"
EVENTS = "slo:sli_events:increase"
BAD_EVENTS = "slo:sli_bad_events:increase"
OBJECTIVE = "slo:objective:ratio"
ERROR_BUDGET = "slo:error_budget:ratio"
CURRENT_BURN = "slo:current_burn_rate:ratio"
PERIOD_BURN = "slo:period_burn_rate:ratio"
REMAINING = "slo:period_error_budget_remaining:ratio"
INFO = "slo:info"


@dataclass(frozen=True, slots=True)
class TargetGroup:
    """The series of an SLO judged against one target: the SLO's own, or a segment
    override's (the first matching override wins, as ``SLO.target_for``). ``matchers``
    select its series; ``unless`` lists earlier overrides whose series it must drop but no
    single matcher can exclude (several labels of a query's own)."""

    target: float
    matchers: tuple[str, ...]
    unless: tuple[tuple[str, ...], ...] = ()

    @property
    def error_budget(self) -> Fraction:
        return complement(self.target)


def target_groups(slo: SLO, sli: SLIInput) -> list[TargetGroup]:
    """The SLO's target groups, overrides first, the SLO's own target for the rest."""
    earlier: list[tuple[str, ...]] = []
    found = []
    for override in slo.segments.overrides:
        found.append(_group(override.target, sli.override_matchers(override.match), earlier))
        earlier.append(sli.override_matchers(override.match))
    found.append(_group(slo.target, (), earlier))
    return found


def _group(target: float, own: tuple[str, ...], earlier: list[tuple[str, ...]]) -> TargetGroup:
    matchers, unless = list(own), []
    for previous in earlier:
        single = negated(previous)
        if single is None:
            unless.append(previous)
        else:
            matchers.append(single)
    return TargetGroup(target, tuple(matchers), tuple(unless))


def series(metric: str, slo: SLO, group: TargetGroup) -> str:
    """``metric`` of ``slo``'s series in ``group``."""
    return metric + selector([f"slo={quote(slo.id)}", *group.matchers])


def restricted(expression: str, slo: SLO, group: TargetGroup, period: str) -> str:
    """``expression`` without the series of earlier overrides that no matcher excluded."""
    for matchers in group.unless:
        others = ERROR_RATIO + period + selector([f"slo={quote(slo.id)}", *matchers])
        expression = f"({expression})\nunless\n{others}"
    return expression


def windows_needed(conditions: list[EffectiveCondition]) -> list[str]:
    """Every burn window a status reports, and any other the conditions use, shortest
    first."""
    names = set(BURN_WINDOWS)
    for condition in conditions:
        names.update((condition.long_name, condition.short_name))
    return sorted(names, key=lambda name: parse_duration(name))


def period_name(slo: SLO) -> str:
    """The SLO's period as a range (a calendar month as 30d, the length its factors scale
    to)."""
    return format_duration(nominal_length(slo.window))


def slo_groups(
    slo: SLO,
    catalogs: Mapping[str, BurnCatalog],
    target: Target = "prometheus",
    dashboard_url: str | None = None,
) -> list[Group]:
    """The recording, metadata and alert groups of ``slo``."""
    catalog = catalogs.get(slo.alerting.catalog)
    if catalog is None:
        raise NotFoundError(f"SLO {slo.id!r}: no burn catalog {slo.alerting.catalog!r}")
    sli = sli_input(slo)
    groups = target_groups(slo, sli)
    conditions = [slo_conditions(catalog, slo, group.target) for group in groups]
    period = period_name(slo)
    recordings = _recordings(slo, sli, conditions[-1], period)
    meta = _metadata(slo, sli, groups, conditions[-1], period)
    alerts = _alerts(slo, sli, groups, conditions, period, target, dashboard_url)
    found = [
        {"name": f"errorbudget-sli-{slo.id}", "rules": recordings},
        {"name": f"errorbudget-meta-{slo.id}", "rules": meta},
    ]
    if alerts:
        found.append({"name": f"errorbudget-alerts-{slo.id}", "rules": alerts})
    return found


def _record(name: str, expression: str, labels: Mapping[str, str]) -> Rule:
    rule: Rule = {"record": name, "expr": expression}
    if labels:
        rule["labels"] = dict(labels)
    return rule


def _recordings(
    slo: SLO, sli: SLIInput, conditions: list[EffectiveCondition], period: str
) -> list[Rule]:
    labels = sli.static_labels
    rules = [
        _record(ERROR_RATIO + window, sli.error_ratio(window), labels)
        for window in windows_needed(conditions)
        if window != period
    ]
    rules.append(_record(ERROR_RATIO + period, sli.error_ratio(period), labels))
    guarded = slo.alerting.min_events > 0 or slo.alerting.min_bad_events > 0
    if guarded:
        for window in sorted({c.long_name for c in conditions}, key=parse_duration):
            events, bad = sli.events(window), sli.bad_events(window)
            if events is not None and bad is not None:
                rules.append(_record(EVENTS + window, events, labels))
                rules.append(_record(BAD_EVENTS + window, bad, labels))
    return rules


def current_window(conditions: list[EffectiveCondition]) -> str:
    """The window ``slo:current_burn_rate:ratio`` reads: the shortest page window (the
    shortest window of any condition if none pages)."""
    pages = [c for c in conditions if c.severity == "page"] or conditions
    if not pages:
        return BURN_WINDOWS[0]
    return min((c.short_name for c in pages), key=parse_duration)


def _metadata(
    slo: SLO,
    sli: SLIInput,
    groups: list[TargetGroup],
    conditions: list[EffectiveCondition],
    period: str,
) -> list[Rule]:
    own = dict(sli.static_labels)
    rules: list[Rule] = []
    if len(groups) == 1:
        group = groups[0]
        rules.append(_record(OBJECTIVE, f"vector({number(group.target)})", own))
        rules.append(_record(ERROR_BUDGET, f"vector({number(group.error_budget)})", own))
    else:  # one value per series: the segments' targets differ
        for metric, value in ((OBJECTIVE, "target"), (ERROR_BUDGET, "error_budget")):
            parts = []
            for group in groups:
                each = f"group without () ({series(ERROR_RATIO + period, slo, group)})"
                parts.append(
                    f"{number(getattr(group, value))} * {restricted(each, slo, group, period)}"
                )
            rules.append(_record(metric, _either(parts), own))
    window = current_window(conditions)
    for metric, source, ratio in (
        (CURRENT_BURN, ERROR_RATIO + window, False),
        (PERIOD_BURN, ERROR_RATIO + period, False),
        (REMAINING, ERROR_RATIO + period, True),
    ):
        parts = []
        for group in groups:
            burn = f"{series(source, slo, group)} / {number(group.error_budget)}"
            parts.append(restricted(f"1 - ({burn})" if ratio else burn, slo, group, period))
        rules.append(_record(metric, _either(parts), own))
    info = {
        **own,
        "objective": number(slo.target),
        "window": period,
        "catalog": slo.alerting.catalog,
        "input": sli.kind,
    }
    rules.append(_record(INFO, "vector(1)", info))
    return rules


def _either(expressions: list[str]) -> str:
    """One expression of the target groups' (disjoint series)."""
    if len(expressions) == 1:
        return expressions[0]
    return "\nor\n".join(f"(\n{e}\n)" for e in expressions)


def _annotations(
    slo: SLO, summary: str, description: str, dashboard_url: str | None
) -> dict[str, str]:
    found = {"summary": summary, "description": description}
    if slo.runbook_url:
        found["runbook_url"] = slo.runbook_url
    if dashboard_url:
        found["dashboard_url"] = f"{dashboard_url.rstrip('/')}/slos/{slo.id}"
    return found


def events_guard(slo: SLO, condition: EffectiveCondition) -> float:
    """The eligible events ``condition``'s long window needs: ``alerting.min_events``, and
    for timeslices (the counters count slices) at most half the slices the window holds, as
    the built-in alerting judges it (``engine.evaluator.condition_holds``)."""
    guard = float(slo.alerting.min_events)
    if slo.timeslice is not None and guard > 0:
        slice_minutes = slo.timeslice.length.total_seconds() / 60
        long_minutes = int(condition.long_window.total_seconds()) // 60
        guard = min(guard, long_minutes / slice_minutes / 2)
    return guard


def burn_expression(
    slo: SLO, sli: SLIInput, group: TargetGroup, condition: EffectiveCondition, period: str
) -> str:
    """The condition on ``group``'s series: both windows' burn above their factors (the
    long window's own after a low-target adaptation), and the low-traffic guard."""
    budget = number(group.error_budget)
    long_ratio = series(ERROR_RATIO + condition.long_name, slo, group)
    short_ratio = series(ERROR_RATIO + condition.short_name, slo, group)
    parts = [
        f"({long_ratio} / {budget}) > {number(condition.long_window_threshold)}",
        f"({short_ratio} / {budget}) > {number(condition.threshold)}",
    ]
    if sli.events(condition.long_name) is not None:
        guard = events_guard(slo, condition)
        if guard > 0:
            parts.append(f"{series(EVENTS + condition.long_name, slo, group)} >= {number(guard)}")
        if condition.min_bad_events > 0:
            bad = series(BAD_EVENTS + condition.long_name, slo, group)
            parts.append(f"{bad} >= {condition.min_bad_events}")
    return restricted("\nand\n".join(parts), slo, group, period)


def _alerts(
    slo: SLO,
    sli: SLIInput,
    groups: list[TargetGroup],
    conditions: list[list[EffectiveCondition]],
    period: str,
    target: Target,
    dashboard_url: str | None,
) -> list[Rule]:
    alerting = slo.alerting
    if not alerting.enabled:
        return []
    rules: list[Rule] = []
    for index, condition in enumerate(conditions[-1]):
        tier = alerting.tier(condition.name)
        if not tier.enabled:
            continue
        severity = tier.severity or ("page" if condition.severity == "page" else "ticket")
        expressions = [
            burn_expression(slo, sli, group, per_group[index], period)
            for group, per_group in zip(groups, conditions, strict=True)
        ]
        expression = _either(expressions)
        rule: Rule = {"alert": "ErrorBudgetBurn", "expr": expression}
        if minutes(tier.for_):
            rule["for"] = format_duration(tier.for_)
        if minutes(tier.keep) and target == "prometheus":
            rule["keep_firing_for"] = format_duration(tier.keep)
        rule["labels"] = {
            "severity": severity,
            "long_window": condition.long_name,
            "short_window": condition.short_name,
            **sli.static_labels,
        }
        factor = f"{number(condition.threshold)}×"
        if condition.split:  # the low-target adaptation: each window its own factor
            factor = (
                f"{number(condition.long_window_threshold)}× ({condition.long_name}) and "
                f"{number(condition.threshold)}× ({condition.short_name})"
            )
        rule["annotations"] = _annotations(
            slo,
            f"{{{{ $labels.slo }}}}: error budget burning at {{{{ $value | humanize }}}}× over "
            f"{condition.long_name}",
            f"SLO {slo.id} ({slo.service}, target {number(slo.target)}): the {condition.long_name} "
            f"and {condition.short_name} burn rates are above {factor} "
            f"({condition.name}, {severity}).",
            dashboard_url,
        )
        rules.append(rule)
    budget = alerting.budget
    remaining = f"{REMAINING}{selector([f'slo={quote(slo.id)}'])}"
    if budget.floor is not None:
        rules.append(
            {
                "alert": "ErrorBudgetLow",
                "expr": f"{remaining} < {number(budget.floor.below)}",
                "labels": {"severity": budget.floor.severity, **sli.static_labels},
                "annotations": _annotations(
                    slo,
                    "{{ $labels.slo }}: {{ $value | humanizePercentage }} of the error budget left",
                    f"SLO {slo.id} ({slo.service}) has less than {number(budget.floor.below)} "
                    f"of its {period} error budget left.",
                    dashboard_url,
                ),
            }
        )
    rules.append(
        {
            "alert": "ErrorBudgetExhausted",
            "expr": f"{remaining} <= 0",
            "labels": {"severity": "ticket", **sli.static_labels},
            "annotations": _annotations(
                slo,
                "{{ $labels.slo }}: error budget exhausted",
                f"SLO {slo.id} ({slo.service}) has spent its whole {period} error budget.",
                dashboard_url,
            ),
        }
    )
    if alerting.no_data is not None:
        after = format_duration(alerting.no_data.after)
        expression = sli.absent(after)
        if slo.schedule is None:  # with a schedule, quiet hours are expected
            quiet = alerting.no_data.after
            if slo.timeslice is not None:  # the counters move only when a slice closes
                quiet += slo.timeslice.length
            expression = f"{expression}\nor\n{sli.quiet(format_duration(quiet))}"
        rules.append(
            {
                "alert": "SLOMetricAbsent",
                "expr": expression,
                "labels": {
                    "severity": alerting.no_data.severity,
                    "slo": slo.id,
                    "service": slo.service,
                },
                "annotations": _annotations(
                    slo,
                    "{{ $labels.slo }}: no SLI data",
                    f"SLO {slo.id} ({slo.service}) has had no samples"
                    + (" or no events" if slo.schedule is None else "")
                    + f" for {after}.",
                    dashboard_url,
                ),
            }
        )
    return rules
