"""Request bodies of the analytics endpoints, validated like the real API (camelCase keys as
in the SDK's ``attribute_map``; unknown keys are rejected with 400, so typos surface).

``ConversationAggregationQuery`` / ``FlowAggregationQuery``::

    {"interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z", "granularity": "PT15M",
     "timeZone": "UTC", "groupBy": ["queueId", "mediaType"],
     "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": "<id>"}],
                "clauses": [{"type": "and", "predicates": [...]}]},
     "metrics": ["nOffered", "tAnswered", "oServiceLevel"],
     "views": [{"target": "tAnswered", "name": "answered_20s", "function": "rangeBound",
                "range": {"lt": 20000}}]}

``QueueObservationQuery``: ``{"filter": {...queueId predicates...}, "metrics": [...],
"detailMetrics": [...]}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from errorbudget.simulate.aggregate import FLOW_METRICS, FLOW_TIMERS, QUEUE_METRICS, QUEUE_TIMERS

OBSERVATION_METRICS = (
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oLongestWaiting",
    "oLongestInteracting",
    "oOnQueueUsers",
    "oOffQueueUsers",
    "oActiveUsers",
    "oMemberUsers",
    "oUserRoutingStatuses",
    "oUserPresences",
)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NumericRange(_Body):
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None


class Predicate(_Body):
    type: Literal["dimension", "property", "metric"] = "dimension"
    dimension: str | None = None
    operator: Literal["matches", "exists", "notExists"] = "matches"
    value: str | None = None
    range: NumericRange | None = None


class Clause(_Body):
    type: Literal["and", "or"]
    predicates: list[Predicate] = Field(min_length=1)


class Filter(_Body):
    type: Literal["and", "or"]
    clauses: list[Clause] = Field(default_factory=list)
    predicates: list[Predicate] = Field(default_factory=list)


class AggregationRange(_Body):
    gte: float | None = None
    lt: float | None = None


class View(_Body):
    target: str
    name: str
    function: Literal["rangeBound"] = "rangeBound"
    range: AggregationRange


class AggregationQuery(_Body):
    interval: str
    granularity: str | None = None
    time_zone: str | None = Field(default=None, alias="timeZone")
    group_by: list[str] = Field(default_factory=list, alias="groupBy")
    filter: Filter | None = None
    metrics: list[str] = Field(min_length=1)
    flatten_multivalued_dimensions: bool | None = Field(
        default=None, alias="flattenMultivaluedDimensions"
    )
    views: list[View] = Field(default_factory=list)
    alternate_time_dimension: Literal["eventTime"] | None = Field(
        default=None, alias="alternateTimeDimension"
    )


class ConversationQuery(AggregationQuery):
    query_type: Literal["groupBy"] | None = Field(default=None, alias="queryType")
    sort_metric: dict[str, object] | None = Field(default=None, alias="sortMetric")
    limit: int | None = None


class ObservationQuery(_Body):
    filter: Filter
    metrics: list[str] = Field(min_length=1)
    detail_metrics: list[str] = Field(default_factory=list, alias="detailMetrics")


class QueryError(ValueError):
    """A query the API answers with 400; the message says what is wrong and where."""


class NotFoundError(LookupError):
    """An entity that does not exist (404)."""


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: object) -> M:
    if not isinstance(body, dict):
        raise QueryError("the request body is not a JSON object")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            raise QueryError(f"Unrecognized field '{where}'") from None
        raise QueryError(f"{where}: {first['msg']}") from None


def check_metrics(
    metrics: list[str], views: list[View], known: tuple[str, ...], timers: tuple[str, ...]
) -> None:
    for metric in metrics:
        if metric not in known:
            raise QueryError(
                f"metrics: {metric!r} is not supported (supported: {', '.join(known)})"
            )
    names = set()
    for view in views:
        if view.target not in timers:
            raise QueryError(f"views: target {view.target!r} is not a timer metric")
        if view.name in names:
            raise QueryError(f"views: duplicate view name {view.name!r}")
        names.add(view.name)
        if view.range.gte is None and view.range.lt is None:
            raise QueryError(f"views: view {view.name!r} needs range.gte and/or range.lt")


def conversation_metrics(query: AggregationQuery) -> None:
    check_metrics(query.metrics, query.views, QUEUE_METRICS, QUEUE_TIMERS)


def flow_metrics(query: AggregationQuery) -> None:
    check_metrics(query.metrics, query.views, FLOW_METRICS, FLOW_TIMERS)


Dimensions = Callable[[str], str | None]
"""An entity's value for a dimension (None: the entity has no value for it)."""

RowDimensions = Callable[[Predicate], "np.ndarray | None"]
"""A row mask for a predicate on a row-level dimension (None: not a row-level one)."""


def matches(filter_: Filter | None, dimensions: Dimensions, known: frozenset[str]) -> bool:
    """Whether an entity (a queue, a flow) passes the filter; dimensions are entity-level."""
    if filter_ is None:
        return True
    results = [_predicate(p, dimensions, known) for p in filter_.predicates]
    for clause in filter_.clauses:
        inner = [_predicate(p, dimensions, known) for p in clause.predicates]
        results.append(all(inner) if clause.type == "and" else any(inner))
    if not results:
        raise QueryError("filter: a filter needs predicates or clauses")
    return all(results) if filter_.type == "and" else any(results)


def _predicate(predicate: Predicate, dimensions: Dimensions, known: frozenset[str]) -> bool:
    if predicate.type != "dimension" or predicate.dimension is None:
        raise QueryError("filter: only dimension predicates are supported by the fake server")
    if predicate.dimension not in known:
        raise QueryError(
            f"filter: dimension {predicate.dimension!r} is not supported "
            f"(supported: {', '.join(sorted(known))})"
        )
    value = dimensions(predicate.dimension)
    if predicate.operator == "exists":
        return value is not None
    if predicate.operator == "notExists":
        return value is None
    if predicate.value is None:
        raise QueryError(f"filter: predicate on {predicate.dimension!r} has no value")
    return value == predicate.value


def row_mask(
    filter_: Filter | None,
    entity: Dimensions,
    rows: RowDimensions,
    known: frozenset[str],
    size: int,
) -> np.ndarray:
    """Which rows (visits, outcomes) of one entity pass the filter: entity-level predicates
    are the same for every row, row-level ones (``rows``) differ row by row."""
    if filter_ is None:
        return np.ones(size, dtype=bool)

    def one(predicate: Predicate) -> np.ndarray:
        found = rows(predicate)
        if found is not None:
            return found
        return np.full(size, _predicate(predicate, entity, known))

    results = [one(p) for p in filter_.predicates]
    for clause in filter_.clauses:
        inner = [one(p) for p in clause.predicates]
        combine = np.logical_and if clause.type == "and" else np.logical_or
        results.append(combine.reduce(inner))
    if not results:
        raise QueryError("filter: a filter needs predicates or clauses")
    combined: np.ndarray = (np.logical_and if filter_.type == "and" else np.logical_or).reduce(
        results
    )
    return combined
