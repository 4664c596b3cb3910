"""The generated rules and Alertmanager config, checked by the tools that consume them:
``promtool check rules``, ``vmalert -dryRun``, ``amtool check-config``, and ``promtool test
rules`` scenarios written from errorbudget's own counters (the plan's
``errorbudget_slo_good_events_total`` / ``errorbudget_slo_bad_events_total``):

- a total outage pages (99.9 % and, through the low-target adaptation, 85 %);
- a steady 2× burn raises only the slow ticket (3d/6h), never a page;
- no traffic (flat counters, or none at all) fires only ``SLOMetricAbsent``;
- one bad event on a quiet SLO never pages (the low-traffic guard);
- a quiet stretch leaves the period's error ratio defined by the rest of the period.

The scenarios run on the rules with their annotations removed: promtool compares an alert's
annotations in full, and the summary renders ``$value`` (the burn at that instant, with
Prometheus's extrapolation); the annotations are checked by ``promtool check rules`` and
the golden files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from generate_inputs import GOLDEN, representative
from real_servers import require_binary, run_tool

from errorbudget.generate.alertmanager import alertmanager_config
from errorbudget.generate.prometheus_rules import prometheus_rules, render

pytestmark = pytest.mark.integration

API = {"slo": "api-availability", "service": "genesys-platform"}
VOICE = {"slo": "voice-sla", "service": "contact-center"}
IVR = {"slo": "ivr-completion", "service": "contact-center"}
SCENARIO_SLOS = ("api-availability", "voice-sla", "ivr-completion")


def rules_file(tmp_path: Path, target: str = "prometheus", **options: Any) -> Path:
    loaded = representative()
    document = prometheus_rules(
        loaded.config.slos,
        loaded.catalogs,
        target="vmalert" if target == "vmalert" else "prometheus",
        dashboard_url="https://errorbudget.example.com",
        **options,
    )
    path = tmp_path / f"rules-{target}.yaml"
    path.write_text(render(document), encoding="utf-8")
    return path


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    require_binary("promtool")
    path = rules_file(tmp_path, diagnostics=True)
    done = run_tool(["promtool", "check", "rules", str(path)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_vmalert_accepts_the_vmalert_rules(tmp_path: Path) -> None:
    require_binary("vmalert")
    path = rules_file(tmp_path, "vmalert", diagnostics=True)
    done = run_tool(["vmalert", "-dryRun", f"-rule={path}"])
    assert done.returncode == 0, done.stdout + done.stderr


def test_vmalert_refuses_the_prometheus_rules_with_keep(tmp_path: Path) -> None:
    """Why the targets differ: vmalert 1.79 has no keep_firing_for (ivr-completion keeps
    its 1h/5m page for 10m)."""
    require_binary("vmalert")
    path = rules_file(tmp_path)
    assert "keep_firing_for: 10m" in path.read_text(encoding="utf-8")
    done = run_tool(["vmalert", "-dryRun", f"-rule={path}"])
    assert done.returncode != 0
    assert "keep_firing_for" in done.stdout + done.stderr


def test_amtool_accepts_the_alertmanager_config(tmp_path: Path) -> None:
    require_binary("amtool")
    for name, notifications in (
        ("configured", representative().config.notifications),
        ("default", None),
    ):
        path = tmp_path / f"alertmanager-{name}.yaml"
        path.write_text(render(alertmanager_config(notifications)), encoding="utf-8")
        done = run_tool(["amtool", "check-config", str(path)])
        assert done.returncode == 0, done.stdout + done.stderr
        assert "1 inhibit rules" in done.stdout


# --- promtool test rules ------------------------------------------------------------------


def counters(labels: dict[str, str], good: str, bad: str) -> list[dict[str, str]]:
    """Input series of one one-series SLO, with an empty ``segment`` (Prometheus drops
    it; the exporter writes ``(all)``, which the rules keep as they keep any segment)."""
    selector = ",".join(f'{k}="{v}"' for k, v in {**labels, "segment": ""}.items())
    return [
        {"series": f"errorbudget_slo_good_events_total{{{selector}}}", "values": good},
        {"series": f"errorbudget_slo_bad_events_total{{{selector}}}", "values": bad},
    ]


def burn(labels: dict[str, str], severity: str, long: str, short: str) -> dict[str, Any]:
    return {
        "exp_labels": {**labels, "severity": severity, "long_window": long, "short_window": short}
    }


def alerts_at(at: str, alertname: str, expected: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": alertname, "exp_alerts": expected}


def scenario_rules(tmp_path: Path) -> Path:
    """The scenario SLOs' rules without annotations (module docstring)."""
    document = yaml.safe_load(rules_file(tmp_path, only=SCENARIO_SLOS).read_text("utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    path = tmp_path / "scenario-rules.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


OUTAGE = {
    "name": "a total outage pages, at 99.9 % and at 85 % (low-target adaptation)",
    "interval": "1m",
    "input_series": counters(API, "0x30", "0+100x30") + counters(VOICE, "0x30", "0+100x30"),
    "alert_rule_test": [
        alerts_at(
            "10m",
            "ErrorBudgetBurn",
            [
                burn(labels, severity, long, short)
                for labels in (API, VOICE)
                for severity, long, short in (
                    ("page", "1h", "5m"),
                    ("page", "6h", "30m"),
                    ("ticket", "1d", "2h"),
                    ("ticket", "3d", "6h"),
                )
            ],
        ),
    ],
}

STEADY_2X = {
    "name": "a steady 2x burn raises the slow ticket only, never a page",
    "interval": "1m",
    # 99.9 %: 2 bad of 1,000 a minute; 85 %: 30 bad of 100 (burn 2 at both targets)
    "input_series": counters(API, "0+998x480", "0+2x480") + counters(VOICE, "0+70x480", "0+30x480"),
    "alert_rule_test": [
        alerts_at(
            at,
            "ErrorBudgetBurn",
            [burn(API, "ticket", "3d", "6h"), burn(VOICE, "ticket", "3d", "6h")],
        )
        for at in ("10m", "2h", "7h")
    ]
    + [alerts_at("7h", "SLOMetricAbsent", [{"exp_labels": {**IVR, "severity": "page"}}])],
}

NO_TRAFFIC = {
    "name": "no traffic fires SLOMetricAbsent only",
    "interval": "1m",
    # api-availability: counters present but flat; voice-sla and ivr-completion: no series
    "input_series": counters(API, "0x40", "0x40"),
    "alert_rule_test": [
        alerts_at(
            "20m",
            "SLOMetricAbsent",
            [
                {"exp_labels": {**API, "severity": "ticket"}},
                {"exp_labels": {**VOICE, "severity": "ticket"}},
                {"exp_labels": {**IVR, "severity": "page"}},
            ],
        ),
        *(
            alerts_at("20m", name, [])
            for name in ("ErrorBudgetBurn", "ErrorBudgetLow", "ErrorBudgetExhausted")
        ),
    ],
}

ONE_BAD_EVENT = {
    "name": "one bad event on a quiet SLO never pages (min_bad_events)",
    "interval": "1m",
    # 10 calls a minute, one failed: burn 32 in both windows at 3m, but 1 bad event < 2
    "input_series": counters(API, "0+10x20", "0 1x20"),
    "alert_rule_test": [alerts_at(at, "ErrorBudgetBurn", []) for at in ("3m", "5m", "10m")],
}

QUIET_PERIOD = {
    "name": "a quiet stretch keeps the period ratio of the events before it",
    "interval": "1m",
    # an hour at 1 % bad, then three quiet hours
    "input_series": counters(API, "0+99x60 5940x180", "0+1x60 60x180"),
    "promql_expr_test": [
        {
            "eval_time": "4h",
            "expr": 'slo:sli_error:ratio_rate30d{slo="api-availability"} > 0.0099 < 0.0101',
            "exp_samples": [
                {
                    "labels": 'slo:sli_error:ratio_rate30d{slo="api-availability",'
                    'service="genesys-platform"}',
                    "value": 0.01,
                }
            ],
        },
        {
            "eval_time": "4h",
            "expr": 'slo:period_error_budget_remaining:ratio{slo="api-availability"} < -8.9 > -9.1',
            "exp_samples": [
                {
                    "labels": 'slo:period_error_budget_remaining:ratio{slo="api-availability",'
                    'service="genesys-platform"}',
                    "value": -9,
                }
            ],
        },
        {
            # the 5m window has no events: no ratio (NaN), not zero
            "eval_time": "4h",
            "expr": 'slo:sli_error:ratio_rate5m{slo="api-availability"} >= 0',
            "exp_samples": [],
        },
    ],
}


@pytest.mark.parametrize(
    "scenario",
    [OUTAGE, STEADY_2X, NO_TRAFFIC, ONE_BAD_EVENT, QUIET_PERIOD],
    ids=["outage", "steady-2x", "no-traffic", "one-bad-event", "quiet-period"],
)
def test_promtool_scenario(tmp_path: Path, scenario: dict[str, Any]) -> None:
    require_binary("promtool")
    rules = scenario_rules(tmp_path)
    tests = tmp_path / "tests.yaml"
    document = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [scenario]}
    tests.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    done = run_tool(["promtool", "test", "rules", str(tests)])
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_scenario_fails_when_its_expectation_is_wrong(tmp_path: Path) -> None:
    """The scenarios can fail: a page expected from a steady 2x burn is not there."""
    require_binary("promtool")
    rules = scenario_rules(tmp_path)
    wrong = {
        **STEADY_2X,
        "alert_rule_test": [
            alerts_at(
                "2h",
                "ErrorBudgetBurn",
                [burn(API, "page", "1h", "5m"), burn(API, "ticket", "3d", "6h")],
            )
        ],
    }
    tests = tmp_path / "tests.yaml"
    document = {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": [wrong]}
    tests.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    done = run_tool(["promtool", "test", "rules", str(tests)])
    assert done.returncode != 0


def test_the_golden_files_pass_their_tools() -> None:
    require_binary("promtool", "vmalert", "amtool")
    checks = [
        ["promtool", "check", "rules", str(GOLDEN / "rules-prometheus.yaml")],
        ["vmalert", "-dryRun", f"-rule={GOLDEN / 'rules-vmalert.yaml'}"],
        ["amtool", "check-config", str(GOLDEN / "alertmanager.yaml")],
    ]
    for args in checks:
        done = run_tool(args)
        assert done.returncode == 0, done.stdout + done.stderr
