"""The Genesys queue families (seed 001), pure: query bodies, answers → values, the
interval ledger that keeps counters exact, and the cardinality guard (docs/exporter.md).

Where each value comes from (Genesys Cloud Platform API):

=====================================  ==============================================
``genesys_queue_depth``                observations ``oWaiting`` (``stats.count``) per
                                       queue × media type
``genesys_queue_agents``               observations ``oOnQueueUsers``: one entry per
                                       routing status (``qualifier``), so an agent is
                                       counted once, in its one status
``genesys_queue_offer_total``          conversation aggregates ``nOffered``
``genesys_queue_sla_breach_total``     aggregates ``oServiceLevel``: ``denominator −
                                       numerator`` (the org's own service-level formula)
``genesys_queue_wait_time_seconds``    aggregates ``tWait``: ``_count`` and ``_sum`` from
                                       its stats, each bucket a ``views`` ``rangeBound`` on
                                       ``tWait`` with ``lt`` = bound + 1 ms (≤ bound)
=====================================  ==============================================

Counters move by **closed-interval deltas**: an interval is counted once it has closed,
and when a later answer revises it (late data) only what it gained is added — each
(series, interval) is remembered with the values already counted (:class:`IntervalTotals`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from errorbudget.model import Minute, to_minute
from errorbudget.sources.genesys.queries import iso_duration, iso_interval

log = logging.getLogger(__name__)

WAIT_BUCKETS: tuple[float, ...] = tuple(float(2**power) for power in range(10))
"""Upper bounds of the wait histogram in seconds: 1, 2, 4 … 512 (then ``+Inf``)."""
OTHER = "other"
"""``queue_id`` (and ``queue_name``) of the series the guard aggregates into."""
ON_QUEUE_STATUSES = ("IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING")
"""The routing statuses of an agent on queue (``oOnQueueUsers`` qualifiers)."""
AGGREGATE_METRICS = ("nOffered", "tWait", "oServiceLevel")
OBSERVATION_METRICS = ("oWaiting", "oOnQueueUsers")
FAMILIES = (
    "genesys_queue_depth",
    "genesys_queue_agents",
    "genesys_queue_offer_total",
    "genesys_queue_sla_breach_total",
    "genesys_queue_wait_time_seconds",
)

Key = tuple[str, ...]
"""A series' labels after the metric name; the queue id always first."""
Overflow = Literal["aggregate", "drop"]


def wait_view(bound: float) -> str:
    return f"wait_le_{int(bound)}s"


def queue_filter(queue_ids: Sequence[str]) -> dict[str, Any]:
    return {
        "type": "or",
        "predicates": [{"dimension": "queueId", "value": queue_id} for queue_id in queue_ids],
    }


def aggregates_body(
    start: Minute, end: Minute, granularity_minutes: int, queue_ids: Sequence[str] | None
) -> dict[str, Any]:
    """``ConversationAggregationQuery`` for ``[start, end)``: offers, waits (with one view
    per histogram bound) and service level per queue × media type and interval."""
    from datetime import timedelta

    body: dict[str, Any] = {
        "interval": iso_interval(start, end),
        "granularity": iso_duration(timedelta(minutes=granularity_minutes)),
        "timeZone": "UTC",
        "groupBy": ["queueId", "mediaType"],
        "metrics": list(AGGREGATE_METRICS),
        "views": [
            {
                "target": "tWait",
                "name": wait_view(bound),
                "function": "rangeBound",
                "range": {"lt": int(bound * 1000) + 1},
            }
            for bound in WAIT_BUCKETS
        ],
    }
    if queue_ids:
        body["filter"] = queue_filter(queue_ids)
    return body


def observations_body(queue_ids: Sequence[str]) -> dict[str, Any]:
    """``QueueObservationQuery``: who waits, and the agents on queue by routing status."""
    return {"filter": queue_filter(queue_ids), "metrics": list(OBSERVATION_METRICS)}


