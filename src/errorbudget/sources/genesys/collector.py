"""``GenesysCollector``: Genesys Cloud aggregates → idempotent counts in the store.

**Where counts land.** Aggregate queries use ``granularity`` (default ``PT15M``); each
interval's counts are written on the interval's *start minute*. Windows are
minute-precise, so the granularity bounds the precision of a window's edge: with 15-minute
intervals a 5-minute burn window sees whole 15-minute intervals (use ``PT5M`` or
``PT1M`` where the org's API allows, or windows that are multiples of the granularity).

**Idempotent, range-replacing writes.** A fetched range ``[a, b)`` is written for *every
minute* of every series of the SLO (the interval's counts on its start minute, zeros on the
other minutes), source ``genesys``, in one transaction per chunk. The store replaces a
(series, minute, source) that is sent again, so re-fetching an open or revised interval
overwrites it; nothing is ever added twice, and a group that vanished from a revised answer
is zeroed, not left stale. Minutes after "now" are never written.

**Gap detection.** Chunks are fetched concurrently but written strictly in time order, and a
chunk that keeps failing stops the run: below the last written minute there are no holes.
That minute (``Store.data_bounds`` of the SLO's series) is the high-water mark: each
scheduled run (:meth:`run_once`) re-fetches from ``lookback`` before it to now, so after an
outage of the API or of the collector the gap is backfilled automatically (at most
``max_backfill``; older history with ``errorbudget collect --from``).

**Service levels** (``service_levels``, ``checks``): before each collection the queues'
service-level targets are read from ``GET /api/v2/routing/queues`` and recorded,
effective-dated, in the audit log; each interval is counted against the target in force
then (a ``tAnswered`` view), so a target change does not move past budgets. Every queue
query also asks ``oServiceLevel``; where it differs from errorbudget's count the collector
keeps it (:attr:`discrepancies`, :meth:`discrepancy_gauges`) and records a summary that
``errorbudget status`` prints.

**API availability** is the collector's own calls per minute (see ``client.CallTally``),
plus, with ``status_page_url``, one ``status_page`` event per run (good when the status
page shows the Platform API operational), written after each run. **Queue observations**
(waiting, oldest waiting) are kept on the collector (:attr:`observations`) for the
dashboard and ``/metrics``; they are not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from errorbudget.config import GenesysSettings
from errorbudget.errors import SourceError
from errorbudget.model import SLO, GenesysIndicator, Minute, SegmentKey, to_minute
from errorbudget.sources.genesys.checks import Discrepancy, compare, summarize
from errorbudget.sources.genesys.checks import record as record_checks
from errorbudget.sources.genesys.client import GenesysClient
from errorbudget.sources.genesys.observations import (
    OBSERVATION_METRICS,
    QueueObservation,
    parse_observations,
)
from errorbudget.sources.genesys.queries import (
    FlowQuery,
    IntervalCounts,
    QueueQuery,
    merge_flow_answers,
    merge_queue_queries,
    parse_aggregates,
)
from errorbudget.sources.genesys.service_levels import ServiceLevelHistory
from errorbudget.sources.genesys.slis import (
    SL_METRICS,
    Names,
    SegmentCounts,
    TargetLookup,
    call_counts,
    flow_counts,
    queue_counts,
)
from errorbudget.store import SeriesInfo, Store

log = logging.getLogger(__name__)

SOURCE = "genesys"
QUEUE_METRICS = ("voice_sla", "digital_sla", "answered_within")
CHUNK_ROUNDS = 4
"""A chunk whose requests still fail after the client's own retries is tried this often."""

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]


def _utc_now() -> datetime:
    return datetime.now(tz=UTC)


