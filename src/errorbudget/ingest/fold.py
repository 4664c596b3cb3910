"""Summing rows that share a (series, minute): within a batch, and across batches of a file.

Within a batch, ``aggregate`` sorts rows by series (a stable sort keeps a time-ordered
file's minutes in order, so one cheap sort usually suffices) and sums repeated keys with
``np.add.reduceat``; input that is already key-sorted is passed through untouched.

Across batches: the store's write *replaces* a (series, minute, source), so the second
part of a minute split between two batches must be written as the sum of both.
``FileFold`` remembers what this file wrote — per series the range of minutes, and the
recent batches in full (up to ``RETAIN_ROWS`` rows). A row inside its series' range is
looked up in the retained batches and summed; a row that might repeat a key of a batch
no longer retained raises ``FoldOverflowError``, and the caller re-reads the file and sums
it whole in memory (shuffled files only: time- or series-ordered files never get there).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RETAIN_ROWS = 500_000
_NO_LOW = np.iinfo(np.int64).max
_NO_HIGH = np.iinfo(np.int64).min


class FoldOverflowError(Exception):
    """A minute may have been written by a batch this file no longer remembers."""


@dataclass
class MinuteRows:
    """Minute rows of one SLO series each; ``series`` are file-local dense ids."""

    series: Int64Array
    minute: Int64Array
    good: Int64Array
    total: Int64Array

    def __len__(self) -> int:
        return int(self.series.size)

    def keys(self) -> Int64Array:
        """(series, minute) packed in one int64 (dense ids < 2**31, minutes < 2**32)."""
        return (self.series << 32) | self.minute

    def take(self, index: Int64Array | BoolArray) -> MinuteRows:
        return MinuteRows(
            self.series[index], self.minute[index], self.good[index], self.total[index]
        )

    @staticmethod
    def concat(parts: list[MinuteRows]) -> MinuteRows:
        return MinuteRows(*(np.concatenate([getattr(p, name) for p in parts]) for name in _FIELDS))


_FIELDS = ("series", "minute", "good", "total")


def _increasing(values: Int64Array) -> bool:
    return values.size < 2 or bool(np.all(values[1:] > values[:-1]))


def aggregate(rows: MinuteRows) -> MinuteRows:
    """One row per (series, minute), sorted by series then minute, good and total summed
    (sub-minute rows aggregate). Input in time order needs one stable sort by series."""
    keys = rows.keys()
    if _increasing(keys):
        return rows  # already sorted, nothing repeats
    order = np.argsort(rows.series, kind="stable")  # cheap: few distinct values
    keys = keys[order]
    if not bool(np.all(keys[1:] >= keys[:-1])):  # minutes out of order within a series
        resort = np.argsort(keys, kind="stable")
        order, keys = order[resort], keys[resort]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    if starts.size == keys.size:
        return rows.take(order)
    return MinuteRows(
        rows.series[order[starts]],
        rows.minute[order[starts]],
        np.add.reduceat(rows.good[order], starts),
        np.add.reduceat(rows.total[order], starts),
    )


@dataclass
class _Written:
    """One batch as written, and per series (contiguous runs) its first and last minute."""

    rows: MinuteRows
    series: Int64Array
    first: Int64Array
    last: Int64Array


class FileFold:
    """What one file has written so far, to sum a minute split across batches."""

    def __init__(self, retain_rows: int | None = None) -> None:
        self.retain_rows = RETAIN_ROWS if retain_rows is None else retain_rows
        self.low = np.zeros(0, dtype=np.int64)
        self.high = np.zeros(0, dtype=np.int64)
        self.forgotten_low = np.zeros(0, dtype=np.int64)
        self.forgotten_high = np.zeros(0, dtype=np.int64)
        self.retained: deque[_Written] = deque()
        self.retained_count = 0

    def fold(self, rows: MinuteRows) -> int:
        """Add what earlier batches wrote for the same keys into ``rows`` (in place).

        ``rows`` holds each series in one contiguous run, minutes increasing within it.
        Returns how many of ``rows`` rewrite a key written before. Raises
        FoldOverflowError when a row may repeat a key of a batch no longer retained.
        """
        if not len(rows):
            return 0
        bounds = np.flatnonzero(rows.series[1:] != rows.series[:-1]) + 1
        starts = np.concatenate((np.zeros(1, dtype=np.int64), bounds))
        ends = np.append(bounds, len(rows))
        written = _Written(rows, rows.series[starts], rows.minute[starts], rows.minute[ends - 1])
        self._grow(int(written.series.max()) + 1)
        low, high = self.low[written.series], self.high[written.series]
        overlap = (written.last >= low) & (written.first <= high)
        rewritten = 0
        if overlap.any():  # some series has minutes inside what it wrote before
            lengths = ends - starts
            row_low = np.repeat(np.where(overlap, low, _NO_LOW), lengths)
            row_high = np.repeat(np.where(overlap, high, _NO_HIGH), lengths)
            candidates = np.flatnonzero((rows.minute >= row_low) & (rows.minute <= row_high))
            if candidates.size:
                rewritten = self._add_earlier(rows, candidates)
        self.retained.append(written)
        self.retained_count += len(rows)
        self.low[written.series] = np.minimum(low, written.first)  # each series once per batch
        self.high[written.series] = np.maximum(high, written.last)
        while self.retained_count > self.retain_rows and len(self.retained) > 1:
            old = self.retained.popleft()
            self.retained_count -= len(old.rows)
            forgotten = old.series
            self.forgotten_low[forgotten] = np.minimum(self.forgotten_low[forgotten], old.first)
            self.forgotten_high[forgotten] = np.maximum(self.forgotten_high[forgotten], old.last)
        return rewritten

    def _grow(self, size: int) -> None:
        if size <= self.low.size:
            return
        extra = size - self.low.size
        self.low = np.append(self.low, np.full(extra, _NO_LOW))
        self.high = np.append(self.high, np.full(extra, _NO_HIGH))
        self.forgotten_low = np.append(self.forgotten_low, np.full(extra, _NO_LOW))
        self.forgotten_high = np.append(self.forgotten_high, np.full(extra, _NO_HIGH))

    def _add_earlier(self, rows: MinuteRows, candidates: Int64Array) -> int:
        wanted = rows.take(candidates)
        keys = wanted.keys()
        first, last = int(wanted.minute.min()), int(wanted.minute.max())
        found = np.zeros(candidates.size, dtype=bool)
        for batch in self.retained:
            earlier = batch.rows
            near = np.flatnonzero((earlier.minute >= first) & (earlier.minute <= last))
            if not near.size:
                continue
            near_keys = earlier.keys()[near]
            order = np.argsort(near_keys)
            near, near_keys = near[order], near_keys[order]
            at = np.minimum(np.searchsorted(near_keys, keys), near_keys.size - 1)
            hit = near_keys[at] == keys
            if not hit.any():
                continue
            source = near[at[hit]]
            rows.good[candidates[hit]] += earlier.good[source]
            rows.total[candidates[hit]] += earlier.total[source]
            # the sum now lives in ``rows``: zero the older copy so it is never added twice
            earlier.good[source] = 0
            earlier.total[source] = 0
            found |= hit
        unseen = ~found
        if unseen.any():
            series, minute = wanted.series[unseen], wanted.minute[unseen]
            forgotten = (minute >= self.forgotten_low[series]) & (
                minute <= self.forgotten_high[series]
            )
            if forgotten.any():
                raise FoldOverflowError
        return int(np.count_nonzero(found))
