"""The issue #11 benchmark: a 30-day backfill of one SLO from a real Prometheus.

30 days of two counters (good and total events, one series each) scraped every 15 s are
written as OpenMetrics, turned into TSDB blocks (``promtool tsdb create-blocks-from
openmetrics``, not timed) and served by ``prometheus`` on a free loopback port; then
``errorbudget collect --source prometheus --from -30d --format json`` runs as a user runs
it — a new process, wall clock — into a fresh store, with the default chunking (one day
per ``query_range``) and with chunks of ``max_points`` = 11,000 minutes only. Figures:
seconds, queries, chunks, points, rows written; and the load average around the run.

Run by ``benchmarks/run.py`` (``make bench``), or alone::

    python benchmarks/bench_promql.py              # prints the figures as JSON
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

HEADING = "## Issue #11 — PromQL source"
DAYS = 30
SCRAPE = 15  # seconds


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def history(start: int, minutes: int) -> str:
    """OpenMetrics: counters growing ~80 events a minute, 0.5 % bad, a sample every 15 s."""
    lines = []
    for name, share in (("bench_good", 0.995), ("bench_calls", 1.0)):
        lines.append(f"# TYPE {name} counter")
        value = 0.0
        for k in range(minutes * 60 // SCRAPE + 1):
            lines.append(f'{name}_total{{job="bench"}} {int(value)} {start * 60 + SCRAPE * k + 7}')
            value += 20 * share
    return "\n".join(lines) + "\n# EOF\n"


CONFIG = """\
store: {{path: {store}}}
services: [{{id: bench}}]
sources:
  prometheus:
    url: {url}
    collect_deadline: 30m
    max_query_span: {span}
slos:
  - id: calls
    service: bench
    target: 0.99
    window: {{type: rolling, length: 30d}}
    indicator:
      source: prometheus
      good_query: sum(increase(bench_good_total{{job="bench"}}[{{{{.window}}}}]))
      total_query: sum(increase(bench_calls_total{{job="bench"}}[{{{{.window}}}}]))
"""


def backfill_seconds(span: str, workdir: Path, url: str, start: int) -> dict[str, object]:
    """One ``collect --from --to`` in a new process, into a fresh store."""
    store = workdir / f"bench-{span}.db"
    config = workdir / f"errorbudget-{span}.yaml"
    config.write_text(CONFIG.format(store=store, url=url, span=span), encoding="utf-8")
    begin = datetime.fromtimestamp(start * 60, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")
    end = datetime.fromtimestamp((start + DAYS * 1440) * 60, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")
    command = [sys.executable, "-m", "errorbudget", "collect", "-c", str(config)]
    command += ["--source", "prometheus", "--from", begin, "--to", end, "--format", "json"]
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(done.stdout + done.stderr)
    report = json.loads(done.stdout)
    return {
        "max_query_span": span,
        "seconds": round(seconds, 2),
        "collector_seconds": report["seconds"],
        "queries": report["queries"],
        "chunks": report["chunks"],
        "points": report["points"],
        "rows_written": report["rows_written"],
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def measure() -> dict[str, object]:
    for binary in ("prometheus", "promtool"):
        if shutil.which(binary) is None:
            raise RuntimeError(f"{binary} is not installed (apt-get install prometheus)")
    end = int(time.time()) // 60 - 5
    start = end - DAYS * 1440 - 60
    with tempfile.TemporaryDirectory(prefix="eb-bench-promql-") as tmp:
        workdir = Path(tmp)
        source = workdir / "history.om"
        source.write_text(history(start, DAYS * 1440 + 60), encoding="utf-8")
        data = workdir / "prom"
        subprocess.run(
            ["promtool", "tsdb", "create-blocks-from", "openmetrics", str(source), str(data)],
            check=True, capture_output=True, timeout=900,
        )  # fmt: skip
        (workdir / "prometheus.yml").write_text("global: {scrape_interval: 15s}\n")
        port = _free_port()
        server = subprocess.Popen(
            [
                "prometheus", f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=400d", "--log.level=warn",
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            runs = [backfill_seconds(span, workdir, url, start) for span in ("1d", "30d")]
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {"days": DAYS, "scrape_seconds": SCRAPE, "samples": 2 * (DAYS * 1440 + 60) * 4,
            "runs": runs}  # fmt: skip


def run_section() -> str:
    figures = measure()
    rows = "\n".join(
        f"| `{r['max_query_span']}` | {r['chunks']} | {r['queries']} | {r['points']:,} | "
        f"{r['rows_written']:,} | {r['seconds']:.2f} s | {r['collector_seconds']:.2f} s | "
        f"{r['load_before']} → {r['load_after']} |"
        for r in figures["runs"]  # type: ignore[attr-defined]
    )
    return f"""{HEADING}

`benchmarks/bench_promql.py`: one SLO (good and total counters, one series each, scraped
every {SCRAPE} s: {figures["samples"]:,} samples over {DAYS} days, backfilled into a real
Prometheus with promtool), then `errorbudget collect --source prometheus --from --to` over
the {DAYS} days in a new process into a fresh store, wall clock. `max_query_span` 1d is the
default (one `query_range` per day and query); 30d leaves only the 11,000-point limit.

| `max_query_span` | chunks | queries | points | rows written | process | collector | load (1 min) |
|---|---|---|---|---|---|---|---|
{rows}

The process time includes Python's start-up and the config load; "collector" is the run's
own `seconds` (queries, parsing, writes). Each minute is one point per query.
"""


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
