"""Writing 1-minute good/total counts: validated, grouped into hour blocks, upserted.

Rows are grouped into hour blocks in numpy (``blocks.build_blocks``). Blocks that send
only part of their hour are merged with what is stored (one bulk read, numpy merge) so
re-sent minutes replace and the others stay; whole-hour blocks need no read. All blocks
are then upserted with one ``executemany``. Finally the ``day_counts`` rows of the touched
days get the touched hours' sums recomputed from the stored blocks (all sources), so the
rollups never drift from the raw counts. No Python loop runs per minute row.

Every write is held to ``limits``: minutes in the accepted time range (2000 to 2100) and
counts of at most ``MAX_COUNT`` per (series, minute, source) — after adding, for
``add_counts`` — so no int64 sum of the store can overflow (``limits.MAX_COUNT`` says why).
"""

from __future__ import annotations

import json
import sqlite3
from itertools import chain, repeat

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.limits import EARLIEST_MINUTE, LATEST_MINUTE, MAX_COUNT, MAX_COUNT_TEXT
from errorbudget.store.sqlite import blocks
from errorbudget.store.sqlite.blocks import FULL_MASK, HOURS_PER_DAY, Int64Array
from errorbudget.store.sqlite.series import check_series_exist, source_id

# Keys below are ``series_id << 32 | hour`` (or ``| day``) in one JSON array per statement;
# CROSS JOIN keeps the key list as the outer loop (one seek per key, never a table scan).
_KEY_SERIES = "(t.value >> 32)"
_KEY_LOW = "(t.value & 4294967295)"

_STORED_BLOCKS = f"""
SELECT b.series_id, b.hour, b.counts, b.minutes_mask
FROM json_each(?) AS t
CROSS JOIN minute_blocks AS b
  ON b.series_id = {_KEY_SERIES} AND b.hour = {_KEY_LOW} AND b.source_id = ?
"""

_UPSERT_BLOCK = """
INSERT INTO minute_blocks
    (series_id, hour, source_id, counts, minutes_mask, good_sum, total_sum)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, hour, source_id) DO UPDATE SET
    counts = excluded.counts,
    minutes_mask = excluded.minutes_mask,
    good_sum = excluded.good_sum,
    total_sum = excluded.total_sum
"""

_HOUR_SUMS = f"""
SELECT b.series_id, b.hour, b.good_sum, b.total_sum
FROM json_each(?) AS t
CROSS JOIN minute_blocks AS b ON b.series_id = {_KEY_SERIES} AND b.hour = {_KEY_LOW}
"""

_DAY_ROWS = f"""
SELECT d.series_id, d.day, d.hours
FROM json_each(?) AS t
CROSS JOIN day_counts AS d ON d.series_id = {_KEY_SERIES} AND d.day = {_KEY_LOW}
"""

_UPSERT_DAY = """
INSERT INTO day_counts (series_id, day, good, total, hours) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (series_id, day) DO UPDATE
SET good = excluded.good, total = excluded.total, hours = excluded.hours
"""


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
        (total_a > MAX_COUNT, f"total is more than {MAX_COUNT_TEXT}, the most a minute may count"),
        ((series_a < 1) | (series_a > blocks.MAX_SERIES_ID), "the series id is out of range"),
        (
            (minutes_a < EARLIEST_MINUTE) | (minutes_a >= LATEST_MINUTE),
            "the minute is out of range (2000-01-01 to 2100-01-01)",
        ),
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
    _merge_partial_hours(connection, batch, source_key)
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
    _refresh_days(connection, (batch.series << 32) | batch.hours)
    return int(series_a.size)


def _merge_partial_hours(
    connection: sqlite3.Connection, batch: blocks.BlockBatch, source_key: int
) -> None:
    """Merge stored blocks into the batch's blocks that do not send their whole hour."""
    partial = batch.masks != FULL_MASK
    if not bool(partial.any()):
        return
    keys = ((batch.series << 32) | batch.hours)[partial]
    rows = connection.execute(_STORED_BLOCKS, (json.dumps(keys.tolist()), source_key))
    found = rows.fetchall()
    if not found:
        return
    series_ids, hours, blobs, masks = zip(*found, strict=True)
    stored = (np.asarray(series_ids, dtype=np.int64) << 32) | np.asarray(hours, dtype=np.int64)
    order = np.argsort(stored)
    blocks.merge_stored(
        batch,
        stored[order],
        blocks.decode_blocks(blobs)[order],
        np.asarray(masks, dtype=np.int64)[order],
    )


