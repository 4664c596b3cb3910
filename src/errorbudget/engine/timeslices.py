"""Timeslices budgeting: the window is cut into equal slices (e.g. 1 minute); a slice is good
when its SLI is at least the slice target. E = slices, B = bad slices, so 99.9 % over 30 days
allows 43.2 bad one-minute slices.

Slices with no events follow ``no_data``: ``ignore`` (not counted), ``good`` or ``bad``.
Exclusions mask minutes: a slice is judged on its remaining minutes, and a slice whose every
minute is excluded is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from errorbudget.engine.exact import decimal

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Counts = npt.NDArray[np.float64] | npt.NDArray[np.int64]
"""Per-minute counts: the store's integers (``minute_counts``), or floats holding whole
numbers."""


def slice_counts(
    good: Counts,
    total: Counts,
    slice_minutes: int,
    slice_target: float,
    no_data: Literal["ignore", "good", "bad"] = "ignore",
    excluded: BoolArray | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Per slice: (counted, good) flags from 1-minute counts aligned to slice boundaries.

    Works on one series (1-D) or many (2-D, series × minutes) at once; the last axis must
    be a multiple of ``slice_minutes`` long. ``excluded`` marks excluded minutes.
    """
    shape = (*total.shape[:-1], total.shape[-1] // slice_minutes, slice_minutes)
    if excluded is not None:
        keep = ~excluded
        good = np.where(keep, good, 0)  # stays integer for integer counts
        total = np.where(keep, total, 0)
        slice_has_minutes: BoolArray = np.logical_or.reduce(keep.reshape(shape), axis=-1)
    else:
        slice_has_minutes = np.ones(shape[:-1], dtype=bool)
    if slice_minutes == 1:  # one-minute slices are the minutes themselves
        slice_good, slice_total = good, total
    else:
        slice_good = good.reshape(shape).sum(axis=-1)
        slice_total = total.reshape(shape).sum(axis=-1)
    has_data = slice_total > 0
    # good / total ≥ p / q, decided exactly on whole counts: good × q ≥ total × p
    exact = decimal(slice_target)
    is_good: BoolArray = np.greater_equal(
        _whole_times(slice_good, exact.denominator), _whole_times(slice_total, exact.numerator)
    )
    is_good &= has_data
    if no_data == "ignore":
        counted = slice_has_minutes & has_data
    else:
        counted = slice_has_minutes
        if no_data == "good":
            is_good = is_good | ~has_data
    return counted, is_good & counted


def _whole_times(values: Counts, factor: int) -> npt.NDArray[np.int64]:
    """``rint(values) × factor`` in int64, multiplied in place (one temporary less).

    Integer counts are used as they are. Float counts are whole numbers, so a plain
    conversion is ``rint`` once that is checked (several times cheaper than ``rint``'s own
    pass over the minutes)."""
    if values.dtype == np.int64:
        return np.multiply(values, factor, dtype=np.int64)
    whole = values.astype(np.int64)
    if not np.array_equal(whole, values):
        whole = np.rint(values).astype(np.int64)
    whole *= factor
    return whole


class SlicePrefix:
    """Running totals of counted and good slices, so any range costs two lookups per series.

    Built once per SLO from a (series × minutes) matrix that starts at minute ``origin`` on
    the slice grid; :meth:`counts` then answers every window of a status.
    """

    def __init__(
        self,
        good: Counts,
        total: Counts,
        origin: int,
        slice_minutes: int,
        slice_target: float,
        no_data: Literal["ignore", "good", "bad"] = "ignore",
        excluded: BoolArray | None = None,
    ) -> None:
        if origin % slice_minutes:
            raise ValueError("minute arrays must start on the slice grid")
        usable = total.shape[-1] - total.shape[-1] % slice_minutes
        mask = None if excluded is None else excluded[..., :usable]
        counted, is_good = slice_counts(
            good[..., :usable], total[..., :usable], slice_minutes, slice_target, no_data, mask
        )
        self._counted = _prefix(counted)
        self._good = _prefix(is_good)
        self.origin = origin
        self.slice_minutes = slice_minutes

    def counts(self, interval: tuple[int, int]) -> tuple[FloatArray, FloatArray]:
        """(good slices, counted slices) in ``interval`` for every series.

        Slices sit on a grid aligned to the epoch, so every window agrees on where a slice
        starts: the slice holding the interval's start counts, the still-open one at its
        end does not.
        """
        length = self.slice_minutes
        first = (interval[0] - interval[0] % length - self.origin) // length
        last = (interval[1] - interval[1] % length - self.origin) // length
        if first < 0:
            raise ValueError("minute arrays start after the interval")
        last = min(max(last, first), self._counted.shape[-1] - 1)
        good = self._good[..., last] - self._good[..., first]
        counted = self._counted[..., last] - self._counted[..., first]
        return np.asarray(good, dtype=np.float64), np.asarray(counted, dtype=np.float64)

    def counts_many(self, intervals: Sequence[tuple[int, int]]) -> tuple[FloatArray, FloatArray]:
        """:meth:`counts` of every interval at once: (good, counted), each (..., intervals)."""
        length = self.slice_minutes
        bounds = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
        first = (bounds[:, 0] - bounds[:, 0] % length - self.origin) // length
        last = (bounds[:, 1] - bounds[:, 1] % length - self.origin) // length
        if first.size and int(first.min()) < 0:
            raise ValueError("minute arrays start after the interval")
        last = np.minimum(np.maximum(last, first), self._counted.shape[-1] - 1)
        good = self._good[..., last] - self._good[..., first]
        counted = self._counted[..., last] - self._counted[..., first]
        return good.astype(np.float64), counted.astype(np.float64)


def _prefix(flags: BoolArray) -> npt.NDArray[np.int32] | npt.NDArray[np.int64]:
    """Running counts of ``flags`` along the last axis, with a leading 0: ``[..., i]`` is
    how many of the first ``i`` are set (summed straight into the padded array). In 32-bit
    integers — a count never exceeds the axis' length, under 2**31 for 4,000 years of
    minutes — which numpy sums an order of magnitude faster than into floats."""
    dtype = np.int32 if flags.shape[-1] < 2**31 else np.int64
    prefix = np.zeros((*flags.shape[:-1], flags.shape[-1] + 1), dtype=dtype)
    np.cumsum(flags, axis=-1, dtype=dtype, out=prefix[..., 1:])
    return prefix


def dropped_slices(
    good: Counts,
    total: Counts,
    origin: int,
    slice_minutes: int,
    slice_target: float,
    no_data: Literal["ignore", "good", "bad"],
    dropped: BoolArray,
    interval: tuple[int, int],
) -> FloatArray:
    """[good, total] slices of ``interval`` that count on every minute but no longer once
    the ``dropped`` minutes are removed (the slices out of an SLO's schedule), per series:
    shape (..., 2). ``good`` counts those that were good on all their minutes.

    The arrays start at ``origin`` on the slice grid; slices are picked as
    :meth:`SlicePrefix.counts` picks them.
    """
    usable = total.shape[-1] - total.shape[-1] % slice_minutes
    counted, is_good = slice_counts(
        good[..., :usable], total[..., :usable], slice_minutes, slice_target, no_data
    )
    kept, _ = slice_counts(
        good[..., :usable],
        total[..., :usable],
        slice_minutes,
        slice_target,
        no_data,
        np.broadcast_to(dropped[..., :usable], total[..., :usable].shape),
    )
    first = max((interval[0] - interval[0] % slice_minutes - origin) // slice_minutes, 0)
    last = min(
        (interval[1] - interval[1] % slice_minutes - origin) // slice_minutes, counted.shape[-1]
    )
    lost = counted[..., first:last] & ~kept[..., first:last]
    found = np.stack([(lost & is_good[..., first:last]).sum(axis=-1), lost.sum(axis=-1)], axis=-1)
    return found.astype(np.float64)
