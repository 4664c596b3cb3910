"""The issue #2 benchmark: 1,000 series × 35 days of 1-minute counts (~50 M rows).

Measures, on this machine:
- ingest of those rows from CSV into a fresh SQLite store, end to end (rows/s);
- full status of every series at one instant (all burn windows, period, forecasts, state),
  from a cold store (a new process, page cache dropped when the OS lets us) and warm;
- peak memory (max RSS) of the ingest and of the status process.

Then runs the issue #4 benchmark of the HTTP server (``benchmarks/web.py``).

Writes the figures and the machine to docs/performance.md (``--output``): one section per
benchmark, each replaced in the file when it is run (``--only`` runs one and keeps the other).

    python benchmarks/run.py                     # full size, ~12 minutes, ~3 GB in /tmp
    python benchmarks/run.py --series 50 --days 3 --quick --output /dev/stdout   # quick look
    python benchmarks/run.py --only web          # only the HTTP server (~2 minutes)
    python benchmarks/run.py --only alerts       # only alert rules and replay (~2 minutes)
    python benchmarks/run.py --only generate     # only rule generation for 1,000 SLOs (~20 s)
    python benchmarks/run.py --only counters     # only the SLO event counters (~2 minutes)
    python benchmarks/run.py --only promql       # only the PromQL source's backfill (~1 minute)
    python benchmarks/run.py --only exporter     # only the Genesys exporter scrape (~20 s)
    python benchmarks/run.py --only otlp         # only OTLP ingestion through serve (~1 minute)
    python benchmarks/run.py --only events       # only event ingest, 1 M events (~2 minutes)
    python benchmarks/run.py --only events-core  # only event parse and fold (~1 minute)
    python benchmarks/run.py --only backtest     # only a 60-day backtest of 20 segments (~1 min)
    python benchmarks/run.py --only voice-sim    # only the voice-agent simulator (~1 minute)
    python benchmarks/run.py --only events-status  # only status over 10 M events (~3 minutes)
    python benchmarks/run.py --only pg-counts    # counts on PostgreSQL beside SQLite (~10 min)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

HERE = Path(__file__).resolve().parent
SLO_GROUPS = 10  # SLOs: nine count occurrences, the last one timeslices
TIMESLICE_SHARE = 0.01  # of the series; a timeslice series reads every minute of its window


def series_per_slo(series: int) -> list[int]:
    """How many queues each SLO gets: 1 % timeslices, the rest spread over nine SLOs."""
    timeslice = max(1, round(series * TIMESLICE_SHARE))
    occurrences = series - timeslice
    base, extra = divmod(occurrences, SLO_GROUPS - 1)
    return [base + (1 if i < extra else 0) for i in range(SLO_GROUPS - 1)] + [timeslice]


def write_config(workdir: Path) -> Path:
    """SLO_GROUPS SLOs with a ``queue`` segment: calendar months, rolling 28d, and (the last)
    timeslices over 30 days."""
    slos = []
    for index in range(SLO_GROUPS):
        slo: dict[str, object] = {
            "id": f"slo-{index}",
            "service": f"svc-{index % 3}",
            "target": 0.85 if index % 3 == 0 else 0.995,
            "segments": {"keys": ["queue"]},
        }
        if index == SLO_GROUPS - 1:
            slo["window"] = {"type": "rolling", "length": "30d"}
            slo["budgeting"] = "timeslices"
            slo["timeslice"] = {"length": "1m", "target": 0.95}
        elif index % 2:
            slo["window"] = {"type": "rolling", "length": "28d"}
        else:
            slo["window"] = {"type": "calendar", "unit": "month", "timezone": "America/New_York"}
        slos.append(slo)
    path = workdir / "errorbudget.yaml"
    config = {"version": 1, "store": {"path": "bench.db"}, "slos": slos}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


SCHEDULED_CONFIG = "errorbudget-scheduled.yaml"


def write_scheduled_config(config: Path) -> Path:
    """The same SLOs and store, each SLO eligible in business hours (New York, with a
    holiday) and under a weekly maintenance window: what schedules cost (issue #7)."""
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["schedules"] = [
        {
            "name": "business-hours",
            "timezone": "America/New_York",
            "hours": {"mon-fri": ["08:00-20:00"], "sat": ["09:00-13:00"]},
            "holidays": [{"date": "2026-11-26", "name": "Thanksgiving"}],
        }
    ]
    data["maintenance"] = [
        {
            "name": "sunday-patching",
            "timezone": "America/New_York",
            "start": "02:00",
            "duration": "2h",
            "weekdays": ["sun"],
        }
    ]
    for slo in data["slos"]:
        slo["schedule"] = "business-hours"
    path = config.parent / SCHEDULED_CONFIG
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_csv(workdir: Path, series: int, days: int, end_minute: int) -> tuple[Path, int]:
    """One CSV of every series × minute, written in day-sized chunks."""
    rng = np.random.default_rng(1)
    counts = series_per_slo(series)
    path = workdir / "counts.csv"
    slo_names = np.array(
        [f"slo-{slo}" for slo, count in enumerate(counts) for _ in range(count)], dtype=object
    )
    queues = np.array([f"q{q:04d}" for count in counts for q in range(count)], dtype=object)
    rows = 0
    start = end_minute - days * 1440
    with pacsv.CSVWriter(
        path,
        pa.schema(
            [
                ("time", pa.int64()),
                ("slo", pa.string()),
                ("good", pa.int64()),
                ("total", pa.int64()),
                ("queue", pa.string()),
            ]
        ),
    ) as writer:
        for day in range(days):
            minutes = np.arange(start + day * 1440, start + (day + 1) * 1440, dtype=np.int64)
            times = np.repeat(minutes * 60, series)
            index = np.tile(np.arange(series), len(minutes))
            total = rng.poisson(20, size=len(times)).astype(np.int64)
            good = rng.binomial(total, 0.99).astype(np.int64)
            writer.write_table(
                pa.table(
                    {
                        "time": times,
                        "slo": slo_names[index],
                        "good": good,
                        "total": total,
                        "queue": queues[index],
                    }
                )
            )
            rows += len(times)
    return path, rows


def drop_page_cache() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n", encoding="ascii")
    except OSError:
        return False
    return True


def run_probe(*args: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(HERE / "probe.py"), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"probe failed: {result.stderr}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB RAM; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; SQLite "
        f"{sqlite3.sqlite_version}; numpy {np.__version__}; pyarrow {pa.__version__}"
    )


ISSUE2_HEADING = "## Issue #2: 1,000 series × 35 days of 1-minute counts"
SECTIONS = (
    "issue2",
    "web",
    "pages",
    "alerts",
    "generate",
    "counters",
    "promql",
    "exporter",
    "events",
    "events-core",
    "otlp",
    "backtest",
    "voice-sim",
    "events-status",
    "pg-counts",
)


def revision() -> str:
    """The commit measured (``-dirty`` with uncommitted changes), or ``unknown``."""
    found = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parent,
    )
    return f"`{found.stdout.strip()}`" if found.returncode == 0 else "unknown"


