"""Eligibility in time: SLO schedules, holiday calendars and recurring maintenance windows.

A *schedule* says in which local hours of which weekdays, in an IANA time zone, events are
eligible for an SLO (a contact center's business hours); *holidays* close a date all day or
give it special hours. A *maintenance window* recurs (every Sunday 02:00 for 2h, the first
Sunday of each month, the 1st of each month) and removes its minutes from budget counting
like an exclusion. Both are config, so every change to them is audited with the config
(``App.record_config``); raw counts are always kept and both are applied at evaluation.

These are the typed definitions (pydantic, validated with file:line:col by the config
loader); the pure math that turns them into UTC minute ranges is
:mod:`errorbudget.engine.schedule`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from errorbudget.durations import Duration, format_duration
from errorbudget.limits import EARLIEST, LATEST

LocalRange = tuple[int, int]
"""``[start, end)`` in minutes after local midnight (``end`` ≤ 1440: ``24:00`` ends a day)."""

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names as written in config, Monday first (``date.weekday()`` order)."""

_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_TITLES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TIME = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --- times, ranges and weekdays ----------------------------------------------------------------


def parse_time(text: str, *, allow_midnight_end: bool = False) -> int:
    """``"08:30"`` → 510 minutes after local midnight; ``"24:00"`` (1440) only as an end."""
    match = _TIME.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time of day (write HH:MM, e.g. 08:00)")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not allow_midnight_end)):
        what = "00:00 to 24:00" if allow_midnight_end else "00:00 to 23:59"
        raise ValueError(f"{text!r} is not a time of day ({what})")
    return hours * 60 + minutes


def format_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_range(text: str) -> LocalRange:
    """``"08:00-20:00"`` → (480, 1200): minutes after local midnight, end excluded."""
    start, sep, end = text.replace("–", "-").partition("-")
    if not sep:
        raise ValueError(f"{text!r} is not a range of hours (write HH:MM-HH:MM, e.g. 08:00-20:00)")
    first = parse_time(start)
    last = parse_time(end, allow_midnight_end=True)
    if last <= first:
        raise ValueError(
            f"{text!r} ends before it starts (a range ends later the same day; write a range "
            "past midnight as two, e.g. 22:00-24:00 and 00:00-06:00 on the next day)"
        )
    return first, last


def _normal_range(text: str) -> str:
    first, last = parse_range(text)
    return f"{format_time(first)}-{format_time(last)}"


def _normal_time(text: str) -> str:
    return format_time(parse_time(text))


TimeRange = Annotated[str, AfterValidator(_normal_range)]
"""``HH:MM-HH:MM`` in local time, end after start; ``24:00`` ends the day."""

TimeOfDay = Annotated[str, AfterValidator(_normal_time)]
"""``HH:MM`` in local time."""


def _weekday(name: str) -> int:
    folded = name.strip().casefold()
    for names in (WEEKDAYS, _FULL_NAMES):
        if folded in names:
            return names.index(folded)
    raise ValueError(f"{name.strip()!r} is not a weekday (use mon, tue, wed, thu, fri, sat, sun)")


def parse_days(text: str) -> tuple[int, ...]:
    """``"mon-fri"`` → (0, 1, 2, 3, 4); ``"sat,sun"``, ``"fri-mon"`` (wraps) also work."""
    days: list[int] = []
    for part in text.split(","):
        first, sep, last = part.partition("-")
        if not sep:
            days.append(_weekday(first))
            continue
        begin, end = _weekday(first), _weekday(last)
        days.extend((begin + step) % 7 for step in range((end - begin) % 7 + 1))
    return tuple(sorted(set(days)))


def _valid_days(text: str) -> str:
    parse_days(text)
    return text


DaySpec = Annotated[str, AfterValidator(_valid_days)]
"""Weekdays: ``mon``, ``mon-fri``, ``sat,sun``."""


def merged(ranges: list[LocalRange], where: str) -> tuple[LocalRange, ...]:
    """Sorted ranges with adjacent ones joined; ValueError naming ``where`` on an overlap."""
    result: list[LocalRange] = []
    for start, end in sorted(ranges):
        if result and start < result[-1][1]:
            previous = result[-1]
            prefix = f"{where}: " if where else ""
            raise ValueError(
                f"{prefix}{format_time(start)}-{format_time(end)} overlaps "
                f"{format_time(previous[0])}-{format_time(previous[1])}"
            )
        if result and start == result[-1][1]:
            result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return tuple(result)


def _no_overlap(ranges: list[str]) -> list[str]:
    merged([parse_range(r) for r in ranges], "")
    return ranges


Hours = Annotated[list[TimeRange], AfterValidator(_no_overlap)]


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. America/New_York)") from exc
    return value


