"""Writing 1-minute good/total counts: validated, grouped into hour blocks, upserted.

Rows are grouped into hour blocks in numpy (``blocks.build_blocks``). Blocks that send
only part of their hour are merged with what is stored (one bulk read, numpy merge) so
re-sent minutes replace and the others stay; whole-hour blocks need no read. All blocks
are then upserted in one bulk statement of the backend. Finally the ``day_counts`` rows of
the touched days get the touched hours' sums recomputed — this write's blocks (complete
after the merge) plus, only when the store has another source, the other sources' stored
sums of those hours — so the rollups never drift from the raw counts. No Python loop runs
per minute row. Inside a longer transaction (an ingest of a file, batch by batch) a backend
may keep the hours a batch leaves partial and the day rows back until needed
(``pending.py``), so an hour split between two batches is written once and nothing is read
back.

Every write is held to ``limits``: minutes in the accepted time range (2000 to 2100) and
counts of at most ``MAX_COUNT`` per (series, minute, source) — after adding, for
``add_counts`` — so no int64 sum of the store can overflow (``limits.MAX_COUNT`` says why).

The statements are the backend's (``tables.CountsTables``); everything here is the same on
every backend, and ``add_counts`` relies on running in the backend's exclusive write
transaction (no other writer adds between its read and its write).
"""

from __future__ import annotations

from itertools import chain

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.limits import EARLIEST_MINUTE, LATEST_MINUTE, MAX_COUNT, MAX_COUNT_TEXT
from errorbudget.store.counts import blocks
from errorbudget.store.counts.blocks import FULL_MASK, HOURS_PER_DAY, Int64Array
from errorbudget.store.counts.pending import MAX_KEPT, PendingCounts
from errorbudget.store.counts.rollups import write_blocks, write_days
from errorbudget.store.counts.tables import CountsTables


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


def _same_length(
    series: Int64Array, minutes: Int64Array, good: Int64Array, total: Int64Array
) -> None:
    if len({series.size, minutes.size, good.size, total.size}) != 1:
        raise StoreError(
            "series, minutes, good and total must have the same length "
            f"(got {series.size}, {minutes.size}, {good.size}, {total.size})"
        )


def write_counts(
    tables: CountsTables,
    series: object,
    minutes: object,
    good: object,
    total: object,
    source: str,
    pending: PendingCounts | None = None,
) -> int:
    """Upsert minute rows; return how many were written. Validates everything first.

    With ``pending`` (a transaction that writes more), hours still partial and the day
    rows are kept there instead of written (``pending.py``)."""
    series_a = int_array("series", series)
    minutes_a = int_array("minutes", minutes)
    good_a = int_array("good", good)
    total_a = int_array("total", total)
    _same_length(series_a, minutes_a, good_a, total_a)
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
    tables.check_series_exist(np.unique(batch.series).tolist())
    source_key = tables.source_id(source)
    if pending is not None and pending.source not in (None, source_key):
        pending.flush(tables)  # kept blocks are of one source
    keys = (batch.series << 32) | batch.hours
    _merge_partial_hours(tables, batch, keys, source_key, pending)
    sums = np.stack([batch.good_sums, batch.total_sums], axis=1)
    if pending is None:
        write_blocks(tables, keys, batch.counts, batch.masks.tolist(), source_key)
        day_keys, hourly = _day_rows(tables, keys, sums, source_key, {})
        write_days(tables, day_keys, hourly)
        return int(series_a.size)
    complete = batch.masks == FULL_MASK
    if bool(complete.all()):
        write_blocks(tables, keys, batch.counts, batch.masks.tolist(), source_key)
    elif bool(complete.any()):
        write_blocks(tables, keys[complete], batch.counts[complete],
                     batch.masks[complete].tolist(), source_key)  # fmt: skip
    day_keys, hourly = _day_rows(tables, keys, sums, source_key, pending.days)
    # Only now, with every statement done, what is kept changes (a failed write keeps none).
    kept = pending.blocks
    for key in keys[complete].tolist():
        kept.pop(key, None)
    partial = np.flatnonzero(~complete)
    for index, key in zip(partial.tolist(), keys[partial].tolist(), strict=True):
        kept[key] = (batch.counts[index], int(batch.masks[index]))
    pending.source = source_key
    pending.days.update(zip(day_keys.tolist(), hourly, strict=True))
    if len(pending) > MAX_KEPT:
        pending.flush(tables)
    return int(series_a.size)


def _stored_blocks(
    tables: CountsTables, wanted: Int64Array, source_key: int
) -> tuple[Int64Array, Int64Array, Int64Array]:
    """``source_key``'s stored blocks at ``wanted`` keys: (sorted keys, counts, masks)."""
    rows = tables.stored_blocks(wanted, source_key) if wanted.size else []
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, np.zeros((0, 2, blocks.MINUTES_PER_HOUR), dtype=np.int64), empty
    series_ids, hours, blobs, masks = zip(*rows, strict=True)
    keys = (np.asarray(series_ids, dtype=np.int64) << 32) | np.asarray(hours, dtype=np.int64)
    order = np.argsort(keys)
    return (
        keys[order],
        blocks.decode_blocks(blobs)[order],
        np.asarray([int(mask) for mask in masks], dtype=np.int64)[order],
    )


