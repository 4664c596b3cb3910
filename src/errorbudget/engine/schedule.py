"""Schedules and maintenance windows as UTC minute ranges, across DST changes.

A schedule's open hours are local wall-clock times in its IANA zone: ``mon-fri 08:00-20:00``
in ``America/New_York`` is 13:00–01:00Z in winter and 12:00–00:00Z in summer, and on the
days the clocks change the wall clock decides. A local time that occurs twice (the hour
repeated when DST ends) means its first occurrence; a local time the clocks skip (when DST
starts) means the instant they skip it. So ``01:00-03:00`` on the day DST ends in New York
is open three hours, and ``02:00-04:00`` on the day it starts is open one.

Events in minutes outside the schedule (holidays included) are *out of schedule*: they do
not count toward the budget, and a status reports them apart from exclusions
(``BudgetStatus.out_of_schedule``). Maintenance windows are removed like exclusions.

Pure: dates and zones in, :mod:`~errorbudget.engine.ranges` arrays out. A status of a 30-day
window with business hours computes about 70 ranges, one Python step per local day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from errorbudget.engine.ranges import EMPTY, RangeArray, clip, complement, union
from errorbudget.model import Minute, SegmentKey, matches, to_minute
from errorbudget.schedules import (
    HolidayCalendar,
    LocalRange,
    MaintenanceWindow,
    Schedule,
    inline_schedule,
)

DAY = 1440


@lru_cache(maxsize=65_536)
def local_minute(day: date, minute_of_day: int, zone_name: str) -> Minute:
    """The UTC minute at which the wall clock of ``zone_name`` shows ``minute_of_day`` on
    ``day`` (1440 is the next midnight): the first occurrence of a repeated time, the
    instant of the change for a skipped one."""
    zone = ZoneInfo(zone_name)
    wall = datetime(day.year, day.month, day.day) + timedelta(minutes=minute_of_day)
    first = to_minute(wall.replace(tzinfo=zone))  # fold=0: the earlier offset's reading
    if _wall(first, zone) == wall:
        return first
    # Skipped (the clocks sprang forward over ``wall``): fold=0 read it with the offset
    # before the change (too late), fold=1 with the one after (too early); the change is
    # the first minute between them whose wall clock is past ``wall``.
    low, high = to_minute(wall.replace(tzinfo=zone, fold=1)), first
    while low < high:
        middle = (low + high) // 2
        if _wall(middle, zone) > wall:
            high = middle
        else:
            low = middle + 1
    return low


def _wall(minute: Minute, zone: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC).astimezone(zone).replace(tzinfo=None)


def local_date(minute: Minute, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(minute * 60, tz=zone).date()


@dataclass(frozen=True, slots=True)
class WeeklySchedule:
    """A schedule ready to evaluate: open ranges per weekday (Monday first) and per holiday
    date, in the local time of ``zone``."""

    zone: str
    week: tuple[tuple[LocalRange, ...], ...]
    holidays: Mapping[date, tuple[LocalRange, ...]] = field(default_factory=dict)
    name: str = ""

    def day_ranges(self, day: date) -> tuple[LocalRange, ...]:
        found = self.holidays.get(day)
        return found if found is not None else self.week[day.weekday()]

    def open_ranges(self, start: Minute, end: Minute) -> RangeArray:
        """The open (eligible) minutes of ``[start, end)``, normal."""
        if end <= start:
            return EMPTY.copy()
        zone = ZoneInfo(self.zone)
        first, last = local_date(start, zone), local_date(end - 1, zone)
        found: list[tuple[Minute, Minute]] = []
        day = first
        while day <= last:
            ranges = self.day_ranges(day)
            if ranges:
                midnight = local_minute(day, 0, self.zone)
                regular = local_minute(day, DAY, self.zone) - midnight == DAY
                for low, high in ranges:
                    if regular:  # no clock change that day: wall time is midnight + minutes
                        found.append((midnight + low, midnight + high))
                    else:
                        found.append(
                            (local_minute(day, low, self.zone), local_minute(day, high, self.zone))
                        )
            day += timedelta(days=1)
        opened = union(np.asarray(found, dtype=np.int64).reshape(-1, 2))
        return clip(opened, start, end)

    def closed_ranges(self, start: Minute, end: Minute) -> RangeArray:
        """The out-of-schedule minutes of ``[start, end)``, normal."""
        return complement(self.open_ranges(start, end), start, end)


def compile_schedule(
    schedule: Schedule, calendars: Mapping[str, HolidayCalendar], name: str = ""
) -> WeeklySchedule:
    """A :class:`WeeklySchedule` from config. Holidays: the schedule's own ``holidays``,
    then its ``holiday_calendars`` in the order listed; the first to name a date wins."""
    holidays = {
        holiday.date: holiday.ranges for holiday in inline_schedule(schedule, calendars).holidays
    }
    return WeeklySchedule(schedule.timezone, schedule.week, holidays, name)


def maintenance_ranges(window: MaintenanceWindow, start: Minute, end: Minute) -> RangeArray:
    """The minutes of ``[start, end)`` inside occurrences of ``window``, normal. An
    occurrence starts at ``window.start`` local time and lasts ``window.duration``."""
    if end <= start:
        return EMPTY.copy()
    zone = ZoneInfo(window.timezone)
    length = window.duration_minutes
    # an occurrence that started up to ``length`` before ``start`` may still be running
    day = local_date(start - length, zone)
    last = local_date(end - 1, zone)
    found: list[tuple[Minute, Minute]] = []
    while day <= last:
        if window.occurs_on(day):
            begin = local_minute(day, window.start_minute, window.timezone)
            found.append((max(begin, start), min(begin + length, end)))
        day += timedelta(days=1)
    return union(np.asarray(found, dtype=np.int64).reshape(-1, 2))


@dataclass(frozen=True, slots=True)
class Eligibility:
    """What one SLO does not count besides exclusions: minutes outside its ``schedule``
    (None: always eligible) and the ``maintenance`` windows scoped to it (each still to be
    matched against a series' segment)."""

    schedule: WeeklySchedule | None = None
    maintenance: tuple[MaintenanceWindow, ...] = ()

    @property
    def empty(self) -> bool:
        return self.schedule is None and not self.maintenance

    def off_schedule(self, start: Minute, end: Minute) -> RangeArray:
        if self.schedule is None:
            return EMPTY.copy()
        return self.schedule.closed_ranges(start, end)

    def occurrences(
        self, start: Minute, end: Minute
    ) -> list[tuple[MaintenanceWindow, Minute, Minute]]:
        """Every maintenance occurrence overlapping ``[start, end)`` (cut to it), by window
        then time: for charts."""
        return [
            (window, int(low), int(high))
            for window in self.maintenance
            for low, high in maintenance_ranges(window, start, end).tolist()
        ]

    def maintenance_for(
        self,
        segments: Sequence[SegmentKey],
        start: Minute,
        end: Minute,
    ) -> list[RangeArray]:
        """Maintenance minutes of ``[start, end)`` for each segment (each window computed
        once, whatever the number of series; segments under the same windows share one
        array)."""
        windows = [(w.segment, maintenance_ranges(w, start, end)) for w in self.maintenance]
        found: dict[tuple[int, ...], RangeArray] = {}  # series matching the same windows
        result = []  # share one array (the evaluation groups series by it)
        for segment in segments:
            key = tuple(i for i, (selector, _) in enumerate(windows) if matches(segment, selector))
            if key not in found:
                found[key] = union(*[windows[i][1] for i in key]) if key else EMPTY
            result.append(found[key])
        return result