Zone = Annotated[str, AfterValidator(_known_zone)]


def describe_ranges(ranges: tuple[LocalRange, ...] | list[LocalRange]) -> str:
    return ", ".join(f"{format_time(s)}–{format_time(e)}" for s, e in ranges) or "closed"


# --- holidays and schedules --------------------------------------------------------------------


def _in_range(day: dt.date) -> dt.date:
    """A date of the accepted time range (``limits``: 2000 to 2099)."""
    if not EARLIEST.date() <= day < LATEST.date():
        raise ValueError(
            f"{day.isoformat()} is outside the accepted range, 2000-01-01 to 2099-12-31"
        )
    return day


Day = Annotated[dt.date, AfterValidator(_in_range)]


class Holiday(_Model):
    """One local date that is closed all day (no ``hours``) or open only in ``hours``."""

    date: Day
    name: str = ""
    hours: Hours = Field(default_factory=list)

    @property
    def ranges(self) -> tuple[LocalRange, ...]:
        return merged([parse_range(r) for r in self.hours], f"holiday {self.date}")

    def describe(self) -> str:
        name = f" {self.name}" if self.name else ""
        hours = f"open {describe_ranges(self.ranges)}" if self.hours else "closed"
        return f"{self.date}{name} ({hours})"


def _unique_dates(days: list[Holiday]) -> list[Holiday]:
    seen: set[date] = set()
    for day in days:
        if day.date in seen:
            raise ValueError(f"holiday {day.date} is given more than once")
        seen.add(day.date)
    return days


Holidays = Annotated[list[Holiday], AfterValidator(_unique_dates)]


