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
from pathlib import Path

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


def timed(label: str, count: int, work):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:7.3f} s  {count / seconds:>12,.0f} events/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args()
    count = args.events
    slos = starter_kit()
    print(f"{count:,} events, {len(slos)} SLOs, load average {os.getloadavg()[0]:.2f}")
    generated = events(count)
    with tempfile.TemporaryDirectory() as workdir:
        ndjson_path = Path(workdir) / "events.ndjson"
        ndjson_path.write_bytes(b"\n".join(orjson.dumps(e) for e in generated) + b"\n")
        data = ndjson_path.read_bytes()
        table = timed("parse NDJSON", count, lambda: parse_ndjson(data))
        parquet_path = Path(workdir) / "events.parquet"
        stored = table.drop_columns(["line"])
        stored = stored.set_column(
            stored.schema.get_field_index("time"), "time", stored.column("time").cast(pa.int64())
        )
        pq.write_table(stored, parquet_path)
        timed("parse Parquet", count, lambda: parse_parquet(parquet_path))
        fold = timed(f"fold ({len(slos)} SLOs)", count, lambda: fold_events(table, slos))
        timed("parse NDJSON + fold", count, lambda: fold_events(parse_ndjson(data), slos))
        timed("parse Parquet + fold", count, lambda: fold_events(parse_parquet(parquet_path), slos))
    rows = sum(f.total.size for f in fold.per_slo)
    kept = sum(f.kept_rows.size for f in fold.per_slo)
    print(f"fold: {rows:,} count rows, {kept:,} kept events")


if __name__ == "__main__":
    main()
