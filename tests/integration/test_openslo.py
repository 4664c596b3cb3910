"""OpenSLO v1 import (realistic documents, unmapped fields reported) and export round trip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from errorbudget.config import Config, load_config, parse_config
from errorbudget.errors import ConfigValidationError, Problem
from errorbudget.model import (
    SLO,
    BurnCatalog,
    BurnCondition,
    CalendarWindow,
    IngestIndicator,
    RollingWindow,
)
from errorbudget.openslo import API_VERSION, export_config, import_documents
from errorbudget.openslo.alerts import conditions_at
from errorbudget.schedules import Schedule
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.prometheus import PrometheusIndicator

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "openslo"


def messages(problems: list[Problem]) -> list[str]:
    return [str(p).replace(str(DATA) + "/", "") for p in problems]


def write(tmp_path: Path, text: str, name: str = "slo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_contact_center_documents() -> None:
    result = import_documents([DATA / "contact-center.yaml"])
    assert result.errors == []
    (service,) = result.services
    assert (service.id, service.description) == (
        "contact-center",
        "Voice and digital queues on Genesys Cloud CX",
    )
    (slo,) = result.slos
    assert slo.id == "voice-sla"
    assert slo.description == "85% of calls answered within 20 seconds"
    assert slo.labels == {"team": "cc-operations", "channel": "voice"}
    assert slo.target == 0.85
    assert slo.window == CalendarWindow(unit="month", timezone="America/New_York")
    assert slo.budgeting == "occurrences"
    assert slo.indicator == PrometheusIndicator(
        good_query='sum(increase(genesys_queue_answered_within_sla_total{media="voice"}'
        "[{{.window}}]))",
        total_query='sum by (queue) (increase(genesys_queue_offered_total{media="voice"}'
        "[{{.window}}]))",
    )
    # one page at 14.4 over 1h/5m is no catalog's: a catalog with exactly that condition
    assert slo.alerting.catalog == "openslo-voice-sla"
    (catalog,) = result.burn_catalogs
    assert catalog == BurnCatalog(
        name="openslo-voice-sla",
        period="30d",  # type: ignore[arg-type]
        conditions=[
            BurnCondition(
                severity="page",
                budget_fraction=0.02,
                long_window="1h",  # type: ignore[arg-type]
                short_window="5m",  # type: ignore[arg-type]
            )
        ],
    )
    assert messages(result.problems) == [
        "contact-center.yaml:12:7: warning: DataSource 'prometheus-cc': not imported:"
        " connections are configured as errorbudget sources",
        "contact-center.yaml:33:18: warning: SLI 'queue-answered-in-sla': the query has no"
        " {{.window}} range: rewritten as sum(increase(genesys_queue_answered_within_sla_total"
        '{media="voice"}[{{.window}}])); check it',
        "contact-center.yaml:38:18: warning: SLI 'queue-answered-in-sla': the query has no"
        " {{.window}} range: rewritten as sum by (queue) (increase(genesys_queue_offered_total"
        '{media="voice"}[{{.window}}])); check it',
        "contact-center.yaml:64:5: warning: SLO 'voice-sla': no burn catalog has the burn-rate"
        " conditions (page 1h > 14.4): imported as burn catalog 'openslo-voice-sla' over 30d",
        "contact-center.yaml:79:7: warning: AlertPolicy 'voice-fast-burn':"
        " spec.notificationTargets.0 is not mapped (ignored)",
        "contact-center.yaml:96:7: warning: AlertNotificationTarget 'cc-oncall-pager':"
        " not imported: errorbudget's receivers are configured in its notifications: section"
        " (docs/alerting.md)",
    ]


def test_inline_indicator_timeslices_and_exact_catalog() -> None:
    result = import_documents([DATA / "genesys-api.yaml"])
    assert result.errors == []
    (slo,) = result.slos
    assert slo.budgeting == "timeslices"
    assert slo.timeslice is not None
    assert (slo.timeslice.length.total_seconds(), slo.timeslice.target) == (60, 0.99)
    assert slo.window == RollingWindow(length="30d")  # type: ignore[arg-type]
    assert isinstance(slo.indicator, PrometheusIndicator)
    assert "{{.window}}" in slo.indicator.total_query
    # 14.4 over 1h/5m and 6 over 6h/30m are exactly the page-only catalog: nothing to say
    assert slo.alerting.catalog == "page-only"
    assert messages(result.problems) == [
        "genesys-api.yaml:7:33: warning: SLO 'genesys-api-availability':"
        " metadata.annotations.openslo.com/service-folder is not mapped (ignored)",
        "genesys-api.yaml:41:28: warning: SLO 'genesys-api-availability':"
        " spec.alertPolicies.0.spec.alertWhenResolved is not mapped (ignored)",
    ]
    # the SLO's service has no Service object and none are declared: nothing added
    assert result.services == []


def test_other_vendors_objectives_and_unmapped_fields() -> None:
    result = import_documents([DATA / "vendor-mix.yaml"])
    assert result.errors == []
    assert [s.id for s in result.slos] == ["digital-sla-answered-in-60s", "digital-sla-stretch"]
    first, stretch = result.slos
    assert first.target == 0.9 and stretch.target == 0.95
    assert first.indicator == IngestIndicator(
        good="Datadog: sum:genesys.chat.answered_within_60s{*}.as_count()",
        total="Datadog: sum:genesys.chat.offered{*}.as_count()",
    )
    assert first.window == RollingWindow(length="28d")  # type: ignore[arg-type]
    assert first.timeslice is not None and first.timeslice.length.total_seconds() == 300
    assert first.labels == {"team": "cc-operations,digital"}
    texts = messages(result.problems)
    assert all(p.severity == "warning" for p in result.problems)
    assert texts[0].startswith(
        "vendor-mix.yaml:14:5: warning: SLI 'chat-answered': Datadog queries cannot be run"
    )
    assert texts[1:] == [
        "vendor-mix.yaml:34:9: warning: SLO 'digital-sla': label team has 2 values;"
        " joined with ','",
        "vendor-mix.yaml:39:22: warning: SLO 'digital-sla': RatioTimeslices imported as Timeslices",
        "vendor-mix.yaml:44:7: warning: SLO 'digital-sla': 2 objectives: imported as one SLO"
        " per objective",
        "vendor-mix.yaml:50:13: warning: SLO 'digital-sla': spec.objectives.1.op is not mapped"
        " (ignored)",
        "vendor-mix.yaml:51:16: warning: SLO 'digital-sla': spec.objectives.1.value is not"
        " mapped (ignored)",
        "vendor-mix.yaml:54:22: warning: SLO 'digital-sla': spec.compositeWeight is not mapped"
        " (ignored)",
        "vendor-mix.yaml:55:3: warning: SLI 'unused-sli': not used by any SLO; not imported",
    ]


def test_invalid_documents_are_errors_and_import_nothing() -> None:
    result = import_documents([DATA / "invalid.yaml"])
    assert result.slos == []
    assert [p for p in messages(result.errors)] == [
        "invalid.yaml:1:1: apiVersion 'openslo/v1alpha' is not supported (only openslo/v1)",
        "invalid.yaml:14:17: SLO 'broken': no SLI named 'no-such-sli'",
        "invalid.yaml:17:17: SLO 'broken': duration '1 month' is not a duration shorthand"
        " (e.g. 28d, 1M)",
        "invalid.yaml:20:7: SLO 'broken': target: Input should be less than 1 (got 1.5)",
        "invalid.yaml:28:17: SLO 'weird': no SLI named 'no-such-sli'",
        "invalid.yaml:29:20: SLO 'weird': budgetingMethod 'Weird' is not Occurrences or Timeslices",
    ]


def test_a_directory_imports_every_file() -> None:
    result = import_documents([DATA])
    ids = {slo.id for slo in result.slos}
    assert {"voice-sla", "genesys-api-availability", "digital-sla-stretch"} <= ids
    assert {p.file for p in result.errors} == {str(DATA / "invalid.yaml")}


def test_yaml_syntax_error_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "apiVersion: openslo/v1\nkind: [SLO\n")
    (problem,) = import_documents([path]).problems
    assert problem.severity == "error" and problem.message.startswith("YAML syntax")
    assert problem.line == 3


CALENDAR = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: queue-sla
spec:
  service: cc
  indicator:
    metadata: {name: ingest}
    spec:
      ratioMetric:
        good: {metricSource: {type: ErrorBudgetIngest, spec: {events: answered in 20 s}}}
        total: {metricSource: {type: ErrorBudgetIngest, spec: {events: offered}}}
  budgetingMethod: Occurrences
  timeWindow:
    - duration: DURATION
      isRolling: ROLLING
      calendar: {startTime: "START", timeZone: Europe/Madrid}
  objectives:
    - target: 0.8
"""


