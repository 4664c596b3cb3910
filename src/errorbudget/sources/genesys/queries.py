"""Genesys Cloud analytics query bodies, and their responses as interval counts (pure).

Queue SLIs use ``POST /api/v2/analytics/conversations/aggregates/query`` grouped by
``queueId`` and ``mediaType``; IVR completion uses ``POST
/api/v2/analytics/flows/aggregates/query`` grouped by ``flowId`` (and ``flowName``), three
times per interval: every visit, the visits with a failed outcome (``flowOutcomeValue``
matches ``FAILURE``) and the visits without any outcome (``flowOutcomeId`` notExists), see
:data:`FLOW_VISIT_FILTERS`.
Intervals are ISO-8601 ``start/end`` in UTC, granularity an ISO-8601 duration such as
``PT15M``. Only ``.count`` of each metric is used: the SLIs count conversations, and a
timer's count is the number of conversations it was measured for (``tAnswered.count`` =
answered conversations). Answered-within-N-seconds comes from a ``views`` entry with a
``rangeBound`` on ``tAnswered`` (milliseconds, ``lt`` bound), and so does answered within
each queue's service-level target in force at the time (``service_levels``).

The response is::

    {"results": [{"group": {"queueId": …, "mediaType": …},
                  "data": [{"interval": "start/end",
                            "metrics": [{"metric": "tAnswered", "stats": {"count": 12, …}}],
                            "views": [{"name": "tAnsweredWithin20s", "stats": {"count": 9}}]}]}]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from errorbudget.errors import SourceError
from errorbudget.model import Minute, from_minute, to_minute

QUEUE_METRICS: tuple[str, ...] = (
    "nOffered",
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "nOverSla",
    "oServiceLevel",
)
"""``oServiceLevel`` is Genesys's own service level (``numerator``/``denominator``), kept as
``oServiceLevel.numerator`` and ``oServiceLevel.denominator`` to check errorbudget's."""
FLOW_METRICS: tuple[str, ...] = (
    "nFlow",
    "nFlowOutcome",
    "nFlowOutcomeFailed",
    "tFlowDisconnect",
    "tFlowExit",
)
FLOW_VISIT_METRICS: tuple[str, ...] = ("tFlowDisconnect", "tFlowExit")
"""Counted once per visit, when it ends: a hang-up in the flow or a transfer out of it."""
FLOW_VISIT_FILTERS: dict[str, dict[str, str]] = {
    "failed": {
        "type": "dimension",
        "dimension": "flowOutcomeValue",
        "operator": "matches",
        "value": "FAILURE",
    },
    "no_outcome": {"type": "dimension", "dimension": "flowOutcomeId", "operator": "notExists"},
}
"""Visit filters of the IVR queries: a predicate on an outcome dimension selects the visits
with at least one such outcome (``notExists``: none); their counts are stored as
``<name>.<metric>`` in the flow's :class:`IntervalCounts`."""
MAX_FILTER_PREDICATES = 100
"""More selected queues than this: no queue filter, the collector filters the answer."""


def iso_instant(minute: Minute) -> str:
    return from_minute(minute).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def iso_interval(start: Minute, end: Minute) -> str:
    return f"{iso_instant(start)}/{iso_instant(end)}"


def iso_duration(length: timedelta) -> str:
    """``PT15M``, ``PT1H``, ``P1D`` for whole-minute durations."""
    minutes = int(length.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    time = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    return ("P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")) or "PT0M"


def view_name(threshold_seconds: int) -> str:
    return f"tAnsweredWithin{threshold_seconds}s"


def target_view_name(duration_ms: int) -> str:
    """The view counting answers within a service-level target of ``duration_ms`` (not
    over it, as ``nOverSla`` counts: ``lt`` = target + 1 ms)."""
    return f"tAnsweredWithinTarget{duration_ms}ms"


def _or_clause(dimension: str, values: Iterable[str]) -> dict[str, Any]:
    return {
        "type": "or",
        "predicates": [
            {"type": "dimension", "dimension": dimension, "operator": "matches", "value": v}
            for v in values
        ],
    }


@dataclass(frozen=True)
class QueueQuery:
    """What one conversation aggregate query asks, shared by every queue SLO."""

    media_types: tuple[str, ...]
    queue_ids: tuple[str, ...] | None
    """None: every queue."""
    thresholds: tuple[int, ...] = ()
    """Seconds of ``answered_within`` SLOs (views ``lt`` N s)."""
    target_durations: tuple[int, ...] = ()
    """Milliseconds of the queues' service-level targets, past and present (views)."""

    def body(self, start: Minute, end: Minute, granularity: timedelta) -> dict[str, Any]:
        clauses = [_or_clause("mediaType", self.media_types)]
        if self.queue_ids is not None and len(self.queue_ids) <= MAX_FILTER_PREDICATES:
            clauses.append(_or_clause("queueId", self.queue_ids))
        body: dict[str, Any] = {
            "interval": iso_interval(start, end),
            "granularity": iso_duration(granularity),
            "timeZone": "UTC",
            "groupBy": ["queueId", "mediaType"],
            "filter": {"type": "and", "clauses": clauses},
            "metrics": list(QUEUE_METRICS),
        }
        views = [(view_name(seconds), seconds * 1000) for seconds in self.thresholds]
        views += [(target_view_name(ms), ms + 1) for ms in self.target_durations]
        if views:  # every threshold and target of every SLO, in this one query
            body["views"] = [
                {"target": "tAnswered", "name": name, "function": "rangeBound", "range": {"lt": lt}}
                for name, lt in views
            ]
        return body


