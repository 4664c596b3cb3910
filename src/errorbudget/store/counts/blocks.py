"""Hour blocks and interval plans: the pure numpy half of the counts store.

A *block* is one row of ``minute_blocks``: the 60 good counts then the 60 total counts of
one hour of one series from one source, as a little-endian integer array in the narrowest
width that holds the hour's largest total — 1, 2, 4 or 8 bytes per count, told apart by the
blob's length, and an empty blob for an hour of zeros. Contact-center minutes rarely exceed
255 events, so most blocks take 120 bytes instead of 960: this is what keeps 400 days of
1-minute history compact. A 60-bit *minutes mask* (bit ``m`` = minute ``m`` of the hour was
sent) lets a re-send replace exactly the minutes it carries and keep the others: before a
write, the stored blocks of the hours it sends only partly are read and merged in numpy.

A ``day_counts`` row stores the 24 hourly sums of one UTC day in the same format (24 good
then 24 total), so whole hours are read from one row per day rather than one per hour.

An *interval plan* turns the ``[start, end)`` intervals of one ``sums()`` call into disjoint
segments between their end points (so overlapping windows ending at the same instant are
read once), and each segment into partial-hour minute ranges (read from blocks), whole
hours within a day (from the hourly sums of day rows) and whole UTC days (day totals).

Nothing here does I/O; everything is vectorised over blocks, never looped per minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError

MINUTES_PER_HOUR = 60
HOURS_PER_DAY = 24
FULL_MASK = (1 << MINUTES_PER_HOUR) - 1
"""The minutes mask of a block whose 60 minutes were all sent."""

MAX_SERIES_ID = (1 << 31) - 1
MAX_MINUTE = (1 << 32) - 1
"""Minutes after this (year 10136) do not fit the sort key; nobody will miss them."""

_WIDTH_DTYPES: dict[int, np.dtype[np.integer]] = {
    1: np.dtype("<u1"),
    2: np.dtype("<u2"),
    4: np.dtype("<u4"),
    8: np.dtype("<i8"),
}
_LENGTH_DTYPES = {2 * MINUTES_PER_HOUR * width: dtype for width, dtype in _WIDTH_DTYPES.items()}
_MINUTE_BITS = np.left_shift(np.int64(1), np.arange(MINUTES_PER_HOUR, dtype=np.int64))

Int64Array = npt.NDArray[np.int64]


# --- blocks ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockBatch:
    """The blocks of one ``write_counts`` call, one entry per (series, hour), key-sorted."""

    series: Int64Array
    hours: Int64Array
    counts: Int64Array
    """Shape (blocks, 2, 60): good then total per minute of the hour, 0 where not sent."""
    masks: Int64Array
    good_sums: Int64Array
    total_sums: Int64Array


def build_blocks(
    series: Int64Array, minutes: Int64Array, good: Int64Array, total: Int64Array
) -> BlockBatch:
    """Group validated minute rows into hour blocks (sort only when the input is not sorted).

    Raises StoreError when a (series, minute) pair appears twice: the caller aggregates.
    """
    key = (series << 32) | minutes
    if key.size > 1 and not bool(np.all(key[1:] > key[:-1])):
        order = np.argsort(key, kind="stable")
        key, series, minutes = key[order], series[order], minutes[order]
        good, total = good[order], total[order]
        repeated = np.flatnonzero(key[1:] == key[:-1])
        if repeated.size:
            i = int(repeated[0])
            raise StoreError(
                f"series {int(series[i])} minute {int(minutes[i])} appears more than once in "
                "one write; aggregate rows per (series, minute) before writing"
            )
    hours = minutes // MINUTES_PER_HOUR
    offsets = minutes - hours * MINUTES_PER_HOUR
    block_key = (series << 32) | hours
    is_first = np.empty(key.size, dtype=bool)
    is_first[0] = True
    np.not_equal(block_key[1:], block_key[:-1], out=is_first[1:])
    starts = np.flatnonzero(is_first)
    block_of_row = np.cumsum(is_first) - 1
    counts = np.zeros((starts.size, 2, MINUTES_PER_HOUR), dtype=np.int64)
    counts[block_of_row, 0, offsets] = good
    counts[block_of_row, 1, offsets] = total
    return BlockBatch(
        series=series[starts],
        hours=hours[starts],
        counts=counts,
        masks=np.add.reduceat(_MINUTE_BITS[offsets], starts),
        good_sums=np.add.reduceat(good, starts),
        total_sums=np.add.reduceat(total, starts),
    )


def _widths(max_totals: Int64Array) -> Int64Array:
    """Bytes per count needed for blocks whose largest total is ``max_totals`` (0 = all zero)."""
    return np.select(
        [max_totals == 0, max_totals <= 0xFF, max_totals <= 0xFFFF, max_totals <= 0xFFFF_FFFF],
        [0, 1, 2, 4],
        default=8,
    ).astype(np.int64)


def encode_blocks(counts: Int64Array) -> list[bytes]:
    """Blobs for blocks of shape (n, 2, slots), each in its narrowest width.

    ``slots`` is 60 for minute blocks and 24 for the hourly sums of a day row.
    """
    n, _, slots = counts.shape
    widths = _widths(counts[:, 1, :].max(axis=1)) if n else np.zeros(0, dtype=np.int64)
    blobs = [b""] * n
    for width, dtype in _WIDTH_DTYPES.items():
        chosen = np.flatnonzero(widths == width)
        if not chosen.size:
            continue
        size = 2 * slots * width
        data = (counts if chosen.size == n else counts[chosen]).astype(dtype).tobytes()
        pieces = [data[i : i + size] for i in range(0, len(data), size)]
        if chosen.size == n:
            return pieces
        for index, piece in zip(chosen.tolist(), pieces, strict=True):
            blobs[index] = piece
    return blobs


def decode_stored(blobs: Sequence[bytes], slots: int = MINUTES_PER_HOUR) -> npt.NDArray[Any]:
    """Blocks of shape (n, 2, slots) for reading: when every blob has one width (the usual
    read), a read-only view of their bytes in that width — no int64 copy; callers sum with
    ``dtype=np.int64`` — otherwise :func:`decode_blocks`' int64 array."""
    lengths = set(map(len, blobs))
    if len(lengths) == 1:
        [length] = lengths
        dtype = _WIDTH_DTYPES.get(length // (2 * slots)) if length % (2 * slots) == 0 else None
        if dtype is not None:
            joined = b"".join(blobs)
            return np.frombuffer(joined, dtype=dtype).reshape(len(blobs), 2, slots)
    return decode_blocks(blobs, slots)


def decode_blocks(blobs: Sequence[bytes], slots: int = MINUTES_PER_HOUR) -> Int64Array:
    """Blocks of shape (n, 2, slots) int64 from blobs (grouped by width, one frombuffer each)."""
    n = len(blobs)
    counts = np.zeros((n, 2, slots), dtype=np.int64)
    if not n:
        return counts
    lengths = np.fromiter(map(len, blobs), dtype=np.int64, count=n)
    known = lengths == 0
    for width, dtype in _WIDTH_DTYPES.items():
        chosen = np.flatnonzero(lengths == 2 * slots * width)
        if not chosen.size:
            continue
        known[chosen] = True
        if chosen.size == n:
            joined = b"".join(blobs)
        else:
            joined = b"".join([blobs[i] for i in chosen.tolist()])
        counts[chosen] = np.frombuffer(joined, dtype=dtype).reshape(-1, 2, slots)
    if not bool(known.all()):
        bad = int(lengths[np.flatnonzero(~known)[0]])
        raise StoreError(f"a stored count block has an impossible length of {bad} bytes")
    return counts


def merge_stored(
    batch: BlockBatch, stored: Int64Array, old_counts: Int64Array, old_masks: Int64Array
) -> None:
    """Fold already-stored blocks into ``batch`` in place: sent minutes win, others stay.

    ``stored`` are the ``series << 32 | hour`` keys of blocks found in the store for this
    batch's source, with their counts (k, 2, 60) and minutes masks. Afterwards each batch
    block is the complete new state of its row (merged counts, OR-ed mask, new sums).
    """
    if not stored.size:
        return
    at = np.searchsorted((batch.series << 32) | batch.hours, stored)
    sent = (batch.masks[at, np.newaxis] & _MINUTE_BITS) != 0
    merged = np.where(sent[:, np.newaxis, :], batch.counts[at], old_counts)
    batch.counts[at] = merged
    batch.masks[at] |= old_masks
    batch.good_sums[at] = merged[:, 0].sum(axis=1)
    batch.total_sums[at] = merged[:, 1].sum(axis=1)


# --- interval plans ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IntervalPlan:
    """How to answer ``sums()`` for a list of intervals.

    Segments are the gaps between consecutive distinct end points; interval ``i`` is the
    union of segments ``first[i]`` to ``last[i] - 1``. Each covered segment is read as:
    ``partials`` (segment, hour, first minute, end minute within the hour),
    ``hour_ranges`` (segment, first hour, end hour; always inside one UTC day) and
    ``day_ranges`` (segment, first UTC day, end day).
    """

    segment_count: int
    first: Int64Array
    last: Int64Array
    partials: tuple[tuple[int, int, int, int], ...]
    hour_ranges: tuple[tuple[int, int, int], ...]
    day_ranges: tuple[tuple[int, int, int], ...]


def plan_intervals(intervals: Sequence[tuple[int, int]]) -> IntervalPlan:
    """Split ``[start, end)`` minute intervals into disjoint, read-once segments."""
    bounds = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    starts, ends = bounds[:, 0], bounds[:, 1]
    backwards = np.flatnonzero(starts > ends)
    if backwards.size:
        i = int(backwards[0])
        raise StoreError(f"interval {i} ends before it starts ([{int(starts[i])}, {int(ends[i])}))")
    points = np.unique(bounds)
    first = np.searchsorted(points, starts)
    last = np.searchsorted(points, ends)
    segment_count = max(points.size - 1, 0)
    coverage = np.zeros(points.size + 1, dtype=np.int64)
    np.add.at(coverage, first, 1)
    np.add.at(coverage, last, -1)
    covered = np.cumsum(coverage)[:segment_count] > 0
    partials: list[tuple[int, int, int, int]] = []
    hour_ranges: list[tuple[int, int, int]] = []
    day_ranges: list[tuple[int, int, int]] = []
    for segment in np.flatnonzero(covered).tolist():
        _split_segment(
            segment,
            int(points[segment]),
            int(points[segment + 1]),
            partials,
            hour_ranges,
            day_ranges,
        )
    return IntervalPlan(
        segment_count=segment_count,
        first=first,
        last=last,
        partials=tuple(partials),
        hour_ranges=tuple(hour_ranges),
        day_ranges=tuple(day_ranges),
    )


def _split_segment(
    segment: int,
    start: int,
    end: int,
    partials: list[tuple[int, int, int, int]],
    hour_ranges: list[tuple[int, int, int]],
    day_ranges: list[tuple[int, int, int]],
) -> None:
    """Append the partial hours, whole hours and whole days of ``[start, end)``."""
    first_hour = -(-start // MINUTES_PER_HOUR)  # first whole hour
    end_hour = end // MINUTES_PER_HOUR  # end of the whole hours
    if first_hour > end_hour:  # inside one hour
        hour = start // MINUTES_PER_HOUR
        base = hour * MINUTES_PER_HOUR
        partials.append((segment, hour, start - base, end - base))
        return
    if start < first_hour * MINUTES_PER_HOUR:
        hour = first_hour - 1
        partials.append((segment, hour, start - hour * MINUTES_PER_HOUR, MINUTES_PER_HOUR))
    if end_hour * MINUTES_PER_HOUR < end:
        partials.append((segment, end_hour, 0, end - end_hour * MINUTES_PER_HOUR))
    if first_hour == end_hour:
        return
    first_day = -(-first_hour // HOURS_PER_DAY)
    end_day = end_hour // HOURS_PER_DAY
    if first_day >= end_day:  # no whole day inside; at most one day boundary
        boundary = end_day * HOURS_PER_DAY
        if first_hour < boundary < end_hour:
            hour_ranges.append((segment, first_hour, boundary))
            hour_ranges.append((segment, boundary, end_hour))
        else:
            hour_ranges.append((segment, first_hour, end_hour))
        return
    if first_hour < first_day * HOURS_PER_DAY:
        hour_ranges.append((segment, first_hour, first_day * HOURS_PER_DAY))
    day_ranges.append((segment, first_day, end_day))
    if end_day * HOURS_PER_DAY < end_hour:
        hour_ranges.append((segment, end_day * HOURS_PER_DAY, end_hour))
