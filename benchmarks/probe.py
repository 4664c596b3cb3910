"""One measured step of benchmarks/run.py, in its own process (so memory and cold starts are
its own). Prints one JSON line."""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ingest(config: str, csv_path: str) -> dict[str, object]:
    from errorbudget.app import App
    from errorbudget.ingest import ingest_files

    began = time.perf_counter()
    with App.open(config) as app:
        report = ingest_files(app.store, {s.id: s for s in app.evaluations.slos}, [Path(csv_path)])
    return {
        "seconds": time.perf_counter() - began,
        "rows": report.rows_read,
        "max_rss_mb": max_rss_mb(),
    }


def status(config: str, end_minute: str, runs: str, slo: str | None = None) -> dict[str, object]:
    """Full status at ``end_minute`` and the minutes before it, each *evaluated* (the App's
    evaluation of a minute, never its cache: ``times``), and apart from those the same
    answer served from the App's cache (``cached_times``).

    As ``serve`` does once it has loaded (server.py), what the open App holds is collected
    and frozen out of the garbage collector's reach before the evaluations: otherwise a full
    collection walking it lands inside every other evaluation (measured on 1,000 series:
    ~70 ms evaluations alternating with ~120 ms ones), which a served status never pays.
    Likewise the process keeps freed memory for reuse, as ``serve`` does
    (``process_memory.keep_freed_memory``): otherwise each evaluation faults in its numpy
    temporaries' pages afresh (~2,700 faults, 5–7 ms on 1,000 series)."""
    import gc

    began = time.perf_counter()
    from errorbudget.app import App
    from errorbudget.process_memory import keep_freed_memory

    times = []
    cached = []
    with App.open(config) as app:
        gc.collect()
        gc.freeze()
        keep_freed_memory()  # as serve does (process_memory.py)
        version = app.store.revision()

        def evaluate(minute: int) -> int:
            if slo is None:
                return len(app.evaluations._evaluation((minute, version)).statuses)
            # One SLO alone: its series without the whole-SLO row.
            found = app.evaluations._evaluate(
                app.evaluations.select_slos([slo]), minute, include_total=False
            )
            return sum(len(result.statuses) for result in found.values())

        end = int(end_minute)
        statuses = evaluate(end)
        times.append(time.perf_counter() - began)
        for run in range(1, int(runs)):
            began = time.perf_counter()
            statuses = evaluate(end - run)
            times.append(time.perf_counter() - began)
        if slo is None:
            at = datetime.fromtimestamp(end * 60, tz=UTC)
            app.evaluations.status(
                at=at
            )  # evaluated once; from here on served from the App's cache
            for _ in range(int(runs)):
                began = time.perf_counter()
                app.evaluations.status(at=at)
                cached.append(time.perf_counter() - began)
    if int(runs) > 1:
        times = times[1:] or times
    return {
        "times": times,
        "cached_times": cached,
        "statuses": statuses,
        "max_rss_mb": max_rss_mb(),
    }


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    result = ingest(*rest) if step == "ingest" else status(*rest)
    print(json.dumps(result))
