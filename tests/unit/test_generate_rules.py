"""The rule generator's pure parts (errorbudget.generate): the factors in the rules are the
built-in alerting's for the same config (85 % included), tiers, windows, SLI inputs, segment
overrides, and the Alertmanager config."""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
import yaml

from errorbudget.catalogs import builtin_burn_catalogs
from errorbudget.engine.alerts import slo_conditions
from errorbudget.errors import NotFoundError
from errorbudget.generate import yaml_text
from errorbudget.generate.alertmanager import UNROUTED, alertmanager_config
from errorbudget.generate.prometheus_rules import prometheus_rules, render
from errorbudget.generate.rule_groups import period_name, windows_needed
from errorbudget.generate.sli_queries import number, segment_regex
from errorbudget.model import BURN_WINDOWS, SLO, segment_key, segment_label
from errorbudget.notification_settings import NotificationSettings

CATALOGS = builtin_burn_catalogs()


def slo(**fields: Any) -> SLO:
    base: dict[str, Any] = {
        "id": "api",
        "service": "platform",
        "target": 0.999,
        "window": {"type": "rolling", "length": "30d"},
    }
    return SLO.model_validate({**base, **fields})


def groups_of(*slos: SLO, **options: Any) -> dict[str, list[dict[str, Any]]]:
    document = prometheus_rules(list(slos), CATALOGS, **options)
    return {group["name"]: group["rules"] for group in document["groups"]}


