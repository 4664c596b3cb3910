"""Reading counts: window sums, per-minute arrays and data bounds, set-based.

``sums()`` answers every interval of a status evaluation at once. The intervals are cut
into disjoint segments between their end points (``blocks.plan_intervals``), and each
segment is read as (1) whole UTC days: the day totals of the series' ``day_chunks`` rows
(32 days a row, kept by the writer: ``rollups.py``); (2) whole hours inside a day: the
hourly sums stored in the day's ``day_counts`` row; (3) partial hours at the edges: the
minute blocks of those hours. Each kind is one query for all series; numpy does the rest.
No Python runs per minute. Data bounds are read from the bounds the writer keeps on each
``series`` row (``rollups.py``).

The statements are the backend's (``tables.CountsQueries``): a read passes the distinct
series ids, ascending, and gets rows back; what is done with them is the same everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.store.counts import blocks
from errorbudget.store.counts.blocks import HOURS_PER_DAY, MINUTES_PER_HOUR, Int64Array
from errorbudget.store.counts.rollups import CHUNK_SHIFT, DAYS_PER_CHUNK
from errorbudget.store.counts.tables import BlobRows, CountsQueries
from errorbudget.store.counts.writes import int_array

Float64Array = npt.NDArray[np.float64]


class _Selection:
    """The distinct series of a read, as SQL gets them, and the map back to the caller's."""

    def __init__(self, series: Sequence[int]) -> None:
        requested = int_array("series", list(series))
        self.ids, self.inverse = np.unique(requested, return_inverse=True)
        self.id_list: list[int] = self.ids.tolist()
        # the caller asked for distinct series in ascending order: nothing to reorder
        self.in_order = self.ids.size == requested.size and bool(
            np.array_equal(self.ids, requested)
        )

    def __len__(self) -> int:
        return int(self.ids.size)

    def positions(self, series_ids: Int64Array) -> Int64Array:
        """The row of each fetched series id in this read's arrays."""
        return np.searchsorted(self.ids, series_ids).astype(np.int64)


def _block_rows(
    selection: _Selection, rows: BlobRows, slots: int
) -> tuple[Int64Array, Int64Array, npt.NDArray[Any]]:
    """(row in the selection, hour or day, counts (n, 2, slots)) of fetched (key, blob)
    rows; the counts read-only, in their stored width when all share one
    (``decode_stored``)."""
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros((0, 2, slots), dtype=np.int64)
    keys, blobs = zip(*rows, strict=True)
    packed = np.fromiter(keys, dtype=np.int64, count=len(keys))
    return (
        selection.positions(packed >> 32),
        packed & 0xFFFF_FFFF,
        blocks.decode_stored(blobs, slots),
    )


