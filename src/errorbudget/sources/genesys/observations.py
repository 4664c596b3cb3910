"""Real-time queue observations: how many wait, how long the oldest has waited, who is on queue.

``POST /api/v2/analytics/queues/observations/query`` with a ``queueId`` filter answers
``QueueObservationQueryResponse``: a list of ``QueueObservationDataContainer`` (``group``,
``data``), each ``data`` entry an ``ObservationMetricData`` (``metric``, ``qualifier``,
``stats``, ``observations``). Conversation metrics (``oWaiting``, ``oInteracting``,
``oLongestWaiting``) come grouped by ``queueId`` and ``mediaType``; user metrics by
``queueId`` alone, and ``oOnQueueUsers`` comes **once per routing status**, the status in
``qualifier`` (``IDLE``, ``INTERACTING``, ``COMMUNICATING``, ``NOT_RESPONDING``): the
agents on queue are the sum over qualifiers (the breakdown is kept). Any metric that comes
in several entries is summed the same way.

``oLongestWaiting`` carries the age of the oldest waiting conversation in
``stats.calculatedMetricValue`` (milliseconds; the largest across entries); its
``observations[].observationDate`` (when it started waiting) is used when that is absent.
These are gauges for the dashboard and ``/metrics``: nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class QueueObservation:
    queue_id: str
    queue: str
    media_type: str
    waiting: int
    interacting: int
    on_queue_agents: int
    """Agents on queue, every routing status (the sum of ``on_queue_by_status``)."""
    oldest_waiting_seconds: float | None
    observed_at: datetime
    on_queue_by_status: dict[str, int] = field(default_factory=dict)
    """Agents on queue per routing status (``qualifier`` of ``oOnQueueUsers``)."""


OBSERVATION_METRICS = ("oWaiting", "oInteracting", "oLongestWaiting", "oOnQueueUsers")
UNQUALIFIED = ""
"""The breakdown key of an entry without a ``qualifier``."""


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class _Metric:
    """Every entry of one metric for one group, summed (per qualifier too)."""

    count: int = 0
    by_qualifier: dict[str, int] = field(default_factory=dict)
    longest_ms: float | None = None
    started: list[datetime] = field(default_factory=list)

    def add(self, entry: Mapping[str, Any]) -> None:
        stats = entry.get("stats")
        stats = stats if isinstance(stats, Mapping) else {}
        count = int(_number(stats.get("count")) or 0)
        qualifier = entry.get("qualifier")
        key = qualifier if isinstance(qualifier, str) else UNQUALIFIED
        self.count += count
        self.by_qualifier[key] = self.by_qualifier.get(key, 0) + count
        value = _number(stats.get("calculatedMetricValue"))
        if count and value is not None:
            self.longest_ms = value if self.longest_ms is None else max(self.longest_ms, value)
        for item in entry.get("observations") or []:
            text = item.get("observationDate") if isinstance(item, Mapping) else None
            if isinstance(text, str):
                try:
                    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
                except ValueError:
                    continue
                if moment.tzinfo is not None:
                    self.started.append(moment)


def _oldest(metric: _Metric | None, now: datetime) -> float | None:
    """Seconds the oldest conversation has waited, or None when nobody waits."""
    if metric is None or not metric.count:
        return None
    if metric.longest_ms is not None:
        return metric.longest_ms / 1000
    return max(0.0, (now - min(metric.started)).total_seconds()) if metric.started else None


def _collect(
    into: dict[str, _Metric], data: object, wanted: frozenset[str] | None = None
) -> dict[str, _Metric]:
    for entry in data if isinstance(data, list) else []:
        metric = entry.get("metric") if isinstance(entry, Mapping) else None
        if isinstance(metric, str) and (wanted is None or metric in wanted):
            into.setdefault(metric, _Metric()).add(entry)
    return into


def parse_observations(
    response: Mapping[str, Any], now: datetime, names: Mapping[str, str]
) -> dict[tuple[str, str], QueueObservation]:
    """(queue id, media type) → observation. Agents on queue are per queue (every media
    type of the queue gets the queue's count)."""
    conversations: dict[tuple[str, str], dict[str, _Metric]] = {}
    users: dict[str, dict[str, _Metric]] = {}
    for result in response.get("results") or []:
        if not isinstance(result, Mapping) or not isinstance(result.get("group"), Mapping):
            continue
        queue_id = result["group"].get("queueId")
        if not isinstance(queue_id, str):
            continue
        data = result.get("data")
        _collect(users.setdefault(queue_id, {}), data, frozenset({"oOnQueueUsers"}))
        media = result["group"].get("mediaType")
        waiting = any(isinstance(d, Mapping) and d.get("metric") == "oWaiting" for d in data or [])
        if isinstance(media, str) or waiting:
            _collect(conversations.setdefault((queue_id, str(media or "all")), {}), data)
    found = {}
    for (queue_id, media), metrics in conversations.items():
        on_queue = users.get(queue_id, {}).get("oOnQueueUsers") or _Metric()
        found[(queue_id, media)] = QueueObservation(
            queue_id=queue_id,
            queue=names.get(queue_id, queue_id),
            media_type=media,
            waiting=(metrics.get("oWaiting") or _Metric()).count,
            interacting=(metrics.get("oInteracting") or _Metric()).count,
            on_queue_agents=on_queue.count,
            oldest_waiting_seconds=_oldest(metrics.get("oLongestWaiting"), now),
            observed_at=now,
            on_queue_by_status=dict(on_queue.by_qualifier),
        )
    return found