def _refresh_days(connection: sqlite3.Connection, hour_keys: Int64Array) -> None:
    """Recompute the touched hours (sorted ``series << 32 | hour`` keys) in ``day_counts``.

    Each touched hour is summed again over all sources from ``minute_blocks``; the other
    hours of the day keep their stored sums; the day totals are the sum of the 24 hours.
    """
    series = hour_keys >> 32
    hours = hour_keys & 0xFFFF_FFFF
    day_keys = np.unique((series << 32) | (hours // HOURS_PER_DAY))
    hourly = np.zeros((day_keys.size, 2, HOURS_PER_DAY), dtype=np.int64)
    stored_days = connection.execute(_DAY_ROWS, (json.dumps(day_keys.tolist()),)).fetchall()
    if stored_days:
        day_series, days, blobs = zip(*stored_days, strict=True)
        at = np.searchsorted(
            day_keys,
            (np.asarray(day_series, dtype=np.int64) << 32) | np.asarray(days, dtype=np.int64),
        )
        hourly[at] = blocks.decode_blocks(blobs, HOURS_PER_DAY)
    found = rows_array(
        connection.execute(_HOUR_SUMS, (json.dumps(hour_keys.tolist()),)).fetchall(), 4
    )
    sums = np.zeros((hour_keys.size, 2), dtype=np.int64)
    hour_of_row = np.searchsorted(hour_keys, (found[:, 0] << 32) | found[:, 1])
    if np.unique(hour_of_row).size == hour_of_row.size:
        sums[hour_of_row] = found[:, 2:]
    else:  # several sources in one hour add up
        np.add.at(sums, hour_of_row, found[:, 2:])
    day_of_hour = np.searchsorted(day_keys, (series << 32) | (hours // HOURS_PER_DAY))
    hourly[day_of_hour, :, hours % HOURS_PER_DAY] = sums
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


def add_counts(
    connection: sqlite3.Connection,
    series: object,
    minutes: object,
    good: object,
    total: object,
    source: str,
) -> int:
    """Add minute rows to what ``source`` stored for them (instead of replacing it); return
    how many were written. For counts that several writers accumulate, such as the calls
    of collector processes that may overlap (run in the caller's transaction, which is an
    exclusive writer, so no other process adds in between)."""
    series_a = int_array("series", series)
    minutes_a = int_array("minutes", minutes)
    good_a = int_array("good", good).copy()
    total_a = int_array("total", total).copy()
    if len({series_a.size, minutes_a.size, good_a.size, total_a.size}) != 1:
        raise StoreError(
            "series, minutes, good and total must have the same length "
            f"(got {series_a.size}, {minutes_a.size}, {good_a.size}, {total_a.size})"
        )
    if not series_a.size:
        return 0
    if bool((good_a < 0).any() or (good_a > total_a).any()):
        raise StoreError("counts to add need 0 <= good <= total")
    if bool(((series_a < 1) | (minutes_a < EARLIEST_MINUTE) | (minutes_a >= LATEST_MINUTE)).any()):
        raise StoreError("a series id or minute to add to is out of range")
    if bool((total_a > MAX_COUNT).any()):
        raise StoreError(
            f"a count to add is more than {MAX_COUNT_TEXT}, the most a minute may count"
        )
    keys = (series_a << 32) | (minutes_a // blocks.MINUTES_PER_HOUR)
    wanted = np.unique(keys)
    source_key = source_id(connection, source)
    found = connection.execute(_STORED_BLOCKS, (json.dumps(wanted.tolist()), source_key))
    rows = found.fetchall()
    if rows:
        series_ids, hours, blobs, _ = zip(*rows, strict=True)
        stored_keys = (np.asarray(series_ids, dtype=np.int64) << 32) | np.asarray(
            hours, dtype=np.int64
        )
        order = np.argsort(stored_keys)
        stored_keys = stored_keys[order]
        stored = blocks.decode_blocks(blobs)[order]
        at = np.searchsorted(stored_keys, keys)
        hit = (at < stored_keys.size) & (stored_keys[np.minimum(at, stored_keys.size - 1)] == keys)
        minute_of_hour = minutes_a % blocks.MINUTES_PER_HOUR
        good_a[hit] += stored[at[hit], 0, minute_of_hour[hit]]
        total_a[hit] += stored[at[hit], 1, minute_of_hour[hit]]
    return write_counts(connection, series_a, minutes_a, good_a, total_a, source)
