"""ISO-8601 intervals and granularities, the way Genesys Cloud analytics queries take them.

``interval`` is ``start/end`` (``2026-11-02T00:00:00.000Z/2026-11-03T00:00:00.000Z``; a
time without offset is UTC). ``granularity`` is an ISO-8601 duration (``PT15M``, ``PT1H``,
``P1D``, ``P7D``, ``P1W``, ``P1M``); buckets start at the interval start and step by the
granularity, day/week/month steps in the query's ``timeZone`` (so a local day stays a local
day across DST). The last bucket ends at the interval end.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_BUCKETS = 10_000

_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


class IntervalError(ValueError):
    """An interval, granularity or time zone that cannot be used (the message says why)."""


@dataclass(frozen=True, slots=True)
class Granularity:
    months: int = 0
    days: int = 0
    fixed: timedelta = timedelta(0)

    @property
    def calendar(self) -> bool:
        return bool(self.months or self.days)


def parse_instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise IntervalError(f"{text!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_interval(text: str) -> tuple[datetime, datetime]:
    """``start/end`` → two aware UTC datetimes (end after start)."""
    start_text, sep, end_text = text.partition("/")
    if not sep:
        raise IntervalError(f"interval {text!r} is not of the form start/end")
    start, end = parse_instant(start_text), parse_instant(end_text)
    if end <= start:
        raise IntervalError(f"interval {text!r} ends before it starts")
    return start, end


def parse_granularity(text: str) -> Granularity:
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise IntervalError(f"granularity {text!r} is not an ISO-8601 duration (e.g. PT15M)")
    part = {k: int(v) if v else 0 for k, v in match.groupdict().items()}
    fixed = timedelta(hours=part["h"], minutes=part["mi"], seconds=part["s"])
    granularity = Granularity(
        months=part["y"] * 12 + part["mo"], days=part["w"] * 7 + part["d"], fixed=fixed
    )
    if granularity.calendar and fixed:
        raise IntervalError(f"granularity {text!r} mixes days and hours")
    if not granularity.calendar and fixed < timedelta(minutes=1):
        raise IntervalError(f"granularity {text!r} is shorter than PT1M")
    if fixed.total_seconds() % 60:
        raise IntervalError(f"granularity {text!r} is not a whole number of minutes")
    return granularity


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise IntervalError(f"timeZone {name!r} is not an IANA time zone") from None


def bucket_edges(
    start: datetime, end: datetime, granularity: Granularity | None, tz: ZoneInfo
) -> list[datetime]:
    """Bucket boundaries from ``start`` to ``end`` (one bucket when no granularity)."""
    if granularity is None:
        return [start, end]
    edges = [start]
    local_start = start.astimezone(tz)
    step = 0
    while edges[-1] < end:
        step += 1
        if granularity.calendar:
            month = local_start.month - 1 + step * granularity.months
            year, month = local_start.year + month // 12, month % 12 + 1
            day = min(local_start.day, calendar.monthrange(year, month)[1])
            local = local_start.replace(year=year, month=month, day=day) + timedelta(
                days=step * granularity.days
            )
            nxt = local.replace(tzinfo=None).replace(tzinfo=tz).astimezone(UTC)
        else:
            nxt = start + step * granularity.fixed
        edges.append(min(nxt, end))
        if len(edges) > MAX_BUCKETS + 1:
            raise IntervalError(f"the interval has more than {MAX_BUCKETS} granularity buckets")
    return edges


def format_interval(start: datetime, end: datetime) -> str:
    """``2026-11-02T00:00:00.000Z/2026-11-02T00:15:00.000Z`` (Genesys response style)."""
    return f"{_fmt(start)}/{_fmt(end)}"


def _fmt(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
