"""The issue #9 engine benchmarks (one JSON line per run; ``--help``).

- ``minutes``: the evaluator at every minute (``engine.minutes``) — burn conditions and policy
  state for SERIES series over DAYS days of synthetic 1-minute counts (with outages), every
  minute an instant: the kernel alert replay and backtests loop over. Counts are made a chunk
  of series at a time (not timed), so memory is the kernel's.
- ``status CONFIG``: a full status of the store a config names, *evaluated* each run
  (``App``'s evaluation of every SLO at a minute not evaluated before), and apart from it
  the same answer served from the App's cache.
- ``singles``: 100 one-series SLOs against one SLO with 100 segments, evaluated, on a
  fresh store of DAYS days (what each SLO's fixed cost is).

    python benchmarks/bench_engine.py minutes --series 1000 --days 35
    python benchmarks/bench_engine.py status /tmp/bench/errorbudget.yaml --runs 10
    python benchmarks/bench_engine.py singles --days 35
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import yaml

if TYPE_CHECKING:
    from errorbudget.engine.minutes import MinuteSeries


def outage_minutes(
    rng: np.random.Generator,
    targets: list[float],
    width: int,
    origin: int,
    scale: int,
    outage_good: float,
) -> MinuteSeries:
    """Synthetic 1-minute counts of one series per target: Poisson 20 a minute, 99.9 % good,
    and an outage of 30 minutes to 6 hours somewhere in each series at ``outage_good``."""
    from errorbudget.engine.exact import allowed_per_event
    from errorbudget.engine.minutes import MinuteSeries

    count = len(targets)
    total = rng.poisson(20, size=(count, width)).astype(np.int32)
    rate = np.full((count, width), 0.999)
    for row in range(count):
        start = int(rng.integers(0, width - 400))
        rate[row, start : start + int(rng.integers(30, 360))] = outage_good
    good = rng.binomial(total, rate).astype(np.int32)
    per_event = np.array([allowed_per_event(t, scale) for t in targets], dtype=np.int64)
    return MinuteSeries(good, total, origin, per_event, scale)


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def minutes(series: int, days: int) -> dict[str, object]:
    from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
    from errorbudget.engine.alerts import effective_conditions
    from errorbudget.engine.evaluator import STATES, conditions_per_series
    from errorbudget.engine.exact import common_scale
    from errorbudget.engine.minutes import evaluate_minutes, periods, series_chunk
    from errorbudget.model import CalendarWindow

    window = CalendarWindow(type="calendar", unit="month", timezone="America/New_York")
    preset = builtin_policies()["voice-agent"]
    catalog = builtin_burn_catalogs()["google-30d"]
    targets = [0.85 if i % 3 == 0 else 0.995 for i in range(series)]
    scale = common_scale(sorted(set(targets)))
    conditions = {
        t: effective_conditions(catalog, timedelta(days=30), t, 0.9) for t in set(targets)
    }
    width = days * 1440
    origin = 29_000_000 - 29_000_000 % 1440
    at = origin + 1 + np.arange(width, dtype=np.int64)
    rng = np.random.default_rng(9)
    chunk = series_chunk(width)
    began = time.perf_counter()
    period = periods(window, at)
    made = kernel = 0.0
    firing_minutes = 0
    states = np.zeros(len(STATES), dtype=np.int64)
    for first in range(0, series, chunk):
        tick = time.perf_counter()
        count = min(chunk, series - first)
        chunk_targets = targets[first : first + count]
        counts = outage_minutes(rng, chunk_targets, width, origin, scale, 0.6)
        tock = time.perf_counter()
        made += tock - tick
        result = evaluate_minutes(
            counts,
            at,
            window,
            conditions_per_series([conditions[t] for t in chunk_targets]),
            preset,
            min_events=20,
            min_coverage=0.5,
            period=period,
        )
        firing_minutes += int(result.firing.sum())
        states += np.bincount(result.state.ravel(), minlength=len(STATES))
        kernel += time.perf_counter() - tock
    return {
        "series": series,
        "days": days,
        "series_minutes": series * width,
        "seconds": time.perf_counter() - began - made,
        "kernel_seconds": kernel,
        "generate_seconds": made,
        "chunk": chunk,
        "firing_series_minutes": firing_minutes,
        "states": dict(zip(STATES, states.tolist(), strict=True)),
        "max_rss_mb": max_rss_mb(),
    }


def status(config: str, runs: int) -> dict[str, object]:
    """As ``serve`` holds the App (server.py): loaded objects frozen out of the collector's
    reach and freed memory kept for the next evaluation (process_memory.py)."""
    import gc

    from errorbudget.app import App
    from errorbudget.process_memory import keep_freed_memory

    began = time.perf_counter()
    with App.open(config) as app:
        gc.collect()
        gc.freeze()
        keep_freed_memory()
        ids = [info.id for info in app.store.list_series()]
        end = max(b[1] for b in app.store.series_bounds(ids) if b is not None)
        key = (end, app.store.revision())
        evaluated = app.evaluations._evaluation(key)  # the evaluation itself, never a cache
        cold = time.perf_counter() - began
        times = []
        for run in range(1, runs + 1):
            tick = time.perf_counter()
            app.evaluations._evaluation((end - run, key[1]))
            times.append(time.perf_counter() - tick)
        cached = []
        app.evaluations.evaluation()  # now: evaluated once, then served from the App's cache
        for _ in range(runs):
            tick = time.perf_counter()
            app.evaluations.evaluation()
            cached.append(time.perf_counter() - tick)
    return {
        "statuses": len(evaluated.statuses),
        "cold_seconds": cold,
        "evaluated_seconds": times,
        "evaluated_median_ms": statistics.median(times) * 1000,
        "cached_median_ms": statistics.median(cached) * 1000,
        "max_rss_mb": max_rss_mb(),
    }


def singles(days: int, runs: int) -> dict[str, object]:
    """100 one-series SLOs vs one SLO with 100 segments, same counts, evaluated."""
    from errorbudget.app import App

    workdir = Path(tempfile.mkdtemp(prefix="errorbudget-singles-"))
    end = 29_000_000 - 29_000_000 % 60
    window = {"type": "rolling", "length": "28d"}
    slos: list[dict[str, object]] = [
        {"id": f"one-{i}", "service": "svc", "target": 0.995, "window": window} for i in range(100)
    ]
    slos.append(
        {
            "id": "segmented",
            "service": "svc",
            "target": 0.995,
            "window": window,
            "segments": {"keys": ["queue"]},
        }
    )
    config = workdir / "errorbudget.yaml"
    config.write_text(
        yaml.safe_dump({"version": 1, "store": {"path": "singles.db"}, "slos": slos}),
        encoding="utf-8",
    )
    rng = np.random.default_rng(3)
    with App.open(config) as app:
        store = app.store
        width = days * 1440
        minutes_ = np.arange(end - width, end, dtype=np.int64)
        for index in range(100):
            [one] = store.series_ids(f"one-{index}", [()])
            [part] = store.series_ids("segmented", [(("queue", f"q{index:03d}"),)])
            total = rng.poisson(20, size=width)
            good = rng.binomial(total, 0.99)
            for series_id in (one, part):
                store.write_counts(np.full(width, series_id), minutes_, good, total)
        one_ids = [f"one-{i}" for i in range(100)]
        timings: dict[str, list[float]] = {"singles": [], "segmented": []}
        for run in range(runs):  # interleaved
            for name, chosen in (("singles", one_ids), ("segmented", ["segmented"])):
                tick = time.perf_counter()
                app.evaluations._evaluate(app.evaluations.select_slos(chosen), end - 7 - run, True)
                timings[name].append(time.perf_counter() - tick)
    singles_ms = statistics.median(timings["singles"]) * 1000
    segmented_ms = statistics.median(timings["segmented"]) * 1000
    return {
        "singles_median_ms": singles_ms,
        "segmented_median_ms": segmented_ms,
        "ratio": singles_ms / segmented_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="step", required=True)
    one = sub.add_parser("minutes")
    one.add_argument("--series", type=int, default=1000)
    one.add_argument("--days", type=int, default=35)
    two = sub.add_parser("status")
    two.add_argument("config")
    two.add_argument("--runs", type=int, default=10)
    three = sub.add_parser("singles")
    three.add_argument("--days", type=int, default=35)
    three.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    if args.step == "minutes":
        result = minutes(args.series, args.days)
    elif args.step == "status":
        result = status(args.config, args.runs)
    else:
        result = singles(args.days, args.runs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