@pytest.mark.parametrize(
    ("duration", "rolling", "start", "window", "warning"),
    [
        ("1w", "false", "2024-01-01 00:00:00", CalendarWindow(unit="week"), None),
        ("1Q", "false", "2024-04-01 00:00:00", CalendarWindow(unit="quarter"), None),
        ("30d", "false", "2024-01-01 00:00:00", CalendarWindow(unit="month"), "as a calendar"),
        ("1M", "false", "2024-01-15 00:00:00", CalendarWindow(unit="month"), "startTime"),
        ("2w", "false", "2024-01-01 00:00:00", RollingWindow(length="14d"), "rolling 2w"),
        ("1Q", "true", "2024-01-01 00:00:00", RollingWindow(length="90d"), "imported as 90d"),
    ],
)
def test_time_windows(
    tmp_path: Path,
    duration: str,
    rolling: str,
    start: str,
    window: RollingWindow | CalendarWindow,
    warning: str | None,
) -> None:
    text = CALENDAR.replace("DURATION", duration).replace("ROLLING", rolling)
    if rolling == "true":
        text = "\n".join(line for line in text.splitlines() if "calendar:" not in line)
    result = import_documents([write(tmp_path, text.replace("START", start))])
    (slo,) = result.slos
    if isinstance(window, CalendarWindow):
        window = window.model_copy(update={"timezone": "Europe/Madrid"})
    assert slo.window == window
    assert slo.indicator == IngestIndicator(good="answered in 20 s", total="offered")
    found = [p.message for p in result.problems]
    if warning is None:
        assert found == []
    else:
        assert len(found) == 1 and warning in found[0], found


