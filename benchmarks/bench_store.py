"""Store benchmark: write throughput, window-sum latency and size on disk.

Generates ``--series`` series x ``--days`` days of 1-minute contact-center-like counts
(Poisson traffic with a daily cycle, 80-99.9 % good), writes them with
``Store.write_counts`` in batches of ``--batch-days`` days, then times one ``sums()`` call
for every series at one instant with the status windows (5m … 3d burn windows, a 30-day
rolling window, month to date, a 28-day lookback), re-sends of recent minutes, and
``minute_arrays``. Not a test: run it by hand::

    python benchmarks/bench_store.py --series 1000 --days 35 --db /tmp/bench.db
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from errorbudget.model import to_minute
from errorbudget.store import open_store

START = datetime(2026, 1, 1, tzinfo=UTC)
MINUTES_PER_DAY = 1440


def generate(
    rng: np.random.Generator, series_ids: np.ndarray, first: int, minutes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Series-major rows (series, minute, good, total) for ``minutes`` minutes from ``first``."""
    n = series_ids.size
    rate = np.exp(rng.uniform(np.log(0.5), np.log(300.0), n))[:, None]
    success = rng.uniform(0.8, 0.999, n)[:, None]
    minute = first + np.arange(minutes, dtype=np.int64)[None, :]
    daily = 1.0 + 0.8 * np.sin(2 * np.pi * ((minute % MINUTES_PER_DAY) / MINUTES_PER_DAY - 0.3))
    total = rng.poisson(rate * daily)
    good = rng.binomial(total, success)
    series = np.repeat(series_ids, minutes)
    return series, np.tile(minute[0], n), good.ravel(), total.ravel()


def batches(
    rng: np.random.Generator, series_ids: np.ndarray, first: int, days: int, batch_days: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    for day in range(0, days, batch_days):
        span = min(batch_days, days - day) * MINUTES_PER_DAY
        yield generate(rng, series_ids, first + day * MINUTES_PER_DAY, span)


def status_intervals(at: int) -> list[tuple[int, int]]:
    """The windows one status evaluation reads, all ending at ``at``."""
    month_start = to_minute(
        datetime.fromtimestamp(at * 60, tz=UTC).replace(
            day=1, hour=0, minute=0, second=0, microsecond=0
        )
    )
    lengths = [5, 30, 60, 120, 360, 1440, 3 * 1440, 30 * 1440, 28 * 1440]
    return [(at - length, at) for length in lengths] + [(month_start, at)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--batch-days", type=int, default=2)
    parser.add_argument("--db", type=Path, default=None, help="store file (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=30, help="sums() repetitions")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="eb-bench-") as scratch:
        db = args.db or Path(scratch) / "bench.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        rng = np.random.default_rng(args.seed)
        first = to_minute(START)
        rows = args.series * args.days * MINUTES_PER_DAY
        print(f"store {db}: {args.series} series x {args.days} days = {rows:,} minute rows")

        with open_store(db) as store:
            segments = [(("queue", f"q{i:05d}"),) for i in range(args.series)]
            series_ids = np.asarray(store.series_ids("bench", segments), dtype=np.int64)
            write_seconds = generate_seconds = 0.0
            began = time.perf_counter()
            stream = batches(rng, series_ids, first, args.days, args.batch_days)
            while True:
                t0 = time.perf_counter()
                batch = next(stream, None)
                generate_seconds += time.perf_counter() - t0
                if batch is None:
                    break
                t0 = time.perf_counter()
                store.write_counts(*batch)
                write_seconds += time.perf_counter() - t0
            wall = time.perf_counter() - began
            print(
                f"write_counts: {rows / write_seconds:,.0f} rows/s ({write_seconds:.1f} s); "
                f"with generation {rows / wall:,.0f} rows/s ({generate_seconds:.1f} s generating)"
            )

            end = first + args.days * MINUTES_PER_DAY
            at = end - 17
            intervals = status_intervals(at)
            ids = series_ids.tolist()
            t0 = time.perf_counter()
            result = store.sums(ids, intervals)
            cold = (time.perf_counter() - t0) * 1000
            timings = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                store.sums(ids, intervals)
                timings.append((time.perf_counter() - t0) * 1000)
            print(
                f"sums(): {len(ids)} series x {len(intervals)} intervals: first {cold:.1f} ms, "
                f"median {statistics.median(timings):.1f} ms, "
                f"p95 {percentile(timings, 0.95):.1f} ms"
            )
            check = store.minute_arrays(ids[:3], at - 1440, at)
            assert np.allclose(check[1].sum(axis=1), result[:3, 5, 1]), "sums disagree"

            recent = generate(rng, series_ids, at - 120, 120)
            t0 = time.perf_counter()
            store.write_counts(*recent)
            resend = time.perf_counter() - t0
            print(
                f"re-send of the last 2 h ({recent[0].size:,} rows, partial hours): "
                f"{resend * 1000:.0f} ms = {recent[0].size / resend:,.0f} rows/s"
            )
            again = generate(rng, series_ids, end - 2 * MINUTES_PER_DAY, 2 * MINUTES_PER_DAY)
            t0 = time.perf_counter()
            store.write_counts(*again)
            replace = time.perf_counter() - t0
            print(
                f"re-send of the last 2 days ({again[0].size:,} rows, whole hours): "
                f"{replace / 1:.2f} s = {again[0].size / replace:,.0f} rows/s"
            )
            t0 = time.perf_counter()
            store.minute_arrays(ids, at - 1440, at)
            print(
                f"minute_arrays(): {len(ids)} series x 1 day: "
                f"{(time.perf_counter() - t0) * 1000:.0f} ms"
            )

        size = sum(
            Path(f"{db}{suffix}").stat().st_size
            for suffix in ("", "-wal", "-shm")
            if Path(f"{db}{suffix}").exists()
        )
        print(f"size on disk: {size / 1e6:,.1f} MB = {size / rows:.2f} bytes per minute row")
    return 0


if __name__ == "__main__":
    sys.exit(main())
