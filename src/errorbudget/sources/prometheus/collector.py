"""``PrometheusCollector``: PromQL counts per minute → idempotent counts in the store.

**What is asked.** For each SLO, its numerator (``good_query`` or ``bad_query``) and its
``total_query`` with ``{{.window}}`` = ``1m``, evaluated at each minute's end
(``results``). A scheduled run (:meth:`run_once`) covers the *closed* minutes from
``lookback`` before the high-water mark to now: up to ``max_instant_minutes`` of them with
instant queries (``/api/v1/query``, one per minute), more with ``query_range``. A range
(``collect --from --to``, a long catch-up) is split into chunks of at most ``max_points``
minutes and ``max_query_span`` (``results.chunks``), fetched in time order, each chunk's
queries ``concurrency`` at a time.

**What is written.** Each chunk in one transaction, source ``prometheus``: every minute
with data (zero-event minutes as 0/0), replacing what a previous fetch stored; minutes
without data are not written; broken minutes are 0/0 with an ``inconsistent`` data issue,
synced per chunk so a clean re-fetch resolves it.

**High-water mark.** Minutes without data are not stored, so the end of the stored data
can lag behind what was asked; the mark of an SLO is the later of its stored data's end
and the ``collected_through`` the source's last run recorded (``Store.source_health``).
Beyond ``max_backfill`` a scheduled run records a ``gap`` issue instead of catching up.

**Runs** end within ``collect_deadline``, are recorded in the store (the source's health)
and in :attr:`run_health`; the event loop never waits for the store (worker threads).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from errorbudget.durations import format_duration
from errorbudget.errors import SourceError, StoreError
from errorbudget.model import SLO, Minute, SegmentKey, from_minute, to_minute
from errorbudget.records import FoundIssue
from errorbudget.sources.counts_sink import CountsSink
from errorbudget.sources.prometheus.client import PrometheusClient
from errorbudget.sources.prometheus.indicator import PrometheusIndicator, render
from errorbudget.sources.prometheus.report import PrometheusRun, report_json, report_line
from errorbudget.sources.prometheus.results import (
    MinuteCounts,
    Series,
    by_segment,
    chunks,
    combine,
    evaluation_time,
)
from errorbudget.sources.prometheus.settings import PrometheusSettings
from errorbudget.sources.run_health import RunHealth
from errorbudget.sources.schedule import oldest_mark, plan_run, run_forever
from errorbudget.store import Store

log = logging.getLogger(__name__)

SOURCE = "prometheus"
WINDOW = "1m"

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]


def _utc_now() -> datetime:
    return datetime.now(tz=UTC)


def _indicator(slo: SLO) -> PrometheusIndicator:
    indicator = slo.indicator
    assert isinstance(indicator, PrometheusIndicator)
    return indicator


class PrometheusCollector:
    """Collects the configured Prometheus SLOs into ``store`` (a ``PullSource``)."""

    name = SOURCE

    def __init__(
        self,
        settings: PrometheusSettings,
        slos: Sequence[SLO],
        store: Store,
        *,
        clock: Clock = _utc_now,
        client: PrometheusClient | None = None,
    ) -> None:
        self.settings = settings
        self.slos = [s for s in slos if isinstance(s.indicator, PrometheusIndicator)]
        self.store = store
        self.sink: CountsSink = store
        self.clock = clock
        self.client = client or PrometheusClient(settings)
        self.span = max(1, int(settings.max_query_span.total_seconds() // 60))
        self.run_health = RunHealth()
        self.last_report: PrometheusRun | None = None

    def __repr__(self) -> str:
        return f"PrometheusCollector(slos={[s.id for s in self.slos]!r}, client={self.client!r})"

    @property
    def interval(self) -> timedelta:
        return self.settings.interval

    async def aclose(self) -> None:
        await self.client.aclose()

    async def collect(self, start: datetime, end: datetime) -> int:
        """Fetch and store ``[start, end)``; return the rows written (SourceError when a
        chunk keeps failing, after writing every chunk before it)."""
        run = await self.collect_range(to_minute(start), to_minute(end))
        if run.error is not None:
            raise SourceError(run.error, retryable=True)
        return run.rows_written

    async def collect_range(
        self,
        start: Minute,
        end: Minute,
        *,
        progress: Progress | None = None,
        deadline: timedelta | None = None,
    ) -> PrometheusRun:
        """One run over ``[start, end)`` (``collect --from``): closed minutes only, in
        ``query_range`` chunks, written in time order."""
        run = PrometheusRun(start, end, "range", [s.id for s in self.slos])
        closed = min(end, to_minute(self.clock()))
        return await self._run(run, lambda: self._ranges(run, start, closed, progress), deadline)

    async def run_once(
        self, now: datetime | None = None, *, deadline: timedelta | None = None
    ) -> PrometheusRun:
        """One scheduled run (``sources.schedule.plan_run``): the closed minutes from
        ``lookback`` before the high-water mark, by instant queries when they are few."""
        current = to_minute(now or self.clock())
        marks = await asyncio.to_thread(self.marks)
        plan = plan_run(self.settings, current, marks)
        end = min(plan.end, current)  # the open minute has no count yet
        few = end - plan.start <= self.settings.max_instant_minutes
        mode: Literal["instant", "range"] = "instant" if few else "range"
        run = PrometheusRun(plan.start, end, mode, [s.id for s in self.slos])

        async def work() -> None:
            for gap in plan.gaps:
                await asyncio.to_thread(self._record_gap, run, gap.slo, gap.start, gap.end)
            if mode == "instant":
                await self._instants(run, plan.start, end)
            else:
                await self._ranges(run, plan.start, end, None)

        return await self._run(run, work, deadline)

    # --- runs -----------------------------------------------------------------------------

    async def _run(
        self, run: PrometheusRun, work: Callable[[], Awaitable[None]], deadline: timedelta | None
    ) -> PrometheusRun:
        limit = deadline or self.settings.collect_deadline
        started_at = self.clock()
        began = time.perf_counter()
        before = _stats(self.client)
        cancelled = False
        bound = asyncio.timeout(limit.total_seconds())
        try:
            async with bound:
                await work()
        except asyncio.CancelledError:
            cancelled = True
            raise
        except TimeoutError:
            if not bound.expired():
                raise
            run.error = (
                f"gave up after the collect deadline ({format_duration(limit)}): "
                f"{run.chunks_written} of {run.chunks} chunks stored, {self._where(run)}; run "
                "again to resume, or allow longer (collect --deadline, "
                "sources.prometheus.collect_deadline)"
            )
        except SourceError as exc:
            run.error = f"{exc} ({self._where(run)})"
        except StoreError as exc:
            run.error = f"{exc} (the next run tries again)"
        finally:
            run.seconds = time.perf_counter() - began
            after = _stats(self.client)
            run.queries, run.requests, run.retries, run.failed_requests, run.points = (
                a - b for a, b in zip(after, before, strict=True)
            )
            if not cancelled:
                await self._record(run, started_at)
            self.last_report = run
        return run

    def _where(self, run: PrometheusRun) -> str:
        if run.collected_through is None:
            return "nothing new stored; the next run starts again"
        return f"stored through {_iso(run.collected_through)}: the next run resumes there"

    async def _record(self, run: PrometheusRun, started_at: datetime) -> None:
        finished_at = self.clock()
        self.run_health.record(
            ok=run.ok, started_at=started_at, finished_at=finished_at, error=run.error
        )
        try:
            # a backfill of old history never moves the recorded mark back
            recorded = await asyncio.to_thread(self._recorded_through)
            ends = [m for m in (run.collected_through, recorded) if m is not None]
            through = max(ends) if ends else None
            await asyncio.to_thread(
                self.store.record_source_run,
                SOURCE,
                started_at=started_at,
                finished_at=finished_at,
                ok=run.ok,
                error=run.error,
                collected_through=through,
                calls=run.requests,
                failed_calls=min(run.failed_requests, run.requests),
            )
        except StoreError as exc:
            log.warning("prometheus: cannot record the collection run: %s", exc)

    # --- the high-water mark ------------------------------------------------------------

    def _recorded_through(self) -> Minute | None:
        for health in self.store.source_health():
            if health.source == SOURCE:
                return health.collected_through
        return None

    def marks(self) -> dict[str, Minute | None]:
        """Per SLO: the end of what was collected (the later of its stored data's end and
        the source's recorded ``collected_through``); None: nothing yet."""
        through = self._recorded_through()
        found: dict[str, Minute | None] = {}
        for slo in self.slos:
            ids = [s.id for s in self.store.list_series(slo.id)]
            bounds = self.store.data_bounds(ids) if ids else None
            ends = [m for m in (bounds[1] if bounds else None, through) if m is not None]
            found[slo.id] = max(ends) if ends else None
        return found

    def high_water_mark(self) -> Minute | None:
        return oldest_mark(self.marks())

    def _record_gap(self, run: PrometheusRun, slo_id: str, start: Minute, end: Minute) -> None:
        detail = (
            f"not collected: the collector was more than max_backfill "
            f"({format_duration(self.settings.max_backfill)}) behind, so scheduled runs start "
            f"at {_iso(end)}; fetch the gap with errorbudget collect --source prometheus "
            f"--from {_iso(start)} --to {_iso(end)}"
        )
        self.store.sync_data_issues(
            source=SOURCE, slo=slo_id, start=start, end=end,
            found=[FoundIssue({}, start, end, "gap", detail)],
        )  # fmt: skip
        run.data_issues += 1
        log.warning("prometheus: SLO %s: %s", slo_id, detail)

    # --- fetching ---------------------------------------------------------------------------

    async def _ranges(
        self, run: PrometheusRun, start: Minute, end: Minute, progress: Progress | None
    ) -> None:
        """``[start, end)`` in ``query_range`` chunks, each written before the next."""
        parts = chunks(start, end, self.settings.max_points, self.span) if end > start else []
        run.chunks = len(parts)
        if progress is not None:
            progress(0, len(parts))
        for first, stop in parts:

            def ask(query: str, first: int = first, stop: int = stop) -> Awaitable[list[Series]]:
                return self.client.range(query, evaluation_time(first), evaluation_time(stop - 1))

            await self._chunk(run, first, stop, ask)
            if progress is not None:
                progress(run.chunks_written, len(parts))

    async def _instants(self, run: PrometheusRun, start: Minute, end: Minute) -> None:
        """Each closed minute of ``[start, end)`` by instant queries, in time order."""
        run.chunks = max(0, end - start)
        for minute in range(start, end):

            def ask(query: str, minute: int = minute) -> Awaitable[list[Series]]:
                return self.client.instant(query, evaluation_time(minute))

            await self._chunk(run, minute, minute + 1, ask)

    async def _chunk(
        self,
        run: PrometheusRun,
        start: Minute,
        end: Minute,
        ask: Callable[[str], Awaitable[list[Series]]],
    ) -> None:
        """Every SLO's two queries over ``[start, end)`` (``concurrency`` at a time), then
        one transaction writing all of them."""
        slots = asyncio.Semaphore(self.settings.concurrency)

        async def fetch(slo: SLO, query: str) -> dict[SegmentKey, dict[Minute, float]]:
            async with slots:
                series = await ask(render(query, WINDOW))
            where = f"SLO {slo.id}: query {query!r}"
            return by_segment(series, slo.segments.keys, where)

        jobs = []
        for slo in self.slos:
            kind, numerator = _indicator(slo).numerator
            jobs.append(fetch(slo, numerator))
            jobs.append(fetch(slo, _indicator(slo).total_query))
        # every query ends before the first failure is raised: none is left running
        settled = await asyncio.gather(*jobs, return_exceptions=True)
        for outcome in settled:
            if isinstance(outcome, BaseException):
                raise outcome
        answers = [a for a in settled if not isinstance(a, BaseException)]
        planned: list[tuple[SLO, MinuteCounts]] = []
        for index, slo in enumerate(self.slos):
            kind, _ = _indicator(slo).numerator
            upper, totals = answers[2 * index], answers[2 * index + 1]
            planned.append((slo, combine(kind, upper, totals, range(start, end))))
        await asyncio.to_thread(self._write, run, planned, start, end)
        run.chunks_written += 1
        run.collected_through = end

    def _write(
        self, run: PrometheusRun, planned: list[tuple[SLO, MinuteCounts]], start: int, end: int
    ) -> None:
        with self.sink.transaction():
            for slo, counts in planned:
                run.rows_written += self._write_slo(slo, counts)
                found = _issues(slo, counts)
                _, resolved = self.store.sync_data_issues(
                    source=SOURCE, slo=slo.id, start=start, end=end, found=found
                )
                run.data_issues += len(found)
                run.data_issues_resolved += resolved
                run.no_data_minutes += counts.no_data
                run.broken_minutes += len(counts.broken)
                run.rounding += counts.rounded

    def _write_slo(self, slo: SLO, counts: MinuteCounts) -> int:
        if not counts.counts:
            return 0
        keys = sorted(counts.counts)
        segments = sorted({segment for segment, _ in keys})
        ids = dict(zip(segments, self.sink.series_ids(slo.id, segments), strict=True))
        values = [counts.counts[key] for key in keys]
        return self.sink.write_counts(
            np.asarray([ids[segment] for segment, _ in keys], dtype=np.int64),
            np.asarray([minute for _, minute in keys], dtype=np.int64),
            np.asarray([good for good, _ in values], dtype=np.int64),
            np.asarray([total for _, total in values], dtype=np.int64),
            source=SOURCE,
        )

    # --- the report -------------------------------------------------------------------------

    def report(self, run: PrometheusRun) -> dict[str, Any]:
        """``run`` as JSON (``errorbudget collect --format json``)."""
        return report_json(run, self.name)

    def summary(self, run: PrometheusRun) -> str:
        """``run`` as one line (``errorbudget collect``)."""
        return report_line(run, self.name)

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """The generic schedule's loop (``sources.schedule.run_forever``)."""
        await run_forever(self, stop)


def _issues(slo: SLO, counts: MinuteCounts) -> list[FoundIssue]:
    """One ``inconsistent`` issue per run of consecutive broken minutes of a segment."""
    found: list[FoundIssue] = []
    for segment, minute in sorted(counts.broken):
        problem = counts.broken[(segment, minute)]
        last = found[-1] if found else None
        if (
            last is not None
            and tuple(sorted(last.segment.items())) == segment
            and (last.end == minute)
        ):
            found[-1] = FoundIssue(last.segment, last.start, minute + 1, last.kind, last.detail)
            continue
        found.append(
            FoundIssue(
                dict(segment),
                minute,
                minute + 1,
                "inconsistent",
                f"Prometheus answered values that cannot be counts for SLO {slo.id} from "
                f"{_iso(minute)}: {problem}; stored as 0/0 until a re-fetch answers "
                "plausible values",
            )
        )
    return found


def _stats(client: PrometheusClient) -> tuple[int, int, int, int, int]:
    s = client.stats
    return (s.queries, s.requests, s.retries, s.failed_requests, s.points)


def _iso(minute: Minute) -> str:
    return from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")
