"""The dashboard's panels, each built with the foundation SDK's builders: seed 000's budget
panels (gauges, burn-rate timeline, projected period end, per-tier table, change approvals)
and seed 001's queue panels (depth, p95 wait, SLA compliance, agents).

Metric names are the plan's (docs/grafana.md lists each panel's query): errorbudget's own
gauges from its ``/metrics`` (``errorbudget_*``, the numbers ``errorbudget status`` prints)
and the Genesys exporter's queue families (``genesys_queue_*``). Sparse data is never drawn
as zero: no ``or vector(0)``, a quotient whose denominator saw no events is dropped (a gap),
and lines are not joined across gaps (``spanNulls: false``).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import gauge, stat, table, timeseries
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardSpecialValueMapOptions,
    DataSourceRef,
    DataTransformerConfig,
    DynamicConfigValue,
    SpecialValueMap,
    SpecialValueMatch,
    Threshold,
    ThresholdsMode,
    ValueMappingResult,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

from errorbudget.generate.grafana_bands import Step, consumed_steps, remaining_steps
from errorbudget.generate.grafana_infinity import INFINITY, ColumnType, InfinityQueryBuilder
from errorbudget.model import SLO, segment_label
from errorbudget.presets import PolicyPreset

PROMETHEUS = DataSourceRef(type_val="prometheus", uid="${datasource}")
"""Every PromQL panel reads the Prometheus chosen in the ``datasource`` variable."""
API = DataSourceRef(type_val=INFINITY, uid="${errorbudget_api}")
"""The errorbudget API, through the Infinity instance chosen in ``errorbudget_api``."""

SELECTED = 'slo=~"$slo", service=~"$service"'
"""The ``slo`` and ``service`` variables as label matchers."""

TABLE_BURN_WINDOWS = ("1h", "6h", "1d", "3d", "period")
"""Burn-rate columns of the per-tier table (``errorbudget_burn_rate{window}``)."""

QUEUE_DEPTH = 'sum by (queue_name) (genesys_queue_depth{media_type="voice"})'
WAIT_P95 = (
    "histogram_quantile(0.95, sum by (le, queue_name) "
    "(rate(genesys_queue_wait_time_seconds_bucket[5m])))"
)
SLA_COMPLIANCE = (
    "1 - (sum by (queue_name) (increase(genesys_queue_sla_breach_total[15m]))"
    " / (sum by (queue_name) (increase(genesys_queue_offer_total[15m])) > 0))"
)
"""Seed 001's rolling 15-minute compliance. ``> 0`` drops a queue that was offered nothing
(0/0 would be NaN, and ``or vector(0)`` would draw a quiet queue as 0 % compliant): no offers
is no data, drawn as a gap."""
AGENTS = "sum by (queue_name, routing_status) (genesys_queue_agents)"

SLA_COMPLIANCE_STEPS = [Step(None, "red"), Step(0.60, "amber"), Step(0.80, "green")]
"""Seed 001: green at or above 80 %, yellow from 60 % to 79 %, red below 60 %."""
SLA_COLOURS = {"red": "red", "amber": "yellow", "green": "green"}


def thresholds(
    steps: list[Step], colours: dict[str, str] | None = None
) -> dashboard_builders.ThresholdsConfig:
    """A Grafana thresholds config from steps (absolute values)."""
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps(
            [
                Threshold(
                    value=step.value,
                    color=(colours or {}).get(step.band, step.colour),
                )
                for step in steps
            ]
        )
    )


def promql(
    expr: str,
    ref_id: str = "A",
    legend: str | None = None,
    *,
    instant: bool = False,
    as_table: bool = False,
) -> prometheus_builders.Dataquery:
    query = prometheus_builders.Dataquery().expr(expr).ref_id(ref_id).datasource(PROMETHEUS)
    query = query.instant() if instant else query.range()
    if as_table:
        query = query.format(PromQueryFormat.TABLE)
    if legend is not None:
        query = query.legend_format(legend)
    return query


WHOLE_SLO = segment_label(())
"""The ``segment`` label of a whole SLO's gauges on /metrics (``(all)``)."""


def _last_value() -> common_builders.ReduceDataOptions:
    return common_builders.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