def burns(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [rule for rule in rules if rule.get("alert") == "ErrorBudgetBurn"]


FACTOR = re.compile(r"ratio_rate(\w+)\{[^}]*\} / ([0-9.e-]+)\) > ([0-9.e-]+)")


def factors(rule: dict[str, Any]) -> list[tuple[str, float, float]]:
    """(window, error budget, factor) of each burn comparison in a rule."""
    return [(w, float(b), float(f)) for w, b, f in FACTOR.findall(rule["expr"])]


@pytest.mark.parametrize(
    ("target", "window"),
    [
        (0.999, {"type": "rolling", "length": "30d"}),
        (0.85, {"type": "calendar", "unit": "month"}),
        (0.95, {"type": "rolling", "length": "28d"}),
        (0.5, {"type": "rolling", "length": "7d"}),
    ],
)
def test_the_factors_are_the_built_in_alertings(target: float, window: dict[str, str]) -> None:
    the_slo = slo(target=target, window=window)
    conditions = slo_conditions(CATALOGS["google-30d"], the_slo)
    rules = burns(groups_of(the_slo)["errorbudget-alerts-api"])
    assert len(rules) == len(conditions) == 4
    budget = float(1 - Fraction(str(target)))
    for rule, condition in zip(rules, conditions, strict=True):
        assert rule["labels"]["long_window"] == condition.long_name
        assert rule["labels"]["short_window"] == condition.short_name
        assert rule["labels"]["severity"] == condition.severity
        assert factors(rule) == [
            (condition.long_name, budget, condition.long_factor),
            (condition.short_name, budget, condition.factor),
        ]


def test_at_85_percent_the_pages_are_adapted() -> None:
    """1h/5m: 14.4 cannot be reached (highest burn 6.67): short > 6, long > 6 × 5/60."""
    rules = burns(groups_of(slo(target=0.85))["errorbudget-alerts-api"])
    page = factors(rules[0])
    assert page == [("1h", 0.15, 0.5), ("5m", 0.15, 6.0)]
    assert "0.5× (1h) and 6× (5m)" in rules[0]["annotations"]["description"]


def test_tiers_switch_off_change_severity_and_hold() -> None:
    alerting = {
        "tiers": {
            "page-1h-5m": {"for": "2m", "keep": "10m"},
            "page-6h-30m": {"severity": "ticket"},
            "ticket-3d-6h": {"enabled": False},
        }
    }
    rules = burns(groups_of(slo(alerting=alerting))["errorbudget-alerts-api"])
    assert [(r["labels"]["severity"], r["labels"]["long_window"]) for r in rules] == [
        ("page", "1h"),
        ("ticket", "6h"),
        ("ticket", "1d"),
    ]
    assert rules[0]["for"] == "2m"
    assert rules[0]["keep_firing_for"] == "10m"
    assert "for" not in rules[1]
    vmalert = burns(groups_of(slo(alerting=alerting), target="vmalert")["errorbudget-alerts-api"])
    assert "keep_firing_for" not in vmalert[0]
    assert vmalert[0]["for"] == "2m"


def test_the_low_traffic_guard_reads_the_long_window() -> None:
    rules = groups_of(slo(alerting={"min_events": 50, "min_bad_events": 5}))
    page = burns(rules["errorbudget-alerts-api"])[0]["expr"]
    assert 'slo:sli_events:increase1h{slo="api"} >= 50' in page
    assert 'slo:sli_bad_events:increase1h{slo="api"} >= 5' in page
    recorded = {r["record"] for r in rules["errorbudget-sli-api"]}
    assert {"slo:sli_events:increase3d", "slo:sli_bad_events:increase3d"} <= recorded
    unguarded = groups_of(slo(alerting={"min_events": 0, "min_bad_events": 0}))
    assert "increase1h" not in burns(unguarded["errorbudget-alerts-api"])[0]["expr"]
    assert not any("events" in r["record"] for r in unguarded["errorbudget-sli-api"])


def test_a_timeslice_guard_is_capped_as_the_built_in_alertings() -> None:
    """Timeslice counters count slices, and the built-in guard is then at most half the
    slices a long window holds (``engine.evaluator.condition_holds``): 5-minute slices put
    12 in 1h, so the page needs 6, not 20 it could never reach."""
    sliced = slo(budgeting="timeslices", timeslice={"length": "5m", "target": 0.99})
    pages = burns(groups_of(sliced)["errorbudget-alerts-api"])
    guard = re.compile(r"slo:sli_events:increase(\w+)\{[^}]*\} >= ([0-9.e]+)")
    found = {rule["labels"]["long_window"]: guard.findall(rule["expr"]) for rule in pages}
    assert found == {
        "1h": [("1h", "6")],
        "6h": [("6h", "20")],
        "1d": [("1d", "20")],
        "3d": [("3d", "20")],
    }


def test_recordings_per_window_and_for_the_period() -> None:
    rules = groups_of(slo(window={"type": "calendar", "unit": "month"}))
    recorded = [r["record"] for r in rules["errorbudget-sli-api"]]
    ratios = [name for name in recorded if name.startswith("slo:sli_error:ratio_rate")]
    assert ratios == [f"slo:sli_error:ratio_rate{w}" for w in (*BURN_WINDOWS, "30d")]
    period = next(r for r in rules["errorbudget-sli-api"] if r["record"].endswith("rate30d"))
    # a ratio of sums over the period, never an average of ratios
    assert 'increase(errorbudget_slo_bad_events_total{slo="api"}[30d])' in period["expr"]
    assert "avg" not in period["expr"] and "_over_time" not in period["expr"]
    meta = {r["record"]: r for r in rules["errorbudget-meta-api"]}
    assert meta["slo:objective:ratio"]["expr"] == "vector(0.999)"
    assert meta["slo:error_budget:ratio"]["expr"] == "vector(0.001)"
    assert (
        meta["slo:current_burn_rate:ratio"]["expr"]
        == 'slo:sli_error:ratio_rate5m{slo="api"} / 0.001'
    )
    assert meta["slo:period_error_budget_remaining:ratio"]["expr"] == (
        '1 - (slo:sli_error:ratio_rate30d{slo="api"} / 0.001)'
    )
    assert meta["slo:info"]["labels"]["window"] == "30d"


def test_a_catalog_window_outside_the_status_windows_is_recorded() -> None:
    catalog = CATALOGS["google-30d"].model_copy(
        update={
            "name": "custom",
            "conditions": [
                CATALOGS["google-30d"]
                .conditions[0]
                .model_copy(update={"long_window": timedelta(hours=4)})
            ],
        }
    )
    the_slo = slo(alerting={"catalog": "custom"})
    conditions = slo_conditions(catalog, the_slo)
    assert "4h" in windows_needed(conditions)
    document = prometheus_rules([the_slo], {**CATALOGS, "custom": catalog})
    recorded = [r.get("record") for g in document["groups"] for r in g["rules"]]
    assert "slo:sli_error:ratio_rate4h" in recorded


def test_period_names() -> None:
    assert period_name(slo(window={"type": "rolling", "length": "28d"})) == "28d"
    assert period_name(slo(window={"type": "calendar", "unit": "week"})) == "7d"
    assert period_name(slo(window={"type": "calendar", "unit": "quarter"})) == "91d"


def test_a_prometheus_source_slo_reads_its_queries() -> None:
    indicator = {
        "source": "prometheus",
        "good_query": 'sum by (route) (rate(req_total{code!~"5.."}[{{.window}}]))',
        "total_query": "sum by (route) (rate(req_total[{{ .window }}]))",
    }
    rules = groups_of(slo(indicator=indicator))
    sli = {r["record"]: r for r in rules["errorbudget-sli-api"]}
    five = sli["slo:sli_error:ratio_rate5m"]
    assert five["expr"] == (
        '1 - (\n(sum by (route) (rate(req_total{code!~"5.."}[5m])))\n/\n'
        "(sum by (route) (rate(req_total[5m])))\n)"
    )
    assert five["labels"] == {"slo": "api", "service": "platform"}
    assert "[30d]" in sli["slo:sli_error:ratio_rate30d"]["expr"]
    # a query's scale is unknown (a rate, an increase): no event-count guard
    assert not any("events" in name for name in sli)
    absent = next(r for r in rules["errorbudget-alerts-api"] if r["alert"] == "SLOMetricAbsent")
    assert absent["expr"].startswith("absent(sum by (route) (rate(req_total[15m])))")


def test_segment_overrides_select_their_segments() -> None:
    segments = {
        "keys": ["queue", "tier"],
        "overrides": [{"match": {"tier": "vip"}, "target": 0.99}],
    }
    rules = groups_of(slo(target=0.95, segments=segments))
    page = burns(rules["errorbudget-alerts-api"])[0]["expr"]
    vip, rest = page.split("\nor\n")
    assert "/ 0.01) > " in vip and 'segment=~"' in vip
    assert "/ 0.05) > " in rest and 'segment!~"' in rest
    pattern = segment_regex({"tier": "vip"})
    for labels, matched in (
        ({"queue": "billing", "tier": "vip"}, True),
        ({"queue": "billing", "tier": "vipx"}, False),
        ({"queue": "tier=vip", "tier": "std"}, False),
        ({"tier": "vip"}, True),
    ):
        label = segment_label(segment_key(labels))
        assert bool(re.fullmatch(pattern, label)) is matched, label


def test_overrides_of_several_labels_on_a_query_use_unless() -> None:
    indicator = {
        "source": "prometheus",
        "bad_query": "sum by (a, b) (increase(x[{{.window}}]))",
        "total_query": "sum by (a, b) (increase(y[{{.window}}]))",
    }
    segments = {
        "keys": ["a", "b"],
        "overrides": [
            {"match": {"a": "1", "b": "2"}, "target": 0.99},
            {"match": {"a": "3"}, "target": 0.9},
        ],
    }
    rules = groups_of(slo(indicator=indicator, target=0.95, segments=segments))
    first, second, rest = burns(rules["errorbudget-alerts-api"])[0]["expr"].split("\nor\n")
    assert 'a="1", b="2"' in first and "unless" not in first
    assert (
        'a="3"' in second
        and 'unless\nslo:sli_error:ratio_rate30d{slo="api", a="1", b="2"}' in second
    )
    assert 'a!="3"' in rest and "unless" in rest


def test_a_timeslice_slo_is_quiet_only_when_no_slice_closed() -> None:
    """Timeslice counters move only when a slice closes: with 30-minute slices the
    counters are flat for 29 minutes of 30, so "no events in the last 15m" must look back
    over a whole slice more, or SLOMetricAbsent fires half the time on steady traffic."""
    sliced = slo(budgeting="timeslices", timeslice={"length": "30m"})
    alerts = groups_of(sliced)["errorbudget-alerts-api"]
    [absent] = [r for r in alerts if r["alert"] == "SLOMetricAbsent"]
    assert 'absent_over_time(errorbudget_slo_good_events_total{slo="api"}[15m])' in absent["expr"]
    windows = re.findall(r"increase\(errorbudget_slo_\w+\{[^}]*\}\[(\w+)\]\)", absent["expr"])
    assert windows == ["45m", "45m"]
    assert "for 15m" in absent["annotations"]["description"]


def test_no_data_alert_follows_the_settings_and_the_schedule() -> None:
    def absent(**fields: Any) -> dict[str, Any] | None:
        alerts = groups_of(slo(**fields)).get("errorbudget-alerts-api", [])
        return next((r for r in alerts if r["alert"] == "SLOMetricAbsent"), None)

    plain = absent(alerting={"no_data": {"after": "30m", "severity": "page"}})
    assert plain is not None
    assert plain["labels"] == {"severity": "page", "slo": "api", "service": "platform"}
    assert 'absent_over_time(errorbudget_slo_good_events_total{slo="api"}[30m])' in plain["expr"]
    assert ") == 0" in plain["expr"]  # no events at all is also no data
    assert absent(alerting={"no_data": None}) is None
    scheduled = absent(schedule={"timezone": "UTC", "hours": {"mon-fri": ["09:00-17:00"]}})
    assert scheduled is not None and "== 0" not in scheduled["expr"]  # quiet hours expected
    assert "errorbudget-alerts-api" not in groups_of(slo(alerting={"enabled": False}))


def test_budget_alerts() -> None:
    rules = groups_of(slo(alerting={"budget": {"floor": {"below": 0.25, "severity": "ticket"}}}))
    alerts = {r["alert"]: r for r in rules["errorbudget-alerts-api"]}
    low = alerts["ErrorBudgetLow"]
    assert low["expr"] == 'slo:period_error_budget_remaining:ratio{slo="api"} < 0.25'
    assert low["labels"]["severity"] == "ticket"
    assert alerts["ErrorBudgetExhausted"]["expr"].endswith("<= 0")
    assert "ErrorBudgetLow" not in {
        r["alert"]
        for r in groups_of(slo(alerting={"budget": {"floor": None}}))["errorbudget-alerts-api"]
    }


def test_annotations_link_the_runbook_and_dashboard() -> None:
    the_slo = slo(runbook_url="https://runbooks.example.com/api")
    rules = groups_of(the_slo, dashboard_url="https://eb.example.com/")
    page = burns(rules["errorbudget-alerts-api"])[0]["annotations"]
    assert page["runbook_url"] == "https://runbooks.example.com/api"
    assert page["dashboard_url"] == "https://eb.example.com/slos/api"


def test_only_and_unknown_names() -> None:
    one, two = slo(), slo(id="other")
    document = prometheus_rules([one, two], CATALOGS, only=["other"])
    assert {g["name"] for g in document["groups"]} == {
        "errorbudget-sli-other",
        "errorbudget-meta-other",
        "errorbudget-alerts-other",
    }
    with pytest.raises(NotFoundError, match="'nope'"):
        prometheus_rules([one], CATALOGS, only=["nope"])
    with pytest.raises(NotFoundError, match="no burn catalog 'missing'"):
        prometheus_rules([slo(alerting={"catalog": "missing"})], CATALOGS)


def test_diagnostics_never_page() -> None:
    document = prometheus_rules([], CATALOGS, diagnostics=True)
    (group,) = document["groups"]
    assert [r["alert"] for r in group["rules"]] == ["QueueDepthCritical", "WaitTimeDegradation"]
    assert {r["labels"]["severity"] for r in group["rules"]} == {"warning"}
    assert [r["for"] for r in group["rules"]] == ["5m", "10m"]
    assert "sum by (queue_id, queue_name, media_type, le)" in group["rules"][1]["expr"]
    assert prometheus_rules([], CATALOGS) == {"groups": []}


def test_render_writes_literal_blocks_and_no_anchors() -> None:
    text = render(prometheus_rules([slo()], CATALOGS), "Generated.\n\nLine.")
    assert text.startswith("# Generated.\n#\n# Line.\ngroups:\n")
    assert "expr: |-\n" in text and "&id" not in text


def test_numbers() -> None:
    assert number(Fraction(1, 1000)) == "0.001"
    assert number(14.4) == "14.4"
    assert number(6) == "6"
    assert number(Fraction(1, 3)) == "0.3333333333333333"


# --- Alertmanager ------------------------------------------------------------------------


def test_alertmanager_defaults_page_to_pagerduty_and_tickets_to_slack() -> None:
    config = alertmanager_config(None)
    route = config["route"]
    assert route["group_by"] == ["slo", "service"]
    assert route["receiver"] == UNROUTED
    assert [(r["receiver"], r["matchers"]) for r in route["routes"]] == [
        ("pagerduty", ['severity="page"']),
        ("slack", ['severity=~"ticket|notice|warning"']),
    ]
    (inhibit,) = config["inhibit_rules"]
    assert inhibit["equal"] == ["slo", "service"]
    assert inhibit["source_matchers"] == ['severity="page"']
    receivers = {r["name"]: r for r in config["receivers"]}
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"] == (
        "/etc/alertmanager/secrets/PAGERDUTY_ROUTING_KEY"
    )
    assert receivers["slack"]["slack_configs"][0]["api_url_file"].endswith("/SLACK_WEBHOOK_URL")