@dataclass(frozen=True)
class FlowQuery:
    flow_ids: tuple[str, ...] | None

    def body(
        self, start: Minute, end: Minute, granularity: timedelta, visits: str | None = None
    ) -> dict[str, Any]:
        """Every visit's metrics, or (``visits``, a key of :data:`FLOW_VISIT_FILTERS`) the
        visit metrics of the visits that filter selects."""
        body: dict[str, Any] = {
            "interval": iso_interval(start, end),
            "granularity": iso_duration(granularity),
            "timeZone": "UTC",
            "groupBy": ["flowId", "flowName"],  # the name labels the flow segment
            "metrics": list(FLOW_METRICS if visits is None else FLOW_VISIT_METRICS),
        }
        clauses = []
        if self.flow_ids is not None and len(self.flow_ids) <= MAX_FILTER_PREDICATES:
            clauses.append(_or_clause("flowId", self.flow_ids))
        if visits is not None:
            body["filter"] = {"type": "and", "predicates": [dict(FLOW_VISIT_FILTERS[visits])]}
            if clauses:
                body["filter"]["clauses"] = clauses
        elif clauses:
            body["filter"] = {"type": "or", "clauses": clauses}
        return body

    def bodies(self, start: Minute, end: Minute, granularity: timedelta) -> list[dict[str, Any]]:
        """The three queries of IVR completion: every visit, then each visit filter."""
        return [
            self.body(start, end, granularity),
            *(self.body(start, end, granularity, name) for name in FLOW_VISIT_FILTERS),
        ]


@dataclass
class IntervalCounts:
    """The counts of one group (queue × media type, or flow) in one interval."""

    group: dict[str, str]
    start: Minute
    counts: dict[str, int] = field(default_factory=dict)

    def get(self, name: str) -> int:
        return self.counts.get(name, 0)


def _interval_start(text: object, where: str) -> Minute:
    if not isinstance(text, str) or "/" not in text:
        raise SourceError(f"{where}: interval {text!r} is not ISO-8601 start/end")
    try:
        start = datetime.fromisoformat(text.split("/", 1)[0].replace("Z", "+00:00"))
    except ValueError as exc:
        raise SourceError(f"{where}: interval {text!r} is not ISO-8601 start/end") from exc
    if start.tzinfo is None:
        raise SourceError(f"{where}: interval {text!r} has no time zone")
    return to_minute(start)


def _count(stats: object) -> int:
    if not isinstance(stats, Mapping):
        return 0
    count = stats.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int | float):
        return 0
    return int(count)


def _ratio(row: IntervalCounts, stats: object) -> None:
    """``oServiceLevel``'s numerator and denominator (counts of conversations)."""
    if not isinstance(stats, Mapping):
        return
    for part in ("numerator", "denominator"):
        value = stats.get(part)
        if isinstance(value, int | float) and not isinstance(value, bool):
            row.counts[f"oServiceLevel.{part}"] = round(value)


def parse_aggregates(response: Mapping[str, Any], where: str) -> list[IntervalCounts]:
    """Every (group, interval) of an aggregate query response, with each metric's count.

    Raises SourceError (retryable: a half-written answer is worth asking again) when the
    shape is wrong; a group or metric that is absent simply has no counts.
    """
    results = response.get("results", [])
    if not isinstance(results, list):
        raise SourceError(f"{where}: 'results' is not a list", retryable=True)
    rows: list[IntervalCounts] = []
    for result in results:
        if not isinstance(result, Mapping) or not isinstance(result.get("group", {}), Mapping):
            raise SourceError(f"{where}: a result is not a {{group, data}} object", retryable=True)
        group = {str(k): str(v) for k, v in dict(result.get("group") or {}).items()}
        for data in result.get("data") or []:
            if not isinstance(data, Mapping):
                raise SourceError(f"{where}: a data entry is not an object", retryable=True)
            row = IntervalCounts(group, _interval_start(data.get("interval"), where))
            for metric in data.get("metrics") or []:
                if isinstance(metric, Mapping) and isinstance(metric.get("metric"), str):
                    row.counts[metric["metric"]] = _count(metric.get("stats"))
                    if metric["metric"] == "oServiceLevel":
                        _ratio(row, metric.get("stats"))
            for view in data.get("views") or []:
                if isinstance(view, Mapping) and isinstance(view.get("name"), str):
                    row.counts[view["name"]] = _count(view.get("stats"))
            rows.append(row)
    return rows


def merge_flow_answers(rows: list[IntervalCounts], filtered: list[list[IntervalCounts]]) -> None:
    """Add the counts of the filtered flow queries (in :data:`FLOW_VISIT_FILTERS` order) to
    ``rows`` as ``<filter>.<metric>``, matching flow and interval start."""
    by_key = {(row.group.get("flowId"), row.start): row for row in rows}
    for name, answer in zip(FLOW_VISIT_FILTERS, filtered, strict=True):
        for extra in answer:
            key = (extra.group.get("flowId"), extra.start)
            row = by_key.get(key)
            if row is None:  # not in the unfiltered answer: revised in between
                row = by_key[key] = IntervalCounts(dict(extra.group), extra.start)
                rows.append(row)
            for metric, count in extra.counts.items():
                row.counts[f"{name}.{metric}"] = count


def merge_queue_queries(queries: Sequence[QueueQuery]) -> QueueQuery | None:
    """One query that answers all of ``queries`` (union of media, queues and thresholds)."""
    if not queries:
        return None
    media = sorted({m for q in queries for m in q.media_types})
    ids: tuple[str, ...] | None
    if any(q.queue_ids is None for q in queries):
        ids = None
    else:
        ids = tuple(sorted({i for q in queries for i in q.queue_ids or ()}))
    thresholds = tuple(sorted({t for q in queries for t in q.thresholds}))
    durations = tuple(sorted({d for q in queries for d in q.target_durations}))
    return QueueQuery(tuple(media), ids, thresholds, durations)