def budget_gauge(slo: SLO, preset: PolicyPreset, panel_id: int) -> gauge.Panel:
    """Seed 000 panel 1: the SLO's budget remaining (the whole SLO's row, ``segment``
    :data:`WHOLE_SLO` as /metrics labels it), coloured by its preset's bands."""
    edges = ", ".join(f"{t * 100:g}%: {words.label}" for t, words in preset.remaining_thresholds())
    return (
        gauge.Panel()
        .id(panel_id)
        .title(f"{slo.id}: budget remaining")
        .description(
            f"{slo.description or slo.id}. Policy {preset.name}"
            + (f" (below {edges})" if edges else "")
            + "."
        )
        .datasource(PROMETHEUS)
        .with_target(
            promql(
                f'errorbudget_budget_remaining_ratio{{slo="{slo.id}", segment="{WHOLE_SLO}"}}',
                legend=slo.id,
                instant=True,
            )
        )
        .unit("percentunit")
        .decimals(1)
        .min(0)
        .max(1)
        .no_value("no data")
        .thresholds(thresholds(remaining_steps(preset)))
        .reduce_options(_last_value())
        .show_threshold_markers(True)
        .span(6)
        .height(7)
    )


def projected_stat(slo: SLO, preset: PolicyPreset, panel_id: int) -> stat.Panel:
    """Seed 000 panel 3: the share of the budget the period is projected to consume at the
    current burn (above 100 %: the budget runs out before the period ends)."""
    return (
        stat.Panel()
        .id(panel_id)
        .title(f"{slo.id}: projected period end")
        .description(
            "Budget consumed by the end of the period at the current burn rate "
            "(errorbudget_projected_consumed_ratio); coloured by the state it would end in."
        )
        .datasource(PROMETHEUS)
        .with_target(
            promql(
                f'errorbudget_projected_consumed_ratio{{slo="{slo.id}", segment="{WHOLE_SLO}"}}',
                legend=slo.id,
                instant=True,
            )
        )
        .unit("percentunit")
        .decimals(0)
        .no_value("no projection")
        .thresholds(thresholds(consumed_steps(preset)))
        .reduce_options(_last_value())
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .span(4)
        .height(4)
    )


def burn_timeline(panel_id: int) -> timeseries.Panel:
    """Seed 000 panel 2: the daily burn rate of every selected series, last 30 days; 1× is
    spending the budget exactly over the period."""
    return (
        timeseries.Panel()
        .id(panel_id)
        .title("Burn rate (1 day), last 30 days")
        .description(
            'errorbudget_burn_rate{window="1d"}: budget consumed over a day relative to an '
            "even spend over the period. Spikes line up with the deploy and incident markers."
        )
        .datasource(PROMETHEUS)
        .with_target(
            promql(
                f'errorbudget_burn_rate{{{SELECTED}, window="1d"}}',
                legend="{{slo}} {{segment}}",
            )
        )
        .time_from("30d")
        .unit("suffix:×")
        .min(0)
        .span_nulls(False)
        .thresholds(thresholds([Step(None, "green"), Step(1.0, "red")]))
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode.DASHED
            )
        )
        .span(24)
        .height(9)
    )


def tier_table(panel_id: int) -> table.Panel:
    """Seed 000 edge case 3: one row per series (whole SLO and each segment): SLI, target,
    budget remaining, burn rates and state. Each column is one instant query; the queries
    are merged on ``slo``, ``service`` and ``segment``."""
    by = "max by (slo, service, segment)"
    queries = [
        promql(f"{by} (errorbudget_sli{{{SELECTED}}})", "SLI", instant=True, as_table=True),
        promql(f"{by} (errorbudget_target{{{SELECTED}}})", "TARGET", instant=True, as_table=True),
        promql(
            f"{by} (errorbudget_budget_remaining_ratio{{{SELECTED}}})",
            "REMAINING",
            instant=True,
            as_table=True,
        ),
    ]
    renames = {
        "Value #SLI": "SLI",
        "Value #TARGET": "target",
        "Value #REMAINING": "budget remaining",
    }
    for window in TABLE_BURN_WINDOWS:
        ref = f"BURN_{window.upper()}"
        queries.append(
            promql(
                f'{by} (errorbudget_burn_rate{{{SELECTED}, window="{window}"}})',
                ref,
                instant=True,
                as_table=True,
            )
        )
        renames[f"Value #{ref}"] = f"burn {window}"
    queries.append(
        promql(
            f"max by (slo, service, segment, state) (errorbudget_state{{{SELECTED}}} == 1)",
            "STATE",
            instant=True,
            as_table=True,
        )
    )
    # organize's order names the fields as they come (before the renames)
    order = ["slo", "service", "segment", "state", *renames]
    panel = (
        table.Panel()
        .id(panel_id)
        .title("Every series: SLI, budget and burn")
        .description("One row per series; segment (whole SLO) is the SLO's aggregate row.")
        .datasource(PROMETHEUS)
    )
    for query in queries:
        panel = panel.with_target(query)
    panel = (
        panel.with_transformation(DataTransformerConfig(id_val="merge", options={}))
        .with_transformation(
            DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True, "Value #STATE": True},
                    "renameByName": renames,
                    "indexByName": {name: index for index, name in enumerate(order)},
                },
            )
        )
        .sort_by([common_builders.TableSortByFieldState().display_name("budget remaining")])
        .decimals(2)
        .span(24)
        .height(10)
    )
    for column in ("SLI", "target", "budget remaining"):
        panel = panel.override_by_name(column, [DynamicConfigValue("unit", "percentunit")])
    return panel.override_by_name(
        "segment",
        [
            DynamicConfigValue(
                "mappings",
                [
                    SpecialValueMap(
                        DashboardSpecialValueMapOptions(
                            match=SpecialValueMatch.EMPTY,
                            result=ValueMappingResult(text="(whole SLO)"),
                        )
                    )
                ],
            )
        ],
    )


