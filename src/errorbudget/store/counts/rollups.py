"""Per-series rollups the counts writer keeps: data bounds and day-total chunks.

``series.first_minute`` / ``series.end_minute`` (SQLite schema v7) are the first minute any
source sent for the series and the last one + 1, NULL while it has none. Every hour block
goes through ``write_blocks``, which widens them in the same transaction from the blocks'
minute masks (a rolled-back write takes its widening with it). A block's mask only gains
minutes — a re-send replaces counts, a partial one is merged with what is stored, nothing
deletes a block — so widening is exact: the bounds always equal what the minute blocks
say, and ``reads.series_bounds`` reads one row per series instead of seeking each series'
edge blocks (4,000 b-tree seeks for 1,000 series).

``day_chunks`` (SQLite schema v7) holds each series' UTC day totals (summed over sources, as
in ``day_counts``) in chunks of ``DAYS_PER_CHUNK`` days, one row per series and chunk, in
the block format (good[32] then total[32]): a window of whole days is read as two or three
rows per series instead of one per day (a 35-day status: ~30,000 day rows → ~2,500
chunks). ``write_days`` keeps them in the same transaction as the day rows it writes —
every day row is written there — by setting those days' totals in their chunks.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from errorbudget.store.counts import blocks
from errorbudget.store.counts.blocks import MINUTES_PER_HOUR, Int64Array
from errorbudget.store.counts.tables import CountsTables

DAYS_PER_CHUNK = 32
CHUNK_SHIFT = 5
"""``day >> CHUNK_SHIFT`` is a day's chunk, ``day & (DAYS_PER_CHUNK - 1)`` its slot."""

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
    tables: CountsTables, series: Int64Array, hours: Int64Array, masks: Sequence[int]
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
    tables.widen_bounds(ids, lowest, highest)


def write_day_totals(tables: CountsTables, keys: Int64Array, totals: Int64Array) -> None:
    """Set the totals (n, 2) of days (``series << 32 | day`` keys, unique) in their chunks."""
    if not keys.size:
        return
    series = keys >> 32
    days = keys & 0xFFFF_FFFF
    chunk_of_day = (series << 32) | (days >> CHUNK_SHIFT)
    chunk_keys, day_chunk = np.unique(chunk_of_day, return_inverse=True)
    chunks = np.zeros((chunk_keys.size, 2, DAYS_PER_CHUNK), dtype=np.int64)
    rows = tables.stored_chunks(chunk_keys)
    if rows:
        stored_series, stored_chunks, blobs = zip(*rows, strict=True)
        at = np.searchsorted(
            chunk_keys,
            (np.asarray(stored_series, dtype=np.int64) << 32)
            | np.asarray(stored_chunks, dtype=np.int64),
        )
        chunks[at] = blocks.decode_blocks(blobs, DAYS_PER_CHUNK)
    chunks[day_chunk, :, days & (DAYS_PER_CHUNK - 1)] = totals
    tables.upsert_chunks(chunk_keys, blocks.encode_blocks(chunks))


def write_blocks(
    tables: CountsTables, keys: Int64Array, counts: Int64Array, masks: list[int], source: int
) -> None:
    """Upsert hour blocks (``series << 32 | hour`` keys, counts (n, 2, 60)) of ``source``,
    and widen their series' data bounds in the same transaction."""
    tables.upsert_blocks(keys, source, blocks.encode_blocks(counts), masks, counts.sum(axis=2))
    widen_series_bounds(tables, keys >> 32, keys & 0xFFFF_FFFF, masks)


def write_days(tables: CountsTables, keys: Int64Array, hourly: Int64Array) -> None:
    """Upsert day rows (``series << 32 | day`` keys, hourly sums (n, 2, 24)), and their
    totals in the series' day chunks in the same transaction."""
    totals = hourly.sum(axis=2)
    write_day_totals(tables, keys, totals)
    tables.upsert_days(keys, totals, blocks.encode_blocks(hourly))
