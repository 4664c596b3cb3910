"""The issue #12 backtest benchmark: ``errorbudget backtest`` of one SLO with 20 segments
over 60 days of 1-minute counts, as a user runs it — a whole process (interpreter start-up,
imports, loading the config, opening the store, one alert replay per candidate target at
every minute, the budget math, the JSON output), median of runs.

The history: 20 flows × (60 days + one 30-day window before them) of minute counts
(~30 events a minute each, 0.2 % bad, with a one-hour outage in one flow and a steady bad
afternoon in another every week), written once into a fresh SQLite store (not timed).

Run by ``benchmarks/run.py`` (``make bench``, ``--only backtest``), or alone::

    python benchmarks/bench_backtest.py            # prints the figures as JSON
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

HEADING = "## Issue #12 — backtest"
HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
SEGMENTS = 20
DAYS = 60
RUNS = 3
TARGET_SECONDS = 60.0
END = datetime(2026, 11, 30, tzinfo=UTC)
CONFIG = """\
version: 1
store: {path: bench.db}
slos:
  - id: turn-latency
    service: voice-agent
    target: 0.99
    window: {type: rolling, length: 30d}
    segments: {keys: [flow]}
    policy: voice-agent
"""


def write_history(workdir: Path) -> Path:
    """The config and its store with ``SEGMENTS`` flows of history (module docstring)."""
    sys.path.insert(0, str(SRC))
    from errorbudget.app import App
    from errorbudget.model import to_minute

    path = workdir / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    end = to_minute(END)
    minutes = np.arange(end - (DAYS + 30) * 1440, end, dtype=np.int64)
    rng = np.random.default_rng(12)
    with App.open(path, clock=lambda: END) as app:
        keys = [(("flow", f"flow-{i:02d}"),) for i in range(SEGMENTS)]
        for index, series in enumerate(app.store.series_ids("turn-latency", keys)):
            total = rng.poisson(30, minutes.size)
            bad = rng.binomial(total, 0.002)
            week = (minutes // (7 * 1440)) % SEGMENTS
            if index % 5 == 0:  # a one-hour outage, once a week, in every fifth flow
                down = (week == index) & (minutes % (7 * 1440) // 60 == 60)
                bad = np.where(down, total, bad)
            if index % 7 == 1:  # a bad afternoon (5 % bad for 4 hours) every week
                slow = (minutes % (7 * 1440) // 60 >= 14) & (minutes % (7 * 1440) // 60 < 18)
                bad = np.where(slow, rng.binomial(total, 0.05), bad)
            app.store.write_counts(np.full(minutes.size, series), minutes, total - bad, total)
    return path


def measure(runs: int = RUNS) -> dict[str, object]:
    """Median, min and max seconds of the whole process over ``runs`` (after one warm-up)."""
    with tempfile.TemporaryDirectory(prefix="eb-bench-backtest-") as tmp:
        workdir = Path(tmp)
        config = write_history(workdir)
        env = {
            **os.environ,
            "PYTHONPATH": str(SRC),
            "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
        }
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        start = END - timedelta(days=DAYS)
        command = [
            sys.executable, "-m", "errorbudget", "backtest", "-c", str(config),
            "--slo", "turn-latency", "--from", start.isoformat(), "--to", END.isoformat(),
            "--targets", "0.95,0.999", "--format", "json",
        ]  # fmt: skip
        subprocess.run(command, env=env, check=True, capture_output=True)  # warm-up
        seconds = []
        output = ""
        for _ in range(runs):
            began = time.perf_counter()
            done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
            seconds.append(time.perf_counter() - began)
            output = done.stdout
        found = json.loads(output)
        return {
            "segments": SEGMENTS,
            "days": DAYS,
            "runs": runs,
            "median_seconds": statistics.median(seconds),
            "min_seconds": min(seconds),
            "max_seconds": max(seconds),
            "candidates": [c["target"] for c in found["candidates"]],
            "pages": {str(c["target"]): c["pages"] for c in found["candidates"]},
            "proposal": found["proposal"]["target"],
        }


def revision() -> str:
    try:
        found = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        return found.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def run_section() -> str:
    """Measure and return the Markdown section for docs/performance.md."""
    load = os.getloadavg()
    found = measure()
    median = float(str(found["median_seconds"]))
    candidates = list(found["candidates"])  # type: ignore[call-overload]
    instants = DAYS * 1440
    replayed = instants * SEGMENTS * len(candidates)
    verdict = "met" if median < TARGET_SECONDS else "**missed**"
    low, high = float(str(found["min_seconds"])), float(str(found["max_seconds"]))
    row = (
        f"| `errorbudget backtest` of 1 SLO × {SEGMENTS} segments over {DAYS} days, whole "
        f"process, median of {found['runs']} | < {TARGET_SECONDS:.0f} s | **{median:.1f} s** "
        f"(min {low:.1f}, max {high:.1f}; target {verdict}) |"
    )
    return f"""{HEADING}

Measured by `benchmarks/bench_backtest.py` (run by `benchmarks/run.py`) on
{datetime.now(tz=UTC):%Y-%m-%d}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}
(2 cores shared). Code: {revision()}.

| measure | target | result |
|---|---|---|
{row}

- The process starts Python, loads the config, opens the store and replays the alert rules
  at every minute of the {DAYS} days ({instants:,} instants) for each of
  {len(candidates)} candidate targets ({", ".join(f"{c:g}" for c in candidates)}: the
  SLO's own, two given, the defaults around the observed SLI): {replayed:,} series-instants
  evaluated, the counts read from the store once per candidate ({DAYS + 30} days: the
  replay reaches one 30-day window back); then the budget of the whole SLO per candidate at
  every minute, the SLI per day and week, and the JSON output.
- The history: {SEGMENTS} flows, ~30 events a minute each, 0.2 % bad, a one-hour outage
  once a week in every fifth flow, a bad afternoon every week in others (written once, not
  timed). Proposed target: {found["proposal"]}; pages per candidate: {found["pages"]}.
"""


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
