"""The issue #12 benchmark of the voice-agent simulator: 10 M events, as a user makes them.

- **Parquet, whole command**: ``errorbudget simulate voice-agent -o events.parquet`` over 30
  days at 60 calls a minute (≈ 10.8 M events), a new process, timed from start to exit;
- **NDJSON, whole command**: the same over 3 days (≈ 1.1 M events, ≈ 650 bytes an event);
- **simulation alone**: the same 30 days drawn in process (numpy decisions only), and as
  Arrow tables (what ingest receives), without writing.

Run by ``benchmarks/run.py`` (``make bench``), or alone::

    python benchmarks/bench_voice_sim.py            # prints the figures as JSON
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HEADING = "## Issue #12 — voice-agent simulator"
AT = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
CALLS_PER_MINUTE = 60.0
DAYS = 30
NDJSON_DAYS = 3


def command(output: Path, days: int) -> tuple[float, str]:
    """Run the CLI in a new process; its wall time and its summary line."""
    args = [
        sys.executable,
        "-m",
        "errorbudget",
        "simulate",
        "voice-agent",
        "-o",
        str(output),
        "--to",
        f"{AT:%Y-%m-%dT%H:%MZ}",
        "--days",
        str(days),
        "--calls-per-minute",
        str(CALLS_PER_MINUTE),
    ]
    began = time.perf_counter()
    done = subprocess.run(args, check=True, capture_output=True, text=True)
    return time.perf_counter() - began, done.stdout.splitlines()[0]


def measure() -> dict[str, float]:
    import pyarrow.parquet as pq

    from errorbudget.simulate.voice_agent import (
        VoiceAgentSimulator,
        day_tables,
        default_voice_scenario,
    )

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-voice-") as tmp:
        parquet = Path(tmp) / "events.parquet"
        figures["parquet_s"], _ = command(parquet, DAYS)
        figures["parquet_events"] = pq.ParquetFile(parquet).metadata.num_rows
        figures["parquet_mb"] = parquet.stat().st_size / 1e6
        parquet.unlink()
        ndjson = Path(tmp) / "events.ndjson"
        figures["ndjson_s"], _ = command(ndjson, NDJSON_DAYS)
        with ndjson.open("rb") as lines:
            figures["ndjson_events"] = sum(1 for _ in lines)
        figures["ndjson_mb"] = ndjson.stat().st_size / 1e6
    sim = VoiceAgentSimulator(
        default_voice_scenario(AT, days=DAYS).scaled(CALLS_PER_MINUTE), seed=7
    )
    start = AT - timedelta(days=DAYS)
    began = time.perf_counter()
    figures["draw_events"] = sum(day.events for day in sim.days(start, AT))
    figures["draw_s"] = time.perf_counter() - began
    began = time.perf_counter()
    rows = 0
    for day in sim.days(start, AT):
        rows += sum(table.num_rows for table in day_tables(sim, day).values())
    figures["tables_s"] = time.perf_counter() - began
    figures["tables_events"] = rows
    return figures


def run_section() -> str:
    """Measure and return the Markdown section for docs/performance.md."""
    from run import revision  # benchmarks/run.py

    load = os.getloadavg()
    f = measure()

    def rate(events: float, seconds: float) -> str:
        return f"{events / seconds:,.0f} events/s"

    rows = [
        ("measure", "target", "result"),
        ("---", "---", "---"),
        (
            f"`simulate voice-agent -o events.parquet`, {DAYS} days at {CALLS_PER_MINUTE:g} "
            f"calls/min ({int(f['parquet_events']):,} events, {f['parquet_mb']:,.0f} MB), "
            "whole process",
            "10 M events well under a minute",
            f"**{f['parquet_s']:.1f} s** ({rate(f['parquet_events'], f['parquet_s'])})",
        ),
        (
            f"`simulate voice-agent -o events.ndjson`, {NDJSON_DAYS} days "
            f"({int(f['ndjson_events']):,} events, {f['ndjson_mb']:,.0f} MB), whole process",
            "—",
            f"**{f['ndjson_s']:.1f} s** ({rate(f['ndjson_events'], f['ndjson_s'])})",
        ),
        (
            f"drawing the {int(f['draw_events']):,} events (numpy decisions), in process",
            "—",
            f"{f['draw_s']:.1f} s ({rate(f['draw_events'], f['draw_s'])})",
        ),
        (
            "the same as Arrow tables of the event model (what ingest receives), in process",
            "—",
            f"{f['tables_s']:.1f} s ({rate(f['tables_events'], f['tables_s'])})",
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    return f"""{HEADING}

Measured by `benchmarks/bench_voice_sim.py` (run by `benchmarks/run.py`) on
{datetime.now(tz=UTC):%Y-%m-%d}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}
(2 cores shared). Code: {revision()}.

{table}

- The default scenario (five flows, the TTS latency incident, the bad prompt release, the
  carrier outage), seed 7; a UTC day at a time, each from its own generator. Parquet is one
  wide table (zstd), a row group a day; NDJSON lines are built column-wise with Arrow's string
  kernels, about 650 bytes an event.
"""


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
