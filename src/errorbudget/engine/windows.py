"""SLO windows as minute ranges: rolling windows, calendar periods in a time zone, and the
evaluation plan (which ``[start, end)`` ranges a status at one instant needs).

Evaluation at minute ``at`` covers minutes strictly before ``at``: the minute that contains
the evaluation instant is still open (sources revise it), so it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from errorbudget.model import BURN_WINDOWS, CalendarWindow, Minute, RollingWindow, to_minute

BURN_WINDOW_MINUTES: dict[str, int] = {
    "5m": 5,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "6h": 360,
    "1d": 1440,
    "3d": 4320,
}

NOMINAL_CALENDAR_LENGTH: dict[str, timedelta] = {
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "quarter": timedelta(days=91),
}
"""Length used to scale burn-rate catalogs to a calendar window (a month counts as 30 days)."""


@dataclass(frozen=True, slots=True)
class Period:
    """The budget period that contains an evaluation instant: ``[start, end)`` in minutes."""

    start: Minute
    end: Minute

    @property
    def minutes(self) -> int:
        return self.end - self.start


def nominal_length(window: RollingWindow | CalendarWindow) -> timedelta:
    """The window length burn-rate factors are scaled to."""
    if isinstance(window, RollingWindow):
        return window.length
    return NOMINAL_CALENDAR_LENGTH[window.unit]


def _local_midnight(year: int, month: int, day: int, zone: ZoneInfo) -> Minute:
    return to_minute(datetime(year, month, day, tzinfo=zone))


def calendar_period(window: CalendarWindow, at: Minute) -> Period:
    """The calendar week (from Monday), month or quarter containing ``at``, in the window's
    time zone; a DST change inside the period makes it an hour shorter or longer."""
    zone = window.zone
    # ``at`` is an exclusive end: the period is the one containing the last counted minute.
    local = datetime.fromtimestamp((at - 1) * 60, tz=zone)
    if window.unit == "week":
        monday = local.date() - timedelta(days=local.weekday())
        following = monday + timedelta(days=7)
        return Period(
            _local_midnight(monday.year, monday.month, monday.day, zone),
            _local_midnight(following.year, following.month, following.day, zone),
        )
    first_month = local.month if window.unit == "month" else 3 * ((local.month - 1) // 3) + 1
    months = 1 if window.unit == "month" else 3
    end_year, end_month = divmod(first_month - 1 + months, 12)
    return Period(
        _local_midnight(local.year, first_month, 1, zone),
        _local_midnight(local.year + end_year, end_month + 1, 1, zone),
    )


def period_at(window: RollingWindow | CalendarWindow, at: Minute) -> Period:
    """The period whose budget a status at ``at`` reports."""
    if isinstance(window, RollingWindow):
        return Period(at - int(window.length.total_seconds() // 60), at)
    return calendar_period(window, at)


@dataclass(frozen=True, slots=True)
class Plan:
    """Named ``[start, end)`` ranges needed to evaluate every series of one SLO at ``at``.

    ``period`` counts from the period start to ``at`` (to date); ``budget_period`` is the
    whole period. ``lookback`` feeds the forecast; for a rolling window, ``leaving`` names
    the pieces of the window, oldest first and cut at UTC midnights, whose events leave it
    as time goes on (engine/forecast.py).
    """

    at: Minute
    budget_period: Period
    intervals: dict[str, tuple[Minute, Minute]]
    leaving: tuple[str, ...] = ()
    positions: dict[str, int] = field(default_factory=dict)
    """Each range name's position in :attr:`names` (the order of every counts array)."""
    leaving_minutes: list[tuple[int, int]] = field(default_factory=list)
    """(position, length in minutes) of each leaving piece, oldest first."""
    ranges: tuple[tuple[Minute, Minute], ...] = field(init=False, default=())
    """The intervals in :attr:`names` order: the key of the counts read they share."""
    key: tuple[tuple[str, tuple[Minute, Minute]], ...] = field(init=False, default=())
    """Names and intervals: plans with equal keys can be evaluated together."""
    start: Minute = field(init=False, default=0)
    """The earliest interval start (:meth:`earliest`)."""

    def __post_init__(self) -> None:
        if not self.positions:
            self.positions.update({name: i for i, name in enumerate(self.intervals)})
        if self.leaving and not self.leaving_minutes:
            self.leaving_minutes.extend(
                (self.positions[name], self.minutes(name)) for name in self.leaving
            )
        # worked out once: every SLO of an evaluation that shares the plan asks for them
        object.__setattr__(self, "ranges", tuple(self.intervals.values()))
        object.__setattr__(self, "key", tuple(self.intervals.items()))
        object.__setattr__(self, "start", min((start for start, _ in self.ranges), default=self.at))

    @property
    def names(self) -> list[str]:
        return list(self.intervals)

    def earliest(self) -> Minute:
        return self.start

    def minutes(self, name: str) -> int:
        start, end = self.intervals[name]
        return end - start


FORECAST_LOOKBACK = "lookback"
LEAVING = "leaving:"
DAY_MINUTES = 1440


def leaving_pieces(start: Minute, end: Minute) -> list[tuple[Minute, Minute]]:
    """``[start, end)`` cut at UTC midnights (the store answers whole days from rollups)."""
    cuts = [start]
    midnight = start - start % DAY_MINUTES + DAY_MINUTES
    while midnight < end:
        cuts.append(midnight)
        midnight += DAY_MINUTES
    cuts.append(end)
    return [(low, high) for low, high in pairwise(cuts) if low < high]


def plan(window: RollingWindow | CalendarWindow, at: Minute, lookback: timedelta) -> Plan:
    """Every range a status at ``at`` needs: the burn windows, the period to date, the
    forecast's lookback and, for a rolling window, the pieces that will leave it."""
    budget_period = period_at(window, at)
    intervals = {name: (at - BURN_WINDOW_MINUTES[name], at) for name in BURN_WINDOWS}
    intervals["period"] = (budget_period.start, at)
    intervals[FORECAST_LOOKBACK] = (at - int(lookback.total_seconds() // 60), at)
    leaving: list[str] = []
    if isinstance(window, RollingWindow):
        for index, piece in enumerate(leaving_pieces(budget_period.start, at)):
            name = f"{LEAVING}{index}"
            intervals[name] = piece
            leaving.append(name)
    return Plan(at=at, budget_period=budget_period, intervals=intervals, leaving=tuple(leaving))


def clip(
    interval: tuple[Minute, Minute], ranges: list[tuple[Minute, Minute]]
) -> list[tuple[Minute, Minute]]:
    """The parts of ``interval`` covered by ``ranges`` (which must be merged and sorted)."""
    start, end = interval
    parts = []
    for range_start, range_end in ranges:
        lo, hi = max(start, range_start), min(end, range_end)
        if lo < hi:
            parts.append((lo, hi))
    return parts


def merge_ranges(ranges: list[tuple[Minute, Minute]]) -> list[tuple[Minute, Minute]]:
    """Sorted, non-overlapping union of ``ranges`` (so overlapping exclusions count once)."""
    merged: list[tuple[Minute, Minute]] = []
    for start, end in sorted(r for r in ranges if r[0] < r[1]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