def preamble() -> str:
    return f"""# Performance

Produced by `make bench` (`benchmarks/run.py`) on {datetime.now(tz=UTC):%Y-%m-%d}.
Machine: {machine()}.

"""


def update_report(path: Path, sections: dict[str, str], header: str | None = None) -> None:
    """Write ``sections`` (heading → Markdown starting with that heading) into ``path``,
    replacing the sections of the same heading and keeping the others and the header (unless
    ``header`` is given); a new section goes last."""
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    head, *chunks = existing.split("\n## ")
    found = {chunk.partition("\n")[0]: chunk for chunk in ("## " + c for c in chunks)}
    if not existing.startswith("# "):
        head = ""
    for heading, text in sections.items():
        found[heading] = text
    body = "\n".join(text.rstrip("\n") + "\n" for text in found.values())
    top = header if header is not None else (head.rstrip("\n") + "\n\n" if head else preamble())
    path.write_text(top + body, encoding="utf-8")


def issue2_section(args: argparse.Namespace) -> str:
    """Generate, ingest and measure the issue #2 workload; return its Markdown section."""
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="errorbudget-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    end_minute = int(now.timestamp() // 60)
    config = write_config(workdir)
    print(f"generating {args.series} series × {args.days} days in {workdir} …", flush=True)
    csv_path, rows = write_csv(workdir, args.series, args.days, end_minute)
    csv_mb = csv_path.stat().st_size / 2**20

    print(f"ingesting {rows:,} rows ({csv_mb:,.0f} MiB CSV) …", flush=True)
    ingest = run_probe("ingest", str(config), str(csv_path))
    db_mb = sum(p.stat().st_size for p in workdir.glob("bench.db*")) / 2**20

    dropped = drop_page_cache()
    print("status, cold …", flush=True)
    cold = run_probe("status", str(config), str(end_minute), "1")
    print("status, warm …", flush=True)
    warm = run_probe("status", str(config), str(end_minute), str(args.warm_runs))
    slices = run_probe(
        "status", str(config), str(end_minute), str(args.warm_runs), f"slo-{SLO_GROUPS - 1}"
    )
    slices["times"] = [sorted(slices["times"])[len(slices["times"]) // 2]]  # type: ignore[arg-type,index]
    print("status with schedules, warm …", flush=True)
    scheduled_config = write_scheduled_config(config)
    scheduled = run_probe("status", str(scheduled_config), str(end_minute), str(args.warm_runs))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)

    rate = rows / float(ingest["seconds"])  # type: ignore[arg-type]
    warm_times = sorted(warm["times"])  # type: ignore[type-var]
    scheduled_times = sorted(scheduled["times"])  # type: ignore[type-var]
    return f"""{ISSUE2_HEADING}

Measured by `benchmarks/run.py` on {datetime.now(tz=UTC):%Y-%m-%d}. Code: {revision()}.

Workload: {args.series:,} series in {SLO_GROUPS} SLOs segmented by queue — {sum(series_per_slo(args.series)[:-1]):,}
series counting occurrences (calendar month in America/New_York, or rolling 28d; targets 85 % and
99.5 %) and {series_per_slo(args.series)[-1]:,} series of an API-availability style SLO budgeted in 1-minute timeslices over
a rolling 30d — with {args.days} days of 1-minute counts = **{rows:,} rows** ({csv_mb:,.0f} MiB of CSV).

| measure | target | result |
|---|---|---|
| ingest CSV → SQLite, end to end | ≥ 500,000 rows/s | **{rate:,.0f} rows/s** ({float(ingest["seconds"]):.1f} s) |
| full status of every series, cold store | < 2 s | **{float(cold["times"][0]) * 1000:,.0f} ms** |
| full status of every series, warm, evaluated (median of {args.warm_runs}) | < 200 ms | **{warm_times[len(warm_times) // 2] * 1000:,.0f} ms** (max {warm_times[-1] * 1000:,.0f} ms) |
| the same answer served from the App's cache (median) | — | {sorted(warm["cached_times"])[len(warm["cached_times"]) // 2] * 1000:,.3f} ms |
| the same, every SLO with a business-hours schedule and a weekly maintenance window | < 200 ms | **{scheduled_times[len(scheduled_times) // 2] * 1000:,.0f} ms** (max {scheduled_times[-1] * 1000:,.0f} ms) |
| peak memory, status process (max RSS) | < 500 MB | **{float(warm["max_rss_mb"]):,.0f} MB** |
| peak memory, ingest process (max RSS) | < 500 MB | {float(ingest["max_rss_mb"]):,.0f} MB |
| store size on disk | — | {db_mb:,.0f} MiB |

- "Full status" is `app.evaluations.status()` at one instant: for every series the seven burn windows,
  the period to date, both forecast lookbacks, exclusions, burn conditions and policy state,
  plus the whole-SLO rows — {int(cold["statuses"])} statuses.
- Warm runs evaluate consecutive minutes before the instant, each through the App's
  evaluation itself (`EvaluationService._evaluation`), never its cache; the cached answer is
  timed apart.
- With schedules: `mon-fri 08:00-20:00, sat 09:00-13:00` in America/New_York with a
  holiday, and every Sunday 02:00-04:00 under maintenance, on every SLO
  (`{SCHEDULED_CONFIG}`): the out-of-schedule minutes (about 70 ranges over a 30-day window)
  are subtracted with one more bulk read per SLO (all its series share the ranges).
- Cold: a new process opening the store{" after dropping the OS page cache" if dropped else " (the OS page cache could not be dropped here, so 'cold' means a new process and a newly opened store)"}; the time includes loading the config and opening the store.
- Timeslices cost more than occurrences: a slice is judged on its own minutes, so every
  minute of the window is read (occurrences read day and hour rollups). The timeslices SLO
  alone ({series_per_slo(args.series)[-1]} series, without its whole-SLO row) took **{float(slices["times"][0]) * 1000:,.0f} ms** warm (median of {args.warm_runs}), about
  {float(slices["times"][0]) * 1000 / series_per_slo(args.series)[-1]:.1f} ms per series over its 30-day window.
- Ingest is `errorbudget.ingest.ingest_files` in a fresh process: parsing, validation,
  series resolution, aggregation, writes and rollups, in one transaction.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=35)
    parser.add_argument("--output", type=Path, default=Path("docs/performance.md"))
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--warm-runs", type=int, default=10)
    parser.add_argument(
        "--only", choices=SECTIONS, default=None, help="run one benchmark; keep the other's section"
    )
    parser.add_argument("--quick", action="store_true", help="the HTTP benchmark at smoke-run size")
    args = parser.parse_args()
    if args.series < SLO_GROUPS:
        parser.error(f"--series must be at least {SLO_GROUPS}")

    import bench_alerts  # benchmarks/bench_alerts.py: alert rules and replay (issue #10)
    import bench_backtest  # benchmarks/bench_backtest.py: a 60-day backtest (issue #12)
    import bench_events  # benchmarks/bench_events.py: event ingest (issue #12)
    import bench_events_core  # benchmarks/bench_events_core.py: event parse and fold (#12)
    import bench_events_status  # benchmarks/bench_events_status.py: status over events (#12)
    import bench_exporter  # benchmarks/bench_exporter.py: Genesys queue scrape (issue #11)
    import bench_generate  # benchmarks/bench_generate.py: rule generation (issue #11)
    import bench_otlp  # benchmarks/bench_otlp.py: OTLP traces through serve (issue #12)
    import bench_pages  # benchmarks/bench_pages.py: the timings the tests used to assert
    import bench_pg_counts  # benchmarks/bench_pg_counts.py: counts on PostgreSQL (#13)
    import bench_promql  # benchmarks/bench_promql.py: a 30-day PromQL backfill (issue #11)
    import bench_slo_counters  # benchmarks/bench_slo_counters.py: SLO counters (issue #11)
    import bench_voice_sim  # benchmarks/bench_voice_sim.py: the voice-agent simulator (#12)
    import web  # benchmarks/web.py; imported here because it imports this module

    sections: dict[str, str] = {}
    if args.only in (None, "issue2"):
        sections[ISSUE2_HEADING] = issue2_section(args)
    if args.only in (None, "web"):
        workdir = args.workdir / "web" if args.workdir else None
        sections[web.HEADING] = web.run_section(args.quick, workdir=workdir)
    if args.only in (None, "pages"):
        sections[bench_pages.HEADING] = bench_pages.run_section()
    if args.only in (None, "alerts"):
        sections[bench_alerts.HEADING] = bench_alerts.run_section()
    if args.only in (None, "generate"):
        sections[bench_generate.HEADING] = bench_generate.run_section()
    if args.only in (None, "counters"):
        sections[bench_slo_counters.HEADING] = bench_slo_counters.run_section()
    if args.only in (None, "promql"):
        sections[bench_promql.HEADING] = bench_promql.run_section()
    if args.only in (None, "exporter"):
        sections[bench_exporter.HEADING] = bench_exporter.run_section()
    if args.only in (None, "events"):
        sections[bench_events.HEADING] = bench_events.run_section()
    if args.only in (None, "events-core"):
        sections[bench_events_core.HEADING] = bench_events_core.run_section()
    if args.only in (None, "otlp"):
        sections[bench_otlp.HEADING] = bench_otlp.run_section()
    if args.only in (None, "backtest"):
        sections[bench_backtest.HEADING] = bench_backtest.run_section()
    if args.only in (None, "voice-sim"):
        sections[bench_voice_sim.HEADING] = bench_voice_sim.run_section()
    if args.only in (None, "events-status"):
        sections[bench_events_status.HEADING] = bench_events_status.run_section()
    if args.only in (None, "pg-counts"):
        sections[bench_pg_counts.HEADING] = bench_pg_counts.run_section()
    # A full run dates the header; a partial one keeps it (the other section's figures stay).
    update_report(args.output, sections, header=preamble() if args.only is None else None)
    print(args.output.read_text(encoding="utf-8") if args.output.is_file() else "")


if __name__ == "__main__":
    main()
