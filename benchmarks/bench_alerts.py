"""The issue #10 benchmark: alert rules and replay.

- **replay**: 1,000 series × 35 days at 1-minute steps, the replay's work per chunk of series
  (``engine.minutes`` at every minute, ``engine.alert_rules.decide``, ``engine.lifecycle``
  episodes, bad stretches and the threshold comparison, ``replay.collect``) on synthetic
  counts (generation not timed; the store read is measured apart, for a sample of series);
- **live**: one evaluation of 1,000 series at one instant (``EvaluationService.status``,
  from a store) and ``alert_signals`` over its rows, median of runs.

Run by ``benchmarks/run.py`` (``make bench``), or alone::

    python benchmarks/bench_alerts.py              # prints the figures as JSON
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from bench_engine import outage_minutes

HEADING = "## Issue #10 — alert rules and replay"
RUNS = 9


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def replay_kernel(series: int = 1000, days: int = 35) -> dict[str, object]:
    from errorbudget.catalogs import builtin_burn_catalogs, builtin_policies
    from errorbudget.engine.alert_rules import data_ends, decide, instants_facts
    from errorbudget.engine.alerts import slo_conditions
    from errorbudget.engine.evaluator import conditions_per_series
    from errorbudget.engine.exact import common_scale
    from errorbudget.engine.minutes import evaluate_minutes, periods, series_chunk
    from errorbudget.model import SLO
    from errorbudget.replay import Evaluated, Replay, collect

    slo = SLO.model_validate(
        {
            "id": "queues",
            "service": "cc",
            "target": 0.85,
            "window": {"type": "calendar", "unit": "month", "timezone": "America/New_York"},
            "segments": {
                "keys": ["queue"],
                "overrides": [{"match": {"queue": "q1"}, "target": 0.995}],
            },
            "indicator": {"source": "ingest"},
        }
    )
    preset = builtin_policies()["voice-agent"]
    catalog = builtin_burn_catalogs()["google-30d"]
    targets = [0.85 if i % 3 else 0.995 for i in range(series)]
    scale = common_scale(sorted(set(targets)))
    conditions = {t: slo_conditions(catalog, slo, t) for t in set(targets)}
    width = days * 1440
    origin = 29_000_000 - 29_000_000 % 1440
    at = origin + 1 + np.arange(width, dtype=np.int64)
    rng = np.random.default_rng(10)
    chunk = series_chunk(width)
    period_start, period_length = periods(slo.window, at)
    found = Replay(int(at[0]) - 1, int(at[-1]), 1)
    began = time.perf_counter()
    made = 0.0
    for first in range(0, series, chunk):
        tick = time.perf_counter()
        count = min(chunk, series - first)
        chunk_targets = targets[first : first + count]
        counts = outage_minutes(rng, chunk_targets, width, origin, scale, 0.3)
        made += time.perf_counter() - tick
        evaluated = evaluate_minutes(
            counts,
            at,
            slo.window,
            conditions_per_series([conditions[t] for t in chunk_targets]),
            preset,
            min_events=20,
            min_coverage=0.1,
            period=(period_start, period_length),
        )
        facts = instants_facts(
            evaluated, slo, at, period_start + period_length, data_ends(counts.total, origin, at)
        )
        segments = [(("queue", f"q{first + i}"),) for i in range(count)]
        collect(
            found, slo.id, at, Evaluated(segments, evaluated, decide(facts, slo.alerting), counts)
        )
    seconds = time.perf_counter() - began - made
    return {
        "series": series,
        "days": days,
        "instants": width,
        "seconds": seconds,
        "incidents": len(found.incidents),
        "notifications": sum(i.notifications for i in found.incidents),
        "threshold_notifications": sum(i.notifications for i in found.threshold_incidents),
        "max_rss_mb": max_rss_mb(),
    }


def replay_end_to_end(series: int = 50, days: int = 35) -> dict[str, object]:
    """``replay.replay`` from a real store: ``series`` series with the 35 days replayed and
    the 30 days before them (a rolling 30-day window), read, evaluated and collected."""
    from errorbudget.app import App
    from errorbudget.replay import replay

    end = 29_000_000 - 29_000_000 % 1440
    start = end - days * 1440
    minutes = np.arange(start - 33 * 1440, end, dtype=np.int64)
    rng = np.random.default_rng(12)
    config_text = LIVE_CONFIG.replace("28d", "30d")
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "c.yaml"
        config.write_text(config_text, encoding="utf-8")
        with App.open(config) as app:
            ids = app.store.series_ids("slo-1", [(("queue", f"q{i}"),) for i in range(series)])
            for series_id in ids:
                total = rng.poisson(20, minutes.size)
                good = rng.binomial(total, 0.97)
                app.store.write_counts(np.full(minutes.size, series_id), minutes, good, total)
            slo = app.loaded.slo("slo-1")
            chosen = [
                (slo, app.loaded.catalog(slo.alerting.catalog), app.loaded.policy(slo.policy),
                 app.loaded.eligibility(slo))
            ]  # fmt: skip
            tick = time.perf_counter()
            found = replay(app.store, chosen, start, end, 1)
            seconds = time.perf_counter() - tick
    return {
        "series": series,
        "days": days,
        "seconds": seconds,
        "per_series_seconds": seconds / series,
        "incidents": len(found.incidents),
        "max_rss_mb": max_rss_mb(),
    }


LIVE_CONFIG = """\
version: 1
store: {path: live.db}
slos:
""" + "".join(
    f"""  - id: slo-{index}
    service: cc
    target: {0.85 if index % 2 else 0.995}
    window: {{type: rolling, length: 28d}}
    segments: {{keys: [queue]}}
