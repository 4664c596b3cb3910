"""Writing 1-minute good/total counts: validated, grouped into hour blocks, upserted.

Rows are grouped into hour blocks in numpy and upserted with one ``executemany``; a
re-sent block is merged in SQL by ``eb_merge_counts`` only when it does not cover every
minute already stored (see ``blocks.py``), so a full re-send costs a plain replace. The
``day_counts`` rows of the touched (series, day) pairs are then recomputed from the
stored blocks — never incremented — so they cannot drift from the raw counts.
No Python loop runs per minute row; the loops that remain are per block or per day.
"""

from __future__ import annotations

import json
import sqlite3
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.store import blocks
from errorbudget.store.blocks import HOURS_PER_DAY, Int64Array
from errorbudget.store.series import check_series_exist, source_id

_UPSERT_BLOCK = """
INSERT INTO minute_blocks
    (series_id, hour, source_id, counts, minutes_mask, good_sum, total_sum)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, hour, source_id) DO UPDATE SET
    counts = CASE WHEN minutes_mask & ~excluded.minutes_mask = 0
        THEN excluded.counts
        ELSE eb_merge_counts(counts, excluded.counts, excluded.minutes_mask) END,
    good_sum = CASE WHEN minutes_mask & ~excluded.minutes_mask = 0
        THEN excluded.good_sum
        ELSE eb_merge_sum(counts, excluded.counts, excluded.minutes_mask, 0) END,
    total_sum = CASE WHEN minutes_mask & ~excluded.minutes_mask = 0
        THEN excluded.total_sum
        ELSE eb_merge_sum(counts, excluded.counts, excluded.minutes_mask, 1) END,
    minutes_mask = minutes_mask | excluded.minutes_mask
"""

# Keys are (series_id << 32 | day), one JSON array for the whole write.
_HOUR_SUMS_OF_DAYS = """
SELECT b.series_id, b.hour, b.good_sum, b.total_sum
FROM json_each(?) AS t
JOIN minute_blocks AS b
  ON b.series_id = (t.value >> 32)
 AND b.hour >= (t.value & 4294967295) * 24
 AND b.hour < ((t.value & 4294967295) + 1) * 24
"""

_UPSERT_DAY = """
INSERT INTO day_counts (series_id, day, good, total, hours) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (series_id, day) DO UPDATE
SET good = excluded.good, total = excluded.total, hours = excluded.hours
"""


def register_functions(connection: sqlite3.Connection) -> None:
    """Register the SQL functions the upsert needs (once per connection)."""
    merger = blocks.BlockMerger()
    connection.create_function("eb_merge_counts", 3, merger.merged_counts, deterministic=True)
    connection.create_function("eb_merge_sum", 4, merger.merged_sum, deterministic=True)


def int_array(name: str, values: object) -> Int64Array:
    """``values`` as a contiguous 1-d int64 array, or StoreError saying what is wrong."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise StoreError(f"{name} must be a one-dimensional array, not shape {array.shape}")
    if array.size and array.dtype.kind not in "iu":
        raise StoreError(f"{name} must hold integers, not {array.dtype}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise StoreError(f"{name} has values too large for a 64-bit count")
    return np.ascontiguousarray(array, dtype=np.int64)


def rows_array(rows: list[tuple[int, ...]], width: int) -> Int64Array:
    """Fetched rows of ``width`` integers as an (n, width) int64 array, without per-row numpy."""
    flat = np.fromiter(chain.from_iterable(rows), dtype=np.int64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


def scatter_add(
    grid: npt.NDArray[np.int64] | npt.NDArray[np.float64],
    rows: Int64Array,
    columns: Int64Array,
    values: Int64Array,
) -> None:
    """``grid[rows, columns] += values``, correct when a cell repeats (several sources).

    Plain fancy-index addition when every cell is distinct (the usual single source case),
    ``np.add.at`` otherwise: it is exact for repeats but much slower.
    """
    cells = rows * grid.shape[1] + columns
    if cells.size < 2 or np.unique(cells).size == cells.size:
        grid[rows, columns] += values
    else:
        np.add.at(grid, (rows, columns), values)


def _first(mask: npt.NDArray[np.bool_]) -> int | None:
    found = np.flatnonzero(mask)
    return int(found[0]) if found.size else None


def write_counts(
    connection: sqlite3.Connection,
    series: object,
    minutes: object,
    good: object,
    total: object,
    source: str,
) -> int:
    """Upsert minute rows; return how many were written. Validates everything first."""
    series_a = int_array("series", series)
    minutes_a = int_array("minutes", minutes)
    good_a = int_array("good", good)
    total_a = int_array("total", total)
    if len({series_a.size, minutes_a.size, good_a.size, total_a.size}) != 1:
        raise StoreError(
            "series, minutes, good and total must have the same length "
            f"(got {series_a.size}, {minutes_a.size}, {good_a.size}, {total_a.size})"
        )
    if not series_a.size:
        return 0
    checks = (
        (good_a < 0, "good is negative"),
        (good_a > total_a, "good is larger than total"),
        ((series_a < 1) | (series_a > blocks.MAX_SERIES_ID), "the series id is out of range"),
        ((minutes_a < 0) | (minutes_a > blocks.MAX_MINUTE), "the minute is out of range"),
    )
    for bad, problem in checks:
        row = _first(bad)
        if row is not None:
            raise StoreError(
                f"row {row} (series {int(series_a[row])}, minute {int(minutes_a[row])}, "
                f"good {int(good_a[row])}, total {int(total_a[row])}): {problem}"
            )
    batch = blocks.build_blocks(series_a, minutes_a, good_a, total_a)
    check_series_exist(connection, np.unique(batch.series).tolist())
    source_key = source_id(connection, source)
    connection.executemany(
        _UPSERT_BLOCK,
        zip(
            batch.series.tolist(),
            batch.hours.tolist(),
            repeat(source_key),
            blocks.encode_blocks(batch.counts),
            batch.masks.tolist(),
            batch.good_sums.tolist(),
            batch.total_sums.tolist(),
            strict=False,
        ),
    )
    refresh_days(connection, np.unique((batch.series << 32) | (batch.hours // HOURS_PER_DAY)))
    return int(series_a.size)


def refresh_days(connection: sqlite3.Connection, day_keys: Int64Array) -> None:
    """Recompute the ``day_counts`` rows of sorted ``series << 32 | day`` keys from blocks."""
    if not day_keys.size:
        return
    rows = connection.execute(_HOUR_SUMS_OF_DAYS, (json.dumps(day_keys.tolist()),)).fetchall()
    hourly = np.zeros((day_keys.size, 2, HOURS_PER_DAY), dtype=np.int64)
    if rows:
        found = rows_array(rows, 4)
        day_of_row = np.searchsorted(day_keys, (found[:, 0] << 32) | (found[:, 1] // HOURS_PER_DAY))
        by_hour = hourly.transpose(0, 2, 1)  # a view: [day, hour] -> (good, total)
        scatter_add(by_hour, day_of_row, found[:, 1] % HOURS_PER_DAY, found[:, 2:])
    totals = hourly.sum(axis=2)
    connection.executemany(
        _UPSERT_DAY,
        zip(
            (day_keys >> 32).tolist(),
            (day_keys & 0xFFFF_FFFF).tolist(),
            totals[:, 0].tolist(),
            totals[:, 1].tolist(),
            blocks.encode_blocks(hourly),
            strict=True,
        ),
    )
