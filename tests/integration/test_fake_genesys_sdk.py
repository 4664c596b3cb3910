"""Schema conformity of the fake Genesys Cloud API, judged by the official SDK
(``purecloudplatformclientv2``, test-only, imported lazily).

Requests are built from SDK model objects and serialized the way the SDK sends them;
responses are deserialized into the SDK's response models, and every key is checked
against the models' ``attribute_map`` (the SDK silently drops unknown keys).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import httpx
import pytest

from errorbudget.simulate import ManualClock, Simulation, default_scenario
from errorbudget.simulate.genesys_api import ApiSettings, create_app, parse_faults

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 10, 17, 0, tzinfo=UTC)
INTERVAL = "2026-11-09T00:00:00.000Z/2026-11-10T00:00:00.000Z"
PRIMITIVES = {"str", "int", "float", "bool", "datetime", "date", "object"}


@pytest.fixture(scope="module")
def sdk() -> ModuleType:
    try:
        return importlib.import_module("PureCloudPlatformClientV2")
    except ImportError as exc:  # the dev extra installs it (genesys-sdk)
        pytest.skip(f"the Genesys Cloud SDK (purecloudplatformclientv2) is not installed: {exc}")


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation(default_scenario(ANCHOR), seed=7)


class _Response:
    """What ``ApiClient.deserialize`` reads from a urllib3 response."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return "application/json" if name.lower() == "content-type" else default


def deserialize(sdk: ModuleType, body: Any, model: str) -> Any:
    return sdk.ApiClient().deserialize(_Response(json.dumps(body).encode()), model)


def unknown_keys(sdk: ModuleType, value: Any, kind: str, where: str = "$") -> list[str]:
    """Paths of keys in ``value`` that the SDK model ``kind`` does not define."""
    if value is None or kind in PRIMITIVES:
        return []
    if match := re.fullmatch(r"list\[(.+)\]", kind):
        assert isinstance(value, list), where
        return [
            p for i, v in enumerate(value) for p in unknown_keys(sdk, v, match[1], f"{where}[{i}]")
        ]
    if match := re.fullmatch(r"dict\(([^,]+), (.+)\)", kind):
        assert isinstance(value, dict), where
        return [p for k, v in value.items() for p in unknown_keys(sdk, v, match[2], f"{where}.{k}")]
    model = getattr(sdk.models, kind)()
    by_json = {
        json_key: model.swagger_types[attr] for attr, json_key in model.attribute_map.items()
    }
    assert isinstance(value, dict), f"{where} is not an object ({kind})"
    problems = [f"{where}.{key}" for key in value if key not in by_json]
    for key, item in value.items():
        if key in by_json:
            problems += unknown_keys(sdk, item, by_json[key], f"{where}.{key}")
    return problems