@dataclass
class CollectReport:
    """What one collection did."""

    start: Minute
    end: Minute
    chunks: int = 0
    chunks_written: int = 0
    rows_written: int = 0
    collected_through: Minute | None = None
    error: str | None = None
    seconds: float = 0.0
    slos: list[str] = field(default_factory=list)
    service_level_discrepancies: int = 0
    """Intervals whose service level differs from Genesys's ``oServiceLevel`` (``checks``)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class _Chunk:
    start: Minute
    end: Minute
    """Query end (whole intervals)."""
    write_end: Minute
    """Minutes ``[start, write_end)`` are written."""
    queue_rows: list[IntervalCounts] = field(default_factory=list)
    flow_rows: list[IntervalCounts] = field(default_factory=list)
    target_durations: frozenset[int] = frozenset()
    """The service-level targets (ms) whose ``tAnswered`` views the queue query asked."""


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
        self.observations: dict[tuple[str, str], QueueObservation] = {}
        self.last_report: CollectReport | None = None
        self._flow_names: dict[str, str] = {}
        self.service_levels = ServiceLevelHistory()
        self.discrepancies: list[Discrepancy] = []
        """Intervals of the last collection where errorbudget and ``oServiceLevel`` differ."""
        self.discrepancy_intervals_total: Counter[tuple[str, str, str]] = Counter()
        """Every such interval found since start, per (SLO, queue, media type): a counter."""

    def __repr__(self) -> str:
        return f"GenesysCollector(slos={[s.id for s in self.slos]!r}, client={self.client!r})"

    async def __aenter__(self) -> GenesysCollector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _indicators(self, metrics: Sequence[str]) -> list[tuple[SLO, GenesysIndicator]]:
        found = []
        for slo in self.slos:
            indicator = slo.indicator
            assert isinstance(indicator, GenesysIndicator)
            if indicator.metric in metrics:
                found.append((slo, indicator))
        return found

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

    # --- ranges and chunks --------------------------------------------------------------

    def _chunks(self, start: Minute, end: Minute, now: Minute) -> list[_Chunk]:
        g = self.granularity
        first = start - start % g
        write_end = min(end, now + 1)
        chunks: list[_Chunk] = []
        at = first
        while at < write_end:  # ceil(range / span) queries: the fewest the span allows
            stop = min(at + self.span, write_end)
            query_end = stop + (-stop) % g
            chunks.append(_Chunk(at, query_end, stop))
            at = stop
        return chunks

    async def collect_range(
        self, start: Minute, end: Minute, *, progress: Progress | None = None
    ) -> CollectReport:
        """Fetch ``[start, end)`` chunk by chunk and write each, in time order."""
        started = time.perf_counter()
        now = to_minute(self.clock())
        report = CollectReport(start, end, slos=[s.id for s in self.slos])
        chunks = self._chunks(start, end, now)
        report.chunks = len(chunks)
        if progress is not None:
            progress(0, len(chunks))
        if chunks and self._indicators([*QUEUE_METRICS, "ivr_completion"]):
            await self._refresh_service_levels()
            self.discrepancies = []
            await self._collect_chunks(chunks, report, progress)
            self._record_checks(report)
        report.seconds = time.perf_counter() - started
        self.last_report = report
        return report

    async def _collect_chunks(
        self, chunks: list[_Chunk], report: CollectReport, progress: Progress | None
    ) -> None:
        slots = asyncio.Semaphore(self.concurrency)

        async def fetch(chunk: _Chunk) -> _Chunk:
            async with slots:
                return await self._fetch_chunk(chunk)

        tasks = [asyncio.create_task(fetch(c), name=f"genesys-chunk-{c.start}") for c in chunks]
        try:
            for chunk, task in zip(chunks, tasks, strict=True):
                try:
                    fetched = await task
                except SourceError as exc:
                    report.error = (
                        f"{exc}; stopped at {_iso(chunk.start)} (everything before it "
                        f"is stored; run again to resume)"
                    )
                    return
                names = await self._names(fetched)
                report.rows_written += self._write(fetched, names)
                report.chunks_written += 1
                report.collected_through = fetched.write_end
                if progress is not None:
                    progress(report.chunks_written, len(chunks))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _fetch_chunk(self, chunk: _Chunk) -> _Chunk:
        for round_ in range(CHUNK_ROUNDS):
            try:
                return await self._fetch_once(chunk)
            except SourceError as exc:
                if not exc.retryable or round_ == CHUNK_ROUNDS - 1:
                    raise
                log.warning("genesys: chunk %s failed (%s); trying again", _iso(chunk.start), exc)
                await self.client.timer.sleep(self.client.backoff.delay(round_ + 2))
        raise AssertionError("unreachable")

    async def _fetch_once(self, chunk: _Chunk) -> _Chunk:
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
        if queue_query is not None:
            chunk.queue_rows = parse_aggregates(answers.pop(0), where)
        if answers:
            chunk.flow_rows = parse_aggregates(answers.pop(0), where)
            merge_flow_answers(chunk.flow_rows, [parse_aggregates(a, where) for a in answers])
        return chunk

    def _flow_filter(self) -> tuple[str, ...] | None:
        ids: set[str] = set()
        for _, indicator in self._indicators(["ivr_completion"]):
            if indicator.flows.everything or _by_name(indicator, flows=True):
                return None
            ids.update(indicator.flows.ids)
        return tuple(sorted(ids))

    async def _names(self, chunk: _Chunk) -> Names:
        queue_ids = {r.group["queueId"] for r in chunk.queue_rows if "queueId" in r.group}
        queues = await self.client.queue_names(unknown=queue_ids) if queue_ids else {}
        for row in chunk.flow_rows:
            if "flowId" in row.group and "flowName" in row.group:
                self._flow_names[row.group["flowId"]] = row.group["flowName"]
        return Names(queues, dict(self._flow_names))

    # --- writing ------------------------------------------------------------------------

    def _write(self, chunk: _Chunk, names: Names) -> int:
        """One transaction: every Genesys SLO's series over the chunk's minutes."""
        planned: list[tuple[SLO, SegmentCounts]] = []
        targets = self._target_lookup(chunk.target_durations)
        checked = any("oServiceLevel.denominator" in row.counts for row in chunk.queue_rows)
        for slo, _ in self._indicators(QUEUE_METRICS):
            planned.append((slo, queue_counts(slo, chunk.queue_rows, names, targets)))
            if checked:
                self.discrepancies += compare(
                    slo, chunk.queue_rows, names, targets, self._current_target
                )
        for slo, _ in self._indicators(["ivr_completion"]):
            planned.append((slo, flow_counts(slo, chunk.flow_rows, names)))
        rows = 0
        with self.store.transaction():
            for slo, counts in planned:
                rows += self._write_slo(slo, counts, chunk.start, chunk.write_end, zero_fill=True)
        return rows

    def _known_series(self, slo: SLO) -> list[SeriesInfo]:
        """Stored series of ``slo`` with exactly its current segment keys."""
        keys = set(slo.segments.keys)
        return [s for s in self.store.list_series(slo.id) if {k for k, _ in s.segment} == keys]

    def _known_segments(self, slo: SLO) -> list[SegmentKey]:
        known = [s.segment for s in self._known_series(slo)]
        if not slo.segments.keys and () not in known:
            known.append(())
        return known

    def _write_slo(
        self, slo: SLO, counts: SegmentCounts, start: Minute, end: Minute, *, zero_fill: bool
    ) -> int:
        """Write ``counts`` of one SLO; with ``zero_fill`` every known series gets every
        minute of ``[start, end)`` (zeros where there is no interval start)."""
        inside = {key: v for key, v in counts.items() if start <= key[1] < end}
        segments = {segment for segment, _ in inside}
        if zero_fill:
            segments.update(self._known_segments(slo))
        if not segments:
            return 0
        ordered = sorted(segments)
        ids = self.store.series_ids(slo.id, ordered)
        position = {segment: i for i, segment in enumerate(ordered)}
        if zero_fill:
            width = end - start
            minutes = np.tile(np.arange(start, end, dtype=np.int64), len(ordered))
            series = np.repeat(np.asarray(ids, dtype=np.int64), width)
            good = np.zeros(len(minutes), dtype=np.int64)
            total = np.zeros(len(minutes), dtype=np.int64)
            for (segment, minute), (g, t) in inside.items():
                at = position[segment] * width + (minute - start)
                good[at], total[at] = g, t
        else:
            keys = sorted(inside)
            series = np.asarray([ids[position[s]] for s, _ in keys], dtype=np.int64)
            minutes = np.asarray([m for _, m in keys], dtype=np.int64)
            good = np.asarray([inside[k][0] for k in keys], dtype=np.int64)
            total = np.asarray([inside[k][1] for k in keys], dtype=np.int64)
        return self.store.write_counts(series, minutes, good, total, source=SOURCE)

    def flush_calls(self) -> int:
        """Write the API-availability SLOs from the client's call tally (idempotent)."""
        slos = self._indicators(["api_availability"])
        tally = self.client.tally.snapshot()
        rows = 0
        if slos and tally:
            with self.store.transaction():
                for slo, _ in slos:
                    counts = call_counts(slo, tally)
                    first = min(m for m, _ in tally)
                    last = max(m for m, _ in tally) + 1
                    rows += self._write_slo(slo, counts, first, last, zero_fill=False)
        self.client.tally.forget_before(to_minute(self.clock()) - 5)
        return rows

    # --- service levels: effective-dated targets, checks against oServiceLevel ------------

    async def _refresh_service_levels(self) -> None:
        """Load the recorded targets, then record the org's current ones that are new."""
        slos = self._indicators(SL_METRICS)
        if not slos:
            return
        self.service_levels = ServiceLevelHistory.load(self.store)
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
        for change in self.service_levels.observe(self.store, seen, minute):
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

    def _record_checks(self, report: CollectReport) -> None:
        report.service_level_discrepancies = len(self.discrepancies)
        for item in self.discrepancies:
            self.discrepancy_intervals_total[(item.slo, item.queue, item.media_type)] += 1
        if report.ok and report.collected_through is not None:
            record_checks(self.store, summarize(self.discrepancies), report.collected_through)

    def discrepancy_gauges(self) -> dict[tuple[str, str, str, str], int]:
        """Intervals of the last collection whose service level differs from Genesys's,
        per (SLO, queue, media type, kind): a gauge for ``/metrics``."""
        found: Counter[tuple[str, str, str, str]] = Counter()
        for item in self.discrepancies:
            found[(item.slo, item.queue, item.media_type, item.kind)] += 1
        return dict(found)

    # --- scheduled collection -----------------------------------------------------------

    def high_water_mark(self) -> Minute | None:
        """The end of what is stored for the Genesys SLOs (the oldest of their ends);
        None when an SLO has nothing stored yet."""
        ends: list[Minute] = []
        for slo, _ in self._indicators([*QUEUE_METRICS, "ivr_completion"]):
            ids = [s.id for s in self._known_series(slo)]
            bounds = self.store.data_bounds(ids) if ids else None
            if bounds is None:
                return None
            ends.append(bounds[1])
        return min(ends) if ends else None

    async def run_once(self, now: datetime | None = None) -> CollectReport:
        """One scheduled collection: re-fetch from ``lookback`` before the high-water mark
        (or before now, the first time) to now, overwrite, and write the call tally."""
        moment = now or self.clock()
        now_minute = to_minute(moment)
        lookback = int(self.settings.lookback.total_seconds() // 60)
        oldest = now_minute - int(self.settings.max_backfill.total_seconds() // 60)
        mark = self.high_water_mark()
        start = max(oldest, (mark if mark is not None else now_minute) - lookback)
        report = await self.collect_range(start, now_minute + 1)
        try:
            await self.observe()
        except SourceError as exc:
            log.warning("genesys: queue observations failed: %s", exc)
        if self.settings.status_page_url and self._indicators(["api_availability"]):
            await self.client.poll_status_page(self.settings.status_page_url)
        report.rows_written += self.flush_calls()
        return report

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

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Run :meth:`run_once` every ``interval`` until ``stop`` is set or the task is
        cancelled. Each chunk is written in its own transaction, so a cancellation loses
        nothing already fetched and written, and leaves no partial chunk; the next start
        resumes from the high-water mark."""
        stop = stop or asyncio.Event()
        interval = self.settings.interval.total_seconds()
        while not stop.is_set():
            began = time.monotonic()
            try:
                report = await self.run_once()
                if report.error:
                    log.warning("genesys: %s", report.error)
            except SourceError as exc:
                log.warning("genesys: collection failed: %s", exc)
            finally:
                self.flush_calls()
            remaining = interval - (time.monotonic() - began)
            if remaining > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), remaining)


def _by_name(indicator: GenesysIndicator, flows: bool = False) -> bool:
    selection = indicator.flows if flows else indicator.queues
    return bool(selection.names or selection.patterns)


def _iso(minute: Minute) -> str:
    return datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%MZ")
