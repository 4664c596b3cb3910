"""errorbudget config → OpenSLO v1 objects (the mapping: :mod:`errorbudget.openslo`)."""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
from errorbudget.config import Config, Service
from errorbudget.engine.alerts import effective_conditions
from errorbudget.engine.conditions import EffectiveCondition
from errorbudget.engine.windows import nominal_length
from errorbudget.model import SLO, IngestIndicator, RollingWindow, Timeslice
from errorbudget.openslo.objects import (
    API_VERSION,
    GENESYS_SOURCE,
    INGEST_SOURCE,
    LONG_THRESHOLD_ANNOTATION,
    OWNER_ANNOTATION,
    SETTINGS_ANNOTATION,
    SETTINGS_KEYS,
    SHORT_THRESHOLD_ANNOTATION,
    format_shorthand,
)
from errorbudget.schedules import inline_schedule
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.prometheus import PrometheusIndicator

CALENDAR_DURATIONS = {"week": "1w", "month": "1M", "quarter": "1Q"}
CALENDAR_START = "2024-01-01 00:00:00"
"""A Monday and the first day of a month and of a quarter: where every calendar period starts."""


def export_config(config: Config) -> str:
    """Multi-document OpenSLO v1 YAML: Service, SLI, SLO, AlertPolicy and AlertCondition.

    No AlertNotificationTarget: errorbudget delivers its alerts through the receivers of its
    own ``notifications:`` section (Alertmanager, Slack, PagerDuty, webhook), whose addresses
    and secrets come from the environment and whose routes match labels; OpenSLO targets
    carry neither, so the export claims no target (alert policies have none).
    """
    builtin_catalogs, builtin_presets = builtin_burn_catalogs(), builtin_policies()
    catalogs = {**builtin_catalogs, **{c.name: c for c in config.burn_catalogs}}
    presets = {**builtin_presets, **{p.name: p for p in config.policies}}
    services = {service.id: service for service in config.services}
    for slo in config.slos:
        services.setdefault(slo.service, Service(id=slo.service))
    documents: list[dict[str, Any]] = [_service(service) for service in services.values()]
    for slo in config.slos:
        conditions: list[EffectiveCondition] = []
        catalog = catalogs.get(slo.alerting.catalog)
        if slo.alerting.enabled and catalog is not None:
            conditions = effective_conditions(
                catalog, nominal_length(slo.window), slo.target, slo.alerting.max_burn_fraction
            )
        definitions: dict[str, Any] = {}
        if catalog is not None and builtin_catalogs.get(catalog.name) != catalog:
            definitions["burn_catalog"] = catalog.model_dump(mode="json")
        preset = presets.get(slo.policy)
        if preset is not None and builtin_presets.get(preset.name) != preset:
            definitions["policy_preset"] = preset.model_dump(mode="json")
        alerts = [_alert(slo, condition) for condition in conditions]
        documents.append(_sli(slo))
        exported = _schedule_in_place(config, slo)
        names = [policy["metadata"]["name"] for policy, _ in alerts]
        documents.append(_slo(exported, names, definitions))
        for policy, condition in alerts:
            documents += [policy, condition]
    return yaml.safe_dump_all(documents, sort_keys=False, allow_unicode=True, width=100)


def _schedule_in_place(config: Config, slo: SLO) -> SLO:
    """``slo`` with its schedule written in place, holiday calendars included: OpenSLO has
    no schedules, so the settings annotation carries the whole of it."""
    schedule = slo.schedule
    if isinstance(schedule, str):
        schedule = next((s for s in config.schedules if s.name == schedule), None)
    if schedule is None:
        return slo
    calendars = {calendar.name: calendar for calendar in config.holiday_calendars}
    return slo.model_copy(update={"schedule": inline_schedule(schedule, calendars)})


def _object(
    kind: str, name: str, spec: dict[str, Any], metadata: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, **(metadata or {})},
        "spec": spec,
    }


def _service(service: Service) -> dict[str, Any]:
    metadata = {"annotations": {OWNER_ANNOTATION: service.owner}} if service.owner else {}
    spec = {"description": service.description} if service.description else {}
    return _object("Service", service.id, spec, metadata)


def _metric(source_type: str, key: str, text: str) -> dict[str, Any]:
    return {"metricSource": {"type": source_type, "spec": {key: text}}}


def _sli(slo: SLO) -> dict[str, Any]:
    indicator = slo.indicator
    ratio: dict[str, Any] = {"counter": True}
    if isinstance(indicator, IngestIndicator):
        ratio["good"] = _metric(INGEST_SOURCE, "events", indicator.good)
        ratio["total"] = _metric(INGEST_SOURCE, "events", indicator.total)
    elif isinstance(indicator, GenesysIndicator):
        fields = indicator.model_dump(mode="json", exclude_defaults=True, exclude={"source"})
        fields["metric"] = indicator.metric
        for part in ("good", "total"):
            spec = {**copy.deepcopy(fields), "counts": part}  # no YAML anchors between parts
            source = {"type": GENESYS_SOURCE, "spec": spec}
            ratio[part] = {"metricSource": source}
    elif isinstance(indicator, PrometheusIndicator):
        if indicator.good_query is not None:
            ratio["good"] = _metric("Prometheus", "query", indicator.good_query)
        if indicator.bad_query is not None:
            ratio["bad"] = _metric("Prometheus", "query", indicator.bad_query)
        ratio["total"] = _metric("Prometheus", "query", indicator.total_query)
    else:  # a source plugin's indicator: its fields, as a metric source of its name
        fields = indicator.model_dump(mode="json", exclude_defaults=True, exclude={"source"})
        for part in ("good", "total"):
            spec = {**copy.deepcopy(fields), "counts": part}
            ratio[part] = {"metricSource": {"type": indicator.source, "spec": spec}}
    spec = {"description": f"Indicator of SLO {slo.id}", "ratioMetric": ratio}
    return _object("SLI", f"{slo.id}-sli", spec)


