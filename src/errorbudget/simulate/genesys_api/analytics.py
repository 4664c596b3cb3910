"""Answers of the analytics aggregate endpoints, computed from the simulation.

- ``POST /api/v2/analytics/conversations/aggregates/query`` (ConversationAggregationQuery →
  ConversationAggregateQueryResponse): queue metrics per group and interval;
- ``POST /api/v2/analytics/flows/aggregates/query`` (FlowAggregationQuery →
  FlowAggregateQueryResponse): IVR flow metrics.

As the real API does, an interval without data is left out, a metric with a zero count is
left out of its interval, a group without data is left out, and a query without any data
answers ``{}``. Timers are milliseconds: ``stats`` = ``{max, min, count, sum}``; counters
``{count}``; ``oServiceLevel`` = ``{ratio, numerator, denominator, target}`` (see
:func:`errorbudget.simulate.aggregate.service_level`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np

from errorbudget.simulate.aggregate import (
    FLOW_TIMERS,
    QUEUE_TIMERS,
    SL_INPUTS,
    Buckets,
    Event,
    Stats,
    ViewSpec,
    aggregate,
    flow_events,
    flow_outcomes,
    queue_events,
    service_level,
    sl_parts,
)
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api.queries import (
    AggregationQuery,
    ConversationQuery,
    Filter,
    Predicate,
    QueryError,
    RowDimensions,
    conversation_metrics,
    flow_metrics,
    matches,
    parse_body,
    row_mask,
)
from errorbudget.simulate.intervals import (
    IntervalError,
    bucket_edges,
    format_interval,
    parse_granularity,
    parse_interval,
    zone,
)
from errorbudget.simulate.records import FlowArrays, datetime_to_ms

QUEUE_DIMENSIONS = frozenset(
    {"queueId", "mediaType", "direction", "originatingDirection", "divisionId"}
)
FLOW_DIMENSIONS = frozenset(
    {"flowId", "flowName", "flowType", "mediaType", "direction", "divisionId"}
)
FLOW_OUTCOME_DIMENSIONS = frozenset({"flowOutcome", "flowOutcomeId", "flowOutcomeValue"})
"""Filter-only dimensions of the outcomes a visit reached (``flowOutcome``: ``id:VALUE``)."""


class _Group:
    def __init__(self, size: int) -> None:
        self.metrics: dict[str, Stats] = {}
        self.views: dict[str, Stats] = {}
        self.sl_numerator = np.zeros(size, dtype=np.int64)
        self.sl_denominator = np.zeros(size, dtype=np.int64)
        self.sl_targets: set[float] = set()

    def add(self, metrics: dict[str, Stats], views: dict[str, Stats]) -> None:
        for target, source in ((self.metrics, metrics), (self.views, views)):
            for name, stats in source.items():
                if name in target:
                    target[name].add(stats)
                else:
                    target[name] = stats


def _buckets(query: AggregationQuery, now: datetime) -> tuple[list[datetime], Buckets]:
    try:
        start, end = parse_interval(query.interval)
        tz = zone(query.time_zone)
        granularity = parse_granularity(query.granularity) if query.granularity else None
        edges = bucket_edges(start, end, granularity, tz)
    except IntervalError as exc:
        raise QueryError(str(exc)) from None
    return edges, Buckets([datetime_to_ms(e) for e in edges], datetime_to_ms(now))


def _group_by(query: AggregationQuery, known: frozenset[str]) -> list[str]:
    for dimension in query.group_by:
        if dimension not in known:
            raise QueryError(
                f"groupBy: dimension {dimension!r} is not supported "
                f"(supported: {', '.join(sorted(known))})"
            )
    return query.group_by


def conversation_aggregates(sim: Simulation, body: object, now: datetime) -> dict[str, Any]:
    """``POST /api/v2/analytics/conversations/aggregates/query``."""
    query = parse_body(ConversationQuery, body)
    conversation_metrics(query)
    group_by = _group_by(query, QUEUE_DIMENSIONS)
    edges, buckets = _buckets(query, now)
    wants_sl = "oServiceLevel" in query.metrics
    needed = [m for m in query.metrics if m != "oServiceLevel"]
    if wants_sl:
        needed += SL_INPUTS
    views = [ViewSpec(v.name, v.target, v.range.gte, v.range.lt) for v in query.views]
    scenario = sim.scenario
    groups: dict[tuple[str | None, ...], _Group] = {}
    for index, queue in enumerate(scenario.queues):
        values = {
            "queueId": queue.id,
            "mediaType": queue.media_type,
            "direction": "inbound",
            "originatingDirection": "inbound",
            "divisionId": scenario.division_id,
        }
        if not matches(query.filter, values.get, QUEUE_DIMENSIONS):
            continue
        # like Genesys, nOverSla and oServiceLevel use the org's settings as they are now,
        # for past intervals too
        percent, seconds = sim.service_level_target(index)
        batches = (
            queue_events(arrays, seconds * 1000)
            for arrays in sim.queue_range(index, buckets.start, buckets.end)
        )
        metrics, view_stats = aggregate(batches, needed, views, buckets)
        key = tuple(values.get(d) for d in group_by)
        group = groups.setdefault(key, _Group(buckets.size))
        group.add(metrics, view_stats)
        if wants_sl:
            calculation = sim.service_level_calculation
            numerator, denominator = service_level(sl_parts(metrics), calculation)
            group.sl_numerator += numerator
            group.sl_denominator += denominator
            group.sl_targets.add(percent / 100)
    return _response(groups, group_by, query.metrics, views, edges, QUEUE_TIMERS)


def flow_aggregates(sim: Simulation, body: object, now: datetime) -> dict[str, Any]:
    """``POST /api/v2/analytics/flows/aggregates/query``.

    Besides the flow's own dimensions, a filter may use the outcome dimensions
    (:data:`FLOW_OUTCOME_DIMENSIONS`): they select outcomes for the outcome metrics, and for
    the visit metrics the visits with at least one such outcome (``notExists``: without any).
    """
    query = parse_body(AggregationQuery, body)
    flow_metrics(query)
    group_by = _group_by(query, FLOW_DIMENSIONS)
    edges, buckets = _buckets(query, now)
    views = [ViewSpec(v.name, v.target, v.range.gte, v.range.lt) for v in query.views]
    groups: dict[tuple[str | None, ...], _Group] = {}
    for index, flow in enumerate(sim.scenario.flows):
        values = {
            "flowId": flow.id,
            "flowName": flow.name,
            "flowType": "INBOUNDCALL",
            "mediaType": "voice",
            "direction": "inbound",
            "divisionId": sim.scenario.division_id,
        }
        # and/or filters are monotone: with every row-level predicate true, an upper bound
        optimistic = _outcome_rows(None, [], visits=True)
        if not row_mask(query.filter, values.get, optimistic, FLOW_DIMENSIONS, 1).any():
            continue
        batches = _flow_batches(sim, index, buckets, query.filter, values)
        metrics, view_stats = aggregate(batches, query.metrics, views, buckets)
        key = tuple(values.get(d) for d in group_by)
        groups.setdefault(key, _Group(buckets.size)).add(metrics, view_stats)
    return _response(groups, group_by, query.metrics, views, edges, FLOW_TIMERS)


def _flow_batches(
    sim: Simulation, index: int, buckets: Buckets, filter_: Filter | None, values: dict[str, str]
) -> Iterator[dict[str, Event]]:
    """The flow's events, batch by batch, with the filter applied row by row."""
    ids = sim.scenario.flows[index].outcome_ids
    for arrays in sim.flow_range(index, buckets.start, buckets.end):
        size = len(arrays)
        visits = _outcome_rows(arrays, ids, visits=True)
        outcomes = _outcome_rows(arrays, ids, visits=False)
        yield flow_events(
            arrays,
            row_mask(filter_, values.get, visits, FLOW_DIMENSIONS, size),
            row_mask(filter_, values.get, outcomes, FLOW_DIMENSIONS, 2 * size),
        )