class HolidayCalendar(_Model):
    """Named holidays that several schedules share (``schedules[].holiday_calendars``)."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    description: str = ""
    days: Holidays


class Schedule(_Model):
    """When events are eligible for an SLO: open hours per weekday in ``timezone``, less
    holidays. Minutes outside it do not count toward the budget (docs/concepts.md)."""

    timezone: Zone
    hours: dict[DaySpec, Hours] = Field(min_length=1)
    """Weekdays (``mon-fri``, ``sat``) → open ranges; a day named nowhere is closed."""
    holidays: Holidays = Field(default_factory=list)
    holiday_calendars: list[str] = Field(default_factory=list)
    """Names of ``holiday_calendars``; a date in ``holidays`` replaces the same date there."""
    description: str = ""

    @field_validator("hours")
    @classmethod
    def _days_do_not_overlap(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        weekly_ranges(value)
        if not any(value.values()):
            raise ValueError("a schedule needs open hours on at least one day")
        return value

    @property
    def week(self) -> tuple[tuple[LocalRange, ...], ...]:
        """Open ranges of each weekday, Monday first."""
        return weekly_ranges(self.hours)

    def describe(self) -> str:
        """``Mon–Fri 08:00–20:00, Sat 09:00–13:00 (America/New_York)``."""
        groups: list[tuple[list[int], tuple[LocalRange, ...]]] = []
        for day, ranges in enumerate(self.week):
            if not ranges:
                continue
            if groups and groups[-1][1] == ranges and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], ranges))
        parts = []
        for days, ranges in groups:
            names = (
                _TITLES[days[0]]
                if len(days) == 1
                else f"{_TITLES[days[0]]}–{_TITLES[days[-1]]}"
                if len(days) > 2
                else f"{_TITLES[days[0]]}, {_TITLES[days[1]]}"
            )
            parts.append(f"{names} {describe_ranges(ranges)}")
        return f"{'; '.join(parts)} ({self.timezone})"


def inline_schedule(schedule: Schedule, calendars: Mapping[str, HolidayCalendar]) -> Schedule:
    """``schedule`` with its holiday calendars written in as holidays (for export, and the
    holiday rule in one place): its own ``holidays`` first, then each calendar in the order
    listed; the first to name a date wins."""
    days: dict[date, Holiday] = {}
    for source in [schedule.holidays] + [
        calendars[name].days for name in schedule.holiday_calendars if name in calendars
    ]:
        for holiday in source:
            days.setdefault(holiday.date, holiday)
    return Schedule(
        timezone=schedule.timezone,
        hours=schedule.hours,
        holidays=sorted(days.values(), key=lambda h: h.date),
        description=schedule.description,
    )


def weekly_ranges(hours: dict[str, list[str]]) -> tuple[tuple[LocalRange, ...], ...]:
    """Open ranges of each weekday from ``hours``; ValueError on ranges that overlap."""
    per_day: list[list[LocalRange]] = [[] for _ in WEEKDAYS]
    for spec, ranges in hours.items():
        for day in parse_days(spec):
            per_day[day].extend(parse_range(r) for r in ranges)
    return tuple(merged(ranges, WEEKDAYS[day]) for day, ranges in enumerate(per_day))


class NamedSchedule(Schedule):
    """A schedule in the top-level ``schedules`` list, referred to by ``slos[].schedule``."""

    name: str = Field(pattern=NAME_PATTERN, max_length=100)


def _schedule_tag(value: Any) -> str:
    return "name" if isinstance(value, str) else "inline"


ScheduleRef = Annotated[
    Annotated[str, Tag("name")] | Annotated[Schedule, Tag("inline")],
    Discriminator(_schedule_tag),
]
"""``slos[].schedule``: a name from ``schedules``, or a schedule written in place."""


# --- maintenance windows -----------------------------------------------------------------------


def _whole_minutes(value: timedelta) -> timedelta:
    if value.total_seconds() % 60 or value > timedelta(days=7):
        raise ValueError("a maintenance window lasts whole minutes, at most 7d")
    return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class MaintenanceWindow(_Model):
    """A recurring maintenance window, removed from budget counting like an exclusion.

    Recurs weekly on ``weekdays``; monthly on the ``nth`` of those weekdays (1 = first,
    -1 = last); or monthly on ``days_of_month`` (-1 = the last day). Starts at ``start``
    local time in ``timezone`` and lasts ``duration`` (it may run past midnight). Applies to
    the SLOs in ``slos`` (all when empty) of the services in ``services`` (all when empty),
    and of those to the series whose labels match every pair of ``segment``.
    """

    name: str = Field(pattern=NAME_PATTERN, max_length=100)
    description: str = ""
    timezone: Zone
    start: TimeOfDay
    duration: Annotated[Duration, AfterValidator(_whole_minutes)]
    weekdays: list[Weekday] = Field(default_factory=list)
    nth: list[Annotated[int, Field(ge=-5, le=5)]] = Field(default_factory=list)
    days_of_month: list[Annotated[int, Field(ge=-31, le=31)]] = Field(default_factory=list)
    starts_on: Day | None = None
    ends_on: Day | None = None
    slos: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    segment: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _recurrence(self) -> MaintenanceWindow:
        if bool(self.weekdays) == bool(self.days_of_month):
            raise ValueError("give exactly one of weekdays and days_of_month")
        if self.nth and not self.weekdays:
            raise ValueError("nth needs weekdays (e.g. weekdays: [sun], nth: [1])")
        if 0 in self.nth or 0 in self.days_of_month:
            raise ValueError("nth and days_of_month count from 1 (or from -1, the last)")
        if self.starts_on and self.ends_on and self.ends_on < self.starts_on:
            raise ValueError(f"ends_on {self.ends_on} is before starts_on {self.starts_on}")
        return self

    def covers(self, slo: str, service: str) -> bool:
        """Whether the window applies to (some series of) SLO ``slo`` of ``service``."""
        return (not self.slos or slo in self.slos) and (
            not self.services or service in self.services
        )

    @property
    def start_minute(self) -> int:
        return parse_time(self.start)

    @property
    def duration_minutes(self) -> int:
        return int(self.duration.total_seconds() // 60)

    def occurs_on(self, day: date) -> bool:
        """Whether an occurrence starts on local date ``day``."""
        if self.starts_on is not None and day < self.starts_on:
            return False
        if self.ends_on is not None and day > self.ends_on:
            return False
        if self.days_of_month:
            length = _month_length(day)
            return day.day in self.days_of_month or day.day - length - 1 in self.days_of_month
        if WEEKDAYS[day.weekday()] not in self.weekdays:
            return False
        if not self.nth:
            return True
        from_start = (day.day - 1) // 7 + 1
        from_end = -((_month_length(day) - day.day) // 7 + 1)
        return from_start in self.nth or from_end in self.nth

    def describe(self) -> str:
        """``every Sun 02:00 for 2h (America/New_York)``."""
        if self.days_of_month:
            days = ", ".join(_ordinal(d) for d in self.days_of_month)
            when = f"monthly on the {days}"
        else:
            names = ", ".join(_TITLES[WEEKDAYS.index(d)] for d in self.weekdays)
            when = (
                f"monthly on the {', '.join(_ordinal(n) for n in self.nth)} {names}"
                if self.nth
                else f"every {names}"
            )
        span = ""
        if self.starts_on or self.ends_on:
            span = f", {self.starts_on or '…'} to {self.ends_on or '…'}"
        return f"{when} {self.start} for {format_duration(self.duration)} ({self.timezone}{span})"


def _month_length(day: date) -> int:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def _ordinal(number: int) -> str:
    if number == -1:
        return "last"
    if number < 0:
        return f"{_ordinal(-number)} from last"
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    if 10 <= number % 100 <= 20:
        suffix = "th"
    return f"{number}{suffix}"
