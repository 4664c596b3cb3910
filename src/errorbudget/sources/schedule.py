"""The one schedule of every pull source: high-water mark, lookback, gap backfill, the loop.

A pull source (Genesys Cloud, a third-party plugin; not ``ingest``, whose counts are
pushed) stores every minute it fetched, zeros included, so the end of what it stored for an
SLO is how far collection got: its *high-water mark*. Each scheduled run fetches
``[mark − lookback, now]`` — the lookback re-fetches the intervals still open or revised
upstream, and starting at the mark backfills whatever an outage of the API or of the
collector left out — and overwrites what was stored (writes replace a (series, minute,
source), so nothing counts twice). A mark further back than ``max_backfill`` is not caught
up by scheduled runs: the range is recorded as a ``gap`` (``RunPlan.gaps``) for
``errorbudget collect --from`` to fetch. :func:`run_forever` runs a source's ``run_once``
every ``interval``; a run that fails, whatever failed, is logged and never ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from errorbudget.durations import Duration
from errorbudget.model import Minute

log = logging.getLogger(__name__)


class PullSchedule(Protocol):
    """The schedule settings every pull source's ``sources.<name>`` section has."""

    @property
    def interval(self) -> timedelta:
        """How often scheduled collection runs."""

    @property
    def lookback(self) -> timedelta:
        """Each run re-fetches this much before what is stored: open and revised intervals."""

    @property
    def max_backfill(self) -> timedelta:
        """Scheduled runs catch up at most this far back after an outage."""

    @property
    def collect_deadline(self) -> timedelta:
        """Longest one run may take."""


class PullSettings(BaseModel):
    """A base for a pull source's settings model: the schedule keys with their defaults
    (those of ``sources.genesys``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    interval: Duration = timedelta(seconds=60)
    """How often scheduled collection runs."""
    lookback: Duration = timedelta(hours=1)
    """Each run re-fetches this much before what is stored: open and revised intervals."""
    max_backfill: Duration = timedelta(days=31)
    """Scheduled runs catch up at most this far back after an outage."""
    collect_deadline: Duration = timedelta(minutes=3)
    """Longest one collection run may take."""


@dataclass(frozen=True)
class Gap:
    """``[start, end)`` of one SLO that scheduled runs will not fetch."""

    slo: str
    start: Minute
    end: Minute


@dataclass(frozen=True)
class RunPlan:
    """What one scheduled run fetches: ``[start, end)``, and the gaps it leaves."""

    start: Minute
    end: Minute
    mark: Minute | None
    """The high-water mark it starts from (None: an SLO had nothing stored)."""
    gaps: list[Gap] = field(default_factory=list)


def _minutes(duration: timedelta) -> int:
    return int(duration.total_seconds() // 60)


def oldest_mark(marks: Mapping[str, Minute | None]) -> Minute | None:
    """The oldest of the SLOs' high-water marks; None when one has nothing stored (or
    there are none)."""
    ends = [m for m in marks.values() if m is not None]
    return min(ends) if ends and len(ends) == len(marks) else None


def plan_run(schedule: PullSchedule, now: Minute, marks: Mapping[str, Minute | None]) -> RunPlan:
    """The range of a scheduled run at minute ``now`` given each SLO's high-water mark
    (the open minute ``now`` included): from ``lookback`` before the oldest mark (before
    now, the first time), never further back than ``max_backfill``."""
    oldest = now - _minutes(schedule.max_backfill)
    mark = oldest_mark(marks)
    start = max(oldest, (mark if mark is not None else now) - _minutes(schedule.lookback))
    gaps = [Gap(slo, m, oldest) for slo, m in marks.items() if m is not None and m < oldest]
    return RunPlan(start, now + 1, mark, gaps)


class ScheduledRun(Protocol):
    @property
    def error(self) -> str | None: ...


class Scheduled(Protocol):
    """A source that runs on the schedule (``errorbudget serve``)."""

    @property
    def name(self) -> str: ...

    @property
    def interval(self) -> timedelta: ...

    async def run_once(self) -> ScheduledRun: ...


async def run_forever(source: Scheduled, stop: asyncio.Event | None = None) -> None:
    """Run ``source.run_once()`` every ``interval`` until ``stop`` is set or the task is
    cancelled. A failed run — whatever failed — is logged, never the end of the loop: the
    next interval tries again and resumes from the high-water mark."""
    stop = stop or asyncio.Event()
    interval = source.interval.total_seconds()
    while not stop.is_set():
        began = time.monotonic()
        try:
            report = await source.run_once()
            if report.error:
                log.warning("%s: %s", source.name, report.error)
        except asyncio.CancelledError:
            raise
        except Exception:  # the loop must outlive any one run
            log.exception("%s: collection run failed", source.name)
        remaining = interval - (time.monotonic() - began)
        if remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), remaining)