def sums(
    queries: CountsQueries,
    series: Sequence[int],
    intervals: Sequence[tuple[int, int]],
) -> Float64Array:
    """[good, total] sums per series and ``[start, end)`` interval, shape (S, I, 2)."""
    plan = blocks.plan_intervals(intervals)
    selection = _Selection(series)
    result = np.zeros((len(series), len(intervals), 2), dtype=np.float64)
    if not len(selection) or not len(intervals):
        return result
    segments = np.zeros((len(selection), plan.segment_count, 2), dtype=np.int64)
    # The three reads are known from the plan alone: asked for together (one round trip
    # on a server backend), then summed in numpy.
    chunk_range = None
    if plan.day_ranges:
        first = min(low for _, low, _ in plan.day_ranges)
        end = max(high for _, _, high in plan.day_ranges)
        chunk_range = (first >> CHUNK_SHIFT, (end - 1) >> CHUNK_SHIFT)
    days = np.unique([low // HOURS_PER_DAY for _, low, _ in plan.hour_ranges]).astype(np.int64)
    hours = np.unique([hour for _, hour, _, _ in plan.partials]).astype(np.int64)
    chunk_rows, day_rows, block_rows = queries.sum_rows(
        selection.id_list, chunk_range, days.tolist(), hours.tolist()
    )
    if plan.day_ranges:
        _add_day_ranges(chunk_rows, selection, plan, segments)
    if plan.hour_ranges:
        _add_hour_ranges(day_rows, days, selection, plan, segments)
    if plan.partials:
        _add_partials(block_rows, hours, selection, plan, segments)
    prefix = np.zeros((len(selection), plan.segment_count + 1, 2), dtype=np.int64)
    np.cumsum(segments, axis=1, out=prefix[:, 1:])
    result[:] = (prefix[:, plan.last] - prefix[:, plan.first])[selection.inverse]
    return result


def _add_day_ranges(
    rows: BlobRows,
    selection: _Selection,
    plan: blocks.IntervalPlan,
    segments: Int64Array,
) -> None:
    """Add every whole-day range from the day-total chunks they span (``rollups.py``: two
    or three rows per series for a month, not one per day)."""
    positions, chunks, totals = _block_rows(selection, rows, DAYS_PER_CHUNK)
    if not chunks.size:
        return
    # Only the chunks that hold data are laid out: a range wider than the data (all time,
    # say) costs what the data costs, never its span in days (clipped ranges add the same,
    # since the days outside the stored chunks hold nothing).
    first_chunk, last_chunk = int(chunks.min()), int(chunks.max())
    # (series, good/total, day from the first chunk's first day), then a prefix over days
    span = (last_chunk - first_chunk + 1) * DAYS_PER_CHUNK
    days = np.zeros((len(selection), 2, span // DAYS_PER_CHUNK, DAYS_PER_CHUNK), dtype=np.int64)
    days[positions, :, chunks - first_chunk, :] = totals  # one chunk per (series, chunk)
    prefix = np.zeros((len(selection), span + 1, 2), dtype=np.int64)
    np.cumsum(days.reshape(len(selection), 2, span).transpose(0, 2, 1), axis=1,
              out=prefix[:, 1:])  # fmt: skip
    origin = first_chunk * DAYS_PER_CHUNK
    for segment, low, high in plan.day_ranges:
        start = min(max(low - origin, 0), span)
        stop = min(max(high - origin, 0), span)
        segments[:, segment] += prefix[:, stop] - prefix[:, start]


def _add_hour_ranges(
    rows: BlobRows,
    days: Int64Array,
    selection: _Selection,
    plan: blocks.IntervalPlan,
    segments: Int64Array,
) -> None:
    """Add whole-hour ranges from the hourly sums of their ``days``' rows."""
    positions, row_days, hourly = _block_rows(selection, rows, HOURS_PER_DAY)
    prefix = np.zeros((len(selection), days.size, 2, HOURS_PER_DAY + 1), dtype=np.int64)
    prefix[positions, np.searchsorted(days, row_days), :, 1:] = hourly  # unique per key
    np.cumsum(prefix, axis=3, out=prefix)  # prefix[..., h] = sum of the hours before h
    for segment, low, high in plan.hour_ranges:
        day = low // HOURS_PER_DAY
        column = int(np.searchsorted(days, day))
        first, end = low - day * HOURS_PER_DAY, high - day * HOURS_PER_DAY
        segments[:, segment] += prefix[:, column, :, end] - prefix[:, column, :, first]


def _add_partials(
    rows: BlobRows,
    hours: Int64Array,
    selection: _Selection,
    plan: blocks.IntervalPlan,
    segments: Int64Array,
) -> None:
    """Add the partial-hour minute ranges from the blocks of those ``hours``: each range
    summed over its own minutes only (in int64, from the stored width)."""
    positions, block_hours, counts = _block_rows(selection, rows, MINUTES_PER_HOUR)
    cells = positions * hours.size + np.searchsorted(hours, block_hours)
    one_source = cells.size < 2 or int(np.bincount(cells).max()) == 1
    for segment, hour, first, end in plan.partials:
        chosen = np.flatnonzero(block_hours == hour)
        values = counts[chosen, :, first:end].sum(axis=2, dtype=np.int64)
        if one_source:
            segments[positions[chosen], segment] += values
        else:  # blocks of several sources for one series and hour
            np.add.at(segments[:, segment], positions[chosen], values)


def minute_arrays(
    queries: CountsQueries, series: Sequence[int], start: int, end: int
) -> tuple[Float64Array, Float64Array]:
    """good and total per series and minute of ``[start, end)``, zeros where no data."""
    return _minute_grid(queries, series, start, end, np.float64)


def minute_counts(
    queries: CountsQueries, series: Sequence[int], start: int, end: int
) -> tuple[Int64Array, Int64Array]:
    """:func:`minute_arrays` in int64: the stored integers, for exact per-minute judgements."""
    return _minute_grid(queries, series, start, end, np.int64)


_Number = TypeVar("_Number", np.float64, np.int64)


def _minute_grid(
    queries: CountsQueries,
    series: Sequence[int],
    start: int,
    end: int,
    dtype: type[_Number],
) -> tuple[npt.NDArray[_Number], npt.NDArray[_Number]]:
    if end < start:
        raise StoreError(f"the minute range [{start}, {end}) ends before it starts")
    selection = _Selection(series)
    width = end - start
    if not len(selection) or not width:
        empty = np.zeros((len(series), width), dtype=dtype)
        return empty, empty.copy()
    first_hour = start // MINUTES_PER_HOUR
    end_hour = -(-end // MINUTES_PER_HOUR)
    rows = queries.blocks_between(selection.id_list, first_hour, end_hour)
    positions, block_hours, counts = _block_rows(selection, rows, MINUTES_PER_HOUR)
    # (series, good/total, hour, minute): each block lands as one slice, and reshaping to
    # (series, good/total, minutes) is a view, so nothing is transposed or copied twice.
    grid = np.zeros((len(selection), 2, end_hour - first_hour, MINUTES_PER_HOUR), dtype=dtype)
    columns = block_hours - first_hour
    cells = positions * grid.shape[2] + columns
    if cells.size < 2 or int(np.bincount(cells).max()) == 1:
        grid[positions, :, columns, :] = counts
    else:  # blocks of several sources for one series and hour
        np.add.at(grid.transpose(0, 2, 1, 3), (positions, columns), counts)  # a view
    offset = start - first_hour * MINUTES_PER_HOUR
    flat = grid.reshape(len(selection), 2, -1)[:, :, offset : offset + width]
    if selection.in_order:  # views of the grid, which nothing else holds
        return flat[:, 0], flat[:, 1]
    return flat[selection.inverse, 0], flat[selection.inverse, 1]


def data_bounds(queries: CountsQueries, series: Sequence[int] | None) -> tuple[int, int] | None:
    """(first minute with data, last minute with data + 1) over ``series`` (None = all)."""
    if series is None:
        row = queries.bounds(None)
    else:
        requested = np.unique(int_array("series", list(series)))
        if not requested.size:
            return None
        row = queries.bounds(requested.tolist())
    if row is None or row[0] is None or row[1] is None:
        return None
    return int(row[0]), int(row[1])


def series_bounds(queries: CountsQueries, series: Sequence[int]) -> list[tuple[int, int] | None]:
    """Per series of ``series`` (in order): (first minute with data, last minute with data
    + 1), or None when it has none. One statement for any number of series."""
    requested = int_array("series", list(series))
    if not requested.size:
        return []
    rows = queries.series_bounds(np.unique(requested).tolist())
    found = {int(i): (int(first), int(end)) for i, first, end in rows}
    return [found.get(i) for i in requested.tolist()]
