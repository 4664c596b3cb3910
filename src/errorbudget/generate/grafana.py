"""``errorbudget generate grafana-dashboard``: a loaded config in, a Grafana dashboard
(JSON model, schemaVersion 41) out, built with grafana-foundation-sdk's typed builders.

Pure: the config's SLOs and their policy presets decide the dashboard; nothing is queried.
The panels are in ``grafana_panels``; their colour bands come from each SLO's preset
(``grafana_bands``); the errorbudget API is read through the Infinity data source
(``grafana_infinity``). What the dashboard needs in Grafana (a Prometheus scraping
errorbudget's ``/metrics`` and the Genesys exporter, an Infinity data source holding the
errorbudget server's URL and a viewer token) is in docs/grafana.md.

The uid is derived from the config (its services, and the SLOs picked with ``--slo``), so a
regenerated dashboard replaces the one imported before instead of adding a copy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import (
    Dashboard,
    DashboardCursorSync,
    VariableRefresh,
    VariableSort,
)

from errorbudget.config import LoadedConfig
from errorbudget.errors import NotFoundError
from errorbudget.generate.grafana_infinity import (
    INFINITY,
    InfinityAnnotationTargetBuilder,
    InfinityQueryBuilder,
)
from errorbudget.generate.grafana_panels import (
    API,
    PROMETHEUS,
    budget_gauge,
    burn_timeline,
    changes_table,
    projected_stat,
    queue_panels,
    tier_table,
)
from errorbudget.model import SLO
from errorbudget.yamlsource import did_you_mean

TITLE = "errorbudget: error budgets and Genesys queues"
TAGS = ["errorbudget", "slo", "error-budget", "genesys"]
REFRESH = "1m"
"""errorbudget's gauges change once a minute (its evaluation step)."""
SLO_METRIC = "errorbudget_budget_remaining_ratio"
"""The family the ``slo`` and ``service`` variables list label values of."""

ANNOTATION_COLUMNS: list[tuple[str, str]] = [("at", "time"), ("text", "text"), ("kind", "tags")]
"""``GET /api/v1/annotations`` fields → the names Grafana reads an annotation from."""
DEPLOY_KINDS = ("deploy", "config", "model")
"""A shipped change is annotated with one of these kinds (changes.annotation_kind)."""


def selected_slos(loaded: LoadedConfig, names: Sequence[str] = ()) -> list[SLO]:
    """The config's SLOs, or those named (in the config's order); an unknown name is an
    error naming the closest SLO."""
    slos = loaded.config.slos
    known = {slo.id for slo in slos}
    for name in names:
        if name not in known:
            raise NotFoundError(f"no SLO {name!r} in {loaded.path}{did_you_mean(name, known)}")
    return [slo for slo in slos if not names or slo.id in names]


def dashboard_uid(loaded: LoadedConfig, names: Sequence[str] = ()) -> str:
    """``eb-`` and 16 hex digits of SHA-256 over the config's service ids and the SLOs
    picked (none: the whole config): stable while the services stay, whatever SLOs are
    added or retuned."""
    identity = {
        "services": sorted(
            {s.id for s in loaded.config.services} | {slo.service for slo in loaded.config.slos}
        ),
        "slos": sorted(set(names)),
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return f"eb-{digest[:16]}"


def _variables(slos: list[SLO], restricted: bool) -> list[Any]:
    service = (
        dashboard_builders.QueryVariable("service")
        .label("service")
        .datasource(PROMETHEUS)
        .query(f"label_values({SLO_METRIC}, service)")
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
    )
    slo = (
        dashboard_builders.QueryVariable("slo")
        .label("SLO")
        .datasource(PROMETHEUS)
        .query(f'label_values({SLO_METRIC}{{service=~"$service"}}, slo)')
        .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
    )
    if restricted:
        slo = slo.regex("/^(" + "|".join(re.escape(s.id) for s in slos) + ")$/")
    return [
        dashboard_builders.DatasourceVariable("datasource").label("Prometheus").type("prometheus"),
        dashboard_builders.DatasourceVariable("errorbudget_api")
        .label("errorbudget API")
        .type(INFINITY),
        service,
        slo,
    ]


def _annotation(name: str, ref_id: str, kinds: Sequence[str], colour: str) -> Any:
    """Annotations of ``kinds`` in the dashboard's time range, from the errorbudget API."""
    url = (
        "/api/v1/annotations?"
        + "".join(f"kind={kind}&" for kind in kinds)
        + "start=${__from:date:iso}&end=${__to:date:iso}&limit=1000"
    )
    query = InfinityQueryBuilder().ref_id(ref_id).datasource(API).url(url)
    for selector, text in ANNOTATION_COLUMNS:
        query = query.column(selector, text, "timestamp" if text == "time" else "string")
    return (
        dashboard_builders.AnnotationQuery()
        .name(name)
        .datasource(API)
        .enable(True)
        .icon_color(colour)
        .target(InfinityAnnotationTargetBuilder(query))
    )


def build_dashboard(loaded: LoadedConfig, names: Sequence[str] = ()) -> Dashboard:
    """The dashboard model of the config's SLOs (or of those named)."""
    slos = selected_slos(loaded, names)
    ids = iter(range(1, 10_000))
    title = TITLE if not names else f"{TITLE} ({', '.join(s.id for s in slos)})"
    builder = (
        dashboard_builders.Dashboard(title)
        .uid(dashboard_uid(loaded, names))
        .description(
            f"Generated by `errorbudget generate grafana-dashboard` from {loaded.path.name}: "
            "regenerate it rather than editing it here."
        )
        .tags(TAGS)
        .refresh(REFRESH)
        .time("now-24h", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .readonly()
        .variables(_variables(slos, restricted=bool(names)))
        .annotations(
            [
                _annotation("errorbudget deploys", "DEPLOYS", DEPLOY_KINDS, "blue"),
                _annotation("errorbudget incidents", "INCIDENTS", ("incident",), "red"),
            ]
        )
    )
    builder = builder.with_row(dashboard_builders.Row("Error budget remaining").id(next(ids)))
    for slo in slos:
        builder = builder.with_panel(budget_gauge(slo, loaded.policy(slo.policy), next(ids)))
    builder = builder.with_row(dashboard_builders.Row("Projected period end").id(next(ids)))
    for slo in slos:
        builder = builder.with_panel(projected_stat(slo, loaded.policy(slo.policy), next(ids)))
    builder = builder.with_row(dashboard_builders.Row("Burn and every series").id(next(ids)))
    builder = builder.with_panel(burn_timeline(next(ids))).with_panel(tier_table(next(ids)))
    builder = builder.with_row(dashboard_builders.Row("Changes").id(next(ids)))
    builder = builder.with_panel(changes_table(next(ids)))
    builder = builder.with_row(dashboard_builders.Row("Genesys queues").id(next(ids)))
    first = next(ids)
    for panel in queue_panels(first):
        builder = builder.with_panel(panel)
    return builder.build()


def dashboard_document(loaded: LoadedConfig, names: Sequence[str] = ()) -> dict[str, Any]:
    """The dashboard as Grafana's JSON model (plain dicts and lists)."""
    encoded: dict[str, Any] = json.loads(
        json.dumps(build_dashboard(loaded, names), cls=JSONEncoder)
    )
    return encoded


def dashboard_json(loaded: LoadedConfig, names: Sequence[str] = ()) -> str:
    """The dashboard's JSON text (2-space indent, a final newline), as the CLI writes it."""
    return json.dumps(dashboard_document(loaded, names), indent=2, ensure_ascii=False) + "\n"