def call(sim: Simulation, requests: list[tuple[str, str, Any]]) -> list[httpx.Response]:
    app = create_app(sim, ManualClock(ANCHOR), parse_faults(""), ApiSettings())

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
            token = await client.post(
                "/oauth/token",
                auth=("errorbudget-sim", "errorbudget-sim-secret"),
                data={"grant_type": "client_credentials"},
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            responses = []
            for method, path, body in requests:
                responses.append(await client.request(method, path, json=body, headers=headers))
            return responses

    return asyncio.run(main())


def conversation_query(sdk: ModuleType, queue_ids: list[str]) -> dict[str, Any]:
    models = sdk.models
    predicates = []
    for queue_id in queue_ids:
        predicate = models.ConversationAggregateQueryPredicate()
        predicate.type = "dimension"
        predicate.dimension = "queueId"
        predicate.operator = "matches"
        predicate.value = queue_id
        predicates.append(predicate)
    clause = models.ConversationAggregateQueryClause()
    clause.type = "or"
    clause.predicates = predicates
    query_filter = models.ConversationAggregateQueryFilter()
    query_filter.type = "and"
    query_filter.clauses = [clause]
    view = models.ConversationAggregationView()
    view.target = "tAnswered"
    view.name = "answered_within_20s"
    view.function = "rangeBound"
    bound = models.AggregationRange()
    bound.lt = 20000
    view.range = bound
    query = models.ConversationAggregationQuery()
    query.interval = INTERVAL
    query.granularity = "PT30M"
    query.time_zone = "America/New_York"
    query.group_by = ["queueId", "mediaType"]
    query.filter = query_filter
    query.metrics = [
        "nOffered",
        "tAnswered",
        "tAbandon",
        "tShortAbandon",
        "tFlowOut",
        "nOverSla",
        "oServiceLevel",
        "tWait",
        "tHandle",
    ]
    query.views = [view]
    query.flatten_multivalued_dimensions = True
    body: dict[str, Any] = sdk.ApiClient().sanitize_for_serialization(query)
    return body


def test_conversation_aggregates_speak_the_sdk_schema(sdk: ModuleType, sim: Simulation) -> None:
    queue_ids = [q.id for q in sim.scenario.queues]
    body = conversation_query(sdk, queue_ids)
    assert set(body) >= {"interval", "groupBy", "timeZone", "flattenMultivaluedDimensions"}
    (response,) = call(sim, [("POST", "/api/v2/analytics/conversations/aggregates/query", body)])
    assert response.status_code == 200, response.text
    payload = response.json()
    assert unknown_keys(sdk, payload, "ConversationAggregateQueryResponse") == []
    parsed = deserialize(sdk, payload, "ConversationAggregateQueryResponse")
    assert {r.group["queueId"] for r in parsed.results} == set(queue_ids)
    point = parsed.results[0].data[0]
    names = {m.metric for m in point.metrics}
    assert "nOffered" in names
    for metric in point.metrics:
        if metric.metric == "oServiceLevel":
            assert metric.stats.denominator >= metric.stats.numerator >= 0
            assert 0 <= metric.stats.ratio <= 1
        elif metric.metric.startswith("t"):
            assert metric.stats.count > 0 and metric.stats.sum >= 0
    assert all(
        v.name == "answered_within_20s" for p in parsed.results[0].data for v in p.views or []
    )


def test_flow_aggregates_speak_the_sdk_schema(sdk: ModuleType, sim: Simulation) -> None:
    models = sdk.models
    predicate = models.FlowAggregateQueryPredicate()
    predicate.dimension = "flowId"
    predicate.value = sim.scenario.flow("Billing ES").id
    query_filter = models.FlowAggregateQueryFilter()
    query_filter.type = "or"
    query_filter.predicates = [predicate]
    query = models.FlowAggregationQuery()
    query.interval = INTERVAL
    query.granularity = "PT1H"
    query.group_by = ["flowId"]
    query.filter = query_filter
    query.metrics = [
        "nFlow",
        "nFlowOutcome",
        "nFlowOutcomeFailed",
        "tFlow",
        "tFlowDisconnect",
        "tFlowExit",
        "tFlowOutcome",
    ]
    body = sdk.ApiClient().sanitize_for_serialization(query)
    (response,) = call(sim, [("POST", "/api/v2/analytics/flows/aggregates/query", body)])
    assert response.status_code == 200, response.text
    assert unknown_keys(sdk, response.json(), "FlowAggregateQueryResponse") == []
    parsed = deserialize(sdk, response.json(), "FlowAggregateQueryResponse")
    assert parsed.results[0].group == {"flowId": predicate.value}
    assert (
        sum(m.stats.count for p in parsed.results[0].data for m in p.metrics if m.metric == "nFlow")
        > 100
    )


def test_queue_observations_speak_the_sdk_schema(sdk: ModuleType, sim: Simulation) -> None:
    models = sdk.models
    predicates = []
    for queue in sim.scenario.queues:
        predicate = models.QueueObservationQueryPredicate()
        predicate.dimension = "queueId"
        predicate.value = queue.id
        predicates.append(predicate)
    query_filter = models.QueueObservationQueryFilter()
    query_filter.type = "or"
    query_filter.predicates = predicates
    query = models.QueueObservationQuery()
    query.filter = query_filter
    query.metrics = [
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
    ]
    query.detail_metrics = ["oLongestWaiting", "oWaiting", "oLongestInteracting"]
    body = sdk.ApiClient().sanitize_for_serialization(query)
    (response,) = call(sim, [("POST", "/api/v2/analytics/queues/observations/query", body)])
    assert response.status_code == 200, response.text
    assert unknown_keys(sdk, response.json(), "QueueObservationQueryResponse") == []
    parsed = deserialize(sdk, response.json(), "QueueObservationQueryResponse")
    assert len(parsed.results) == 2 * len(sim.scenario.queues)
    observed = [o for r in parsed.results for d in r.data for o in d.observations or []]
    assert observed and all(isinstance(o.observation_date, datetime) for o in observed)


def test_listings_and_errors_speak_the_sdk_schema(sdk: ModuleType, sim: Simulation) -> None:
    queue = sim.scenario.queues[0]
    responses = call(
        sim,
        [
            ("GET", "/api/v2/routing/queues?pageSize=5&pageNumber=2", None),
            ("GET", f"/api/v2/routing/queues/{queue.id}", None),
            ("GET", "/api/v2/flows?type=inboundcall", None),
            ("POST", "/api/v2/analytics/conversations/aggregates/query", {"interval": "bad"}),
        ],
    )
    listing, single, flows, error = responses
    assert unknown_keys(sdk, listing.json(), "QueueEntityListing") == []
    parsed = deserialize(sdk, listing.json(), "QueueEntityListing")
    assert (parsed.page_number, parsed.page_size, parsed.total, parsed.page_count) == (2, 5, 8, 2)
    assert len(parsed.entities) == 3 and parsed.previous_uri and not parsed.next_uri
    assert unknown_keys(sdk, single.json(), "Queue") == []
    one = deserialize(sdk, single.json(), "Queue")
    assert one.media_settings.call.service_level.duration_ms == queue.sl_target_seconds * 1000
    assert unknown_keys(sdk, flows.json(), "FlowEntityListing") == []
    assert {f.type for f in deserialize(sdk, flows.json(), "FlowEntityListing").entities} == {
        "INBOUNDCALL"
    }
    assert error.status_code == 400
    assert unknown_keys(sdk, error.json(), "ErrorBody") == []
    assert deserialize(sdk, error.json(), "ErrorBody").code == "bad.request"


def test_rate_limit_error_speaks_the_sdk_schema(sdk: ModuleType, sim: Simulation) -> None:
    app = create_app(sim, ManualClock(ANCHOR), parse_faults("429=1:2s"), ApiSettings())

    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
            token = await client.post(
                "/oauth/token",
                auth=("errorbudget-sim", "errorbudget-sim-secret"),
                data={"grant_type": "client_credentials"},
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            return await client.get("/api/v2/routing/queues", headers=headers)

    response = asyncio.run(main())
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert unknown_keys(sdk, response.json(), "ErrorBody") == []
    body = deserialize(sdk, response.json(), "ErrorBody")
    assert body.code == "too.many.requests.retry.after" and body.message_params["limit"] == "300"


def test_interval_strings_parse_as_the_sdk_expects(sdk: ModuleType, sim: Simulation) -> None:
    del sdk
    body = {
        "interval": INTERVAL,
        "granularity": "PT15M",
        "metrics": ["nOffered"],
        "groupBy": ["queueId"],
    }
    (response,) = call(sim, [("POST", "/api/v2/analytics/conversations/aggregates/query", body)])
    for result in response.json()["results"]:
        for point in result["data"]:
            start, end = (datetime.fromisoformat(p) for p in point["interval"].split("/"))
            assert end - start == timedelta(minutes=15)


def test_unknown_key_walker_catches_strays(sdk: ModuleType) -> None:
    stray = {
        "results": [
            {
                "group": {"queueId": "q"},
                "grup": {},
                "data": [
                    {"interval": INTERVAL, "metrics": [{"metric": "nOffered", "stats": {"cnt": 1}}]}
                ],
            }
        ]
    }
    assert unknown_keys(sdk, stray, "ConversationAggregateQueryResponse") == [
        "$.results[0].grup",
        "$.results[0].data[0].metrics[0].stats.cnt",
    ]


def test_the_collectors_queries_speak_the_sdk_schema(sdk: ModuleType) -> None:
    """The collector's own request bodies (queue query with views, the three IVR queries)
    are SDK request models, every enum value one the SDK knows."""
    from errorbudget.sources.genesys.queries import FlowQuery, QueueQuery

    start = int(datetime(2026, 11, 9, tzinfo=UTC).timestamp() // 60)
    granularity = timedelta(minutes=15)
    queue_query = QueueQuery(("voice",), ("q1",), (20, 30), (20_000, 30_000))
    bodies = [(queue_query.body(start, start + 60, granularity), "ConversationAggregationQuery")]
    bodies += [
        (body, "FlowAggregationQuery")
        for body in FlowQuery(("f1",)).bodies(start, start + 60, granularity)
    ]
    for body, model in bodies:
        assert unknown_keys(sdk, body, model) == [], body
        parsed = deserialize(sdk, body, model)
        assert "outdated_sdk_version" not in json.dumps(
            sdk.ApiClient().sanitize_for_serialization(parsed)
        ), body


def test_what_the_collector_reads_of_service_levels_speaks_the_sdk_schema(
    sdk: ModuleType,
) -> None:
    """After a target change: the queue listing's mediaSettings and the aggregates'
    oServiceLevel (numerator, denominator, target) as the SDK models have them (#7)."""
    from errorbudget.sources.genesys.service_levels import ServiceLevelTarget, media_targets

    sim = Simulation(default_scenario(ANCHOR), seed=7)
    support = sim.scenario.queue("Support")
    sim.set_service_level_target(sim.scenario.queues.index(support), percent=90, seconds=15)
    body = conversation_query(sdk, [support.id])
    listing, answer = call(
        sim,
        [
            ("GET", "/api/v2/routing/queues?pageSize=100", None),
            ("POST", "/api/v2/analytics/conversations/aggregates/query", body),
        ],
    )
    assert unknown_keys(sdk, listing.json(), "QueueEntityListing") == []
    parsed = deserialize(sdk, listing.json(), "QueueEntityListing")
    (queue,) = [q for q in parsed.entities if q.id == support.id]
    assert queue.media_settings.call.service_level.duration_ms == 15_000
    assert queue.media_settings.call.service_level.percentage == 0.9
    (entity,) = [e for e in listing.json()["entities"] if e["id"] == support.id]
    assert media_targets(entity)["voice"] == ServiceLevelTarget(0.9, 15_000)
    assert unknown_keys(sdk, answer.json(), "ConversationAggregateQueryResponse") == []
    levels = [
        m.stats
        for r in deserialize(sdk, answer.json(), "ConversationAggregateQueryResponse").results
        for p in r.data
        for m in p.metrics
        if m.metric == "oServiceLevel"
    ]
    assert levels and all(s.target == 0.9 and s.denominator >= s.numerator for s in levels)


def test_the_queue_exporters_queries_and_answers_speak_the_sdk_schema(
    sdk: ModuleType, sim: Simulation
) -> None:
    """The queue families' request bodies (aggregates with a ``rangeBound`` view on ``tWait``
    per histogram bound, observations by routing status) are SDK request models, and the
    fake's answers to them are SDK response models with every view the exporter reads (#11)."""
    from errorbudget.model import to_minute
    from errorbudget.sources.genesys.queue_metrics import (
        WAIT_BUCKETS,
        aggregates_body,
        observations_body,
        parse_aggregates,
        parse_depth_and_agents,
        wait_view,
    )

    ids = [q.id for q in sim.scenario.queues]
    start = to_minute(datetime(2026, 11, 10, 14, tzinfo=UTC))
    aggregates = aggregates_body(start, start + 60, 1, ids)
    observations = observations_body(ids)
    for body, model in (
        (aggregates, "ConversationAggregationQuery"),
        (observations, "QueueObservationQuery"),
    ):
        assert unknown_keys(sdk, body, model) == [], body
        parsed = deserialize(sdk, body, model)
        assert "outdated_sdk_version" not in json.dumps(
            sdk.ApiClient().sanitize_for_serialization(parsed)
        ), body
    answers = call(
        sim,
        [
            ("POST", "/api/v2/analytics/conversations/aggregates/query", aggregates),
            ("POST", "/api/v2/analytics/queues/observations/query", observations),
        ],
    )
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    aggregate_answer, observation_answer = (a.json() for a in answers)
    assert unknown_keys(sdk, aggregate_answer, "ConversationAggregateQueryResponse") == []
    assert unknown_keys(sdk, observation_answer, "QueueObservationQueryResponse") == []
    parsed = deserialize(sdk, aggregate_answer, "ConversationAggregateQueryResponse")
    names = {v.name for r in parsed.results for p in r.data for v in p.views or []}
    assert names == {wait_view(b) for b in WAIT_BUCKETS}
    rows = parse_aggregates(aggregate_answer)
    assert sum(r.offered for r in rows) > 100
    assert all(r.wait_within[-1] <= r.wait_count for r in rows)
    assert all(list(r.wait_within) == sorted(r.wait_within) for r in rows)  # cumulative
    deserialize(sdk, observation_answer, "QueueObservationQueryResponse")
    depth, agents = parse_depth_and_agents(observation_answer)
    assert {q for q, _ in depth} == set(ids) and {q for q, _ in agents} == set(ids)
