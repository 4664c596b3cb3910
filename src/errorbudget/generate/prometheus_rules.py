"""``errorbudget generate prometheus-rules``: the config's SLOs as a Prometheus (or vmalert)
rule file (docs/prometheus.md).

Per SLO three groups (``generate.rule_groups``): SLI recordings per burn window and for the
period, metadata, and the alerts ``ErrorBudgetBurn`` (one per enabled catalog tier),
``ErrorBudgetLow``, ``ErrorBudgetExhausted`` and ``SLOMetricAbsent``. Optionally seed 001's
queue diagnostics (``QueueDepthCritical``, ``WaitTimeDegradation``) as a ``warning`` group
that never pages.

Targets differ only where the engines do: vmalert 1.79 refuses ``keep_firing_for`` (Prometheus
has it since 2.42), so a tier's ``keep`` is left out of the vmalert file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from errorbudget.errors import NotFoundError
from errorbudget.generate import yaml_text
from errorbudget.generate.rule_groups import Group, Target, slo_groups
from errorbudget.model import SLO, BurnCatalog

TARGETS: tuple[Target, ...] = ("prometheus", "vmalert")

DIAGNOSTICS_GROUP = "errorbudget-diagnostics-genesys-queues"


def diagnostics_group() -> Group:
    """Seed 001's queue alerts, corrected (its depth rule put ``for 5m`` inside the
    expression, and its p95 took ``histogram_quantile`` of unaggregated buckets): severity
    ``warning``, never a page."""
    team = {"team": "contact_center_ops"}
    return {
        "name": DIAGNOSTICS_GROUP,
        "rules": [
            {
                "alert": "QueueDepthCritical",
                "expr": 'genesys_queue_depth{media_type="voice"} > 50',
                "for": "5m",
                "labels": {"severity": "warning", **team},
                "annotations": {
                    "summary": "Queue {{ $labels.queue_name }} exceeds capacity threshold",
                    "description": "Current depth is {{ $value }}. SLA breach imminent.",
                },
            },
            {
                "alert": "WaitTimeDegradation",
                "expr": "histogram_quantile(0.95, sum by (queue_id, queue_name, media_type, le) "
                "(rate(genesys_queue_wait_time_seconds_bucket[5m]))) > 120",
                "for": "10m",
                "labels": {"severity": "warning", **team},
                "annotations": {
                    "summary": "Queue {{ $labels.queue_name }}: 95th percentile wait time "
                    "exceeds 120 seconds",
                    "description": "p95 wait is {{ $value | humanizeDuration }}.",
                },
            },
        ],
    }


def prometheus_rules(
    slos: Sequence[SLO],
    catalogs: Mapping[str, BurnCatalog],
    *,
    target: Target = "prometheus",
    only: Sequence[str] = (),
    diagnostics: bool = False,
    dashboard_url: str | None = None,
) -> dict[str, Any]:
    """The rule file as data: every SLO's groups (or only those of the SLO ids in
    ``only``), then the diagnostics group when asked for."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
    chosen = list(slos)
    if only:
        known = {slo.id for slo in slos}
        missing = [name for name in only if name not in known]
        if missing:
            raise NotFoundError(f"no SLO {', '.join(map(repr, missing))} in the config")
        wanted = set(only)
        chosen = [slo for slo in slos if slo.id in wanted]
    groups: list[Group] = []
    for slo in chosen:
        groups.extend(slo_groups(slo, catalogs, target, dashboard_url))
    if diagnostics:
        groups.append(diagnostics_group())
    return {"groups": groups}


def render(document: Mapping[str, Any], header: str = "") -> str:
    """``document`` as YAML (keys in the order built), after ``header`` comment lines."""
    lead = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return lead + yaml_text.dump(document)
