"""Sets of minutes as sorted, disjoint ``[start, end)`` ranges in an (n, 2) int64 array.

Schedules and maintenance windows give many ranges (business hours are two per day), so
the operations every status needs — union, complement, cutting each window of a plan into
its parts inside the set, masking minute arrays — are vectorised here, with no Python loop
per range.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from errorbudget.model import Minute

RangeArray = npt.NDArray[np.int64]
"""(n, 2) ``[start, end)`` minute ranges; *normal* when sorted, disjoint and not touching."""

EMPTY: RangeArray = np.zeros((0, 2), dtype=np.int64)


def as_ranges(ranges: Iterable[tuple[Minute, Minute]] | RangeArray) -> RangeArray:
    """An (n, 2) int64 array of ``ranges`` (not normalised)."""
    if isinstance(ranges, np.ndarray):
        return ranges.astype(np.int64, copy=False).reshape(-1, 2)
    return np.asarray(list(ranges), dtype=np.int64).reshape(-1, 2)


def union(*parts: RangeArray) -> RangeArray:
    """The normal form of the union of ``parts``: overlapping or touching ranges joined."""
    found = np.concatenate([as_ranges(p) for p in parts]) if parts else EMPTY
    found = found[found[:, 0] < found[:, 1]]
    if found.shape[0] < 2:
        return found.copy()
    found = found[np.argsort(found[:, 0], kind="stable")]
    reach = np.maximum.accumulate(found[:, 1])
    # a range starts a new run unless it begins at or before the reach of those before it
    starts_run = np.empty(found.shape[0], dtype=bool)
    starts_run[0] = True
    starts_run[1:] = found[1:, 0] > reach[:-1]
    first = np.flatnonzero(starts_run)
    last = np.append(first[1:], found.shape[0]) - 1
    return np.stack([found[first, 0], reach[last]], axis=1)


def complement(ranges: RangeArray, start: Minute, end: Minute) -> RangeArray:
    """The minutes of ``[start, end)`` not in normal ``ranges``."""
    inside = clip(ranges, start, end)
    edges = np.concatenate([[start], inside.ravel(), [end]]).reshape(-1, 2)
    return edges[edges[:, 0] < edges[:, 1]]


def clip(ranges: RangeArray, start: Minute, end: Minute) -> RangeArray:
    """Normal ``ranges`` cut to ``[start, end)``."""
    low = int(np.searchsorted(ranges[:, 1], start, side="right"))
    high = int(np.searchsorted(ranges[:, 0], end, side="left"))
    found = ranges[low:high].copy()
    if found.size:
        found[0, 0] = max(found[0, 0], start)
        found[-1, 1] = min(found[-1, 1], end)
    return found


def parts(
    intervals: Sequence[tuple[Minute, Minute]], ranges: RangeArray
) -> tuple[RangeArray, npt.NDArray[np.int64]]:
    """The parts of each interval inside normal ``ranges``: (parts, bounds), the parts of
    interval ``i`` being ``parts[bounds[i]:bounds[i + 1]]`` (a prefix-sum layout)."""
    bounds_in = as_ranges(intervals)
    low = np.searchsorted(ranges[:, 1], bounds_in[:, 0], side="right")
    high = np.maximum(np.searchsorted(ranges[:, 0], bounds_in[:, 1], side="left"), low)
    high = np.where(bounds_in[:, 0] < bounds_in[:, 1], high, low)  # an empty interval
    counts = high - low
    bounds = np.zeros(len(bounds_in) + 1, dtype=np.int64)
    np.cumsum(counts, out=bounds[1:])
    owner = np.repeat(np.arange(len(bounds_in)), counts)
    index = np.arange(int(bounds[-1])) - bounds[owner] + low[owner]
    found = ranges[index].copy()
    found[:, 0] = np.maximum(found[:, 0], bounds_in[owner, 0])
    found[:, 1] = np.minimum(found[:, 1], bounds_in[owner, 1])
    return found, bounds


def mask(ranges: RangeArray, origin: Minute, width: int) -> npt.NDArray[np.bool_]:
    """Per minute of ``[origin, origin + width)``: whether it is in normal ``ranges``."""
    inside = clip(ranges, origin, origin + width) - origin
    steps = np.zeros(width + 1, dtype=np.int64)
    np.add.at(steps, inside[:, 0], 1)
    np.add.at(steps, inside[:, 1], -1)
    return np.cumsum(steps[:-1]) > 0


def minutes(ranges: RangeArray) -> int:
    """How many minutes normal ``ranges`` hold."""
    return int((ranges[:, 1] - ranges[:, 0]).sum())
