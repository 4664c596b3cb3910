"""``GenesysCollector``: Genesys Cloud aggregates → idempotent counts in the store.

**Where counts land.** Aggregate queries use ``granularity`` (default ``PT15M``); each
interval's counts are written on the interval's *start minute*. Windows are
minute-precise, so the granularity bounds the precision of a window's edge: with 15-minute
intervals a 5-minute burn window sees whole 15-minute intervals (use ``PT5M`` or
``PT1M`` where the org's API allows, or windows that are multiples of the granularity).

**Idempotent, range-replacing writes**, broken rows stored as 0/0 with a data issue, and
the call tally added rather than replaced: see ``writer.py``.

**Gap detection.** Chunks are fetched concurrently but written strictly in time order, and a
chunk that cannot be fetched stops the run: below the last written minute there are no
holes (a chunk whose answers stay malformed is skipped instead, and recorded as a
``partial`` data issue). That minute (``Store.data_bounds`` of the SLO's series) is the
high-water mark: each scheduled run (:meth:`run_once`) re-fetches from ``lookback`` before
it to now, so after an outage of the API or of the collector the gap is backfilled
automatically, up to ``max_backfill``; what lies further back is recorded as a ``gap``
data issue (fetch it with ``errorbudget collect --from``).

**Runs are bounded and recorded.** Every run (:meth:`collect_range`, :meth:`run_once`) ends
within ``collect_deadline``: one that reaches it stops where it is (each chunk is written
whole, in its own transaction) and fails with a sentence saying what failed and what to
check. Whatever happened, the call tally is flushed and the run is recorded in the store
(``Store.record_source_run``: the source's health and data age).

**The event loop never waits for the store.** Under ``errorbudget serve`` the collector
shares the server's event loop, so every store call runs in a worker thread
(``asyncio.to_thread``): a write that waits for the store's lock (a CLI ``ingest`` holds it
for its whole file) stalls this collector, never the API. A run whose write fails (the
store busy beyond the server's short lock wait, or failing) is a failed run like an
upstream outage: recorded, logged, and the next interval tries again from the high-water
mark. A run that cannot be recorded because the store is busy is kept and recorded with
the next one (:attr:`run_health` has it meanwhile).

**Service levels** (``service_levels``, ``service_level_checks``): before each collection the
queues' service-level targets are read from ``GET /api/v2/routing/queues`` and recorded,
effective-dated, in the audit log; each interval is counted against the target in force
then (a ``tAnswered`` view), so a target change does not move past budgets. Every queue
query also asks ``oServiceLevel``; where it differs from errorbudget's count the collector
keeps it (:attr:`discrepancies`, :meth:`discrepancy_gauges`) and records a summary that
``errorbudget status`` prints.

**API availability** is the collector's own calls per minute (see ``client.CallTally``),
plus, with ``status_page_url``, one ``status_page`` event per run (good when the status
page shows the Platform API operational). **Queue observations** (waiting, oldest
waiting) are kept on the collector (:attr:`observations`) for the dashboard and
``/metrics``; they are not stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from errorbudget.durations import format_duration
from errorbudget.errors import SourceDataError, SourceError, StoreError
from errorbudget.model import SLO, Minute, from_minute, to_minute
from errorbudget.sources.base import RunHealth
from errorbudget.sources.genesys.client import GenesysClient
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.observations import (
    OBSERVATION_METRICS,
    QueueObservation,
    parse_observations,
)
from errorbudget.sources.genesys.queries import (
    FlowQuery,
    QueueQuery,
    merge_flow_answers,
    merge_queue_queries,
    parse_aggregates,
)
from errorbudget.sources.genesys.report import CollectReport, report_json, report_line
from errorbudget.sources.genesys.service_level_checks import Discrepancy, compare, summarize
from errorbudget.sources.genesys.service_level_checks import record as record_checks
from errorbudget.sources.genesys.service_levels import ServiceLevelHistory
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.sources.genesys.slis import SL_METRICS, Names, TargetLookup
from errorbudget.sources.genesys.writer import (
    CHUNK_METRICS,
    QUEUE_METRICS,
    SOURCE,
    Chunk,
    CountWriter,
    indicator_of,
)
from errorbudget.sources.schedule import oldest_mark, plan_run, run_forever
from errorbudget.store import Store

log = logging.getLogger(__name__)

__all__ = ["CHUNK_ROUNDS", "SOURCE", "CollectReport", "GenesysCollector"]

KEEP_UNRECORDED = 1000
"""Runs kept in memory while the store cannot record them (about 16 hours at one a minute;
beyond that the oldest are dropped, with a warning)."""
CHUNK_ROUNDS = 4
"""A chunk whose requests still fail after the client's own retries is tried this often."""
DATA_ROUNDS = 2
"""… and this often when the answers are malformed: that rarely heals by waiting, and the
chunk is then skipped (a ``partial`` issue) well before the deadline, so that a range the
API cannot answer never holds up collection for good."""

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]

