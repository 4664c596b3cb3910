"""The issue #12 benchmark: voice-agent events into the store, end to end.

One million events (calls, turns, tasks, escalations; about 70 % turns) over one day, with
the dimensions the starter kit segments by, and five events SLOs (connection success,
turn latency per flow, tool-dependent turn latency, task completion per flow and risk
tier, escalation recall). Each file is ingested by the whole ``errorbudget ingest
--events FILE`` process (start-up, config, parsing, claiming the ids, the fold, counts,
kept events, rollups, commit) into a fresh store file; the figure is events / wall-clock
seconds of that process. Then the same file again (every event a duplicate: nothing
written). Targets: NDJSON ≥ 200 k events/s, Parquet ≥ 1 M events/s.

Run by ``benchmarks/run.py`` (``make bench``), or alone::

    python benchmarks/bench_events.py                 # prints the figures as JSON
    python benchmarks/bench_events.py --events 100000 # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

HEADING = "## Issue #12 — event ingest"
EVENTS = 1_000_000
NOW = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
START = NOW - timedelta(days=1)
FLOWS = ("billing", "password-reset", "faq", "fraud", "orders", "appointments")
MODELS = ("openai/gpt-4o", "anthropic/claude", "google/gemini")
LANGUAGES = ("en", "es", "fr")
REGIONS = ("us-east", "eu-west")

SLOS: list[dict[str, Any]] = [
    {"id": "connection-success", "target": 0.995, "indicator": {
        "source": "events", "event": "call", "good": {"connected": True},
        "exclude": [{"name": "test-call", "when": {"test": True}}]}},
    {"id": "turn-latency", "target": 0.95, "segments": {"keys": ["flow"]}, "indicator": {
        "source": "events", "event": "turn", "good": {"latency_ms": {"le": 1200}},
        "exclude": [{"name": "test-call", "when": {"test": True}}]}},
    {"id": "tool-turn-latency", "target": 0.95, "indicator": {
        "source": "events", "event": "turn", "eligible": {"tool_calls": {"gt": 0}},
        "good": {"latency_ms": {"le": 2500}}}},
    {"id": "task-completion", "target": 0.9, "segments": {"keys": ["flow", "risk_tier"]},
     "indicator": {"source": "events", "event": "task", "good": {"agent_caused": False}}},
    {"id": "escalation-recall", "target": 0.98, "indicator": {
        "source": "events", "event": "escalation", "eligible": {"required": True},
        "good": {"escalated": True}}},
]  # fmt: skip


def write_config(workdir: Path) -> Path:
    slos = [
        {"service": "voice-agent", "window": {"type": "rolling", "length": "28d"}, **slo}
        for slo in SLOS
    ]
    config = {
        "version": 1,
        "clock": {"simulated_start": NOW.isoformat()},
        "store": {"path": "events.db"},
        "slos": slos,
    }
    path = workdir / "errorbudget.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def event_table(count: int, seed: int = 12) -> pa.Table:
    """``count`` events over the day before NOW, time-ordered (as a producer sends them)."""
    rng = np.random.default_rng(seed)
    kind = rng.choice(
        np.array(["call", "turn", "task", "escalation"]), size=count, p=[0.12, 0.7, 0.12, 0.06]
    )
    millis = np.sort(rng.integers(0, 86_400_000, size=count)) + int(START.timestamp() * 1000)
    is_call, is_turn = kind == "call", kind == "turn"
    is_task, is_escalation = kind == "task", kind == "escalation"

    def only(mask: np.ndarray, values: np.ndarray, kind_: pa.DataType) -> pa.Array:
        return pa.array(values, kind_, mask=~mask)

    def pick(options: tuple[str, ...], weights: list[float] | None = None) -> pa.Array:
        return pa.array(rng.choice(np.array(options), size=count, p=weights))

    latency = rng.gamma(4.0, 180.0, size=count).astype(np.int64)
    tool_calls = (rng.random(count) < 0.3).astype(np.int64) * rng.integers(1, 3, size=count)
    outcome = rng.choice(
        np.array(["completed", "abandoned", "failed", "transferred"]),
        size=count,
        p=[0.88, 0.05, 0.04, 0.03],
    )
    return pa.table(
        {
            "id": pa.array([f"evt-{i:09d}" for i in range(count)]),
            "type": pa.array(kind),
            "time": pa.array(millis, pa.int64()),
            "call_id": pa.array([f"call-{i // 8:08d}" for i in range(count)]),
            "flow": pick(FLOWS),
            "model": pick(MODELS),
            "language": pick(LANGUAGES, [0.7, 0.2, 0.1]),
            "region": pick(REGIONS),
            "risk_tier": pick(("low", "high"), [0.8, 0.2]),
            "agent_version": pick(("v41", "v42")),
            "test": pa.array(rng.random(count) < 0.01),
            "connected": only(is_call, rng.random(count) < 0.996, pa.bool_()),
            "latency_ms": only(is_turn, latency, pa.int64()),
            "asr_ms": only(is_turn, latency // 4, pa.int64()),
            "llm_ms": only(is_turn, latency // 2, pa.int64()),
            "tts_ms": only(is_turn, latency // 8, pa.int64()),
            "tool_calls": only(is_turn, tool_calls, pa.int64()),
            "outcome": only(is_task, outcome, pa.string()),
            "required": only(is_escalation, rng.random(count) < 0.5, pa.bool_()),
            "escalated": only(is_escalation, rng.random(count) < 0.49, pa.bool_()),
        }
    )


def write_ndjson(table: pa.Table, path: Path) -> None:
    """One JSON object a line, null fields left out (as producers write them)."""
    with path.open("wb") as out:
        for start in range(0, table.num_rows, 100_000):
            rows = table.slice(start, 100_000).to_pylist()
            out.write(
                b"".join(
                    orjson.dumps({k: v for k, v in row.items() if v is not None}) + b"\n"
                    for row in rows
                )
            )


def ingest(config: Path, path: Path) -> dict[str, Any]:
    """``errorbudget ingest --events PATH --format json`` as its own process; wall seconds."""
    began = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "errorbudget", "ingest", "--events", str(path), "--format", "json"],
        capture_output=True,
        text=True,
        env={**os.environ, "ERRORBUDGET_CONFIG": str(config)},
        check=False,
    )
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise RuntimeError(f"ingest failed ({result.returncode}): {result.stderr[-2000:]}")
    [file] = json.loads(result.stdout)["files"]
    return {"seconds": seconds, "report": file["report"]}


def phases(config: Path, path: Path) -> dict[str, float]:
    """In this process, on a fresh store: seconds to parse the whole file (events-core's
    parser) and to write it (the ingest service: claims, fold, counts, kept, rollups)."""
    from errorbudget.app import App
    from errorbudget.sources.events import fold_events, parse_ndjson, parse_parquet

    (config.parent / "events.db").unlink(missing_ok=True)
    began = time.perf_counter()
    table = parse_parquet(path) if path.suffix == ".parquet" else parse_ndjson(path.read_bytes())
    parsed = time.perf_counter()
    with App.open(config) as app:
        opened = time.perf_counter()
        fold_events(table, app.events.slos)
        folded = time.perf_counter() - opened
        began_write = time.perf_counter()
        app.events.ingest(table)
        written = time.perf_counter() - began_write
    return {
        "parse": round(parsed - began, 3),
        "fold": round(folded, 3),
        "ingest_service": round(written, 3),
    }


def measure(count: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"events": count, "loadavg_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="errorbudget-bench-events-") as folder:
        workdir = Path(folder)
        config = write_config(workdir)
        table = event_table(count)
        files = {"ndjson": workdir / "events.ndjson", "parquet": workdir / "events.parquet"}
        write_ndjson(table, files["ndjson"])
        pq.write_table(table, files["parquet"])
        for name, path in files.items():
            (workdir / "events.db").unlink(missing_ok=True)
            first = ingest(config, path)
            again = ingest(config, path)
            figures[name] = {
                "bytes": path.stat().st_size,
                "seconds": round(first["seconds"], 3),
                "events_per_second": round(count / first["seconds"]),
                "written": first["report"]["written_events"],
                "counts_rows": first["report"]["counts_rows"],
                "kept": first["report"]["kept"],
                "again_seconds": round(again["seconds"], 3),
                "again_duplicates": again["report"]["duplicates"],
                "store_bytes": (workdir / "events.db").stat().st_size,
                "phases": phases(config, path),
            }
            for suffix in ("-wal", "-shm"):
                Path(f"{workdir / 'events.db'}{suffix}").unlink(missing_ok=True)
    figures["loadavg_after"] = os.getloadavg()
    return figures


def _row(name: str, f: dict[str, Any], target: int) -> str:
    return (
        f"| {name} | {f['bytes'] / 1e6:.0f} MB | {f['seconds']:.2f} | "
        f"{f['events_per_second']:,} | {target:,} | {f['counts_rows']:,} | {f['kept']:,} | "
        f"{f['again_seconds']:.2f} s, {f['again_duplicates']:,} duplicates |"
    )


def run_section(count: int = EVENTS) -> str:
    """Run the benchmark; its Markdown section for docs/performance.md."""
    f = measure(count)
    nd, pqf = f["ndjson"], f["parquet"]
    load = ", ".join(f"{x:.2f}" for x in f["loadavg_before"])
    after = ", ".join(f"{x:.2f}" for x in f["loadavg_after"])
    return f"""{HEADING}

