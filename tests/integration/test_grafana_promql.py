"""The dashboard's PromQL, checked by the tools that consume it: every expression passes
``promtool check rules`` (wrapped in a throwaway recording rule: promtool 2.42 has no
standalone expression check), and seed 001's queue queries answer on a real Prometheus with
backfilled history — a queue offered nothing has no compliance value (a gap), never 0 %."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from real_servers import Prometheus, backfill, require_binary, run_tool

from errorbudget.config import load_config
from errorbudget.generate.grafana import dashboard_document
from errorbudget.generate.grafana_panels import QUEUE_DEPTH, SLA_COMPLIANCE, WAIT_P95

pytestmark = pytest.mark.integration

CONFIG = Path(__file__).resolve().parents[1] / "data" / "grafana" / "config.yaml"
VARIABLES = {"$slo": ".*", "$service": ".*"}


def expressions(doc: dict[str, Any]) -> list[str]:
    """Panel and variable PromQL, with the dashboard's variables as Grafana's "All" sends
    them (a regex matching everything)."""
    found = [t["expr"] for p in doc["panels"] for t in p.get("targets", []) if "expr" in t]
    for variable in doc["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.*), *\w+\)", variable["query"])
            assert match, variable["query"]
            found.append(match.group(1))
    substituted = []
    for expr in found:
        for name, value in VARIABLES.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, expr
        substituted.append(expr)
    return substituted


def check_rules(exprs: list[str], tmp_path: Path) -> tuple[int, str]:
    rules = [
        {"record": f"dashboard:query_{index}:check", "expr": e} for index, e in enumerate(exprs)
    ]
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), "utf-8")
    done = run_tool(["promtool", "check", "rules", str(path)])
    return done.returncode, done.stdout + done.stderr


def test_every_expression_passes_promtool(tmp_path: Path) -> None:
    require_binary("promtool")
    exprs = expressions(dashboard_document(load_config(CONFIG)))
    assert len(exprs) >= 20
    code, output = check_rules(exprs, tmp_path)
    assert code == 0, output
    assert f"SUCCESS: {len(exprs)} rules found" in output


def test_promtool_catches_a_broken_expression(tmp_path: Path) -> None:
    require_binary("promtool")
    broken = SLA_COMPLIANCE.replace("sum by (queue_name)", "sum by (queue_name", 1)
    code, output = check_rules([QUEUE_DEPTH, broken], tmp_path)
    assert code != 0 and "parse error" in output


def queue_history(now: int) -> str:
    """An hour of two voice queues, one sample a minute: Busy is offered 10 calls a minute
    (2 breach their SLA, waits under 8 s), Quiet has depth but is offered nothing."""
    start = now - 3600
    lines = [
        "# TYPE genesys_queue_depth gauge",
        "# TYPE genesys_queue_offer counter",
        "# TYPE genesys_queue_sla_breach counter",
        "# TYPE genesys_queue_wait_time_seconds histogram",
    ]
    busy = 'queue_id="q1",queue_name="Busy",media_type="voice"'
    quiet = 'queue_id="q2",queue_name="Quiet",media_type="voice"'
    samples: dict[str, list[str]] = {"depth": [], "offer": [], "breach": [], "wait": []}
    for minute in range(61):
        at = start + minute * 60
        samples["depth"] += [
            f"genesys_queue_depth{{{busy}}} 7 {at}",
            f"genesys_queue_depth{{{quiet}}} 1 {at}",
        ]
        samples["offer"] += [
            f"genesys_queue_offer_total{{{busy}}} {10 * minute} {at}",
            f"genesys_queue_offer_total{{{quiet}}} 0 {at}",
        ]
        samples["breach"].append(
            f'genesys_queue_sla_breach_total{{{busy},sla_target_seconds="30"}} {2 * minute} {at}'
        )
        for le, share in (("1", 0), ("2", 2), ("4", 6), ("8", 10), ("+Inf", 10)):
            samples["wait"].append(
                f'genesys_queue_wait_time_seconds_bucket{{{busy},le="{le}"}} {share * minute} {at}'
            )
        samples["wait"] += [
            f"genesys_queue_wait_time_seconds_count{{{busy}}} {10 * minute} {at}",
            f"genesys_queue_wait_time_seconds_sum{{{busy}}} {40 * minute} {at}",
        ]
    body = [
        lines[0],
        *samples["depth"],
        lines[1],
        *samples["offer"],
        lines[2],
        *samples["breach"],
        lines[3],
        *samples["wait"],
    ]
    return "\n".join(body) + "\n# EOF\n"


def test_queue_queries_on_a_real_prometheus(tmp_path: Path) -> None:
    require_binary("promtool", "prometheus")
    now = int(time.time()) // 60 * 60
    data = tmp_path / "prom"
    backfill(queue_history(now), data, tmp_path)
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s}\n", encoding="utf-8")
    with Prometheus(config, data).start(tmp_path / "prometheus.log") as prometheus:
        depth = prometheus.query(QUEUE_DEPTH, at=now)
        compliance = prometheus.query(SLA_COMPLIANCE, at=now)
        wait = prometheus.query(WAIT_P95, at=now)
    assert {r["metric"]["queue_name"]: float(r["value"][1]) for r in depth} == {
        "Busy": 7.0,
        "Quiet": 1.0,
    }
    # 2 of 10 offers breached: 80 %; Quiet was offered nothing: no value at all, not 0 %
    assert {r["metric"]["queue_name"]: float(r["value"][1]) for r in compliance} == {
        "Busy": pytest.approx(0.8)
    }
    (busy,) = wait
    assert busy["metric"]["queue_name"] == "Busy"
    assert 4.0 < float(busy["value"][1]) <= 8.0  # the p95 falls in the (4, 8] bucket
