"""Issue #12 (events-core): parse and fold throughput of voice-agent events, in process.

Generates N events (calls, turns, tasks, escalations, synthetic checks; 11 dimensions; an
hour or more of minutes), writes them as NDJSON and Parquet in a temporary directory, then
times ``parse_ndjson``, ``parse_parquet`` and ``fold_events`` with the seed 002 starter kit
(the 13 SLOs of docs/sources/events.md). The store's end-to-end figures (parse → dedupe →
fold → write) are the events-store benchmark's; this one isolates the pure part.

    python benchmarks/bench_events_core.py                 # 1,000,000 events
    python benchmarks/bench_events_core.py --events 200000
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from errorbudget.config import parse_config
from errorbudget.sources.events import fold_events, parse_ndjson, parse_parquet

ROOT = Path(__file__).resolve().parents[1]
START_MS = 1_796_119_200_000  # 2026-12-01T10:00Z


def starter_kit() -> list:  # type: ignore[type-arg]
    text = (ROOT / "docs" / "sources" / "events.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.DOTALL) if "first-audio" in b)
    return list(parse_config(block, "events.md", {}).config.slos)


def events(count: int, seed: int = 12) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(
        ["call", "turn", "task", "escalation", "synthetic"], count, p=[0.15, 0.6, 0.12, 0.08, 0.05]
    )
    times = START_MS + np.sort(rng.integers(0, 3 * 3_600_000, count))
    flows = ["billing", "password-reset", "faq", "booking", "fraud"]
    latency = rng.gamma(4.0, 250.0, count).astype(int)
    out: list[dict[str, object]] = []
    for i in range(count):
        event: dict[str, object] = {
            "id": f"e{i:09d}",
            "type": str(kinds[i]),
            "time": int(times[i]),
            "call_id": f"c{i // 8}",
            "flow": flows[i % 5],
            "intent": f"intent-{i % 7}",
            "agent_version": f"v{1 + i % 3}",
            "prompt_version": f"p{i % 4}",
            "model": "openai/gpt-4o" if i % 2 else "anthropic/claude",
            "asr_provider": "deepgram",
            "language": "en" if i % 5 else "es",
            "risk_tier": "high" if i % 5 == 4 else "low",
            "region": "us",
        }
        if i % 50 == 0:
            event["test"] = True
        kind = event["type"]
        if kind == "call":
            event.update(
                connected=bool(i % 100),
                first_audio_ms=int(latency[i]) if i % 40 else None,
                end_reason="completed",
                intent_correct=(i % 9 != 0) if i % 3 else None,
            )
        elif kind == "turn":
            event.update(
                latency_ms=int(latency[i]),
                asr_ms=int(latency[i] * 0.2),
                llm_ms=int(latency[i] * 0.5),
                tts_ms=int(latency[i] * 0.2),
                tool_calls=int(i % 4 == 0),
                wer=0.1 if i % 10 else 0.3,
                compliant=bool(i % 30),
            )
        elif kind == "task":
            event["outcome"] = "completed" if i % 10 else "abandoned"
        elif kind == "escalation":
            event.update(required=bool(i % 2), escalated=bool(i % 3), context_complete=True)
        else:
            event["passed"] = bool(i % 20)
        out.append(event)
    return out


HEADING = "## Issue #12 — events-core: parsing and folding voice-agent events"
RUNS = 3


def _best(work: Callable[[], Any]) -> tuple[float, float, Any]:
    """The fastest of RUNS runs: (wall seconds, CPU seconds of this process, result)."""
    best: tuple[float, float, Any] | None = None
    for _ in range(RUNS):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        measured = (time.perf_counter() - wall, time.process_time() - cpu, result)
        best = measured if best is None or measured[0] < best[0] else best
    assert best is not None
    return best


def measure(count: int) -> list[tuple[str, float, float]]:
    """(what, wall seconds, CPU seconds) of each measure over ``count`` events."""
    slos = starter_kit()
    generated = events(count)
    figures: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as workdir:
        ndjson_path = Path(workdir) / "events.ndjson"
        ndjson_path.write_bytes(b"\n".join(orjson.dumps(e) for e in generated) + b"\n")
        del generated
        data = ndjson_path.read_bytes()
        wall, cpu, table = _best(lambda: parse_ndjson(data))
        figures.append(("parse NDJSON (`parse_ndjson`)", wall, cpu))
        parquet_path = Path(workdir) / "events.parquet"
        stored = table.drop_columns(["line"])
        stored = stored.set_column(
            stored.schema.get_field_index("time"), "time", stored.column("time").cast(pa.int64())
        )
        pq.write_table(stored, parquet_path)
        wall, cpu, _ = _best(lambda: parse_parquet(parquet_path))
        figures.append(("parse Parquet (`parse_parquet`, read included)", wall, cpu))
        wall, cpu, _ = _best(lambda: fold_events(table, slos))
        figures.append((f"fold by {len(slos)} SLOs (`fold_events`)", wall, cpu))
        wall, cpu, _ = _best(lambda: fold_events(parse_ndjson(data), slos))
        figures.append(("NDJSON: parse + fold", wall, cpu))
        wall, cpu, _ = _best(lambda: fold_events(parse_parquet(parquet_path), slos))
        figures.append(("Parquet: parse + fold", wall, cpu))
    return figures


def run_section(count: int = 1_000_000) -> str:
    """Measure and return the Markdown section for docs/performance.md."""
    load = os.getloadavg()[0]
    figures = measure(count)
    rows = "\n".join(
        f"| {what} | {wall:.2f} s | **{count / wall:,.0f}** | {count / cpu:,.0f} |"
        for what, wall, cpu in figures
    )
    return f"""{HEADING}

Measured by `benchmarks/bench_events_core.py` (`make bench`, `--only events-core`) on
{datetime.now(tz=UTC):%Y-%m-%d}, load average {load:.2f} at the start (2 cores shared).

Workload: {count:,} events (15 % calls, 60 % turns, 12 % tasks, 8 % escalations,
5 % synthetic checks; 11 dimensions, 3 hours of minutes; ~335 bytes an event as NDJSON),
folded by the 13 SLOs of the seed 002 starter kit (docs/sources/events.md). In process,
the best of {RUNS} runs; the store's end-to-end figures (parse → dedupe → fold → write) are
the events-store section's.

| measure | time | events/s (wall) | events/s (CPU of the process) |
|---|---|---|---|
{rows}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    print(run_section(args.events))


if __name__ == "__main__":
    main()
