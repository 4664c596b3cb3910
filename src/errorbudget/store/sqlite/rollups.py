"""Per-series rollups the counts writer keeps: each series' data bounds.

``series.first_minute`` / ``series.end_minute`` (schema v7) are the first minute any source
sent for the series and the last one + 1, NULL while it has none. Every hour block goes
through ``pending.write_blocks``, which widens them in the same transaction from the
blocks' minute masks (a rolled-back write takes its widening with it). A block's mask only
gains minutes — a re-send replaces counts, a partial one is merged with what is stored,
nothing deletes a block — so widening is exact: the bounds always equal what the minute
blocks say, and ``reads.series_bounds`` reads one row per series instead of seeking each
series' edge blocks (4,000 b-tree seeks for 1,000 series).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np

from errorbudget.store.sqlite.blocks import MINUTES_PER_HOUR, Int64Array

_WIDEN = """
UPDATE series
SET first_minute = min(coalesce(first_minute, ?1), ?1),
    end_minute = max(coalesce(end_minute, ?2), ?2)
WHERE id = ?3
"""

_EDGE_MASKS = """
SELECT b.series_id, b.hour, b.minutes_mask
FROM (SELECT series_id, {edge}(hour) AS hour FROM minute_blocks GROUP BY series_id) AS e
CROSS JOIN minute_blocks AS b ON b.series_id = e.series_id AND b.hour = e.hour
"""

_HALF = 30
"""Masks are split in two 30-bit halves so every value numpy turns into a float is exact."""


def _bit_length(values: Int64Array) -> Int64Array:
    """``int.bit_length`` of each non-negative value below 2**60, exactly."""
    high = values >> _HALF
    low = values & ((1 << _HALF) - 1)
    high_bits = np.frexp(high.astype(np.float64))[1].astype(np.int64)
    low_bits = np.frexp(low.astype(np.float64))[1].astype(np.int64)
    return np.where(high > 0, high_bits + _HALF, low_bits)


def block_bounds(hours: Int64Array, masks: Int64Array) -> tuple[Int64Array, Int64Array]:
    """(first minute, last minute + 1) of each hour block with a non-zero minutes mask."""
    lowest = masks & -masks
    first = hours * MINUTES_PER_HOUR + _bit_length(lowest) - 1
    end = hours * MINUTES_PER_HOUR + _bit_length(masks)
    return first, end


def widen_series_bounds(
    connection: sqlite3.Connection, series: Int64Array, hours: Int64Array, masks: Sequence[int]
) -> None:
    """Widen the stored bounds of ``series`` to cover these blocks' minutes (one update per
    series of the write)."""
    mask_array = np.asarray(masks, dtype=np.int64)
    sent = mask_array != 0
    if not bool(sent.any()):
        return
    first, end = block_bounds(hours[sent], mask_array[sent])
    ids, inverse = np.unique(series[sent], return_inverse=True)
    lowest = np.full(ids.size, np.iinfo(np.int64).max, dtype=np.int64)
    highest = np.full(ids.size, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lowest, inverse, first)
    np.maximum.at(highest, inverse, end)
    connection.executemany(
        _WIDEN, zip(lowest.tolist(), highest.tolist(), ids.tolist(), strict=True)
    )


def backfill_series_bounds(connection: sqlite3.Connection) -> None:
    """Set every series' bounds from its stored edge blocks (the v7 migration's step)."""
    connection.execute("UPDATE series SET first_minute = NULL, end_minute = NULL")
    for edge in ("min", "max"):
        rows = connection.execute(_EDGE_MASKS.format(edge=edge)).fetchall()
        if not rows:
            return
        found = np.asarray(rows, dtype=np.int64)
        widen_series_bounds(connection, found[:, 0], found[:, 1], found[:, 2].tolist())
