"""Counts on PostgreSQL beside SQLite, the same workload on both (issue #13).

- ``write``: ``Store.write_counts`` of ``--write-days`` days of 1,000 series (~1 M rows a
  batch, time-major as a parsed file arrives, so every batch ends inside an hour) in one
  transaction — the store's write path alone (rows/s). Target on PostgreSQL: ≥ 300 k rows/s
  (binary COPY).
- ``ingest``: the whole ``errorbudget ingest`` process on a CSV of the same shape (start-up,
  config, parsing, validation, series, writes, commit), wall clock.
- ``status``: 1,000 series × 35 days of 1-minute counts (~50 M rows, written with
  ``write_counts`` a day at a time, timed too), then a full status of every series as
  ``benchmarks/probe.py status`` measures it for issue #2: the App's evaluation of a minute
  (never its cache), in a new process after the data is written; warm = the median of the
  evaluations after the first. Target on PostgreSQL: < 100 ms.

The PostgreSQL database is made for the run (``eb_bench_counts_<pid>``) on the server of
``--postgres`` (default the test cluster of docs/operations.md; the password from
``ERRORBUDGET_STORE_PASSWORD``) and dropped afterwards. Prints one JSON line, or with
``benchmarks/run.py --only pg-counts`` the section of docs/performance.md::

    python benchmarks/bench_pg_counts.py --series 100 --days 3   # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psycopg
import yaml
from run import revision, run_probe, series_per_slo, write_config, write_csv

from errorbudget.store import Store, open_store

HEADING = "## Issue #13 — PostgreSQL counts"
ADMIN_URL = "postgresql://eb@127.0.0.1:5432/postgres"
PASSWORD_ENV = "ERRORBUDGET_STORE_PASSWORD"
BATCH_ROWS = 1_000_000
MINUTES_PER_DAY = 1440


@contextmanager
def bench_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server of ``admin_url`` while the block runs: its URL
    (without the password, which comes from ``ERRORBUDGET_STORE_PASSWORD``)."""
    name = f"eb_bench_counts_{os.getpid()}"
    with connect(admin_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with connect(admin_url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def series_of(store: Store, series: int) -> np.ndarray:
    """The store ids of the issue #2 workload's series (``run.write_csv``'s SLOs, queues)."""
    ids: list[int] = []
    for slo, count in enumerate(series_per_slo(series)):
        segments = [(("queue", f"q{q:04d}"),) for q in range(count)]
        ids.extend(store.series_ids(f"slo-{slo}", segments))
    return np.asarray(ids, dtype=np.int64)


def batches(
    series: np.ndarray, first: int, minutes: int, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Time-major batches of about ``BATCH_ROWS`` rows, as ``run.write_csv`` draws them."""
    rng = np.random.default_rng(seed)
    step = max(1, BATCH_ROWS // series.size)
    for start in range(0, minutes, step):
        span = min(step, minutes - start)
        minute = np.repeat(first + start + np.arange(span, dtype=np.int64), series.size)
        total = rng.poisson(20, size=minute.size).astype(np.int64)
        good = rng.binomial(total, 0.99).astype(np.int64)
        yield np.tile(series, span), minute, good, total


def timed_write(store: Store, series: np.ndarray, first: int, minutes: int) -> tuple[int, float]:
    """Rows and seconds of one transaction of ``write_counts`` calls, commit included and
    the generation of the rows left out."""
    rows, generating = 0, 0.0
    began = time.perf_counter()
    with store.transaction():
        stream = batches(series, first, minutes, seed=5)
        while True:
            drawn = time.perf_counter()
            batch = next(stream, None)
            generating += time.perf_counter() - drawn
            if batch is None:
                break
            rows += store.write_counts(*batch)
    return rows, time.perf_counter() - began - generating


def write_days(store: Store, series: np.ndarray, first: int, days: int) -> tuple[int, float]:
    """The status workload: ``days`` days, one transaction a day; rows and seconds."""
    rows, seconds = 0, 0.0
    for day in range(days):
        began = time.perf_counter()
        with store.transaction():
            for batch in batches(series, first + day * MINUTES_PER_DAY, MINUTES_PER_DAY, day):
                rows += store.write_counts(*batch)
        seconds += time.perf_counter() - began
    return rows, seconds


def ingest_process(config: Path, csv_path: Path) -> float:
    """Wall seconds of ``errorbudget ingest -c config csv`` in a new process."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "errorbudget", "ingest", "-c", str(config), str(csv_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"errorbudget ingest failed: {done.stdout}{done.stderr}")
    return seconds


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url, autocommit=True, password=os.environ.get(PASSWORD_ENV))


def empty(backend: str, url: str) -> None:
    """Empty the PostgreSQL database between steps (an SQLite step has a file of its own)."""
    if backend == "postgres":
        with connect(url) as connection:
            connection.execute(
                "TRUNCATE minute_blocks, day_counts, day_chunks, sources, series CASCADE"
            )


def configure(workdir: Path, name: str, store: dict[str, str]) -> Path:
    """``run.write_config``'s SLOs with this store, in a directory of their own."""
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    config = write_config(directory)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["store"] = store
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return config


def measure(args: argparse.Namespace) -> dict[str, object]:
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    end_minute = int(now.timestamp() // 60)
    first = end_minute - args.days * MINUTES_PER_DAY
    found: dict[str, object] = {"series": args.series, "days": args.days}
    with (
        tempfile.TemporaryDirectory(prefix="eb-bench-pg-") as scratch,
        bench_database(args.postgres) as url,
    ):
        workdir = Path(scratch)
        for backend in ("sqlite", "postgres"):
            print(f"{backend}: write, ingest, status …", file=sys.stderr, flush=True)
            location = {"path": "bench.db"} if backend == "sqlite" else {"url": url}
            # 1. the store's write path alone
            with open_store(workdir / "write.db" if backend == "sqlite" else url) as store:
                series = series_of(store, args.series)
                rows, seconds = timed_write(store, series, first, args.write_days * MINUTES_PER_DAY)
            found[f"{backend}_write_rows"] = rows
            found[f"{backend}_write_seconds"] = seconds
            # 2. the whole ingest process, a CSV of the same shape, into an empty store
            empty(backend, url)
            config = configure(workdir, f"ingest-{backend}", location)
            csv_path, csv_rows = write_csv(
                workdir, args.series, args.write_days, first + args.write_days * MINUTES_PER_DAY
            )
            found[f"{backend}_ingest_rows"] = csv_rows
            found[f"{backend}_ingest_seconds"] = ingest_process(config, csv_path)
            csv_path.unlink()
            # 3. the status workload, then the status in a new process
            empty(backend, url)
            config = configure(workdir, f"status-{backend}", location)
            with open_store(config.parent / "bench.db" if backend == "sqlite" else url) as store:
                series = series_of(store, args.series)
                rows, seconds = write_days(store, series, first, args.days)
            found[f"{backend}_status_rows"] = rows
            found[f"{backend}_status_write_seconds"] = seconds
            if backend == "postgres":
                with connect(url) as connection:
                    connection.execute("VACUUM ANALYZE")
            status = run_probe("status", str(config), str(end_minute), str(args.warm_runs))
            times = sorted(float(t) for t in status["times"])  # type: ignore[attr-defined]
            found[f"{backend}_status_ms"] = statistics.median(times) * 1000
            found[f"{backend}_status_max_ms"] = times[-1] * 1000
            found[f"{backend}_statuses"] = status["statuses"]
    found["load"] = os.getloadavg()
    return found


def section(found: dict[str, object]) -> str:
    def rate(backend: str, step: str) -> str:
        rows = float(found[f"{backend}_{step}_rows"])  # type: ignore[arg-type]
        seconds = float(found[f"{backend}_{step}_seconds"])  # type: ignore[arg-type]
        return f"**{rows / seconds:,.0f} rows/s** ({rows:,.0f} rows, {seconds:.1f} s)"

    def status(backend: str) -> str:
        median = float(found[f"{backend}_status_ms"])  # type: ignore[arg-type]
        worst = float(found[f"{backend}_status_max_ms"])  # type: ignore[arg-type]
        return f"**{median:,.0f} ms** (max {worst:,.0f} ms)"

    def written(backend: str) -> str:
        rows = float(found[f"{backend}_status_rows"])  # type: ignore[arg-type]
        seconds = float(found[f"{backend}_status_write_seconds"])  # type: ignore[arg-type]
        return f"{rows / seconds:,.0f} rows/s ({seconds:.0f} s)"

    warm = int(found.get("warm_runs", 11)) - 1  # type: ignore[call-overload]
    rows = [
        ("measure", "target (PostgreSQL)", "SQLite", "PostgreSQL"),
        ("---", "---", "---", "---"),
        (
            "`write_counts`, ~1 M-row time-major batches, one transaction",
            "≥ 300,000 rows/s",
            rate("sqlite", "write"),
            rate("postgres", "write"),
        ),
        (
            "whole `errorbudget ingest` process, CSV of the same rows",
            "—",
            rate("sqlite", "ingest"),
            rate("postgres", "ingest"),
        ),
        (
            f"writing the status workload ({found['series']:,} series × {found['days']} days, "
            "a day per transaction)",
            "—",
            written("sqlite"),
            written("postgres"),
        ),
        (
            f"full status of every series, warm, evaluated (median of {warm})",
            "< 100 ms",
            status("sqlite"),
            status("postgres"),
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    load = ", ".join(f"{value:.2f}" for value in found["load"])  # type: ignore[attr-defined]
    series = found["series"]
    return f"""{HEADING}

Measured by `benchmarks/bench_pg_counts.py` (`benchmarks/run.py --only pg-counts`) on
{datetime.now(tz=UTC):%Y-%m-%d}. Code: {revision()}. PostgreSQL 15 on this machine (default
settings, over TCP on 127.0.0.1), SQLite a file in /tmp. Load average at the end (1, 5,
15 min): {load} — the 2 cores were shared with other work, so figures are noisy.

{table}

- Same workload on both: the issue #2 SLOs and series ({series:,} series in 10 SLOs, 1 %
  timeslices), Poisson(20) events a minute; {found["postgres_statuses"]} statuses.
- The write path is the shared one (`store/counts/`): hour blocks and day rows built in numpy;
  on PostgreSQL the blocks, day rows and day chunks go through a binary `COPY` (laid out in
  numpy) into a temporary table and one `INSERT … ON CONFLICT DO UPDATE` each; reads are
  `= ANY(array)` statements fetched in binary. SQLite keeps a file's partial hours back
  inside its transaction (`counts/pending.py`); PostgreSQL writes them at once and the next
  batch reads them back (one indexed read per batch).
- Status: `benchmarks/probe.py status` in a new process after the data is written
  (PostgreSQL after `VACUUM ANALYZE`): each run evaluates a different minute through the
  App's evaluation (never its cache); the first run, which opens the App, is left out.
"""


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=35, help="days of the status workload")
    parser.add_argument("--write-days", type=int, default=3, help="days written and ingested")
    parser.add_argument("--warm-runs", type=int, default=11)
    parser.add_argument("--postgres", default=ADMIN_URL, help="a URL on the server to use")
    args = parser.parse_args(argv)
    os.environ.setdefault(PASSWORD_ENV, "eb")  # the local test cluster's role (TOOLCHAIN.md)
    os.environ.setdefault("PGPASSWORD", os.environ[PASSWORD_ENV])  # for open_store(url)
    found = measure(args)
    found["warm_runs"] = args.warm_runs
    return found


def run_section() -> str:
    return section(main([]))


if __name__ == "__main__":
    print(json.dumps(main()))