@pytest.mark.parametrize(
    ("query", "rewritten"),
    [
        ("calls_total", "sum(increase(calls_total[{{.window}}]))"),
        ('sum(calls_total{q="a"})', 'sum(increase(calls_total{q="a"}[{{.window}}]))'),
        ("sum by (queue) (calls_total)", "sum by (queue) (increase(calls_total[{{.window}}]))"),
        ("sum(rate(calls_total[5m]))", "sum(increase((sum(rate(calls_total[5m])))[{{.window}}:]))"),
    ],
)
def test_prometheus_queries_without_window(tmp_path: Path, query: str, rewritten: str) -> None:
    document = yaml.safe_load(CALENDAR.replace("DURATION", "1M").replace("ROLLING", "false"))
    document["spec"]["timeWindow"][0]["calendar"]["startTime"] = "2024-01-01"
    ratio = document["spec"]["indicator"]["spec"]["ratioMetric"]
    ratio["good"] = {"metricSource": {"type": "Prometheus", "spec": {"query": query}}}
    ratio["total"] = {"metricSource": {"type": "Prometheus", "spec": {"query": "x[{{.window}}]"}}}
    result = import_documents([write(tmp_path, yaml.safe_dump(document))])
    (slo,) = result.slos
    assert isinstance(slo.indicator, PrometheusIndicator)
    assert slo.indicator.good_query == rewritten
    (warning,) = result.problems
    assert f"rewritten as {rewritten}; check it" in warning.message


def test_round_trip_of_the_example_config(tmp_path: Path) -> None:
    loaded = load_config(ROOT / "examples" / "contact-center.yaml", environ={})
    exported = write(tmp_path, export_config(loaded.config), "openslo.yaml")
    documents = list(yaml.safe_load_all(exported.read_text()))
    assert {d["apiVersion"] for d in documents} == {API_VERSION}
    kinds = [d["kind"] for d in documents]
    assert kinds.count("SLO") == kinds.count("SLI") == len(loaded.config.slos)
    assert kinds.count("AlertPolicy") == kinds.count("AlertCondition") > 0

    result = import_documents([exported], loaded.catalogs, loaded.policies)
    # the Genesys indicator travels as a GenesysCloud metric source: nothing is lost
    assert result.problems == []
    # a named schedule comes back written in place (OpenSLO cannot refer to one)
    [named] = loaded.config.schedules
    inline = Schedule(timezone=named.timezone, hours=named.hours, holidays=named.holidays)
    expected = [
        s.model_copy(update={"schedule": inline}) if s.schedule == named.name else s
        for s in loaded.config.slos
    ]
    assert result.slos == expected
    assert isinstance(result.slos[-2].indicator, GenesysIndicator)
    assert result.services == loaded.config.services