CHANGES_URL = "/api/v1/changes?limit=100"
CHANGE_COLUMNS: list[tuple[str, str, ColumnType]] = [
    ("id", "id", "number"),
    ("submitted_at", "submitted", "timestamp"),
    ("service", "service", "string"),
    ("title", "title", "string"),
    ("change_type", "type", "string"),
    ("risk", "risk", "string"),
    ("status", "status", "string"),
    ("current_decision", "gate decision", "string"),
    ("needs", "needs", "string"),
    ("approved", "approved", "boolean"),
    ("estimated_impact", "estimated budget impact", "number"),
    ("submitted_by", "submitted by", "string"),
]
"""Columns of ``GET /api/v1/changes`` (schema/changes.py ``ChangeOut``) the table shows."""


def changes_table(panel_id: int) -> table.Panel:
    """Seed 000 panel 4: changes with their estimated budget impact, gate decision and
    approval status, from errorbudget's API (``GET /api/v1/changes``, a viewer token)."""
    query = (
        InfinityQueryBuilder().ref_id("CHANGES").datasource(API).url("/api/v1/changes?limit=100")
    )
    for selector, text, kind in CHANGE_COLUMNS:
        query = query.column(selector, text, kind)
    return (
        table.Panel()
        .id(panel_id)
        .title("Changes and approvals")
        .description(
            "Newest first, from the errorbudget API. A change needing an approver while the "
            "budget is below the freeze threshold needs VP-level approval (seed 000)."
        )
        .datasource(API)
        .with_target(query)
        .override_by_name("estimated budget impact", [DynamicConfigValue("unit", "percentunit")])
        .span(24)
        .height(9)
    )


def queue_timeseries(
    panel_id: int, title: str, description: str, expr: str, legend: str, unit: str
) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .id(panel_id)
        .title(title)
        .description(description)
        .datasource(PROMETHEUS)
        .with_target(promql(expr, legend=legend))
        .unit(unit)
        .span_nulls(False)
        .span(12)
        .height(8)
    )


def queue_panels(first_id: int) -> list[timeseries.Panel]:
    """Seed 001's queue panels, from the Genesys exporter's families."""
    compliance = (
        queue_timeseries(
            first_id + 2,
            "SLA compliance (rolling 15 min)",
            "1 − SLA breaches / offers over 15 minutes, per queue. A queue offered nothing "
            "has no value (a gap), never 0 %.",
            SLA_COMPLIANCE,
            "{{queue_name}}",
            "percentunit",
        )
        .min(0)
        .max(1)
        .thresholds(thresholds(SLA_COMPLIANCE_STEPS, SLA_COLOURS))
        .thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(
                common.GraphThresholdsStyleMode.DASHED_AND_AREA
            )
        )
    )
    return [
        queue_timeseries(
            first_id,
            "Queue depth (voice)",
            "Contacts waiting, per queue.",
            QUEUE_DEPTH,
            "{{queue_name}}",
            "short",
        ),
        queue_timeseries(
            first_id + 1,
            "Wait time p95",
            "95th percentile wait over 5 minutes, per queue, from the wait-time histogram.",
            WAIT_P95,
            "{{queue_name}}",
            "s",
        ),
        compliance,
        queue_timeseries(
            first_id + 3,
            "Agents on queue by routing status",
            "Agent capacity: agents on each queue, by routing status.",
            AGENTS,
            "{{queue_name}} {{routing_status}}",
            "short",
        ),
    ]