def _outcome_rows(arrays: FlowArrays | None, ids: list[str], *, visits: bool) -> RowDimensions:
    """Masks for predicates on the outcome dimensions: per outcome (main outcomes, then
    extra ones: :func:`flow_outcomes`), or per visit (any of its outcomes matches).
    ``arrays`` None: every predicate holds (for the entity-level upper bound)."""

    def resolve(predicate: Predicate) -> np.ndarray | None:
        if predicate.type != "dimension" or predicate.dimension not in FLOW_OUTCOME_DIMENSIONS:
            return None
        if arrays is None:
            return np.ones(1, dtype=bool)
        present, index, failed, _ = flow_outcomes(arrays)
        if predicate.operator in ("exists", "notExists"):
            matched = present
        elif predicate.value is None:
            raise QueryError(f"filter: predicate on {predicate.dimension!r} has no value")
        else:
            matched = present & _outcome_value(predicate, index, failed, ids)
        if visits:
            size = len(arrays)
            matched = matched[:size] | matched[size:]
        return ~matched if predicate.operator == "notExists" else matched

    return resolve


def _outcome_value(
    predicate: Predicate, index: np.ndarray, failed: np.ndarray, ids: list[str]
) -> np.ndarray:
    value = str(predicate.value)
    outcome_id, verdict = value, ""
    if predicate.dimension == "flowOutcome":  # "<flowOutcomeId>:<SUCCESS|FAILURE>"
        outcome_id, _, verdict = value.partition(":")
    elif predicate.dimension == "flowOutcomeValue":
        outcome_id, verdict = "", value
    mask = np.ones(len(index), dtype=bool)
    if outcome_id:
        mask &= index == (ids.index(outcome_id) if outcome_id in ids else -2)
    if verdict:
        if verdict.upper() not in ("SUCCESS", "FAILURE"):
            raise QueryError(f"filter: {value!r} is not a flow outcome value (SUCCESS, FAILURE)")
        mask &= failed if verdict.upper() == "FAILURE" else ~failed
    return mask