@dataclass(frozen=True, slots=True)
class IntervalValues:
    """One queue × media type in one aggregate interval."""

    queue_id: str
    media_type: str
    start: Minute
    offered: int = 0
    sl_missed: int = 0
    """``oServiceLevel`` denominator − numerator."""
    wait_count: int = 0
    wait_sum_ms: int = 0
    wait_within: tuple[int, ...] = ()
    """Count of ``tWait`` ≤ each of :data:`WAIT_BUCKETS` (cumulative)."""


def _count(stats: object, key: str = "count") -> int:
    value = stats.get(key) if isinstance(stats, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(0, int(value))


def _start(interval: object) -> Minute | None:
    if not isinstance(interval, str) or "/" not in interval:
        return None
    try:
        moment = datetime.fromisoformat(interval.split("/", 1)[0].replace("Z", "+00:00"))
    except ValueError:
        return None
    return to_minute(moment) if moment.tzinfo is not None else None


def parse_aggregates(answer: Mapping[str, Any]) -> list[IntervalValues]:
    """Every (queue, media type, interval) of a ``ConversationAggregateQueryResponse``;
    an interval or metric the API left out is zero."""
    found: list[IntervalValues] = []
    for result in answer.get("results") or []:
        group = result.get("group") if isinstance(result, Mapping) else None
        if not isinstance(group, Mapping) or not isinstance(group.get("queueId"), str):
            continue
        media = group.get("mediaType")
        for point in result.get("data") or []:
            start = _start(point.get("interval")) if isinstance(point, Mapping) else None
            if start is None:
                continue
            metrics = {
                m.get("metric"): m.get("stats")
                for m in point.get("metrics") or []
                if isinstance(m, Mapping)
            }
            views = {
                v.get("name"): v.get("stats")
                for v in point.get("views") or []
                if isinstance(v, Mapping)
            }
            service_level = metrics.get("oServiceLevel")
            found.append(
                IntervalValues(
                    queue_id=group["queueId"],
                    media_type=media if isinstance(media, str) else "all",
                    start=start,
                    offered=_count(metrics.get("nOffered")),
                    sl_missed=max(
                        0, _count(service_level, "denominator") - _count(service_level, "numerator")
                    ),
                    wait_count=_count(metrics.get("tWait")),
                    wait_sum_ms=_count(metrics.get("tWait"), "sum"),
                    wait_within=tuple(_count(views.get(wait_view(b))) for b in WAIT_BUCKETS),
                )
            )
    return found


def parse_depth_and_agents(
    answer: Mapping[str, Any],
) -> tuple[dict[Key, int], dict[Key, int]]:
    """(queue id, media type) → waiting, and (queue id, routing status) → agents on queue
    from a ``QueueObservationQueryResponse``. Every on-queue status is present (zeros
    included), so the statuses of a queue sum to its agents on queue; an entry repeated
    for the same status is summed."""
    depth: dict[Key, int] = {}
    agents: dict[Key, int] = {}
    for result in answer.get("results") or []:
        group = result.get("group") if isinstance(result, Mapping) else None
        if not isinstance(group, Mapping) or not isinstance(group.get("queueId"), str):
            continue
        queue_id = group["queueId"]
        media = group.get("mediaType")
        for entry in result.get("data") or []:
            if not isinstance(entry, Mapping):
                continue
            metric = entry.get("metric")
            if metric == "oWaiting":
                key = (queue_id, media if isinstance(media, str) else "all")
                depth[key] = depth.get(key, 0) + _count(entry.get("stats"))
            elif metric == "oOnQueueUsers":
                for status in ON_QUEUE_STATUSES:
                    agents.setdefault((queue_id, status), 0)
                qualifier = entry.get("qualifier")
                status = qualifier if isinstance(qualifier, str) else "UNKNOWN"
                agents[(queue_id, status)] = agents.get((queue_id, status), 0) + _count(
                    entry.get("stats")
                )
    return depth, agents


Report = Callable[[str, str, int], None]
"""``report(family, reason, series)``: series the guard took out of their own series."""


class SeriesGuard:
    """At most ``max_series`` series of one family keep their own labels: slots go to the
    first keys seen and stay theirs (no flapping) until their queue turns transient; later
    keys are aggregated into ``queue_id="other"`` or dropped, and reported once."""

    def __init__(self, family: str, max_series: int, overflow: Overflow, report: Report) -> None:
        self.family = family
        self.max_series = max_series
        self.overflow = overflow
        self._report = report
        self.admitted: dict[Key, None] = {}
        self.refused: set[Key] = set()

    def route(self, key: Key) -> Key | None:
        """The series ``key``'s values go to: itself, its ``other`` series, or None."""
        if key in self.admitted:
            return key
        if key not in self.refused:
            if len(self.admitted) < self.max_series:
                self.admitted[key] = None
                return key
            self.refused.add(key)
            self._report(self.family, "max_series", 1)
        return (OTHER, *key[1:]) if self.overflow == "aggregate" else None

    def admit_together(self, keys: Sequence[Key]) -> None:
        """Refuse all of ``keys`` (one queue's series) that are new unless they all fit:
        a queue's routing statuses are never split between itself and ``other``."""
        new = [key for key in keys if key not in self.admitted and key not in self.refused]
        if new and len(self.admitted) + len(new) > self.max_series:
            self.refused.update(new)
            self._report(self.family, "max_series", len(new))

    def release(self, queue_ids: set[str]) -> list[Key]:
        """Forget the queues' keys (transient); return those that had their own series."""
        gone = [key for key in self.admitted if key[0] in queue_ids]
        for key in gone:
            del self.admitted[key]
        self.refused = {key for key in self.refused if key[0] not in queue_ids}
        return gone


@dataclass
class IntervalTotals:
    """Monotonic totals from interval values that may be revised: each (series, interval)
    is remembered with what was counted of it, and a new answer adds only the gain (a
    revision down adds nothing: a counter never goes back)."""

    width: int
    counted: dict[tuple[Key, Minute], list[int]] = field(default_factory=dict)
    totals: dict[Key, list[float]] = field(default_factory=dict)
    revised_down: int = 0

    def add(self, key: Key, into: Key | None, start: Minute, values: Sequence[int]) -> None:
        seen = self.counted.setdefault((key, start), [0] * self.width)
        gains = [max(0, new - old) for new, old in zip(values, seen, strict=True)]
        if any(new < old for new, old in zip(values, seen, strict=True)):
            self.revised_down += 1
        seen[:] = [max(new, old) for new, old in zip(values, seen, strict=True)]
        if into is None or not any(gains):
            if into is not None:
                self.totals.setdefault(into, [0.0] * self.width)
            return
        total = self.totals.setdefault(into, [0.0] * self.width)
        for i, gain in enumerate(gains):
            total[i] += gain

    def forget_before(self, start: Minute) -> None:
        for key in [k for k in self.counted if k[1] < start]:
            del self.counted[key]

    def release(self, keys: Iterable[Key], overflow: Overflow) -> None:
        """Transient series: their totals move into their ``other`` series, or go."""
        for key in keys:
            total = self.totals.pop(key, None)
            if total is not None and overflow == "aggregate":
                into = self.totals.setdefault((OTHER, *key[1:]), [0.0] * self.width)
                for i, value in enumerate(total):
                    into[i] += value


@dataclass(frozen=True)
class QueueSnapshot:
    """What the last polls left: every family's values by series key, and the names."""

    names: Mapping[str, str]
    depth: Mapping[Key, float]
    agents: Mapping[Key, float]
    offers: Mapping[Key, float]
    breaches: Mapping[Key, float]
    waits: Mapping[Key, Sequence[float]]
    """(queue, media) → (count ≤ each bound …, count, sum in seconds)."""


EMPTY = QueueSnapshot({}, {}, {}, {}, {}, {})


def route_gauges(values: Mapping[Key, int], guard: SeriesGuard) -> dict[Key, float]:
    """Gauge values through the guard (an aggregated series is the sum of its members); a
    queue's new series are admitted together or not at all."""
    by_queue: dict[str, list[Key]] = {}
    for key in sorted(values):
        by_queue.setdefault(key[0], []).append(key)
    routed: dict[Key, float] = {}
    for keys in by_queue.values():
        guard.admit_together(keys)
        for key in keys:
            into = guard.route(key)
            if into is not None:
                routed[into] = routed.get(into, 0.0) + values[key]
    return routed