def test_alertmanager_translates_configured_routes_without_secrets() -> None:
    settings = NotificationSettings.model_validate(
        {
            "receivers": [
                {
                    "name": "pd",
                    "type": "pagerduty",
                    "url": "https://pd.example.com/enqueue",
                    "routing_key_env": "PD_KEY",
                },
                {"name": "chat", "type": "slack", "url_env": "CHAT_URL"},
                {
                    "name": "hook",
                    "type": "webhook",
                    "url": "https://hook.example.com/x",
                    "secret_env": "HOOK_SECRET",
                },
                {"name": "am", "type": "alertmanager", "url": "http://127.0.0.1:9093"},
            ],
            "routes": [
                {"match": {"severity": "page"}, "receivers": ["pd", "am"], "continue": True},
                {"match": {"service": 'a"b'}, "receivers": ["chat", "hook"]},
                {"receivers": ["chat"]},
            ],
        }
    )
    config = alertmanager_config(settings, secrets_dir="/run/secrets/")
    routes = config["route"]["routes"]
    assert routes == [
        {"receiver": "pd", "matchers": ['severity="page"'], "continue": True},
        {"receiver": "chat", "matchers": ['service="a\\"b"'], "continue": True},
        {"receiver": "hook", "matchers": ['service="a\\"b"']},
        {"receiver": "chat"},
    ]
    names = [r["name"] for r in config["receivers"]]
    assert names == [UNROUTED, "pd", "chat", "hook"]  # the alertmanager receiver is this one
    text = render(config)
    assert "/run/secrets/PD_KEY" in text and "/run/secrets/CHAT_URL" in text
    assert "HOOK_SECRET" not in text  # Alertmanager cannot sign: no secret is written


def test_yaml_text_reads_back_as_the_data() -> None:
    document = {
        "plain": ["page", "5m", "1d12h", "0.999", "true", "No", "", "a: b", " lead", "#x"],
        "quoted": ["it's", "{{ $value }}", "x > 1 #c", "a:", "- b", "2026-01-01", "=", "null"],
        "expr": 'sum by (a) (rate(x{b="c"}[5m])) > 0.5',
        "block": "line one\n  indented\n\nlast",
        "not block": "trailing \nspace",
        "tabbed": "a\n\tb",
        "ends with newline": "a\nb\n",
        "numbers": [1, 0.5, True, None],
        "empty": {"map": {}, "list": []},
        "nested": [{"a": {"b": ["c", {"d": "e"}]}, "f": "g"}, "h"],
        "unicode": "burning at 2× — “quoted”",
    }
    text = yaml_text.dump(document)
    assert yaml.safe_load(text) == document
    assert 'expr: sum by (a) (rate(x{b="c"}[5m])) > 0.5\n' in text  # plain
    assert "block: |-\n  line one\n    indented\n\n  last\n" in text
    assert "- '0.999'\n" in text and "- 'true'\n" in text and "- 5m\n" in text