def _response(
    groups: dict[tuple[str | None, ...], _Group],
    group_by: list[str],
    metric_names: list[str],
    views: list[ViewSpec],
    edges: list[datetime],
    timers: tuple[str, ...],
) -> dict[str, Any]:
    results = []
    intervals = [format_interval(a, b) for a, b in itertools.pairwise(edges)]
    for key, group in groups.items():
        data = []
        for b, interval in enumerate(intervals):
            metrics = []
            for name in metric_names:
                if name == "oServiceLevel":
                    denominator = int(group.sl_denominator[b])
                    if denominator > 0:
                        numerator = int(group.sl_numerator[b])
                        stats: dict[str, Any] = {
                            "ratio": numerator / denominator,
                            "numerator": numerator,
                            "denominator": denominator,
                        }
                        if len(group.sl_targets) == 1:
                            stats["target"] = next(iter(group.sl_targets))
                        metrics.append({"metric": name, "stats": stats})
                    continue
                entry = _stats(group.metrics[name], b, name in timers)
                if entry:
                    metrics.append({"metric": name, "stats": entry})
            view_data = []
            for view in views:
                entry = _stats(group.views[view.name], b, True)
                if entry:
                    view_data.append({"name": view.name, "stats": entry})
            if metrics or view_data:
                point: dict[str, Any] = {"interval": interval, "metrics": metrics}
                if view_data:
                    point["views"] = view_data
                data.append(point)
        if data:
            result: dict[str, Any] = {"data": data}
            named = {d: v for d, v in zip(group_by, key, strict=True) if v is not None}
            if named:
                result = {"group": named, "data": data}
            results.append(result)
    return {"results": results} if results else {}


def _stats(stats: Stats, b: int, timer: bool) -> dict[str, int] | None:
    count = int(stats.count[b])
    if count == 0:
        return None
    if not timer:
        return {"count": count}
    return {
        "max": int(stats.max[b]),
        "min": int(stats.min[b]),
        "count": count,
        "sum": int(stats.sum[b]),
    }