def test_round_trip_with_builtin_catalogs_only(tmp_path: Path) -> None:
    # Config.model_validate, not parse_config: the Prometheus indicator round-trips through
    # OpenSLO; without sources.prometheus it would be a validation error (parse_config).
    config = Config.model_validate(
        yaml.safe_load(
            textwrap.dedent(
                """\
            services: [{id: cc, owner: ops, description: Contact center}]
            slos:
              - id: voice
                service: cc
                target: 0.85
                window: {type: calendar, unit: quarter, timezone: America/Chicago}
                segments: {keys: [tier], overrides: [{match: {tier: vip}, target: 0.95}]}
                alerting: {catalog: page-only, min_events: 5}
              - id: api
                service: cc
                indicator:
                  source: prometheus
                  bad_query: sum(increase(http_requests_total{code=~"5.."}[{{.window}}]))
                  total_query: sum(increase(http_requests_total[{{.window}}]))
                target: 0.9995
                window: {type: rolling, length: 90m}
                budgeting: timeslices
                timeslice: {length: 5m, target: 0.95, no_data: bad}
                alerting: {enabled: false}
            """
            )
        )
    )
    text = export_config(config)
    assert "alertPolicies" in text and "90m" in text
    result = import_documents([write(tmp_path, text, "openslo.yaml")])
    assert result.problems == []
    assert result.slos == config.slos
    assert result.services == config.services


def test_foreign_conditions_get_an_exact_catalog_else_the_nearest(tmp_path: Path) -> None:
    documents = [
        {
            "apiVersion": API_VERSION,
            "kind": "AlertCondition",
            "metadata": {"name": f"c{i}"},
            "spec": {
                "severity": severity,
                "condition": {
                    "kind": "burnrate",
                    "op": "gt",
                    "threshold": threshold,
                    "lookbackWindow": lookback,
                    "alertAfter": after,
                },
            },
        }
        for i, (severity, threshold, lookback, after) in enumerate(
            [("page", 14, "1h", "5m"), ("page", 6, "6h", "30m"), ("ticket", 1, "3d", "6h")]
        )
    ]
    policy = {
        "apiVersion": API_VERSION,
        "kind": "AlertPolicy",
        "metadata": {"name": "burn"},
        "spec": {"conditions": [{"conditionRef": f"c{i}"} for i in range(3)]},
    }
    slo = yaml.safe_load(CALENDAR.replace("DURATION", "30d").replace("ROLLING", "true"))
    slo["spec"]["objectives"][0]["target"] = 0.999
    slo["spec"]["alertPolicies"] = ["burn"]
    del slo["spec"]["timeWindow"][0]["calendar"]
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump_all([slo, policy, *documents]))
    result = import_documents([path])
    (imported,) = result.slos
    # no catalog has exactly these three: a new one, whose factors at this SLO are them
    assert imported.alerting.catalog == "openslo-queue-sla"
    (catalog,) = result.burn_catalogs
    factors = [c.factor for c in conditions_at(catalog, imported)]
    assert factors == pytest.approx([14, 6, 1], rel=1e-12)
    (warning,) = result.problems
    assert "no burn catalog has the burn-rate conditions (page 1h > 14, page 6h > 6, ticket" in (
        warning.message
    )

    # windows errorbudget cannot evaluate (no alertAfter): the nearest catalog, said so
    for document in documents:
        del document["spec"]["condition"]["alertAfter"]
    path.write_text(yaml.safe_dump_all([slo, policy, *documents]))
    result = import_documents([path])
    assert result.slos[0].alerting.catalog == "google-30d" and result.burn_catalogs == []
    (warning,) = result.problems
    assert "mapped to the nearest burn catalog 'google-30d'" in warning.message


def test_import_result_yaml_is_a_valid_config(tmp_path: Path) -> None:
    result = import_documents([DATA / "contact-center.yaml", DATA / "genesys-api.yaml"])
    fragment = result.config_yaml_fragment
    assert [s["id"] for s in fragment["slos"]] == ["voice-sla", "genesys-api-availability"]
    # a Service object was given, so the platform service is added (and reported)
    assert [s["id"] for s in fragment["services"]] == ["contact-center", "genesys-platform"]
    assert (
        f"{DATA / 'genesys-api.yaml'}:10:12: warning: SLO 'genesys-api-availability': service"
        " 'genesys-platform' has no Service object; added to services"
    ) in [str(p) for p in result.problems]
    assert Config.model_validate(yaml.safe_load(result.to_yaml())).slos == result.slos
    # Its Prometheus indicators are kept; validation asks for sources.prometheus.
    with pytest.raises(ConfigValidationError) as invalid:
        parse_config(result.to_yaml(), tmp_path / "imported.yaml", {})
    errors = [p for p in invalid.value.problems if p.severity == "error"]
    assert len(errors) == 2
    expected = "source 'prometheus' is not configured: add sources.prometheus"
    assert all(expected in p.message for p in errors)


