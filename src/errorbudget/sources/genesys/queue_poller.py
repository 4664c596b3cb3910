"""``QueuePoller``: the Genesys queue families, polled on their own cadence and exposed
from the last poll's snapshot (docs/exporter.md).

Two loops share the Genesys source's client — its token manager, rate limiter and circuit
breaker — (one client per org, not a second one): observations every
``observation_interval`` (on its multiples), and conversation aggregates just after each
``granularity`` boundary (``settle`` later), asking the intervals closed since the last
poll plus ``revision_lookback`` of closed intervals again. A poll builds the families
once; a scrape only yields them (and reads a few counters of the client), so a scrape
never reaches Genesys and costs the same however often Prometheus comes.

The cardinality guard (``SeriesGuard`` per family, ``max_series_per_family``) and the
transient queues (missing from ``GET /api/v2/routing/queues`` for ``transient_age``) fold
series into ``queue_id="other"`` or drop them, counted in
``genesys_exporter_dropped_series_total{family,reason}`` and logged.

Rendering is done once per poll too: the queue families are kept as exposition text
(:meth:`QueuePoller.exposition`), which a scrape appends as is; only the health families
(a few samples) are collected at scrape time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from prometheus_client import generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from errorbudget.errors import SourceError
from errorbudget.model import Minute, to_minute
from errorbudget.sources.genesys.client import GenesysClient, Queue
from errorbudget.sources.genesys.queries import MAX_FILTER_PREDICATES
from errorbudget.sources.genesys.queue_metrics import (
    EMPTY,
    OTHER,
    WAIT_BUCKETS,
    IntervalTotals,
    IntervalValues,
    Key,
    QueueSnapshot,
    SeriesGuard,
    aggregates_body,
    observations_body,
    parse_aggregates,
    parse_depth_and_agents,
    route_gauges,
)
from errorbudget.sources.genesys.queue_metrics_settings import QueueMetricsSettings
from errorbudget.sources.genesys.settings import GenesysSettings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MAX_CATCH_UP_MINUTES = 24 * 60
"""After an outage, at most this much of closed intervals is asked for in one poll."""
BUCKET_LABELS = [repr(bound) for bound in WAIT_BUCKETS]
"""``le`` as prometheus_client writes it (``1.0``)."""


class QueuePoller:
    """Polls the queue families into a snapshot; its collectors expose the snapshot."""

    name = "genesys-queue-metrics"

    def __init__(
        self,
        settings: GenesysSettings,
        client: GenesysClient,
        *,
        clock: Clock,
        owns_client: bool = False,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if settings.queue_metrics is None:
            raise ValueError("sources.genesys.queue_metrics is not configured")
        self.client = client
        self.metrics: QueueMetricsSettings = settings.queue_metrics
        self.clock = clock
        self.wall = wall
        self.owns_client = owns_client
        self.dropped: Counter[tuple[str, str]] = Counter()
        limit, overflow = self.metrics.max_series_per_family, self.metrics.overflow
        self.guards = {
            family: SeriesGuard(family, limit, overflow, self._report)
            for family in (
                "genesys_queue_depth",
                "genesys_queue_agents",
                "genesys_queue_offer_total",
                "genesys_queue_sla_breach_total",
                "genesys_queue_wait_time_seconds",
            )
        }
        self.offers = IntervalTotals(1)
        self.breaches = IntervalTotals(1)
        self.waits = IntervalTotals(len(WAIT_BUCKETS) + 2)
        self.snapshot: QueueSnapshot = EMPTY
        self.families: list[Metric] = []
        self._exposition = b""
        self._published = self._shown = 0
        self.durations: dict[str, float] = {}
        self.last_success: dict[str, float] = {}
        self.poll_errors: Counter[str] = Counter()
        self.polls: Counter[str] = Counter()
        self._depth: dict[Key, float] = {}
        self._agents: dict[Key, float] = {}
        self._queues: dict[str, Queue] = {}
        self._last_listed: dict[str, datetime] = {}
        self._gone: set[str] = set()
        self._origin: Minute | None = None
        self._through: Minute | None = None
        self._pending_reports: Counter[tuple[str, str]] = Counter()

    def __repr__(self) -> str:
        return f"QueuePoller(client={self.client!r})"

    # --- the hook (sources.plugin.MetricsFeed) -----------------------------------------------

    def collectors(self) -> Sequence[Collector]:
        """The exporter's health, read live at each scrape (a few samples)."""
        return [HealthCollector(self)]

    def exposition(self) -> bytes:
        """The queue families as the last poll rendered them (thousands of samples for
        hundreds of queues: rendered once per poll, not per scrape)."""
        return self._exposition

    async def run(self, stop: asyncio.Event) -> None:
        """Both loops until ``stop`` is set; a failed poll is logged and counted, never
        the end of a loop."""
        await asyncio.gather(
            self._loop(stop, "observations", self.poll_observations, self._observation_delay),
            self._loop(stop, "aggregates", self.poll_aggregates, self._aggregate_delay),
        )

    async def aclose(self) -> None:
        if self.owns_client:
            await self.client.aclose()

    # --- cadence ------------------------------------------------------------------------------

    def _observation_delay(self) -> float:
        every = self.metrics.observation_interval.total_seconds()
        return every - (self.clock().timestamp() % every)

    def _aggregate_delay(self) -> float:
        every = self.metrics.granularity.total_seconds()
        settle = self.metrics.settle.total_seconds()
        return every - ((self.clock().timestamp() - settle) % every)

    async def _loop(
        self,
        stop: asyncio.Event,
        poll: str,
        step: Callable[[], object],
        delay: Callable[[], float],
    ) -> None:
        while not stop.is_set():
            try:
                result = step()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:  # a bug must not stop the exporter: logged, next tick retries
                log.exception("genesys exporter: %s poll crashed", poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.05, delay()))

    # --- polls --------------------------------------------------------------------------------

    async def _listed(self) -> dict[str, Queue]:
        """The queues to expose (cached names, ``queue_cache_ttl``); transient ones expire."""
        queues = await self.client.queue_details()
        now = self.clock()
        for queue_id in queues:
            self._last_listed[queue_id] = now
            self._gone.discard(queue_id)
        age = self.metrics.transient_age
        expired = {q for q, seen in self._last_listed.items() if now - seen > age}
        if expired:
            self._expire(expired)
        wanted = set(self.metrics.queue_ids)
        self._queues = {q: v for q, v in queues.items() if not wanted or q in wanted}
        return self._queues

    def _expire(self, queue_ids: set[str]) -> None:
        for queue_id in queue_ids:
            del self._last_listed[queue_id]
        self._gone |= queue_ids
        totals = {
            "genesys_queue_offer_total": self.offers,
            "genesys_queue_sla_breach_total": self.breaches,
            "genesys_queue_wait_time_seconds": self.waits,
        }
        for family, guard in self.guards.items():
            gone = guard.release(queue_ids)
            if family in totals:
                totals[family].release(gone, self.metrics.overflow)
            if gone:
                self._report(family, "transient", len(gone))
        self._depth = {k: v for k, v in self._depth.items() if k[0] not in queue_ids}
        self._agents = {k: v for k, v in self._agents.items() if k[0] not in queue_ids}

    def _report(self, family: str, reason: str, series: int) -> None:
        self.dropped[(family, reason)] += series
        self._pending_reports[(family, reason)] += series

    def _log_reports(self) -> None:
        aggregate = self.metrics.overflow == "aggregate"
        action = 'aggregated into queue_id="other"' if aggregate else "dropped"
        for (family, reason), series in sorted(self._pending_reports.items()):
            why = (
                f"over max_series_per_family ({self.metrics.max_series_per_family})"
                if reason == "max_series"
                else f"queue not listed for over transient_age ({self.metrics.transient_age})"
            )
            log.warning("genesys exporter: %d series of %s %s: %s", series, family, action, why)
        self._pending_reports.clear()

    async def poll_observations(self) -> None:
        """Queue depth and agents on queue by routing status, now."""
        started = time.perf_counter()
        try:
            queues = await self._listed()
            ids = sorted(queues)
            depth: dict[Key, int] = {}
            agents: dict[Key, int] = {}
            for at in range(0, len(ids), MAX_FILTER_PREDICATES):
                chunk = ids[at : at + MAX_FILTER_PREDICATES]
                answer = await self.client.queue_observations(observations_body(chunk))
                found_depth, found_agents = parse_depth_and_agents(answer)
                depth.update(found_depth)
                agents.update(found_agents)
            self._depth = route_gauges(depth, self.guards["genesys_queue_depth"])
            self._agents = route_gauges(agents, self.guards["genesys_queue_agents"])
            self.last_success["observations"] = self.wall()
        except SourceError as exc:
            self.poll_errors["observations"] += 1
            log.warning("genesys exporter: queue observations failed: %s", exc)
        finally:
            self.polls["observations"] += 1
            self.durations["observations"] = time.perf_counter() - started
            await self._publish()

    async def poll_aggregates(self) -> None:
        """Offers, service-level misses and waits of the intervals closed since the last
        poll, and of ``revision_lookback`` before (revisions add only their gain)."""
        started = time.perf_counter()
        step = int(self.metrics.granularity.total_seconds() // 60)
        now = to_minute(self.clock())
        end = now - now % step  # the open interval starts here
        try:
            if self._origin is None:  # counting starts with the interval polling started in
                self._origin = self._through = end
                self.last_success["aggregates"] = self.wall()
                return
            lookback = int(self.metrics.revision_lookback.total_seconds() // 60)
            start = max(self._origin, min(self._through or end, end - lookback))
            start = max(start, end - MAX_CATCH_UP_MINUTES)
            if start >= end:
                return
            queues = self._queues or await self._listed()
            rows: list[IntervalValues] = []
            wanted = sorted(self.metrics.queue_ids)
            size = MAX_FILTER_PREDICATES
            chunks: list[list[str] | None] = (
                [wanted[i : i + size] for i in range(0, len(wanted), size)] if wanted else [None]
            )
            for chunk in chunks:
                answer = await self.client.conversation_aggregates(
                    aggregates_body(start, end, step, chunk)
                )
                rows.extend(parse_aggregates(answer))
            self._count(rows, queues)
            self._through = end
            for totals in (self.offers, self.breaches, self.waits):
                totals.forget_before(end - lookback)
            self.last_success["aggregates"] = self.wall()
        except SourceError as exc:
            self.poll_errors["aggregates"] += 1
            log.warning("genesys exporter: queue aggregates failed: %s", exc)
        finally:
            self.polls["aggregates"] += 1
            self.durations["aggregates"] = time.perf_counter() - started
            await self._publish()

    def _count(self, rows: list[IntervalValues], queues: dict[str, Queue]) -> None:
        guards = self.guards
        wanted = set(self.metrics.queue_ids)
        for row in sorted(rows, key=lambda r: (r.queue_id, r.media_type, r.start)):
            if row.queue_id in self._gone or (wanted and row.queue_id not in wanted):
                continue
            key = (row.queue_id, row.media_type)
            self.offers.add(key, guards["genesys_queue_offer_total"].route(key), row.start,
                            [row.offered])  # fmt: skip
            target = _target_label(queues.get(row.queue_id), row.media_type)
            breach_into = guards["genesys_queue_sla_breach_total"].route((*key, target))
            # counted per (queue, media): a target change relabels, never counts twice
            self.breaches.add(key, breach_into, row.start, [row.sl_missed])
            values = [*row.wait_within, row.wait_count, row.wait_sum_ms]
            self.waits.add(key, guards["genesys_queue_wait_time_seconds"].route(key), row.start,
                           values)  # fmt: skip

    # --- the snapshot -------------------------------------------------------------------------

    async def _publish(self) -> None:
        """Freeze what the polls left into a snapshot (copies, on the loop), then build and
        render its families in a worker thread (~60 ms for 500 queues: not on the loop
        that serves requests); the newest snapshot wins when two polls publish at once."""
        names = {q: v.name for q, v in self._queues.items()}
        snapshot = QueueSnapshot(
            names=names,
            depth=dict(self._depth),
            agents=dict(self._agents),
            offers={k: v[0] for k, v in self.offers.totals.items()},
            breaches={k: v[0] for k, v in self.breaches.totals.items()},
            waits={k: tuple(v) for k, v in self.waits.totals.items()},
        )
        if self._pending_reports:
            self._log_reports()
        self._published += 1
        number = self._published
        metrics, text = await asyncio.to_thread(_rendered, snapshot)
        if number > self._shown:
            self._shown = number
            self.snapshot, self.families, self._exposition = snapshot, metrics, text


def _rendered(snapshot: QueueSnapshot) -> tuple[list[Metric], bytes]:
    metrics = families(snapshot)
    return metrics, render(metrics)


def _target_label(queue: Queue | None, media: str) -> str:
    target = queue.service_levels.get(media) if queue is not None else None
    return "" if target is None else f"{target.duration_ms / 1000:g}"


def _name(names: dict[str, str], queue_id: str) -> str:
    return OTHER if queue_id == OTHER else names.get(queue_id, queue_id)


def families(snapshot: QueueSnapshot) -> list[Metric]:
    """The queue families of ``snapshot`` (built once per poll, yielded by every scrape)."""
    names = dict(snapshot.names)
    depth = GaugeMetricFamily(
        "genesys_queue_depth",
        "Conversations waiting in the queue now (observations oWaiting).",
        labels=["queue_id", "queue_name", "media_type"],
    )
    for (queue_id, media), value in sorted(snapshot.depth.items()):
        depth.add_metric([queue_id, _name(names, queue_id), media], value)
    agents = GaugeMetricFamily(
        "genesys_queue_agents",
        "Agents on queue by routing status (observations oOnQueueUsers; each agent in one "
        "status, so the statuses sum to the agents on queue).",
        labels=["queue_id", "queue_name", "routing_status"],
    )
    for (queue_id, status), value in sorted(snapshot.agents.items()):
        agents.add_metric([queue_id, _name(names, queue_id), status], value)
    offers = CounterMetricFamily(
        "genesys_queue_offer",
        "Conversations offered to the queue (aggregates nOffered, closed intervals).",
        labels=["queue_id", "queue_name", "media_type"],
    )
    for (queue_id, media), value in sorted(snapshot.offers.items()):
        offers.add_metric([queue_id, _name(names, queue_id), media], value)
    breaches = CounterMetricFamily(
        "genesys_queue_sla_breach",
        "Conversations that missed the queue's service level (aggregates oServiceLevel "
        "denominator - numerator, closed intervals).",
        labels=["queue_id", "queue_name", "media_type", "sla_target_seconds"],
    )
    for (queue_id, media, target), value in sorted(snapshot.breaches.items()):
        breaches.add_metric([queue_id, _name(names, queue_id), media, target], value)
    waits = HistogramMetricFamily(
        "genesys_queue_wait_time_seconds",
        "Time conversations waited in the queue (aggregates tWait; buckets from rangeBound "
        "views, closed intervals).",
        labels=["queue_id", "queue_name", "media_type"],
    )
    size = len(WAIT_BUCKETS)
    for (queue_id, media), values in sorted(snapshot.waits.items()):
        buckets = [(BUCKET_LABELS[i], values[i]) for i in range(size)]
        buckets.append(("+Inf", values[size]))
        waits.add_metric(
            [queue_id, _name(names, queue_id), media], buckets, sum_value=values[size + 1] / 1000
        )
    return [depth, agents, offers, breaches, waits]


class _Frozen(Collector):
    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


def render(metrics: list[Metric]) -> bytes:
    """``metrics`` in the Prometheus text format (0.0.4), as a scrape appends them."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Frozen(metrics))
    return generate_latest(registry)


class HealthCollector(Collector):
    """The exporter's own health, read at each scrape from the poller and the shared
    client's counters; reads, never polls."""

    def __init__(self, poller: QueuePoller) -> None:
        self.poller = poller

    def collect(self) -> Iterator[Metric]:
        # serve collects in a worker thread while the polls run on the event loop: read
        # copies (a dict copy is one step under the GIL; iterating a live dict is not)
        poller = self.poller
        stats = poller.client.stats
        durations, last_success = dict(poller.durations), dict(poller.last_success)
        poll_errors, dropped_series = dict(poller.poll_errors), dict(poller.dropped)
        duration = GaugeMetricFamily(
            "genesys_exporter_collection_duration_seconds",
            "How long the last poll took.",
            labels=["poll"],
        )
        success = GaugeMetricFamily(
            "genesys_exporter_last_success_timestamp_seconds",
            "Unix time of the last poll that succeeded (0: none has yet).",
            labels=["poll"],
        )
        failed = CounterMetricFamily(
            "genesys_exporter_poll_errors",
            "Polls that failed (after the client's own retries).",
            labels=["poll"],
        )
        for poll in ("observations", "aggregates"):
            if poll in durations:
                duration.add_metric([poll], durations[poll])
            success.add_metric([poll], last_success.get(poll, 0.0))  # absent: no alert fires
            failed.add_metric([poll], poll_errors.get(poll, 0))
        errors = CounterMetricFamily(
            "genesys_exporter_api_errors",
            "Genesys Cloud requests that failed, by endpoint and HTTP status (timeout, "
            "connection: no answer); 429s included. One client: the source's calls count too.",
            labels=["endpoint", "status"],
        )
        for (endpoint, status), count in sorted(dict(stats.by_endpoint_status).items()):
            if not status.startswith("2"):
                errors.add_metric([endpoint, status], count)
        limited = CounterMetricFamily(
            "genesys_exporter_rate_limited", "Genesys Cloud answers HTTP 429 (rate limited)."
        )
        limited.add_metric([], stats.rate_limited)
        tokens = CounterMetricFamily(
            "genesys_exporter_token_refreshes", "OAuth access tokens obtained (client credentials)."
        )
        tokens.add_metric([], poller.client.tokens.stats.fetched)
        dropped = CounterMetricFamily(
            "genesys_exporter_dropped_series",
            "Series the cardinality guard took out of their own labels (aggregated into "
            'queue_id="other" or dropped), by family and reason (max_series, transient).',
            labels=["family", "reason"],
        )
        for (family, reason), count in sorted(dropped_series.items()):
            dropped.add_metric([family, reason], count)
        yield from (duration, success, failed, errors, limited, tokens, dropped)