def _slo(slo: SLO, policies: list[str], definitions: dict[str, Any]) -> dict[str, Any]:
    settings = slo.model_dump(mode="json", exclude_defaults=True, include=set(SETTINGS_KEYS))
    settings.pop("timeslice", None)
    if slo.timeslice is not None and slo.timeslice.no_data != Timeslice().no_data:
        settings["timeslice"] = {"no_data": slo.timeslice.no_data}
    settings |= definitions
    metadata: dict[str, Any] = {}
    if slo.labels:
        metadata["labels"] = dict(slo.labels)
    if settings:
        metadata["annotations"] = {SETTINGS_ANNOTATION: json.dumps(settings, sort_keys=True)}
    window = slo.window
    if isinstance(window, RollingWindow):
        time_window: dict[str, Any] = {
            "duration": format_shorthand(window.length),
            "isRolling": True,
        }
    else:
        time_window = {
            "duration": CALENDAR_DURATIONS[window.unit],
            "isRolling": False,
            "calendar": {"startTime": CALENDAR_START, "timeZone": window.timezone},
        }
    objective: dict[str, Any] = {"target": slo.target}
    if slo.timeslice is not None:
        objective["timeSliceTarget"] = slo.timeslice.target
        objective["timeSliceWindow"] = format_shorthand(slo.timeslice.length)
    spec: dict[str, Any] = {}
    if slo.description:
        spec["description"] = slo.description
    spec |= {
        "service": slo.service,
        "indicatorRef": f"{slo.id}-sli",
        "budgetingMethod": "Timeslices" if slo.budgeting == "timeslices" else "Occurrences",
        "timeWindow": [time_window],
        "objectives": [objective],
    }
    if policies:
        spec["alertPolicies"] = [{"alertPolicyRef": name} for name in policies]
    return _object("SLO", slo.id, spec, metadata)


def _alert(slo: SLO, condition: EffectiveCondition) -> tuple[dict[str, Any], dict[str, Any]]:
    """One AlertPolicy and its one AlertCondition (OpenSLO v1 allows one per policy).

    OpenSLO has a single lookback window per condition: it carries the long window, and
    ``alertAfter`` the short one (the multiwindow AND is errorbudget's own evaluation). A
    condition adapted by the low-target rule has two factors (burn(short) > c and
    burn(long) > c × short/long): ``threshold`` is c, and the annotations
    ``errorbudget.io/short-window-threshold`` and ``…/long-window-threshold`` carry both.
    """
    name = f"{slo.id}-{condition.severity}-{condition.long_name}-{condition.short_name}"
    factor = condition.factor  # exact: errorbudget compares at full precision
    windows = f"{condition.long_name} and {condition.short_name}"
    metadata: dict[str, Any] = {}
    if condition.adapted:
        # The low-target rule (docs/alerting.md): two factors, one per window. OpenSLO has
        # one threshold per condition: it carries the short window's, the annotations both.
        long_factor = condition.long_factor
        description = (
            f"Burn rate of {slo.id} above {factor:.4g} over {condition.short_name} and above "
            f"{long_factor:.4g} over {condition.long_name} (catalog factor "
            f"{condition.catalog_factor:.4g} cannot be reached at target {slo.target:.2%}: "
            "adapted by the low-target rule)"
        )
        metadata["annotations"] = {
            SHORT_THRESHOLD_ANNOTATION: repr(factor),
            LONG_THRESHOLD_ANNOTATION: repr(long_factor),
        }
    else:
        description = f"Burn rate of {slo.id} above {factor:.4g} over {windows}"
        description += (
            f": {condition.budget_fraction:.0%} of the budget spent within {condition.long_name}"
        )
    alert_condition = _object(
        "AlertCondition",
        name,
        {
            "description": description,
            "severity": condition.severity,
            "condition": {
                "kind": "burnrate",
                "op": "gt",
                "threshold": factor,
                "lookbackWindow": format_shorthand(condition.long_window),
                "alertAfter": format_shorthand(condition.short_window),
            },
        },
        metadata,
    )
    policy = _object(
        "AlertPolicy",
        name,
        {
            "description": f"{condition.severity.capitalize()} when {slo.id} burns its error "
            f"budget {factor:.4g} times too fast ({windows})",
            "alertWhenBreaching": True,
            "alertWhenResolved": False,
            "alertWhenNoData": False,
            "conditions": [{"conditionRef": name}],
        },
    )
    return policy, alert_condition
