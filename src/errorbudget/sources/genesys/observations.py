"""Real-time queue observations: how many wait, and how long the oldest has waited.

``POST /api/v2/analytics/queues/observations/query`` with a ``queueId`` filter answers,
per queue (and media type), the current ``oWaiting`` / ``oInteracting`` /
``oOnQueueUsers`` counts: conversation metrics grouped by ``queueId`` and ``mediaType``,
user metrics by ``queueId`` alone. ``oLongestWaiting`` carries the age of the oldest
waiting conversation in ``stats.calculatedMetricValue`` (milliseconds); its
``observations[].observationDate`` (when it started waiting) is used when that is absent.
These are gauges for the dashboard and ``/metrics``: nothing is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    oldest_waiting_seconds: float | None
    observed_at: datetime


OBSERVATION_METRICS = ("oWaiting", "oInteracting", "oLongestWaiting", "oOnQueueUsers")


def _stats(data: Mapping[str, Any] | None) -> Mapping[str, Any]:
    stats = data.get("stats") if data is not None else None
    return stats if isinstance(stats, Mapping) else {}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _count(data: Mapping[str, Any] | None) -> int:
    return int(_number(_stats(data).get("count")) or 0)


def _oldest(data: Mapping[str, Any] | None, now: datetime) -> float | None:
    """Seconds the oldest conversation has waited, or None when nobody waits."""
    if data is None or not _count(data):
        return None
    value = _number(_stats(data).get("calculatedMetricValue"))
    if value is not None:
        return value / 1000
    dates = []
    for item in data.get("observations") or []:
        text = item.get("observationDate") if isinstance(item, Mapping) else None
        if isinstance(text, str):
            try:
                dates.append(datetime.fromisoformat(text.replace("Z", "+00:00")))
            except ValueError:
                continue
    aware = [d for d in dates if d.tzinfo is not None]
    return max(0.0, (now - min(aware)).total_seconds()) if aware else None


def parse_observations(
    response: Mapping[str, Any], now: datetime, names: Mapping[str, str]
) -> dict[tuple[str, str], QueueObservation]:
    """(queue id, media type) → observation. Agents on queue are per queue (every media
    type of the queue gets the queue's count)."""
    conversations: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = {}
    agents: dict[str, int] = {}
    for result in response.get("results") or []:
        if not isinstance(result, Mapping) or not isinstance(result.get("group"), Mapping):
            continue
        queue_id = result["group"].get("queueId")
        if not isinstance(queue_id, str):
            continue
        metrics = {
            str(d["metric"]): d
            for d in result.get("data") or []
            if isinstance(d, Mapping) and isinstance(d.get("metric"), str)
        }
        if "oOnQueueUsers" in metrics:
            agents[queue_id] = agents.get(queue_id, 0) + _count(metrics["oOnQueueUsers"])
        media = result["group"].get("mediaType")
        if isinstance(media, str) or "oWaiting" in metrics:
            conversations[(queue_id, str(media or "all"))] = metrics
    return {
        (queue_id, media): QueueObservation(
            queue_id=queue_id,
            queue=names.get(queue_id, queue_id),
            media_type=media,
            waiting=_count(metrics.get("oWaiting")),
            interacting=_count(metrics.get("oInteracting")),
            on_queue_agents=agents.get(queue_id, 0),
            oldest_waiting_seconds=_oldest(metrics.get("oLongestWaiting"), now),
            observed_at=now,
        )
        for (queue_id, media), metrics in conversations.items()
    }