Measured {datetime.now(UTC):%Y-%m-%d} by `benchmarks/bench_events.py` (`make bench`), on a
machine of {os.cpu_count()} cores, load average {load} before and {after} after (shared).
Workload: {count:,} voice-agent events over one day (70 % turns, 12 % calls, 12 % tasks,
6 % escalations; flow, model, language, region, risk tier, agent version; stage timings),
five events SLOs. Each figure is the whole `errorbudget ingest --events FILE` process
(start-up, config, parsing, claiming ids, fold, counts, kept events, rollups, commit) into a
fresh store file, wall clock.

| input | file | seconds | events/s | target | minute rows | kept events | again (all duplicates) |
|---|---|---|---|---|---|---|---|
{_row("NDJSON", nd, 200_000)}
{_row("Parquet", pqf, 1_000_000)}

Where the time goes, in one process on a fresh store: parsing the whole file (the event
model's parser, `sources/events/model.py`) NDJSON {nd["phases"]["parse"]:.2f} s, Parquet
{pqf["phases"]["parse"]:.2f} s; the ingest service (claims, fold, counts, kept events,
rollups, commit) NDJSON {nd["phases"]["ingest_service"]:.2f} s, Parquet
{pqf["phases"]["ingest_service"]:.2f} s, of which the fold alone (`sources/events/fold.py`)
{pqf["phases"]["fold"]:.2f} s; the rest of the process is Python's start-up and the
imports of the `ingest` command (~0.9 s under this load).

Store file after one ingest: {nd["store_bytes"] / 1e6:.0f} MB. Claimed ids are kept in
chunks (one row per minute per write, `store/sqlite/events.py`): one row per event was
measured at 4–7 s per million events on this machine, which alone would miss both targets.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args()
    print(json.dumps(measure(args.events), indent=2))


if __name__ == "__main__":
    main()
