"""The generated Grafana dashboard (``errorbudget.generate.grafana``): valid against the SDK's
typed models (and that check fails on broken dashboards), colour bands equal to each SLO's
policy preset, only the plan's metric names, seed 001's queue panels, the errorbudget API's
routes and fields, a stable uid."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from errorbudget.catalogs import builtin_policies
from errorbudget.config import LoadedConfig, load_config
from errorbudget.errors import NotFoundError
from errorbudget.generate.grafana import DEPLOY_KINDS, dashboard_document, dashboard_uid
from errorbudget.generate.grafana_bands import (
    GRAFANA_COLOURS,
    band_at,
    consumed_steps,
    remaining_steps,
)
from errorbudget.generate.grafana_panels import CHANGE_COLUMNS
from errorbudget.model import SLO
from errorbudget.presets import Band, PolicyPreset
from errorbudget.records import ANNOTATION_KINDS
from errorbudget.schema.changes import ChangeOut
from errorbudget.schema.records import AnnotationOut
from grafana_schema import dashboard_problems

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "data" / "grafana" / "config.yaml"

PLAN_METRICS = {
    # errorbudget's /metrics (src/errorbudget/exporter.py), per the #11 plan
    "errorbudget_sli",
    "errorbudget_target",
    "errorbudget_budget_remaining_ratio",
    "errorbudget_burn_rate",
    "errorbudget_state",
    "errorbudget_burn_condition",
    "errorbudget_time_to_exhaustion_seconds",
    "errorbudget_projected_consumed_ratio",
    "errorbudget_alerts",
    "errorbudget_slo_good_events_total",
    "errorbudget_slo_bad_events_total",
    "errorbudget_slo_excluded_events_total",
    # the Genesys exporter's queue families
    "genesys_queue_depth",
    "genesys_queue_wait_time_seconds_bucket",
    "genesys_queue_wait_time_seconds_count",
    "genesys_queue_wait_time_seconds_sum",
    "genesys_queue_sla_breach_total",
    "genesys_queue_offer_total",
    "genesys_queue_agents",
}


@pytest.fixture(scope="module")
def loaded() -> LoadedConfig:
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def doc(loaded: LoadedConfig) -> dict[str, Any]:
    return dashboard_document(loaded)


def panels(doc: dict[str, Any], kind: str | None = None) -> list[dict[str, Any]]:
    return [p for p in doc["panels"] if kind is None or p["type"] == kind]


def expressions(doc: dict[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: panel targets and variable queries."""
    found = [t["expr"] for p in doc["panels"] for t in p.get("targets", []) if "expr" in t]
    for variable in doc["templating"]["list"]:
        query = variable.get("query", "")
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.*), *\w+\)", query)
            assert match, query
            found.append(match.group(1))
    return found


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are neither functions (followed
    by ``(``), keywords, nor inside label matchers, grouping lists, strings or ranges."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in PROMQL_WORDS:
            continue
        names.add(match.group())
    return names


# -- the schema check -------------------------------------------------------------------


def test_the_dashboard_is_valid_against_the_sdks_typed_models(doc: dict[str, Any]) -> None:
    assert dashboard_problems(doc) == []
    assert doc["schemaVersion"] == 41


def _gauge(d: dict[str, Any]) -> dict[str, Any]:
    return next(p for p in d["panels"] if p["type"] == "gauge")


BROKEN: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "misspelled field": (lambda d: _gauge(d).update(gridPoss={"h": 1}), "gridPoss: unknown"),
    "wrong type": (lambda d: _gauge(d)["gridPos"].update(h="nine"), "not an integer"),
    "bad enum": (
        lambda d: _gauge(d)["fieldConfig"]["defaults"]["thresholds"].update(mode="absolut"),
        "'absolut' is not one of",
    ),
    "unknown panel option": (
        lambda d: _gauge(d)["options"].update(showThresholdMarker=True),
        "showThresholdMarker: unknown",
    ),
    "unknown panel type": (lambda d: _gauge(d).update(type="gauges"), "not a panel type"),
    "unknown query field": (lambda d: _gauge(d)["targets"][0].update(exp="up"), "exp: unknown"),
    "threshold as text": (
        lambda d: _gauge(d)["fieldConfig"]["defaults"]["thresholds"]["steps"][1].update(
            value="0.2"
        ),
        "not a number",
    ),
    "unchecked data source": (
        lambda d: _gauge(d)["datasource"].update(type="graphite"),
        "without a model",
    ),
    "unknown annotation field": (
        lambda d: d["annotations"]["list"][0].update(iconColour="red"),
        "iconColour: unknown",
    ),
    "unknown Infinity field": (
        lambda d: d["annotations"]["list"][0]["target"].update(urll="/x"),
        "unknown field(s) ['urll']",
    ),
    "bad variable refresh": (
        lambda d: d["templating"]["list"][2].update(refresh="often"),
        "'often' is not one of",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_schema_check_fails_a_broken_dashboard(doc: dict[str, Any], case: str) -> None:
    breaking, expected = BROKEN[case]
    broken = copy.deepcopy(doc)
    breaking(broken)
    problems = dashboard_problems(broken)
    assert any(expected in problem for problem in problems), problems


# -- colour bands from the presets -----------------------------------------------------------


def budget_band(preset: PolicyPreset, remaining: float) -> Band:
    """The band of the state a preset's budget rules give ``remaining`` (rules without a
    budget criterion skipped; one with a burn criterion too taken as holding)."""
    for rule in preset.rules:
        if rule.remaining_below is not None and remaining < rule.remaining_below:
            return preset.state_policy(rule.state).band
        if rule.remaining_at_or_below is not None and remaining <= rule.remaining_at_or_below:
            return preset.state_policy(rule.state).band
    return preset.healthy.band


def presets(loaded: LoadedConfig) -> list[PolicyPreset]:
    return list({**builtin_policies(), **loaded.policies}.values())


GRID = [0.0, 0.05, 0.1, 0.0999, 0.1001, 0.19, 0.2, 0.2001, 0.33, 0.3299, 0.5, 0.4999, 0.5001]
GRID += [0.66, 0.6599, 0.6601, 0.9, 0.99, 1.0]


def test_gauge_bands_are_the_presets_at_every_edge(loaded: LoadedConfig) -> None:
    for preset in presets(loaded):
        steps = remaining_steps(preset)
        for remaining in GRID:
            assert band_at(steps, remaining) == budget_band(preset, remaining), (
                preset.name,
                remaining,
            )


def test_projected_bands_mirror_the_presets(loaded: LoadedConfig) -> None:
    """Projected consumed c is coloured as remaining 1 − c would be."""
    for preset in presets(loaded):
        steps = consumed_steps(preset)
        for remaining in GRID:
            consumed = 1.0 - remaining
            assert band_at(steps, consumed) == budget_band(preset, remaining), (
                preset.name,
                consumed,
            )


def test_contact_center_gauge_is_seed_000s_50_20(loaded: LoadedConfig) -> None:
    steps = remaining_steps(loaded.policy("contact-center"))
    assert [(s.value is None or round(s.value, 9), s.band) for s in steps] == [
        (True, "red"),
        (0.2, "amber"),
        (0.5, "green"),
    ]
    assert band_at(steps, 0.5) == "amber"  # at or below 50 %: warning
    assert band_at(steps, 0.2) == "amber"  # strictly below 20 %: critical
    assert band_at(steps, 0.1999) == "red"


def _steps_json(panel: dict[str, Any]) -> list[tuple[float | None, str]]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [(step["value"], step["color"]) for step in steps]


def test_each_slo_panel_has_its_own_presets_thresholds(
    loaded: LoadedConfig, doc: dict[str, Any]
) -> None:
    gauges = {p["title"].split(":")[0]: p for p in panels(doc, "gauge")}
    stats = {p["title"].split(":")[0]: p for p in panels(doc, "stat")}
    assert list(gauges) == list(stats) == [slo.id for slo in loaded.config.slos]
    # four presets, three distinct budget bands (voice-agent's are contact-center's 50/20)
    assert len({json.dumps(_steps_json(g)) for g in gauges.values()}) == 3
    for slo in loaded.config.slos:
        preset = loaded.policy(slo.policy)
        expected = [(s.value, GRAFANA_COLOURS[s.band]) for s in remaining_steps(preset)]
        assert _steps_json(gauges[slo.id]) == expected
        mirrored = [(s.value, GRAFANA_COLOURS[s.band]) for s in consumed_steps(preset)]
        assert _steps_json(stats[slo.id]) == mirrored
        expr = gauges[slo.id]["targets"][0]["expr"]
        assert expr == f'errorbudget_budget_remaining_ratio{{slo="{slo.id}", segment="(all)"}}'
        assert gauges[slo.id]["fieldConfig"]["defaults"]["unit"] == "percentunit"
        projected = stats[slo.id]["targets"][0]["expr"]
        assert projected.startswith("errorbudget_projected_consumed_ratio{")


# -- queries ------------------------------------------------------------------------------


def test_every_metric_name_is_the_plans(doc: dict[str, Any]) -> None:
    names = set().union(*(metric_names(expr) for expr in expressions(doc)))
    assert names <= PLAN_METRICS, names - PLAN_METRICS
    assert {"genesys_queue_depth", "errorbudget_burn_rate"} <= names


def test_the_metric_name_check_finds_a_typo() -> None:
    assert metric_names('sum by (queue_name) (genesys_queue_dept{media_type="voice"})') == {
        "genesys_queue_dept"
    }
    expr = 'max by (slo) (errorbudget_sli{slo=~"$slo"}) / on (slo) group_left errorbudget_target'
    assert metric_names(expr) == {"errorbudget_sli", "errorbudget_target"}


def test_seed_001_queue_panels(doc: dict[str, Any]) -> None:
    by_title = {p["title"]: p for p in panels(doc, "timeseries")}
    depth = by_title["Queue depth (voice)"]["targets"][0]["expr"]
    assert depth == 'sum by (queue_name) (genesys_queue_depth{media_type="voice"})'
    wait = by_title["Wait time p95"]["targets"][0]["expr"]
    assert wait == (
        "histogram_quantile(0.95, sum by (le, queue_name) "
        "(rate(genesys_queue_wait_time_seconds_bucket[5m])))"
    )
    compliance = by_title["SLA compliance (rolling 15 min)"]
    expr = compliance["targets"][0]["expr"]
    assert "increase(genesys_queue_sla_breach_total[15m])" in expr
    assert "increase(genesys_queue_offer_total[15m])) > 0)" in expr  # no offers: no value
    defaults = compliance["fieldConfig"]["defaults"]
    assert defaults["unit"] == "percentunit"
    assert _steps_json(compliance) == [(None, "red"), (0.6, "yellow"), (0.8, "green")]


def test_sparse_data_is_never_drawn_as_zero(doc: dict[str, Any]) -> None:
    assert "vector(0)" not in json.dumps(doc)
    for panel in panels(doc, "timeseries"):
        assert panel["fieldConfig"]["defaults"]["custom"]["spanNulls"] is False, panel["title"]


def test_every_promql_panel_reads_the_datasource_variable(doc: dict[str, Any]) -> None:
    names = {v["name"]: v for v in doc["templating"]["list"]}
    assert names["datasource"]["query"] == "prometheus"
    assert names["errorbudget_api"]["query"] == "yesoreyeram-infinity-datasource"
    assert {"slo", "service"} <= set(names)
    for panel in panels(doc):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in ("${datasource}", "${errorbudget_api}")
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]


# -- the errorbudget API ----------------------------------------------------------------------


def _route(path: str) -> Any:
    from errorbudget.web import api_changes, api_records

    for routes in (api_changes.routes, api_records.routes):
        for route in routes.routes:
            if getattr(route, "path", "").endswith(path) and "GET" in getattr(route, "methods", ()):
                return route
    raise AssertionError(f"no GET {path}")


def _query_names(url: str) -> set[str]:
    return {pair.split("=")[0] for pair in url.split("?", 1)[1].split("&")}


def test_the_changes_table_reads_the_changes_route_and_its_fields(doc: dict[str, Any]) -> None:
    table = next(p for p in panels(doc, "table") if p["datasource"]["uid"] == "${errorbudget_api}")
    target = table["targets"][0]
    url = target["url"]
    assert url.startswith("/api/v1/changes?")
    route = _route("/changes")
    accepted = {param.alias or param.name for param in route.dependant.query_params}
    assert _query_names(url) <= accepted
    fields = set(ChangeOut.model_fields)
    assert [c["selector"] for c in target["columns"]] == [c[0] for c in CHANGE_COLUMNS]
    assert {c["selector"] for c in target["columns"]} <= fields


def test_annotations_read_the_annotations_route(doc: dict[str, Any]) -> None:
    route = _route("/annotations")
    accepted = {param.alias or param.name for param in route.dependant.query_params}
    annotations = {a["name"]: a for a in doc["annotations"]["list"]}
    assert set(annotations) == {"errorbudget deploys", "errorbudget incidents"}
    for annotation in annotations.values():
        target = annotation["target"]
        assert target["url"].startswith("/api/v1/annotations?")
        assert _query_names(target["url"]) <= accepted
        kinds = re.findall(r"kind=(\w+)", target["url"])
        assert set(kinds) <= set(ANNOTATION_KINDS)
        assert {c["selector"] for c in target["columns"]} <= set(AnnotationOut.model_fields)
        assert {c["text"] for c in target["columns"]} >= {"time", "text"}
    deploys = annotations["errorbudget deploys"]["target"]["url"]
    assert re.findall(r"kind=(\w+)", deploys) == list(DEPLOY_KINDS)


# -- uid, selection --------------------------------------------------------------------------


def _with_slos(loaded: LoadedConfig, slos: list[SLO]) -> LoadedConfig:
    return LoadedConfig(config=loaded.config.model_copy(update={"slos": slos}), path=loaded.path)


def test_the_uid_is_stable_and_derived_from_the_config(loaded: LoadedConfig) -> None:
    uid = dashboard_uid(loaded)
    assert uid == dashboard_uid(load_config(CONFIG))
    assert re.fullmatch(r"eb-[0-9a-f]{16}", uid)
    # another SLO of a known service: the same dashboard, updated in place
    extra = loaded.config.slos[1].model_copy(update={"id": "digital-sla-2"})
    assert dashboard_uid(_with_slos(loaded, [*loaded.config.slos, extra])) == uid
    # a new service, or a selection of SLOs: another dashboard
    other = loaded.config.slos[1].model_copy(update={"service": "billing"})
    assert dashboard_uid(_with_slos(loaded, [*loaded.config.slos, other])) != uid
    assert dashboard_uid(loaded, ["voice-sla"]) != uid


def test_slo_selection(loaded: LoadedConfig) -> None:
    doc = dashboard_document(loaded, ["agent-turns", "voice-sla"])
    assert [p["title"] for p in panels(doc, "gauge")] == [
        "voice-sla: budget remaining",
        "agent-turns: budget remaining",
    ]
    slo = next(v for v in doc["templating"]["list"] if v["name"] == "slo")
    assert slo["regex"] == "/^(voice\\-sla|agent\\-turns)$/"
    assert dashboard_problems(doc) == []
    with pytest.raises(NotFoundError, match=r"no SLO 'voice-sal'.*did you mean 'voice-sla'"):
        dashboard_document(loaded, ["voice-sal"])


def test_the_example_config_generates_a_valid_dashboard() -> None:
    doc = dashboard_document(load_config(ROOT / "examples" / "contact-center.yaml"))
    assert dashboard_problems(doc) == []
    assert len(panels(doc, "gauge")) == 5
