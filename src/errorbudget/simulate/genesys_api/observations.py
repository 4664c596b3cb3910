"""``POST /api/v2/analytics/queues/observations/query`` (QueueObservationQuery →
QueueObservationQueryResponse): what the queues look like at the simulated now.

Conversation metrics (``oWaiting``, ``oInteracting``, ``oAlerting``, ``oLongestWaiting``,
``oLongestInteracting``) come grouped by ``queueId`` and ``mediaType``; user metrics
(``oOnQueueUsers``, ``oOffQueueUsers``, ``oActiveUsers``, ``oMemberUsers``,
``oUserRoutingStatuses``, ``oUserPresences``) by ``queueId`` alone. Observations report zero
counts too. ``oOnQueueUsers`` comes once per on-queue routing status (``qualifier`` IDLE,
INTERACTING, COMMUNICATING, NOT_RESPONDING; the simulator's agents are idle or
interacting), so the agents on queue are the sum of the entries.
``oLongestWaiting``/``oLongestInteracting`` carry the age of the oldest one in
``stats.calculatedMetricValue`` (milliseconds) and, when asked in ``detailMetrics``, its
``observations`` (``observationDate`` = when it started waiting / was answered).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api.queries import (
    OBSERVATION_METRICS,
    ObservationQuery,
    QueryError,
    matches,
    parse_body,
)
from errorbudget.simulate.intervals import format_interval
from errorbudget.simulate.records import ANSWERED, datetime_to_ms, ms_to_datetime

OBSERVATION_DIMENSIONS = frozenset({"queueId", "mediaType"})
CONVERSATION_METRICS = (
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oLongestWaiting",
    "oLongestInteracting",
)
ON_QUEUE_STATUSES = ("IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING")
OFF_QUEUE_SHARE = 0.15
"""Share of logged-in members who are off queue (breaks, meetings, training)."""


def _iso(ms: int) -> str:
    return format_interval(ms_to_datetime(ms), ms_to_datetime(ms)).split("/")[0]


def queue_observations(sim: Simulation, body: object, now: datetime) -> dict[str, Any]:
    query = parse_body(ObservationQuery, body)
    for metric in [*query.metrics, *query.detail_metrics]:
        if metric not in OBSERVATION_METRICS:
            raise QueryError(f"metrics: {metric!r} is not an observation metric")
    if not _mentions_queue(query):
        raise QueryError("filter: an observation query needs queueId predicates")
    now_ms = datetime_to_ms(now)
    results: list[dict[str, Any]] = []
    for index, queue in enumerate(sim.scenario.queues):
        values = {"queueId": queue.id, "mediaType": queue.media_type}
        if not matches(query.filter, values.get, OBSERVATION_DIMENSIONS):
            continue
        waiting_entries, waiting_ids, interacting_since, interacting_ids = _now(sim, index, now_ms)
        conversation_data: list[dict[str, Any]] = []
        user_data: list[dict[str, Any]] = []
        agents = sim.agents(index, now_ms)
        members = queue.member_count
        busy = min(agents, len(interacting_since))
        off_queue = min(members - agents, round(agents * OFF_QUEUE_SHARE)) if agents else 0
        for metric in query.metrics:
            detail = metric in query.detail_metrics
            if metric == "oWaiting":
                conversation_data.append(
                    _count(metric, len(waiting_entries), waiting_entries, waiting_ids, detail)
                )
            elif metric in ("oInteracting",):
                conversation_data.append(
                    _count(
                        metric, len(interacting_since), interacting_since, interacting_ids, detail
                    )
                )
            elif metric == "oAlerting":
                conversation_data.append({"metric": metric, "stats": {"count": 0}})
            elif metric == "oLongestWaiting":
                conversation_data.append(
                    _longest(metric, waiting_entries, waiting_ids, now_ms, detail)
                )
            elif metric == "oLongestInteracting":
                conversation_data.append(
                    _longest(metric, interacting_since, interacting_ids, now_ms, detail)
                )
            elif metric == "oOnQueueUsers":
                # one entry per on-queue routing status, zeros included, as the API does
                on_queue = {"IDLE": agents - busy, "INTERACTING": busy}
                for status in ON_QUEUE_STATUSES:
                    user_data.append(
                        {
                            "metric": metric,
                            "qualifier": status,
                            "stats": {"count": on_queue.get(status, 0)},
                        }
                    )
            elif metric == "oOffQueueUsers":
                user_data.append({"metric": metric, "stats": {"count": off_queue}})
            elif metric == "oActiveUsers":
                user_data.append({"metric": metric, "stats": {"count": agents + off_queue}})
            elif metric == "oMemberUsers":
                user_data.append({"metric": metric, "stats": {"count": members}})
            elif metric == "oUserRoutingStatuses":
                for status, count in (
                    ("OFF_QUEUE", off_queue),
                    ("IDLE", agents - busy),
                    ("INTERACTING", busy),
                ):
                    user_data.append(
                        {"metric": metric, "qualifier": status, "stats": {"count": count}}
                    )
            # oUserPresences: presence definitions are org-specific ids; none reported
        if conversation_data:
            results.append(
                {
                    "group": {"queueId": queue.id, "mediaType": queue.media_type},
                    "data": conversation_data,
                }
            )
        if user_data:
            results.append({"group": {"queueId": queue.id}, "data": user_data})
    return {"results": results}


def _mentions_queue(query: ObservationQuery) -> bool:
    predicates = list(query.filter.predicates)
    for clause in query.filter.clauses:
        predicates.extend(clause.predicates)
    return any(p.dimension == "queueId" for p in predicates)


def _now(
    sim: Simulation, queue: int, now_ms: int
) -> tuple[np.ndarray, list[str], np.ndarray, list[str]]:
    """Entry times and ids of those waiting now; answer times and ids of those in handling."""
    entries: list[np.ndarray] = []
    interacting: list[np.ndarray] = []
    waiting_ids: list[str] = []
    interacting_ids: list[str] = []
    spec = sim.scenario.queues[queue]
    for arrays in sim.queue_range(queue, now_ms, now_ms + 1):
        exit_ms = arrays.entry_ms + arrays.wait_ms
        waiting = (arrays.entry_ms <= now_ms) & (exit_ms > now_ms)
        handling = (
            (arrays.outcome == ANSWERED)
            & (exit_ms <= now_ms)
            & (exit_ms + arrays.handle_ms > now_ms)
        )
        for mask, ids in ((waiting, waiting_ids), (handling, interacting_ids)):
            for i in np.flatnonzero(mask):
                origin = int(arrays.origin_flow[i])
                kind, entity = (
                    ("flow", sim.scenario.flows[origin].id) if origin >= 0 else ("queue", spec.id)
                )
                ids.append(
                    sim.conversation_id(
                        kind, entity, int(arrays.key_block[i]), int(arrays.key_index[i])
                    )
                )
        entries.append(arrays.entry_ms[waiting])
        interacting.append(exit_ms[handling])
    return (
        np.concatenate(entries) if entries else np.zeros(0, dtype=np.int64),
        waiting_ids,
        np.concatenate(interacting) if interacting else np.zeros(0, dtype=np.int64),
        interacting_ids,
    )


def _observations(since: np.ndarray, ids: list[str]) -> list[dict[str, Any]]:
    order = np.argsort(since, kind="stable")
    return [
        {
            "observationDate": _iso(int(since[i])),
            "conversationId": ids[i],
            "sessionId": ids[i],
            "direction": "inbound",
            "routingPriority": 0,
        }
        for i in order
    ]


def _count(
    metric: str, count: int, since: np.ndarray, ids: list[str], detail: bool
) -> dict[str, Any]:
    entry: dict[str, Any] = {"metric": metric, "stats": {"count": count}}
    if detail:
        entry["truncated"] = False
        entry["observations"] = _observations(since, ids)
    return entry


def _longest(
    metric: str, since: np.ndarray, ids: list[str], now_ms: int, detail: bool
) -> dict[str, Any]:
    if len(since) == 0:
        return {"metric": metric, "stats": {"count": 0}}
    oldest = int(np.argmin(since))
    entry: dict[str, Any] = {
        "metric": metric,
        "stats": {"count": 1, "calculatedMetricValue": now_ms - int(since[oldest])},
    }
    if detail:
        entry["truncated"] = False
        entry["observations"] = _observations(since[oldest : oldest + 1], [ids[oldest]])
    return entry
