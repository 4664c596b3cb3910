"""Summing rows that share a (series, minute): within a batch, and across batches of a file.

Within a batch, rows are summed with one sort and ``np.add.reduceat`` — only when the
batch has duplicates (cheap checks first: time-major or series-major sorted input has
none). Across batches, the store's write *replaces* a (series, minute, source), so the
second part of a minute split between two batches must be written as the sum of both.
``FileFold`` remembers what this file wrote: per series, the range of minutes written,
and the recent batches in full (up to ``retain_rows``). A row inside a series' range is
looked up in the retained batches and summed; a row that might match an older, forgotten
batch raises ``FoldOverflowError`` and the caller re-reads the file summing it whole in memory
(shuffled files only: time- or series-ordered files never get there).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

RETAIN_ROWS = 4_000_000
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
    """One row per (series, minute), good and total summed (sub-minute rows aggregate)."""
    if len(rows) < 2:
        return rows
    if _increasing(rows.keys()) or _increasing((rows.minute << 31) | rows.series):
        return rows  # sorted series- or time-major without repeats: nothing to sum
    keys = rows.keys()
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    if starts.size == keys.size:
        return rows.take(order)
    return MinuteRows(
        rows.series[order[starts]],
        rows.minute[order[starts]],
        np.add.reduceat(rows.good[order], starts),
        np.add.reduceat(rows.total[order], starts),
    )


class FileFold:
    """What one file has written so far, to sum a minute split across batches."""

    def __init__(self, retain_rows: int | None = None) -> None:
        self.retain_rows = RETAIN_ROWS if retain_rows is None else retain_rows
        self.low = np.zeros(0, dtype=np.int64)
        self.high = np.zeros(0, dtype=np.int64)
        self.forgotten_low = np.zeros(0, dtype=np.int64)
        self.forgotten_high = np.zeros(0, dtype=np.int64)
        self.retained: deque[MinuteRows] = deque()
        self.retained_count = 0

    def fold(self, rows: MinuteRows) -> int:
        """Add what earlier batches wrote for the same keys into ``rows`` (in place).

        Returns how many of ``rows`` rewrite a key written before. Raises FoldOverflowError
        when a row may repeat a key of a batch no longer retained.
        """
        if not len(rows):
            return 0
        self._grow(int(rows.series.max()) + 1)
        candidates = np.flatnonzero(
            (rows.minute >= self.low[rows.series]) & (rows.minute <= self.high[rows.series])
        )
        rewritten = 0
        if candidates.size:
            rewritten = self._add_earlier(rows, candidates)
        self.retained.append(rows)
        self.retained_count += len(rows)
        np.minimum.at(self.low, rows.series, rows.minute)
        np.maximum.at(self.high, rows.series, rows.minute)
        while self.retained_count > self.retain_rows and len(self.retained) > 1:
            old = self.retained.popleft()
            self.retained_count -= len(old)
            np.minimum.at(self.forgotten_low, old.series, old.minute)
            np.maximum.at(self.forgotten_high, old.series, old.minute)
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
        for earlier in self.retained:
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
