"""One measured step of benchmarks/run.py, in its own process (so memory and cold starts are
its own). Prints one JSON line."""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ingest(config: str, csv_path: str) -> dict[str, object]:
    from errorbudget.app import App
    from errorbudget.ingest import ingest_files

    began = time.perf_counter()
    with App.open(config) as app:
        report = ingest_files(app.store, {s.id: s for s in app.slos}, [Path(csv_path)])
    return {
        "seconds": time.perf_counter() - began,
        "rows": report.rows_read,
        "max_rss_mb": max_rss_mb(),
    }


def status(config: str, end_minute: str, runs: str, slo: str | None = None) -> dict[str, object]:
    began = time.perf_counter()
    from errorbudget.app import App

    at = datetime.fromtimestamp(int(end_minute) * 60, tz=UTC)
    times = []
    with App.open(config) as app:

        def evaluate(moment: datetime) -> list[object]:
            if slo is None:
                return list(app.status(at=moment))
            # One SLO alone: its series without the whole-SLO row (``include_total=False``
            # evaluates only the SLOs asked for; with it, the App evaluates every SLO once).
            return list(app.status(at=moment, slo_ids=[slo], include_total=False))

        statuses = evaluate(at)
        times.append(time.perf_counter() - began)
        for run in range(1, int(runs)):
            # The App keeps an evaluation per minute: each warm run asks for a minute not
            # evaluated yet, so it is evaluated, not served from that cache.
            began = time.perf_counter()
            statuses = evaluate(at - timedelta(minutes=run))
            times.append(time.perf_counter() - began)
    if int(runs) > 1:
        times = times[1:] or times
    return {"times": times, "statuses": len(statuses), "max_rss_mb": max_rss_mb()}


if __name__ == "__main__":
    step, *rest = sys.argv[1:]
    result = ingest(*rest) if step == "ingest" else status(*rest)
    print(json.dumps(result))