# --- lossless round trip (#7) ---------------------------------------------------------------

DEMO_CONFIG = ROOT / "src" / "errorbudget" / "demo" / "config.yaml"
ROUND_TRIP_CONFIGS = [*sorted((ROOT / "examples").glob("*.yaml")), DEMO_CONFIG]


def schedules_in_place(config: Config) -> list[SLO]:
    """The config's SLOs with each named schedule written in place, as OpenSLO carries them
    (the sample configs' schedules use no holiday calendars)."""
    named = {s.name: s for s in config.schedules}
    assert all(not s.holiday_calendars for s in named.values())
    return [
        slo.model_copy(
            update={
                "schedule": Schedule(
                    timezone=named[slo.schedule].timezone,
                    hours=named[slo.schedule].hours,
                    holidays=named[slo.schedule].holidays,
                )
            }
        )
        if isinstance(slo.schedule, str)
        else slo
        for slo in config.slos
    ]


@pytest.mark.parametrize("config_path", ROUND_TRIP_CONFIGS, ids=lambda p: p.name)
def test_export_then_import_gives_back_the_same_config(config_path: Path, tmp_path: Path) -> None:
    """As `errorbudget openslo export` then `openslo import` elsewhere (no catalogs or
    presets passed in): the same SLOs (Genesys indicators, custom burn catalogs and policy
    presets included), services, and the catalogs and presets the SLOs need."""
    loaded = load_config(config_path, environ={})
    config = loaded.config
    exported = write(tmp_path, export_config(config), "openslo.yaml")
    result = import_documents([exported])
    assert result.problems == []
    assert result.slos == schedules_in_place(config)
    assert result.services == config.services
    used_catalogs = {slo.alerting.catalog for slo in config.slos}
    used_presets = {slo.policy for slo in config.slos}
    assert result.burn_catalogs == [c for c in config.burn_catalogs if c.name in used_catalogs]
    assert result.policies == [p for p in config.policies if p.name in used_presets]
    # and the errorbudget YAML the CLI writes loads back to the same SLOs, once the
    # connections OpenSLO does not carry (sources) are added back
    sources = yaml.safe_load(config_path.read_text()).get("sources")
    text = result.to_yaml() + (yaml.safe_dump({"sources": sources}) if sources else "")
    again = parse_config(text, tmp_path / "imported.yaml", {})
    assert again.config.slos == schedules_in_place(config)
    assert again.catalogs.keys() >= used_catalogs


def test_genesys_indicators_travel_as_a_genesys_metric_source(tmp_path: Path) -> None:
    loaded = load_config(ROOT / "src" / "errorbudget" / "demo" / "config.yaml", environ={})
    documents = list(yaml.safe_load_all(export_config(loaded.config)))
    sli = next(
        d for d in documents if d["kind"] == "SLI" and d["metadata"]["name"] == "voice-sla-sli"
    )
    good = sli["spec"]["ratioMetric"]["good"]["metricSource"]
    assert good["type"] == "GenesysCloud"
    assert good["spec"] == {
        "metric": "answered_within",
        "threshold_seconds": 30,
        "media_types": ["voice"],
        "exclude_short_abandons": True,
        "segment_map": {"tier": {"VIP*": "vip", "*": "standard"}},
        "counts": "good",
    }
    (slo,) = [s for s in loaded.config.slos if s.id == "voice-sla"]
    imported = import_documents([write(tmp_path, export_config(loaded.config), "o.yaml")])
    (back,) = [s for s in imported.slos if s.id == "voice-sla"]
    assert isinstance(back.indicator, GenesysIndicator) and back.indicator == slo.indicator