_Chunk = Chunk  # the name the tests and older callers use


def _utc_now() -> datetime:
    return datetime.now(tz=UTC)


class GenesysCollector:
    """Collects the configured Genesys SLOs into ``store`` (a ``Source``: name + collect)."""

    name = SOURCE

    def __init__(
        self,
        settings: GenesysSettings,
        slos: Sequence[SLO],
        store: Store,
        *,
        clock: Clock = _utc_now,
        client: GenesysClient | None = None,
        concurrency: int = 4,
    ) -> None:
        self.settings = settings
        self.slos = [s for s in slos if isinstance(s.indicator, GenesysIndicator)]
        self.store = store
        self.clock = clock
        self.client = client or GenesysClient(settings, clock=clock)
        self.concurrency = concurrency
        self.granularity = int(settings.granularity.total_seconds() // 60)
        self.span = int(settings.max_query_span.total_seconds() // 60)
        self.writer = CountWriter(store, self.slos, self.granularity)
        self.observations: dict[tuple[str, str], QueueObservation] = {}
        self.last_report: CollectReport | None = None
        self._flow_names: dict[str, str] = {}
        self.service_levels = ServiceLevelHistory()
        self.discrepancies: list[Discrepancy] = []
        """Intervals of the last collection where errorbudget and ``oServiceLevel`` differ."""
        self.discrepancy_intervals_total: Counter[tuple[str, str, str]] = Counter()
        """Every such interval found since start, per (SLO, queue, media type): a counter."""
        self.run_health = RunHealth()
        """This process's runs: outcomes, failing since when (``/readyz``, ``/metrics``)."""
        self._unrecorded: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"GenesysCollector(slos={[s.id for s in self.slos]!r}, client={self.client!r})"

    async def __aenter__(self) -> GenesysCollector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _indicators(self, metrics: Sequence[str]) -> list[tuple[SLO, GenesysIndicator]]:
        return [(slo, indicator_of(slo)) for slo in self.writer.of(metrics)]

    # --- the Source protocol ------------------------------------------------------------

    async def collect(
        self, start: datetime, end: datetime, *, progress: Progress | None = None
    ) -> int:
        """Fetch and store ``[start, end)``; return the rows written. Raises SourceError
        (after writing every chunk before the failing one) when the API keeps failing."""
        report = await self.collect_range(to_minute(start), to_minute(end), progress=progress)
        if report.error is not None:
            raise SourceError(report.error, retryable=True)
        return report.rows_written

    # --- runs: bounded, flushed, recorded -----------------------------------------------

    async def collect_range(
        self,
        start: Minute,
        end: Minute,
        *,
        progress: Progress | None = None,
        deadline: timedelta | None = None,
    ) -> CollectReport:
        """One run: fetch ``[start, end)`` chunk by chunk and write each, in time order,
        within ``deadline`` (default ``collect_deadline``)."""
        report = CollectReport(start, end, slos=[s.id for s in self.slos])
        return await self._run(report, lambda: self._collect(report, progress), deadline)

    async def run_once(
        self, now: datetime | None = None, *, deadline: timedelta | None = None
    ) -> CollectReport:
        """One scheduled run of the generic pull schedule (``sources.schedule.plan_run``):
        re-fetch from ``lookback`` before the high-water mark (or before now, the first
        time) to now and overwrite; poll the status page; refresh the queue observations;
        write the call tally. A range further back than ``max_backfill`` is recorded as a
        ``gap`` data issue."""
        moment = now or self.clock()
        marks = await asyncio.to_thread(self.writer.marks)
        plan = plan_run(self.settings, to_minute(moment), marks)
        report = CollectReport(plan.start, plan.end, slos=[s.id for s in self.slos])

        async def work() -> None:
            for gap in plan.gaps:
                await asyncio.to_thread(self._record_gap, report, gap.slo, gap.start, gap.end)
            await self._collect(report, None)
            if self.settings.status_page_url and self._indicators(["api_availability"]):
                await self.client.poll_status_page(self.settings.status_page_url)
            if report.error is None:  # the API is up: worth asking what is waiting now
                try:
                    await self.observe()
                except SourceError as exc:
                    log.warning("genesys: queue observations failed: %s", exc)

        return await self._run(report, work, deadline)

    async def _run(
        self,
        report: CollectReport,
        work: Callable[[], Awaitable[None]],
        deadline: timedelta | None,
    ) -> CollectReport:
        """Run ``work`` within the deadline; then, whatever happened, flush the call tally
        and record the run (a run cancelled by a shutdown is not recorded)."""
        limit = deadline or self.settings.collect_deadline
        started_at = self.clock()
        began = time.perf_counter()
        calls = self.client.calls
        calls_before, failed_before = calls.calls, calls.failed
        limited_before = self.client.stats.rate_limited
        cancelled = False
        bound = asyncio.timeout(limit.total_seconds())
        try:
            async with bound:
                await work()
        except asyncio.CancelledError:
            cancelled = True
            raise
        except Exception as exc:
            if isinstance(exc, TimeoutError) and bound.expired():
                if report.complete:  # only the queue observations were cut short
                    log.warning("genesys: queue observations not refreshed within the deadline")
                elif report.error is None:  # else a chunk failed already: that says more
                    limited = self.client.stats.rate_limited - limited_before
                    report.error = await self._deadline_error(report, limit, limited)
            elif isinstance(exc, SourceError):
                report.error = await self._failure(str(exc), report)
            elif isinstance(exc, StoreError):  # busy or failing: this run failed, not the loop
                report.error = f"{exc} (the next run tries again)"
            else:  # a bug: recorded, then raised
                report.error = f"collection failed: {type(exc).__name__}: {exc}"
                raise
        finally:
            report.seconds = time.perf_counter() - began
            # Counted at the instant the tally is read for the store (nothing awaits between
            # the two): a call still settling after the deadline then shows in neither,
            # never in the report alone.
            report.calls = calls.calls - calls_before
            report.failed_calls = calls.failed - failed_before
            report.rate_limited = self.client.stats.rate_limited - limited_before
            try:
                report.rows_written += await self._flush_calls()
            except StoreError as exc:
                log.warning("genesys: cannot store the API call tally: %s", exc)
                report.error = report.error or f"cannot store the API call tally: {exc}"
            if not cancelled:
                await self._record(report, started_at)
            self.last_report = report
        return report

    async def _record(self, report: CollectReport, started_at: datetime) -> None:
        """Record the run in :attr:`run_health` and in the store; a run the store cannot
        take now (busy) is kept and recorded, in order, with the next one."""
        finished_at = self.clock()
        self.run_health.record(
            ok=report.ok, started_at=started_at, finished_at=finished_at, error=report.error
        )
        self._unrecorded.append(
            {
                "started_at": started_at,
                "finished_at": finished_at,
                "ok": report.ok,
                "error": report.error,
                "calls": report.calls,
                "failed_calls": min(report.failed_calls, report.calls),
                "reached": report.collected_through if report.ok else None,
            }
        )
        if len(self._unrecorded) > KEEP_UNRECORDED:
            dropped = len(self._unrecorded) - KEEP_UNRECORDED
            del self._unrecorded[:dropped]
            log.warning("genesys: %d collection run(s) could not be recorded and are dropped",
                        dropped)  # fmt: skip
        try:
            await asyncio.to_thread(self._write_runs)
        except StoreError as exc:
            log.warning(
                "genesys: cannot record the collection run now (%d kept for the next "
                "one): %s", len(self._unrecorded), exc,
            )  # fmt: skip
        finally:
            self.run_health.unrecorded = [bool(run["ok"]) for run in self._unrecorded]

    def _write_runs(self) -> None:
        """The runs not recorded yet, oldest first (in a worker thread). Each run's
        ``collected_through`` is what was stored when it was first tried (see
        :meth:`_collected_through`)."""
        pending = self._unrecorded
        if pending and "collected_through" not in pending[-1]:
            run = pending[-1]
            run["collected_through"] = self._collected_through(run["ok"], run["reached"])
        while pending:
            run = {key: value for key, value in pending[0].items() if key != "reached"}
            self.store.record_source_run(SOURCE, **run)
            pending.pop(0)

    def _collected_through(self, ok: bool, reached: Minute | None) -> Minute | None:
        """The oldest of the SLOs' high-water marks after a run. An SLO with nothing stored
        counts, after a successful run, as current through where that run reached (never
        moving the recorded mark back): Genesys answered its range with no intervals
        because its queues or flows had no traffic (a fresh store at night, a new SLO
        on quiet queues), which is not data lag. After a failed run it has no mark."""
        marks = self.writer.marks()
        if not ok:
            return oldest_mark(marks)
        if not marks:  # only API availability: current as of now
            return to_minute(self.clock()) + 1
        if reached is not None and None in marks.values():
            recorded = next(
                (h.collected_through for h in self.store.source_health() if h.source == SOURCE),
                None,
            )
            quiet = max(m for m in (reached, recorded) if m is not None)
            marks = {slo: quiet if mark is None else mark for slo, mark in marks.items()}
        return oldest_mark(marks)

    async def _failure(self, problem: str, report: CollectReport) -> str:
        """The run's error: what is down (while every call fails) or the problem, then
        what is stored and where the next run resumes."""
        mark = report.collected_through
        if mark is None:
            try:
                mark = await asyncio.to_thread(self.high_water_mark)
            except StoreError:
                mark = None
        stored = (
            f"stopped at {_iso(mark)}: everything before it is stored, and the next run "
            "resumes there"
            if mark is not None
            else "nothing is stored yet; the next run starts again"
        )
        unreachable = self.client.unreachable()
        if unreachable is not None:
            return f"{unreachable} ({stored})"
        return f"{problem} ({stored})"

    async def _deadline_error(self, report: CollectReport, limit: timedelta, limited: int) -> str:
        spent = f"gave up after the collect deadline ({format_duration(limit)})"
        if self.client.unreachable() is not None:
            return f"{spent}: {await self._failure('', report)}"
        through = _iso(report.collected_through) if report.collected_through else "nothing new"
        slow = f" while the API rate limit held requests ({limited}× HTTP 429)" if limited else ""
        return (
            f"{spent}{slow}: {report.chunks_written} of {report.chunks} chunks stored, "
            f"collected through {through}; run again to resume, or allow longer "
            "(collect --deadline, sources.genesys.collect_deadline)"
        )

    def _record_gap(self, report: CollectReport, slo_id: str, start: Minute, end: Minute) -> None:
        limit = format_duration(self.settings.max_backfill)
        detail = (
            f"not collected: the collector was more than max_backfill ({limit}) behind, so "
            f"scheduled runs start at {_iso(end)}; fetch the gap with errorbudget collect "
            f"--from {_iso(start)} --to {_iso(end)}"
        )
        self.writer.record_gap(slo_id, start, end, detail)
        report.data_issues += 1
        log.warning("genesys: SLO %s: %s", slo_id, detail)

    # --- ranges and chunks --------------------------------------------------------------

    def _chunks(self, start: Minute, end: Minute, now: Minute) -> list[Chunk]:
        g = self.granularity
        first = start - start % g
        write_end = min(end, now + 1)
        chunks: list[Chunk] = []
        at = first
        while at < write_end:  # ceil(range / span) queries: the fewest the span allows
            stop = min(at + self.span, write_end)
            query_end = stop + (-stop) % g
            chunks.append(Chunk(at, query_end, stop))
            at = stop
        return chunks

    async def _collect(self, report: CollectReport, progress: Progress | None) -> None:
        """Fetch the report's range chunk by chunk and write each, in time order."""
        chunks = self._chunks(report.start, report.end, to_minute(self.clock()))
        report.chunks = len(chunks)
        if progress is not None:
            progress(0, len(chunks))
        if chunks and self._indicators(CHUNK_METRICS):
            await self._refresh_service_levels()
            self.discrepancies = []
            await self._collect_chunks(chunks, report, progress)
            await self._record_checks(report)
        report.complete = report.error is None

    async def _collect_chunks(
        self, chunks: list[Chunk], report: CollectReport, progress: Progress | None
    ) -> None:
        slots = asyncio.Semaphore(self.concurrency)

        async def fetch(chunk: Chunk) -> tuple[Chunk, Names]:
            async with slots:
                fetched = await self._fetch_chunk(chunk)
                return fetched, await self._names(fetched)

        tasks = [asyncio.create_task(fetch(c), name=f"genesys-chunk-{c.start}") for c in chunks]
        try:
            for chunk, task in zip(chunks, tasks, strict=True):
                try:
                    fetched, names = await task
                except SourceDataError as exc:  # answered, but never usably: skip it
                    report.chunks_skipped += 1
                    report.data_issues += await asyncio.to_thread(
                        self.writer.record_partial,
                        chunk,
                        f"skipped: Genesys kept answering malformed data for "
                        f"{_iso(chunk.start)}–{_iso(chunk.end)} ({exc})",
                    )
                    log.warning("genesys: chunk %s skipped: %s", _iso(chunk.start), exc)
                else:
                    targets = self._target_lookup(fetched.target_durations)
                    self._compare(fetched, names, targets)
                    written = await asyncio.to_thread(
                        self.writer.write_chunk, fetched, names, targets
                    )
                    report.rows_written += written.rows
                    report.data_issues += written.issues
                    report.data_issues_resolved += written.resolved
                    report.chunks_written += 1
                    report.collected_through = fetched.write_end
                if progress is not None:
                    progress(report.chunks_written + report.chunks_skipped, len(chunks))
        except SourceError as exc:
            report.error = await self._failure(str(exc), report)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _fetch_chunk(self, chunk: Chunk) -> Chunk:
        for round_ in range(CHUNK_ROUNDS):
            try:
                return await self._fetch_once(chunk)
            except SourceError as exc:
                rounds = DATA_ROUNDS if isinstance(exc, SourceDataError) else CHUNK_ROUNDS
                if not exc.retryable or round_ >= rounds - 1:
                    raise
                log.warning("genesys: chunk %s failed (%s); trying again", _iso(chunk.start), exc)
                await self.client.timer.sleep(self.client.backoff.delay(round_ + 2))
        raise AssertionError("unreachable")

    async def _fetch_once(self, chunk: Chunk) -> Chunk:
        granularity = self.settings.granularity
        queue_query = merge_queue_queries(
            [
                QueueQuery(
                    ind.media,
                    tuple(ind.queues.ids) if ind.queues.ids and not _by_name(ind) else None,
                    (ind.threshold_seconds,) if ind.threshold_seconds else (),
                    tuple(sorted(self.service_levels.durations()))
                    if ind.metric in SL_METRICS
                    else (),
                )
                for _, ind in self._indicators(QUEUE_METRICS)
            ]
        )
        if queue_query is not None:
            chunk.target_durations = frozenset(queue_query.target_durations)
        flow_ids = self._flow_filter()
        jobs: list[Any] = []
        if queue_query is not None:
            body = queue_query.body(chunk.start, chunk.end, granularity)
            jobs.append(self.client.conversation_aggregates(body))
        if self._indicators(["ivr_completion"]):  # every visit, then the visit filters
            for body in FlowQuery(flow_ids).bodies(chunk.start, chunk.end, granularity):
                jobs.append(self.client.flow_aggregates(body))
        answers = await asyncio.gather(*jobs)
        where = f"Genesys aggregates {_iso(chunk.start)}"
        try:
            if queue_query is not None:
                chunk.queue_rows = parse_aggregates(answers.pop(0), where)
            if answers:
                chunk.flow_rows = parse_aggregates(answers.pop(0), where)
                merge_flow_answers(chunk.flow_rows, [parse_aggregates(a, where) for a in answers])
        except SourceError as exc:  # an answer of the wrong shape: ask again, then skip
            raise SourceDataError(str(exc), retryable=True) from exc
        return chunk

    def _flow_filter(self) -> tuple[str, ...] | None:
        ids: set[str] = set()
        for _, indicator in self._indicators(["ivr_completion"]):
            if indicator.flows.everything or _by_name(indicator, flows=True):
                return None
            ids.update(indicator.flows.ids)
        return tuple(sorted(ids))

    async def _names(self, chunk: Chunk) -> Names:
        queue_ids = {r.group["queueId"] for r in chunk.queue_rows if "queueId" in r.group}
        queues = await self.client.queue_names(unknown=queue_ids) if queue_ids else {}
        for row in chunk.flow_rows:
            if "flowId" in row.group and "flowName" in row.group:
                self._flow_names[row.group["flowId"]] = row.group["flowName"]
        return Names(queues, dict(self._flow_names))

    # --- the store ----------------------------------------------------------------------

    def flush_calls(self) -> int:
        """Add the calls tallied since the last flush to the API-availability SLOs."""
        return self.writer.flush_calls(self.client.tally, to_minute(self.clock()))

    async def _flush_calls(self) -> int:
        """:meth:`flush_calls` with the store's part in a worker thread (the tally is read
        here, on the loop, where the client counts)."""
        now = to_minute(self.clock())
        rows = await asyncio.to_thread(self.writer.write_calls, self.client.tally.snapshot(), now)
        self.client.tally.forget_before(now - 5)
        return rows

    # --- service levels: effective-dated targets, checks against oServiceLevel ------------

    async def _refresh_service_levels(self) -> None:
        """Load the recorded targets, then record the org's current ones that are new."""
        slos = self._indicators(SL_METRICS)
        if not slos:
            return
        self.service_levels = await asyncio.to_thread(ServiceLevelHistory.load, self.store)
        try:
            queues = await self.client.queue_details()
        except SourceError as exc:
            log.warning("genesys: queue service levels not read (%s); using those recorded", exc)
            return
        seen = []
        for queue in queues.values():
            media = {
                m for _, ind in slos if ind.queues.selects(queue.id, queue.name) for m in ind.media
            }
            for media_type in sorted(media):
                target = queue.service_levels.get(media_type)
                if target is not None:
                    seen.append((queue.id, queue.name, media_type, target))
        minute = to_minute(self.clock())
        changes = await asyncio.to_thread(self.service_levels.observe, self.store, seen, minute)
        for change in changes:
            if change.previous is not None:
                log.warning(
                    "genesys: queue %s (%s) service-level target changed from %s to %s; "
                    "intervals from %s on count against the new one",
                    change.queue,
                    change.media_type,
                    change.previous.describe(),
                    change.target.describe(),
                    _iso(minute),
                )

    def _target_lookup(self, durations: frozenset[int]) -> TargetLookup:
        def target(queue_id: str, media_type: str, minute: Minute) -> int | None:
            found = self.service_levels.effective(queue_id, media_type, minute)
            return found.duration_ms if found and found.duration_ms in durations else None

        return target

    def _current_target(self, queue_id: str, media_type: str) -> int | None:
        found = self.service_levels.current(queue_id, media_type)
        return found.duration_ms if found is not None else None

    def _compare(self, chunk: Chunk, names: Names, targets: TargetLookup) -> None:
        """Keep where the chunk's service levels differ from Genesys's ``oServiceLevel``."""
        if not any("oServiceLevel.denominator" in row.counts for row in chunk.queue_rows):
            return
        for slo, _ in self._indicators(QUEUE_METRICS):
            self.discrepancies += compare(
                slo, chunk.queue_rows, names, targets, self._current_target
            )

    async def _record_checks(self, report: CollectReport) -> None:
        report.service_level_discrepancies = len(self.discrepancies)
        for item in self.discrepancies:
            self.discrepancy_intervals_total[(item.slo, item.queue, item.media_type)] += 1
        if report.error is None and report.collected_through is not None:
            await asyncio.to_thread(
                record_checks, self.store, summarize(self.discrepancies), report.collected_through
            )

    def discrepancy_gauges(self) -> dict[tuple[str, str, str, str], int]:
        """Intervals of the last collection whose service level differs from Genesys's,
        per (SLO, queue, media type, kind): a gauge for ``/metrics``."""
        found: Counter[tuple[str, str, str, str]] = Counter()
        for item in self.discrepancies:
            found[(item.slo, item.queue, item.media_type, item.kind)] += 1
        return dict(found)

    def high_water_mark(self) -> Minute | None:
        """The end of what is stored for the Genesys SLOs (the oldest of their ends);
        None when an SLO has nothing stored yet."""
        return oldest_mark(self.writer.marks())

    # --- scheduled collection -----------------------------------------------------------

    async def observe(self) -> dict[tuple[str, str], QueueObservation]:
        """Refresh :attr:`observations` (queue depth, oldest waiting) of the selected queues."""
        indicators = self._indicators(QUEUE_METRICS)
        if not indicators:
            return self.observations
        names = await self.client.queue_names()
        ids = sorted(
            q for q, n in names.items() if any(ind.queues.selects(q, n) for _, ind in indicators)
        )
        if not ids:
            return self.observations
        found: dict[tuple[str, str], QueueObservation] = {}
        for at in range(0, len(ids), 100):
            body = {
                "filter": {
                    "type": "or",
                    "predicates": [
                        {"dimension": "queueId", "value": q} for q in ids[at : at + 100]
                    ],
                },
                "metrics": list(OBSERVATION_METRICS),
            }
            answer = await self.client.queue_observations(body)
            found.update(parse_observations(answer, self.clock(), names))
        self.observations = found
        return found

    @property
    def interval(self) -> timedelta:
        """How often the schedule runs this collector (``sources.genesys.interval``)."""
        return self.settings.interval

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """The generic schedule's loop (``sources.schedule.run_forever``): :meth:`run_once`
        every ``interval`` until ``stop`` is set or the task is cancelled. A run never takes
        longer than ``collect_deadline``, and a failed run — whatever failed — is logged and
        recorded, never the end of the loop: the next interval tries again and resumes from
        the high-water mark. Each chunk is written in its own transaction, so a
        cancellation loses nothing already fetched."""
        await run_forever(self, stop)

    # --- the report -------------------------------------------------------------------------

    def report(self, run: CollectReport) -> dict[str, Any]:
        """``run`` as JSON (``errorbudget collect --format json``)."""
        return report_json(run, self.name, self.client.stats)

    def summary(self, run: CollectReport) -> str:
        """``run`` as one line (``errorbudget collect``)."""
        return report_line(run, self.client.stats)


def _by_name(indicator: GenesysIndicator, flows: bool = False) -> bool:
    selection = indicator.flows if flows else indicator.queues
    return bool(selection.names or selection.patterns)


def _iso(minute: Minute) -> str:
    return from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")