"""
    for index in range(10)
)


def live(series: int = 1000, days: int = 35) -> dict[str, object]:
    """One live step for ``series`` series with ``days`` of 1-minute counts: the evaluation
    of a new instant (not a cached one), ``alert_signals`` of its rows, and the alert
    service's step of every alert (``AlertService.observe``: lifecycle, states, audit and
    notifications saved in one transaction)."""
    from errorbudget.app import App
    from errorbudget.engine.alert_rules import alert_signals
    from errorbudget.model import from_minute

    end = 29_000_000 - 29_000_000 % 1440
    minutes = np.arange(end - days * 1440, end, dtype=np.int64)
    rng = np.random.default_rng(11)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "c.yaml"
        config.write_text(LIVE_CONFIG, encoding="utf-8")
        at = from_minute(end)
        with App.open(config, clock=lambda: at) as app:
            per_slo = series // 10
            for index in range(10):
                ids = app.store.series_ids(
                    f"slo-{index}", [(("queue", f"q{i}"),) for i in range(per_slo)]
                )
                for series_id in ids:
                    total = rng.poisson(20, minutes.size)
                    good = rng.binomial(total, 0.97 if index % 2 else 0.999)
                    app.store.write_counts(np.full(minutes.size, series_id), minutes, good, total)
            slos = {slo.id: slo for slo in app.loaded.config.slos}
            # as `errorbudget serve` does once started (server.serve): what is loaded stays
            # out of the collector's reach, so a full collection does not walk it each step
            gc.collect()
            gc.freeze()
            evaluation, rules, steps = [], [], []
            signals = 0
            for run in range(RUNS + 1):
                # a new instant each run (an evaluation of one instant is cached), forward
                # in time as live alerting steps
                minute = end - RUNS - 1 + run
                tick = time.perf_counter()
                statuses = app.evaluations.status(at=from_minute(minute))
                tock = time.perf_counter()
                found = alert_signals(statuses, slos)
                done = time.perf_counter()
                app.alerts.observe(minute, found)
                stepped = time.perf_counter()
                evaluation.append(tock - tick)
                rules.append(done - tock)
                steps.append(stepped - done)
                signals = len(found)
            gc.unfreeze()
    return {
        "series": series,
        "days": days,
        "signals": signals,
        "evaluation_ms": statistics.median(evaluation[1:]) * 1000,
        "alert_signals_ms": statistics.median(rules[1:]) * 1000,
        "observe_ms": statistics.median(steps[1:]) * 1000,
        "together_ms": statistics.median(
            [a + b + c for a, b, c in zip(evaluation[1:], rules[1:], steps[1:], strict=True)]
        )
        * 1000,
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
    kernel = replay_kernel()
    whole = replay_end_to_end()
    step = live()
    replay_result = (
        f"**{float(kernel['seconds']):,.1f} s** (max RSS {float(kernel['max_rss_mb']):,.0f} MB)"
    )
    live_result = (
        f"**{float(step['together_ms']):,.0f} ms** (evaluation "
        f"{float(step['evaluation_ms']):,.0f} ms, rules {float(step['alert_signals_ms']):,.1f} ms, "
        f"alert service step {float(step['observe_ms']):,.1f} ms)"
    )
    rows = [
        (f"replay kernel: {kernel['series']:,} series × {kernel['days']} days at 1-minute steps "
         f"({kernel['instants']:,} instants each), rules, lifecycle and threshold comparison",
         "< 60 s", replay_result),
        (f"replay from a store, end to end (read, exclusions, evaluation, rules, episodes): "
         f"{whole['series']} series × {whole['days']} days at 1-minute steps, 30-day rolling "
         "window", "—", f"{float(whole['seconds']):,.1f} s: "
         f"**{float(whole['per_series_seconds']) * 1000:,.0f} s per 1,000 series**"),
        (f"live step: evaluation of {step['series']:,} series × {step['days']} days at a new "
         f"instant + `alert_signals` ({step['signals']:,} active signals) + the alert "
         f"service's step, median of {RUNS}", "< 100 ms", live_result),
    ]  # fmt: skip
    table = "\n".join(
        ["| measure | target | result |", "|---|---|---|"]
        + [f"| {measure} | {target} | {result} |" for measure, target, result in rows]
    )
    return f"""{HEADING}

Measured by `benchmarks/bench_alerts.py` (run by `benchmarks/run.py`) on
{datetime.now(tz=UTC):%Y-%m-%d}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}
(2 cores shared). Code: {revision()}.

{table}

- Replay kernel: synthetic counts (Poisson 20 a minute, one outage of 30 minutes to 6 hours per
  series; two thirds of the series at 85 %, one third at 99.5 %), evaluated chunk by chunk as
  `errorbudget alerts replay` does after its store read; generating them is not timed. The
  replay found {kernel["incidents"]:,} incidents sending {kernel["notifications"]:,}
  notifications, where the single-window threshold alert sends
  {kernel["threshold_notifications"]:,}.
- End to end: `replay.replay` (what `errorbudget alerts replay` runs) on a real SQLite
  store of {whole["series"]} series with 68 days of 1-minute counts; the per-1,000 figure
  is that time scaled (the work is per chunk of series, memory bounded by the chunk).
- Live: a real store of {step["series"]:,} series with {step["days"]} days of 1-minute
  counts; each run evaluates a new minute (the evaluation every status makes, not a cached
  one), builds the signals and steps every alert through the alert service
  (`AlertService.observe`: lifecycle, states, audit entries and notifications in one
  transaction), minutes moving forward as live alerting does; the garbage collector frozen
  after loading, as `serve` does (unfrozen, full collections add 20–40 ms to one step in
  three).
"""


if __name__ == "__main__":
    print(
        json.dumps(
            {"replay": replay_kernel(), "end_to_end": replay_end_to_end(), "live": live()},
            indent=2,
        )
    )
