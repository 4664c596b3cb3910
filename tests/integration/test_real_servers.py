"""The real-server harness itself: history backfilled with promtool and imported into
VictoriaMetrics is read back exactly, and vmalert records a rule into VictoriaMetrics."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from real_servers import Prometheus, VictoriaMetrics, VMAlert, backfill

pytestmark = pytest.mark.integration

HOUR = 3600


def history(now: int) -> tuple[str, str]:
    """Two hours of a counter growing 60 an hour, one sample a minute (OpenMetrics with
    seconds, Prometheus text with milliseconds)."""
    start = now - 2 * HOUR
    om = ["# TYPE harness_events counter"]
    text = []
    for minute in range(121):
        at = start + minute * 60
        om.append(f'harness_events_total{{slo="x"}} {minute} {at}')
        text.append(f'harness_events_total{{slo="x"}} {minute} {at * 1000}')
    return "\n".join(om) + "\n# EOF\n", "\n".join(text) + "\n"


def test_prometheus_reads_backfilled_history(tmp_path: Path) -> None:
    now = int(time.time()) // 60 * 60
    om, _ = history(now)
    data = tmp_path / "prom"
    backfill(om, data, tmp_path)
    config = tmp_path / "prometheus.yml"
    config.write_text("global: {scrape_interval: 1s}\n", encoding="utf-8")
    with Prometheus(config, data).start(tmp_path / "prometheus.log") as prometheus:
        value = prometheus.value('increase(harness_events_total{slo="x"}[1h])', at=now)
    assert value == pytest.approx(60.0)


def test_vmalert_records_into_victoria_metrics(tmp_path: Path) -> None:
    now = int(time.time()) // 60 * 60
    _, text = history(now)
    rules = tmp_path / "rules.yml"
    rules.write_text(
        "groups:\n- name: harness\n  rules:\n  - record: harness:events:count\n"
        "    expr: count(harness_events_total)\n",
        encoding="utf-8",
    )
    with VictoriaMetrics(tmp_path / "vm").start(tmp_path / "vm.log") as vm:
        vm.import_prometheus(text)
        assert vm.value('harness_events_total{slo="x"}', at=now) == 120.0
        with VMAlert([rules], vm.url).start(tmp_path / "vmalert.log"):
            recorded = vm.wait_for("harness:events:count", timeout=60)
    assert float(recorded[0]["value"][1]) == 1.0
