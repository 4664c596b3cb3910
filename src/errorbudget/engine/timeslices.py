"""Timeslices budgeting: the window is cut into equal slices (e.g. 1 minute); a slice is good
when its SLI is at least the slice target. E = slices, B = bad slices, so 99.9 % over 30 days
allows 43.2 bad one-minute slices.

Slices with no events follow ``no_data``: ``ignore`` (not counted), ``good`` or ``bad``.
Exclusions mask minutes: a slice is judged on its remaining minutes, and a slice whose every
minute is excluded is not counted.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from errorbudget.engine.budget import Counts

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def slice_counts(
    good: FloatArray,
    total: FloatArray,
    slice_minutes: int,
    slice_target: float,
    no_data: Literal["ignore", "good", "bad"] = "ignore",
    excluded: BoolArray | None = None,
) -> tuple[BoolArray, BoolArray]:
    """Per slice: (counted, good) flags for minute arrays aligned to slice boundaries.

    ``good`` and ``total`` are 1-minute counts whose length is a multiple of
    ``slice_minutes``; ``excluded`` marks excluded minutes.
    """
    if excluded is not None:
        keep = ~excluded
        good = np.where(keep, good, 0.0)
        total = np.where(keep, total, 0.0)
        slice_has_minutes = keep.reshape(-1, slice_minutes).any(axis=1)
    else:
        slice_has_minutes = np.ones(len(total) // slice_minutes, dtype=bool)
    slice_good = good.reshape(-1, slice_minutes).sum(axis=1)
    slice_total = total.reshape(-1, slice_minutes).sum(axis=1)
    has_data = slice_total > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(has_data, slice_good / np.where(has_data, slice_total, 1.0), 0.0)
    is_good = has_data & (ratio >= slice_target)
    if no_data == "ignore":
        counted = slice_has_minutes & has_data
    else:
        counted = slice_has_minutes
        if no_data == "good":
            is_good = is_good | ~has_data
    return counted, is_good & counted


def window_slice_counts(
    good: FloatArray,
    total: FloatArray,
    origin: int,
    interval: tuple[int, int],
    slice_minutes: int,
    slice_target: float,
    no_data: Literal["ignore", "good", "bad"] = "ignore",
    excluded: BoolArray | None = None,
) -> Counts:
    """Good and counted slices of ``interval`` (minutes); arrays start at minute ``origin``.

    Slices sit on a grid aligned to the epoch, so every window agrees on where a slice
    starts: the slice holding the interval's start counts, the still-open one at its end
    does not.
    """
    start = interval[0] - interval[0] % slice_minutes
    end = interval[1] - interval[1] % slice_minutes
    if end <= start:
        return Counts(0.0, 0.0)
    lo, hi = start - origin, end - origin
    if lo < 0:
        raise ValueError("minute arrays start after the interval")
    mask = excluded[lo:hi] if excluded is not None else None
    counted, is_good = slice_counts(
        good[lo:hi], total[lo:hi], slice_minutes, slice_target, no_data, mask
    )
    return Counts(float(is_good.sum()), float(counted.sum()))
