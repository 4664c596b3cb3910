"""Time series for charts: what a status reports, at every step of a time range, in one pass.

A status at minute ``t`` needs sums over ranges that end at ``t`` (the burn windows and the
period to date). For a chart of ``n`` instants the caller reads counts once, in *bins* on a
grid where every range boundary of every instant falls on a bin edge
(:func:`occurrence_grid`; for timeslices budgeting the bins are the slices,
:func:`slice_grid`). A prefix sum over the bins then gives any range as two lookups, so
``n`` statuses cost O(bins + n) instead of ``n`` store reads.

Formulas are the status ones (``engine.budget``): SLI = good / eligible over the period,
burn(w) = bad_w / allowed_w, period burn (consumed ratio) = bad / allowed over the period,
remaining = 1 − consumed. No data is NaN here and None in :meth:`Timeline.points`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from errorbudget.engine.windows import BURN_WINDOW_MINUTES, period_at
from errorbudget.model import CalendarWindow, Minute, RollingWindow, SegmentKey, from_minute

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TIMELINE_WINDOWS: tuple[str, ...] = ("1h", "6h", "1d")
"""Burn-rate windows a timeline reports besides the period."""

MAX_POINTS = 5000
"""The most instants one timeline may have."""
DEFAULT_SPAN = timedelta(days=30)
"""A timeline's range when none is given."""