def test_custom_burn_factors_are_exported_exactly_and_come_back(tmp_path: Path) -> None:
    """The example's contact-center-30d catalog: 3.6, 2.4, 1.5 and 1 over a month (main
    brought them back as google-30d's 9, 6, 3, 1)."""
    loaded = load_config(ROOT / "examples" / "contact-center.yaml", environ={})
    documents = list(yaml.safe_load_all(export_config(loaded.config)))
    thresholds = [
        d["spec"]["condition"]["threshold"]
        for d in documents
        if d["kind"] == "AlertCondition" and d["metadata"]["name"].startswith("digital-sla-")
    ]
    assert thresholds == pytest.approx([3.6, 2.4, 1.5, 1.0], rel=1e-12)
    imported = import_documents([write(tmp_path, export_config(loaded.config), "o.yaml")])
    (digital,) = [s for s in imported.slos if s.id == "digital-sla"]
    (catalog,) = imported.burn_catalogs
    assert digital.alerting.catalog == catalog.name == "contact-center-30d"
    factors = [c.factor for c in conditions_at(catalog, digital)]
    assert factors == pytest.approx([3.6, 2.4, 1.5, 1.0], rel=1e-12)


def test_edited_thresholds_make_a_catalog_of_their_own(tmp_path: Path) -> None:
    """A threshold changed in the OpenSLO documents is what the import keeps."""
    loaded = load_config(ROOT / "examples" / "contact-center.yaml", environ={})
    documents = list(yaml.safe_load_all(export_config(loaded.config)))
    for document in documents:
        name = document["metadata"]["name"]
        if name == "ivr-completion-page-1h-5m" and document["kind"] == "AlertCondition":
            document["spec"]["condition"]["threshold"] = 4.0
    result = import_documents([write(tmp_path, yaml.safe_dump_all(documents), "o.yaml")])
    (ivr,) = [s for s in result.slos if s.id == "ivr-completion"]
    assert ivr.alerting.catalog == "openslo-ivr-completion"
    catalogs = {c.name: c for c in result.burn_catalogs}
    factors = [c.factor for c in conditions_at(catalogs["openslo-ivr-completion"], ivr)]
    assert factors == pytest.approx([4.0, 2.4, 1.5, 1.0], rel=1e-12)
    (warning,) = result.problems
    assert "no burn catalog has the burn-rate conditions (page 1h > 4" in warning.message


def test_no_notification_targets_are_exported() -> None:
    """errorbudget's receivers (``notifications:``) take their addresses and secrets from
    the environment and route by labels: the export claims no OpenSLO target."""
    loaded = load_config(ROOT / "examples" / "contact-center.yaml", environ={})
    text = export_config(loaded.config)
    documents = list(yaml.safe_load_all(text))
    assert "AlertNotificationTarget" not in {d["kind"] for d in documents}
    assert all(
        "notificationTargets" not in d["spec"] for d in documents if d["kind"] == "AlertPolicy"
    )
    for word in ("Slack", "PagerDuty", "Alertmanager", "webhook"):
        assert word not in text


def test_a_low_target_adapted_condition_is_exported_with_both_factors(tmp_path: Path) -> None:
    """At 85 % (highest burn 6.67, ceiling 6) google-30d's 14.4 over 1h/5m becomes
    burn(5m) > 6 and burn(1h) > 6 × 5/60 = 0.5: both travel, and the import comes back to
    the same catalog."""
    config = tmp_path / "low.yaml"
    config.write_text(
        "version: 1\n"
        "slos:\n"
        "  - id: queue-sla\n"
        "    service: contact-center\n"
        "    indicator: {source: ingest}\n"
        "    target: 0.85\n"
        "    window: {type: rolling, length: 30d}\n"
    )
    loaded = load_config(config, environ={})
    documents = list(yaml.safe_load_all(export_config(loaded.config)))
    page = next(
        d
        for d in documents
        if d["kind"] == "AlertCondition" and d["metadata"]["name"] == "queue-sla-page-1h-5m"
    )
    assert page["spec"]["condition"]["threshold"] == pytest.approx(6.0, rel=1e-12)
    annotations = page["metadata"]["annotations"]
    assert float(annotations["errorbudget.io/short-window-threshold"]) == pytest.approx(6.0)
    assert float(annotations["errorbudget.io/long-window-threshold"]) == pytest.approx(0.5)
    description = page["spec"]["description"]
    assert "above 6 over 5m and above 0.5 over 1h" in description
    assert "catalog factor 14.4 cannot be reached at target 85.00%" in description
    assert "lowered" not in description
    imported = import_documents([write(tmp_path, yaml.safe_dump_all(documents), "o.yaml")])
    (back,) = imported.slos
    assert back.alerting.catalog == "google-30d"
    assert imported.problems == []
