"""Benchmark ``errorbudget ingest``: CSV (or NDJSON) counts into a fresh SQLite store.

Generates a file of ``--series`` series × ``--days`` days × 1,440 minutes (time-major, the order
a log export has), then times ``ingest_files`` end to end and prints rows/s. The default size
is small enough for a laptop loop; the acceptance run is::

    python benchmarks/bench_ingest.py --series 1000 --days 35      # 50.4 M rows, ~2.3 GB CSV

The requirement (DESIGN.md, ingest) is at least 500,000 rows/s on 2 cores. Issue #9 asks for
at least 0.6 of pyarrow's own CSV parse rate on the same file (``pyarrow.csv.read_csv``,
multithreaded, default options): each run also times that parse and prints the ratio.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from errorbudget.ingest import ingest_files
from errorbudget.model import SLO

try:
    from errorbudget.store import open_store
except ImportError:  # a revision from before issue #9, for before/after runs
    from errorbudget.store import Store

    open_store = Store.open  # type: ignore[attr-defined,assignment,unused-ignore]

SLO_ID = "voice-sla"
START = 29_000_000  # 2025-02-20T… in minutes since the epoch


def bench_slo() -> SLO:
    return SLO(
        id=SLO_ID,
        service="contact-center",
        target=0.85,
        window={"type": "rolling", "length": "28d"},
        segments={"keys": ["queue"]},
    )


def generate_csv(path: Path, series: int, days: int, seed: int = 7) -> int:
    """Write ``series × days × 1440`` rows, one day per write; returns the row count."""
    rng = np.random.default_rng(seed)
    queues = pa.array([f"queue-{i:04d}" for i in range(series)])
    schema = pa.schema(
        [("time", pa.string()), ("slo", pa.string()), ("queue", pa.string()),
         ("good", pa.int64()), ("total", pa.int64())]
    )  # fmt: skip
    minute_index = np.repeat(np.arange(1440), series)
    queue_index = np.tile(np.arange(series), 1440)
    slo_column = pa.array([SLO_ID] * (series * 1440))
    options = pa_csv.WriteOptions(quoting_style="none")
    with pa_csv.CSVWriter(path, schema, write_options=options) as writer:
        for day in range(days):
            minutes = np.arange(1440, dtype=np.int64) + START + day * 1440
            stamps = pa.array(minutes * 60, type=pa.timestamp("s", tz="UTC"))
            times = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")
            total = rng.poisson(20, series * 1440).astype(np.int64)
            good = total - rng.binomial(total, 0.1)
            table = pa.table(
                [pc.take(times, minute_index), slo_column, pc.take(queues, queue_index),
                 pa.array(good), pa.array(total)],
                schema=schema,
            )  # fmt: skip
            writer.write_table(table)
    return series * days * 1440


def parse_rate(path: Path, typed: bool = False) -> float:
    """Rows per second of ``pyarrow.csv.read_csv`` on ``path`` (the reference of issue #9):
    with its defaults (``time`` inferred as a timestamp), or ``typed`` with every column's
    type given (strings and integers, no inference: the faster parse)."""
    convert = pa_csv.ConvertOptions(
        column_types={
            "time": pa.string(),
            "slo": pa.string(),
            "queue": pa.string(),
            "good": pa.int64(),
            "total": pa.int64(),
        }
        if typed
        else None
    )
    started = time.perf_counter()
    table = pa_csv.read_csv(path, convert_options=convert)
    elapsed = time.perf_counter() - started
    return table.num_rows / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temp dir in /tmp")
    parser.add_argument("--keep", action="store_true", help="keep the CSV and the store")
    parser.add_argument("--repeat", type=int, default=1, help="ingest the same file N times")
    parser.add_argument("--profile", action="store_true", help="cProfile the first ingest")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="eb-bench-", dir="/tmp"))
    workdir.mkdir(parents=True, exist_ok=True)
    data = workdir / f"counts-{args.series}x{args.days}d.csv"
    try:
        if not data.exists():
            started = time.perf_counter()
            rows = generate_csv(data, args.series, args.days)
            print(f"generated {rows:,} rows ({data.stat().st_size / 1e9:.2f} GB) "
                  f"in {time.perf_counter() - started:.1f} s: {data}")  # fmt: skip
        slos = {SLO_ID: bench_slo()}
        for run in range(args.repeat):
            db = workdir / f"store-{run}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            store = open_store(db)
            try:
                started = time.perf_counter()
                if args.profile and run == 0:
                    import cProfile
                    import pstats

                    profiler = cProfile.Profile()
                    report = profiler.runcall(ingest_files, store, slos, [data])
                    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
                else:
                    report = ingest_files(store, slos, [data])
                elapsed = time.perf_counter() - started
            finally:
                store.close()
            reference = parse_rate(data)
            typed = parse_rate(data, typed=True)
            print(
                f"run {run + 1}: {report.rows_read:,} rows read, {report.rows_written:,} "
                f"written in {elapsed:.2f} s = {report.rows_read / elapsed:,.0f} rows/s "
                f"({data.stat().st_size / elapsed / 1e6:.0f} MB/s); "
                f"store {db.stat().st_size / 1e9:.2f} GB; pyarrow parses "
                f"{reference:,.0f} rows/s (typed {typed:,.0f}): ratio "
                f"{report.rows_read / elapsed / reference:.2f} "
                f"(typed {report.rows_read / elapsed / typed:.2f})"
            )
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