@dataclass(frozen=True, slots=True)
class TimelineGrid:
    """Instants to evaluate and the bin grid their ranges are read on.

    Bin ``j`` is ``[origin + j × bin_minutes, origin + (j + 1) × bin_minutes)``; the bins
    cover ``[origin, instants[-1])``.
    """

    instants: IntArray
    step_minutes: int
    period_starts: IntArray
    origin: Minute
    bin_minutes: int

    @property
    def bins(self) -> int:
        return int((int(self.instants[-1]) - self.origin) // self.bin_minutes)

    @property
    def end(self) -> Minute:
        return self.origin + self.bins * self.bin_minutes

    def ranges(self) -> dict[str, tuple[IntArray, IntArray]]:
        """Every named ``[start, end)`` range, per instant: the step, the burn windows and
        the period to date."""
        at = self.instants
        found = {"step": (at - self.step_minutes, at)}
        for name in TIMELINE_WINDOWS:
            found[name] = (at - BURN_WINDOW_MINUTES[name], at)
        found["period"] = (self.period_starts, at)
        return found


def instants(start: Minute, end: Minute, step_minutes: int) -> IntArray:
    """``start, start + step, …`` up to ``end`` (included when on the grid)."""
    if step_minutes < 1:
        raise ValueError("a timeline step is at least one minute")
    if end < start:
        raise ValueError("a timeline must end at or after its start")
    count = (end - start) // step_minutes + 1
    if count > MAX_POINTS:
        raise ValueError(
            f"a timeline of {count:,} points is too long (at most {MAX_POINTS:,}): "
            "use a longer step or a shorter range"
        )
    return start + step_minutes * np.arange(count, dtype=np.int64)


def _period_starts(window: RollingWindow | CalendarWindow, at: IntArray) -> IntArray:
    if isinstance(window, RollingWindow):
        return at - int(window.length.total_seconds() // 60)
    result = np.empty_like(at)
    current = None
    for index, minute in enumerate(at.tolist()):
        # A period holds many instants: reuse it while the instant's last counted minute
        # (minute - 1) is still inside it.
        if current is None or not current.start < minute <= current.end:
            current = period_at(window, minute)
        result[index] = current.start
    return result


def occurrence_grid(
    window: RollingWindow | CalendarWindow, at: IntArray, step_minutes: int
) -> TimelineGrid:
    """A grid for event counts: the bin length is the greatest common divisor of every
    range boundary's distance from the first instant, so each range is whole bins."""
    period_starts = _period_starts(window, at)
    first = int(at[0])
    windows = [BURN_WINDOW_MINUTES[name] for name in TIMELINE_WINDOWS]
    offsets = np.concatenate(
        [np.array([step_minutes, *windows], dtype=np.int64), first - period_starts]
    )
    bin_minutes = max(int(np.gcd.reduce(offsets)), 1)
    earliest = min(int(period_starts.min()), first - step_minutes, first - max(windows))
    return TimelineGrid(at, step_minutes, period_starts, earliest, bin_minutes)


def slice_grid(
    window: RollingWindow | CalendarWindow, at: IntArray, step_minutes: int, slice_minutes: int
) -> TimelineGrid:
    """A grid of slices on the epoch-aligned slice grid (``engine.timeslices``): a range
    counts the slice holding its start, not the still-open one at its end."""
    grid = occurrence_grid(window, at, step_minutes)
    origin = grid.origin - grid.origin % slice_minutes
    return TimelineGrid(at, step_minutes, grid.period_starts, origin, slice_minutes)


@dataclass(frozen=True, slots=True)
class TimelinePoint:
    """One instant of a timeline; None is no data."""

    at: datetime
    sli: float | None
    burn_rates: dict[str, float | None]
    period_burn_rate: float | None
    budget_remaining_ratio: float | None
    eligible: float
    bad: float
    step_eligible: float
    step_bad: float


@dataclass(frozen=True, slots=True)
class Timeline:
    """One series over time: arrays with one value per instant (NaN: no data).

    ``eligible`` and ``bad`` are the period's budget-counting events (slices for
    timeslices budgeting); ``step_eligible`` and ``step_bad`` those of the step ending at
    each instant.
    """

    slo: str
    segment: SegmentKey
    budgeting: str
    step_minutes: int
    at: IntArray
    sli: FloatArray
    burn_rates: dict[str, FloatArray]
    period_burn_rate: FloatArray
    budget_remaining_ratio: FloatArray
    eligible: FloatArray
    bad: FloatArray
    step_eligible: FloatArray
    step_bad: FloatArray

    def points(self) -> list[TimelinePoint]:
        def value(array: FloatArray, index: int) -> float | None:
            number = float(array[index])
            return None if math.isnan(number) else number

        return [
            TimelinePoint(
                at=from_minute(int(minute)),
                sli=value(self.sli, i),
                burn_rates={name: value(rates, i) for name, rates in self.burn_rates.items()},
                period_burn_rate=value(self.period_burn_rate, i),
                budget_remaining_ratio=value(self.budget_remaining_ratio, i),
                eligible=float(self.eligible[i]),
                bad=float(self.bad[i]),
                step_eligible=float(self.step_eligible[i]),
                step_bad=float(self.step_bad[i]),
            )
            for i, minute in enumerate(self.at.tolist())
        ]


def _ratio(numerator: FloatArray, denominator: FloatArray) -> FloatArray:
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def evaluate(
    grid: TimelineGrid,
    good: FloatArray,
    total: FloatArray,
    allowed_ratio: float,
    allowed: FloatArray | None = None,
    *,
    slo: str = "",
    segment: SegmentKey = (),
    budgeting: str = "occurrences",
) -> Timeline:
    """The timeline from per-bin budget-counting ``good`` and ``total`` (length
    ``grid.bins``).

    The budget of a range is ``allowed_ratio × eligible`` (``1 − T``), unless ``allowed``
    gives allowed bad events per bin (a whole SLO whose segments have their own targets:
    ``Σ (1 − Tᵢ) × Eᵢ``, as ``engine.status.segment_allowances``).
    """
    bins = grid.bins
    if good.shape != (bins,) or total.shape != (bins,):
        raise ValueError(f"expected {bins} bins, got {good.shape} and {total.shape}")
    columns = [good, total] if allowed is None else [good, total, allowed]
    prefix = np.zeros((len(columns), bins + 1))
    np.cumsum(np.stack(columns), axis=1, out=prefix[:, 1:])

    def sums(bounds: tuple[IntArray, IntArray]) -> FloatArray:
        first = np.clip((bounds[0] - grid.origin) // grid.bin_minutes, 0, bins)
        last = np.clip((bounds[1] - grid.origin) // grid.bin_minutes, first, bins)
        result: FloatArray = prefix[:, last] - prefix[:, first]
        return result

    found = {name: sums(bounds) for name, bounds in grid.ranges().items()}

    def bad_and_allowed(name: str) -> tuple[FloatArray, FloatArray]:
        window = found[name]
        bad = window[1] - window[0]
        budget = window[2] if allowed is not None else allowed_ratio * window[1]
        return bad, budget

    period_bad, period_allowed = bad_and_allowed("period")
    consumed = _ratio(period_bad, period_allowed)
    period = found["period"]
    return Timeline(
        slo=slo,
        segment=segment,
        budgeting=budgeting,
        step_minutes=grid.step_minutes,
        at=grid.instants,
        sli=_ratio(period[0], period[1]),
        burn_rates={name: _ratio(*bad_and_allowed(name)) for name in TIMELINE_WINDOWS},
        period_burn_rate=consumed,
        budget_remaining_ratio=1.0 - consumed,
        eligible=period[1],
        bad=period_bad,
        step_eligible=found["step"][1],
        step_bad=found["step"][1] - found["step"][0],
    )