def _merge_partial_hours(
    tables: CountsTables,
    batch: blocks.BlockBatch,
    keys: Int64Array,
    source_key: int,
    pending: PendingCounts | None,
) -> None:
    """Merge what is stored — kept back by this transaction, else in the table — into the
    batch's blocks that do not send their whole hour."""
    partial = batch.masks != FULL_MASK
    if not bool(partial.any()):
        return
    wanted = keys[partial]
    kept = pending.blocks if pending is not None else {}
    found_keys: list[int] = []
    found_counts: list[Int64Array] = []
    found_masks: list[int] = []
    if kept:
        for key in wanted.tolist():
            block = kept.get(key)
            if block is not None:
                found_keys.append(key)
                found_counts.append(block[0])
                found_masks.append(block[1])
        if found_keys:
            wanted = np.setdiff1d(wanted, np.asarray(found_keys, dtype=np.int64))
    stored_keys, stored_counts, stored_masks = _stored_blocks(tables, wanted, source_key)
    if stored_keys.size:
        found_keys.extend(stored_keys.tolist())
        found_counts.extend(stored_counts)
        found_masks.extend(stored_masks.tolist())
    if not found_keys:
        return
    stored = np.asarray(found_keys, dtype=np.int64)
    order = np.argsort(stored)
    blocks.merge_stored(
        batch,
        stored[order],
        np.stack(found_counts)[order],
        np.asarray(found_masks, dtype=np.int64)[order],
    )


def _day_rows(
    tables: CountsTables,
    hour_keys: Int64Array,
    sums: Int64Array,
    source_key: int,
    kept: dict[int, Int64Array],
) -> tuple[Int64Array, Int64Array]:
    """The day rows of the touched hours (sorted ``series << 32 | hour`` keys) with those
    hours recomputed: (day keys, hourly sums of shape (days, 2, 24)).

    ``sums`` are this source's new (good, total) per touched hour; other sources' sums of
    those hours are read only when the store has another source. The other hours of each
    day keep their sums — from ``kept`` (day rows this transaction kept back), else read.
    """
    series = hour_keys >> 32
    hours = hour_keys & 0xFFFF_FFFF
    day_keys = np.unique((series << 32) | (hours // HOURS_PER_DAY))
    hourly = np.zeros((day_keys.size, 2, HOURS_PER_DAY), dtype=np.int64)
    wanted = day_keys
    if kept:
        hit = [(index, kept[key]) for index, key in enumerate(day_keys.tolist()) if key in kept]
        if hit:
            found = np.fromiter((index for index, _ in hit), dtype=np.int64, count=len(hit))
            hourly[found] = np.stack([row for _, row in hit])
            missing = np.ones(day_keys.size, dtype=bool)
            missing[found] = False
            wanted = day_keys[missing]
    if wanted.size:
        stored_days = tables.stored_days(wanted)
        if stored_days:
            day_series, days, blobs = zip(*stored_days, strict=True)
            at = np.searchsorted(
                day_keys,
                (np.asarray(day_series, dtype=np.int64) << 32) | np.asarray(days, dtype=np.int64),
            )
            hourly[at] = blocks.decode_blocks(blobs, HOURS_PER_DAY)
    sums = sums.copy()
    if tables.has_other_sources(source_key):
        others = rows_array(list(tables.other_hour_sums(hour_keys, source_key)), 4)
        np.add.at(sums, np.searchsorted(hour_keys, (others[:, 0] << 32) | others[:, 1]),
                  others[:, 2:])  # fmt: skip
    day_of_hour = np.searchsorted(day_keys, (series << 32) | (hours // HOURS_PER_DAY))
    hourly[day_of_hour, :, hours % HOURS_PER_DAY] = sums
    return day_keys, hourly


def add_counts(
    tables: CountsTables,
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
    _same_length(series_a, minutes_a, good_a, total_a)
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
    source_key = tables.source_id(source)
    stored_keys, stored, _ = _stored_blocks(tables, np.unique(keys), source_key)
    if stored_keys.size:
        at = np.searchsorted(stored_keys, keys)
        hit = (at < stored_keys.size) & (stored_keys[np.minimum(at, stored_keys.size - 1)] == keys)
        minute_of_hour = minutes_a % blocks.MINUTES_PER_HOUR
        good_a[hit] += stored[at[hit], 0, minute_of_hour[hit]]
        total_a[hit] += stored[at[hit], 1, minute_of_hour[hit]]
    return write_counts(tables, series_a, minutes_a, good_a, total_a, source)
