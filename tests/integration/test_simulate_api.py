"""The fake Genesys Cloud API, in process (httpx.ASGITransport): auth, paging, analytics,
validation, rate limit, faults, status page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from errorbudget.simulate import ManualClock, Simulation, default_scenario, ground_truth
from errorbudget.simulate.genesys_api import ApiSettings, FaultSpecError, create_app, parse_faults
from errorbudget.simulate.intervals import IntervalError, bucket_edges, parse_granularity, zone

ANCHOR = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CONVERSATIONS = "/api/v2/analytics/conversations/aggregates/query"
FLOWS = "/api/v2/analytics/flows/aggregates/query"
OBSERVATIONS = "/api/v2/analytics/queues/observations/query"
SECRET = ("errorbudget-sim", "errorbudget-sim-secret")

Client = httpx.AsyncClient


@pytest.fixture(scope="module")
def sim() -> Simulation:
    return Simulation(default_scenario(ANCHOR), seed=7)


def run(
    sim: Simulation,
    scenario: Callable[[Client, dict[str, str]], Awaitable[Any]],
    faults: str = "",
    clock: ManualClock | None = None,
    **settings: Any,
) -> Any:
    """Run ``scenario(client, auth headers)`` against a fresh app."""
    app = create_app(
        sim, clock or ManualClock(ANCHOR), parse_faults(faults), ApiSettings(**settings)
    )

    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
            headers = await login(client)
            return await scenario(client, headers)

    return asyncio.run(main())


async def login(client: Client) -> dict[str, str]:
    response = await client.post(
        "/oauth/token", auth=SECRET, data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def interval(start: datetime, end: datetime) -> str:
    return f"{start:%Y-%m-%dT%H:%M:%S.000Z}/{end:%Y-%m-%dT%H:%M:%S.000Z}"


def sl_query(start: datetime, end: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "interval": interval(start, end),
        "granularity": "PT15M",
        "groupBy": ["queueId", "mediaType"],
        "metrics": [
            "nOffered",
            "tAnswered",
            "tAbandon",
            "tShortAbandon",
            "tFlowOut",
            "nOverSla",
            "oServiceLevel",
        ],
        **extra,
    }


def metric_counts(body: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    found = {}
    for result in body.get("results", []):
        for point in result["data"]:
            for metric in point["metrics"]:
                key = (result["group"]["queueId"], point["interval"], metric["metric"])
                found[key] = metric["stats"]
    return found


# --- auth ----------------------------------------------------------------------------------


def test_token_endpoint_and_bad_credentials(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> None:
        bad = await client.post(
            "/oauth/token",
            auth=("errorbudget-sim", "wrong"),
            data={"grant_type": "client_credentials"},
        )
        assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
        grant = await client.post("/oauth/token", auth=SECRET, data={"grant_type": "password"})
        assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
        token = await client.post(
            "/oauth/token", auth=SECRET, data={"grant_type": "client_credentials"}
        )
        assert token.json()["token_type"] == "bearer" and token.json()["expires_in"] == 3600
        missing = await client.get("/api/v2/routing/queues")
        assert missing.status_code == 401
        assert missing.json()["code"] == "authentication.required"
        wrong = await client.get("/api/v2/routing/queues", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "bad.credentials"
        assert set(wrong.json()) >= {"message", "code", "status", "contextId", "details", "errors"}

    run(sim, scenario, token_ttl_seconds=3600)


# --- directory -----------------------------------------------------------------------------


def test_queue_listing_pages_and_filters(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> None:
        first = (await client.get("/api/v2/routing/queues?pageSize=3", headers=headers)).json()
        assert (first["total"], first["pageCount"], first["pageNumber"]) == (8, 3, 1)
        assert len(first["entities"]) == 3 and "nextUri" in first and "previousUri" not in first
        ids = []
        for page in (1, 2, 3):
            body = (
                await client.get(
                    f"/api/v2/routing/queues?pageSize=3&pageNumber={page}", headers=headers
                )
            ).json()
            ids += [e["id"] for e in body["entities"]]
        assert ids == [q.id for q in sim.scenario.queues]
        named = (await client.get("/api/v2/routing/queues?name=billing*", headers=headers)).json()
        assert {e["name"] for e in named["entities"]} == {"Billing ES"}
        vip = sim.scenario.queue("VIP Billing")
        one = (await client.get(f"/api/v2/routing/queues/{vip.id}", headers=headers)).json()
        assert one["mediaSettings"]["call"]["serviceLevel"] == {
            "percentage": 0.9,
            "durationMs": 20000,
        }
        missing = await client.get("/api/v2/routing/queues/nope", headers=headers)
        assert missing.status_code == 404 and missing.json()["code"] == "not.found"
        too_big = await client.get("/api/v2/routing/queues?pageSize=501", headers=headers)
        assert too_big.status_code == 400
        flows = (await client.get("/api/v2/flows?type=inboundcall", headers=headers)).json()
        assert {f["name"] for f in flows["entities"]} == {"Main Menu", "Billing ES"}

    run(sim, scenario)


# --- conversation aggregates ------------------------------------------------------------------


def test_conversation_aggregates_equal_ground_truth(sim: Simulation) -> None:
    start, end = ANCHOR - DAY, ANCHOR

    async def scenario(client: Client, headers: dict[str, str]) -> dict[str, Any]:
        response = await client.post(CONVERSATIONS, json=sl_query(start, end), headers=headers)
        assert response.status_code == 200
        assert response.headers["inin-ratelimit-allowed"] == "300"
        body: dict[str, Any] = response.json()
        return body

    found = metric_counts(run(sim, scenario))
    truth = ground_truth(sim, start, end)
    assert truth
    for (queue_id, _, slot), counts in truth.items():
        key = interval(slot, slot + timedelta(minutes=15))

        def count(metric: str, queue_id: str = queue_id, key: str = key) -> int:
            return int(found.get((queue_id, key, metric), {}).get("count", 0))

        assert count("nOffered") == counts.offered
        assert count("tAnswered") == counts.answered
        assert count("tAbandon") == counts.abandoned
        assert count("tShortAbandon") == counts.short_abandoned
        assert count("tFlowOut") == counts.flow_outs
        assert count("nOverSla") == counts.over_sla
        sl = found.get((queue_id, key, "oServiceLevel"))
        denominator = counts.sl_denominator(sim.scenario.service_level)
        if denominator:
            assert sl is not None
            assert sl["numerator"] == counts.answered_within_target
            assert sl["denominator"] == denominator
            assert sl["ratio"] == pytest.approx(counts.answered_within_target / denominator)
        else:
            assert sl is None
    # nothing beyond the truth: every reported offered count is in it
    offered = {(q, i) for (q, i, m) in found if m == "nOffered"}
    assert len(offered) == sum(1 for c in truth.values() if c.offered)


def test_timers_views_filters_and_grouping(sim: Simulation) -> None:
    vip = sim.scenario.queue("VIP Billing")
    start, end = ANCHOR - DAY, ANCHOR

    async def scenario(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
        query = {
            "interval": interval(start, end),
            "granularity": "P1D",
            "timeZone": "UTC",
            "filter": {
                "type": "and",
                "clauses": [
                    {"type": "or", "predicates": [{"dimension": "queueId", "value": vip.id}]}
                ],
                "predicates": [{"type": "dimension", "dimension": "mediaType", "value": "voice"}],
            },
            "metrics": ["tAnswered", "tHandle"],
            "views": [
                {
                    "target": "tAnswered",
                    "name": "within20",
                    "function": "rangeBound",
                    "range": {"lt": 20000},
                }
            ],
        }
        one = (await client.post(CONVERSATIONS, json=query, headers=headers)).json()
        everything = (
            await client.post(
                CONVERSATIONS,
                json={"interval": interval(start, end), "metrics": ["nOffered"]},
                headers=headers,
            )
        ).json()
        nothing = await client.post(
            CONVERSATIONS,
            json={
                "interval": interval(start, end),
                "metrics": ["nOffered"],
                "filter": {"type": "or", "predicates": [{"dimension": "queueId", "value": "x"}]},
            },
            headers=headers,
        )
        assert nothing.status_code == 200 and nothing.json() == {}
        return [one, everything]

    one, everything = run(sim, scenario)
    truth = ground_truth(sim, start, end, interval=DAY, answered_within=[20])
    counts = truth[(vip.id, "voice", start)]
    (result,) = one["results"]
    assert "group" not in result  # no groupBy
    (point,) = result["data"]
    answered = point["metrics"][0]
    assert answered["metric"] == "tAnswered" and answered["stats"]["count"] == counts.answered
    assert set(answered["stats"]) == {"max", "min", "count", "sum"}
    assert (
        answered["stats"]["min"]
        <= answered["stats"]["sum"] / counts.answered
        <= answered["stats"]["max"]
    )
    assert point["views"][0]["stats"]["count"] == counts.answered_within[20]
    total = ground_truth(sim, start, end, interval=DAY)
    assert everything["results"][0]["data"][0]["metrics"][0]["stats"]["count"] == sum(
        c.offered for c in total.values()
    )


def test_open_interval_is_partial_and_revised(sim: Simulation) -> None:
    clock = ManualClock(ANCHOR + timedelta(minutes=7))
    slot = ANCHOR, ANCHOR + timedelta(minutes=15)
    before = ANCHOR - timedelta(minutes=15), ANCHOR

    async def scenario(client: Client, headers: dict[str, str]) -> list[dict[str, Any]]:
        seen = []
        for moment in (ANCHOR + timedelta(minutes=7), ANCHOR + timedelta(minutes=40)):
            clock.set(moment)
            query = sl_query(before[0], slot[1])
            seen.append(
                metric_counts(
                    (await client.post(CONVERSATIONS, json=query, headers=headers)).json()
                )
            )
        return seen

    early, late = run(sim, scenario, clock=clock)

    def offered(
        found: dict[tuple[str, str, str], dict[str, Any]], span: tuple[datetime, datetime]
    ) -> int:
        key = interval(*span)
        return sum(s["count"] for (q, i, m), s in found.items() if i == key and m == "nOffered")

    assert 0 < offered(early, slot) < offered(late, slot)
    assert offered(early, before) == offered(late, before)  # a closed interval is final
    truth = ground_truth(sim, slot[0], slot[1], as_of=ANCHOR + timedelta(minutes=7))
    assert offered(early, slot) == sum(c.offered for c in truth.values())


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"metrics": ["nOffered"]}, "interval"),
        ({"interval": "2026-11-02T00:00:00Z", "metrics": ["nOffered"]}, "start/end"),
        (
            {"interval": "2026-11-03T00:00:00Z/2026-11-02T00:00:00Z", "metrics": ["nOffered"]},
            "ends before",
        ),
        (
            {"interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z", "metrics": ["nBogus"]},
            "nBogus",
        ),
        ({"interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z", "metrics": []}, "metrics"),
        (
            {
                "interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z",
                "metrics": ["nOffered"],
                "granularity": "PT15X",
            },
            "granularity",
        ),
        (
            {
                "interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z",
                "metrics": ["nOffered"],
                "groupBy": ["wrapUpCode"],
            },
            "wrapUpCode",
        ),
        (
            {
                "interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z",
                "metrics": ["nOffered"],
                "timeZone": "Mars/Olympus",
            },
            "timeZone",
        ),
        (
            {
                "interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z",
                "metrics": ["nOffered"],
                "filter": {"type": "xor", "predicates": []},
            },
            "filter.type",
        ),
        (
            {
                "interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z",
                "metrics": ["nOffered"],
                "views": [{"target": "nOffered", "name": "v", "range": {"lt": 1}}],
            },
            "timer",
        ),
        (
            {"interval": "2026-11-02T00:00:00Z/2026-11-03T00:00:00Z", "metric": ["nOffered"]},
            "metric",
        ),
    ],
)
def test_invalid_queries_get_400_with_the_error_body(
    sim: Simulation, body: dict[str, Any], fragment: str
) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> httpx.Response:
        return await client.post(CONVERSATIONS, json=body, headers=headers)

    response = run(sim, scenario)
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "bad.request" and error["status"] == 400
    assert fragment in error["message"]
    assert error["details"] == [] and error["errors"] == [] and error["contextId"]


def test_service_level_follows_the_org_setting() -> None:
    scenario = default_scenario(ANCHOR)
    setting = scenario.service_level.model_copy(
        update={"include_flow_outs": True, "exclude_short_abandons": False}
    )
    sim = Simulation(scenario.model_copy(update={"service_level": setting}), seed=7)
    start, end = ANCHOR - DAY, ANCHOR

    async def scenario_(client: Client, headers: dict[str, str]) -> dict[str, Any]:
        query = sl_query(start, end) | {"granularity": "P1D"}
        return (await client.post(CONVERSATIONS, json=query, headers=headers)).json()

    found = metric_counts(run(sim, scenario_))
    truth = ground_truth(sim, start, end, interval=DAY)
    for (queue_id, _, slot), counts in truth.items():
        sl = found[(queue_id, interval(slot, slot + DAY), "oServiceLevel")]
        assert sl["denominator"] == counts.answered + counts.abandoned + counts.flow_outs


def test_changing_the_orgs_settings_recalculates_history() -> None:
    """The /_fake hooks change a queue's target and the org's options; like Genesys, the
    routing queue shows the new target and past intervals follow both (#7)."""
    sim = Simulation(default_scenario(ANCHOR), seed=7)
    support = sim.scenario.queue("Support")
    start, end = ANCHOR - DAY, ANCHOR
    query = sl_query(start, end) | {"granularity": "P1D"}
    key = (support.id, interval(start, end), "oServiceLevel")

    async def scenario_(client: Client, headers: dict[str, str]) -> list[Any]:
        before = (await client.post(CONVERSATIONS, json=query, headers=headers)).json()
        changed = await client.post(
            f"/_fake/queues/{support.id}/service-level", json={"durationMs": 10_000}
        )
        options = await client.post(
            "/_fake/service-level-calculation", json={"includeFlowOuts": True}
        )
        bad = await client.post(f"/_fake/queues/{support.id}/service-level", json={"x": 1})
        queue = await client.get(f"/api/v2/routing/queues/{support.id}", headers=headers)
        after = (await client.post(CONVERSATIONS, json=query, headers=headers)).json()
        return [before, changed.json(), options.json(), bad.status_code, queue.json(), after]

    before, changed, options, bad, queue, after = run(sim, scenario_)
    assert changed == {"percentage": 0.8, "durationMs": 10_000}
    assert options == {"includeFlowOuts": True, "excludeShortAbandons": True}
    assert bad == 400
    assert queue["mediaSettings"]["call"]["serviceLevel"] == {
        "percentage": 0.8,
        "durationMs": 10_000,
    }
    old, new = metric_counts(before)[key], metric_counts(after)[key]
    assert new["numerator"] < old["numerator"]  # the same day, against 10 s instead of 30 s
    truth = ground_truth(sim, start, end, interval=DAY)[(support.id, "voice", start)]
    flows = truth.answered + truth.abandoned - truth.short_abandoned + truth.flow_outs
    assert (old["denominator"], new["denominator"]) == (flows - truth.flow_outs, flows)


# --- flows and observations -------------------------------------------------------------------


def test_flow_aggregates(sim: Simulation) -> None:
    start, end = ANCHOR - DAY, ANCHOR

    async def scenario(client: Client, headers: dict[str, str]) -> dict[str, Any]:
        query = {
            "interval": interval(start, end),
            "granularity": "PT1H",
            "groupBy": ["flowId"],
            "metrics": [
                "nFlow",
                "nFlowOutcome",
                "nFlowOutcomeFailed",
                "tFlowDisconnect",
                "tFlowExit",
                "tFlow",
                "tFlowOutcome",
            ],
        }
        return (await client.post(FLOWS, json=query, headers=headers)).json()

    body = run(sim, scenario)
    totals: dict[tuple[str, str], int] = {}
    for result in body["results"]:
        for point in result["data"]:
            for metric in point["metrics"]:
                key = (result["group"]["flowId"], metric["metric"])
                totals[key] = totals.get(key, 0) + metric["stats"]["count"]
    from errorbudget.simulate import flow_ground_truth

    truth = flow_ground_truth(sim, start, end, interval=DAY)
    for (flow_id, _), counts in truth.items():
        assert totals[(flow_id, "nFlow")] == counts.entries
        assert totals[(flow_id, "nFlowOutcome")] == counts.outcomes
        assert totals[(flow_id, "nFlowOutcomeFailed")] == counts.failed_outcomes
        assert totals[(flow_id, "tFlowDisconnect")] == counts.disconnects
        assert totals[(flow_id, "tFlowExit")] == counts.exits


def test_queue_observations(sim: Simulation) -> None:
    clock = ManualClock(ANCHOR + timedelta(hours=2))  # 12:00 New York: busy
    ids = [q.id for q in sim.scenario.queues]

    async def scenario(client: Client, headers: dict[str, str]) -> list[httpx.Response]:
        query = {
            "filter": {
                "type": "or",
                "predicates": [{"dimension": "queueId", "value": i} for i in ids],
            },
            "metrics": [
                "oWaiting",
                "oInteracting",
                "oLongestWaiting",
                "oOnQueueUsers",
                "oMemberUsers",
            ],
            "detailMetrics": ["oLongestWaiting"],
        }
        good = await client.post(OBSERVATIONS, json=query, headers=headers)
        bad = await client.post(
            OBSERVATIONS,
            json={
                "filter": {
                    "type": "or",
                    "predicates": [{"dimension": "mediaType", "value": "voice"}],
                },
                "metrics": ["oWaiting"],
            },
            headers=headers,
        )
        return [good, bad]

    good, bad = run(sim, scenario, clock=clock)
    assert bad.status_code == 400
    results = good.json()["results"]
    conversation = [r for r in results if "mediaType" in r["group"]]
    users = [r for r in results if "mediaType" not in r["group"]]
    assert len(conversation) == len(users) == len(ids)
    interacting = sum(
        d["stats"]["count"]
        for r in conversation
        for d in r["data"]
        if d["metric"] == "oInteracting"
    )
    assert interacting > 0
    for r in conversation:
        longest = next(d for d in r["data"] if d["metric"] == "oLongestWaiting")
        waiting = next(d for d in r["data"] if d["metric"] == "oWaiting")["stats"]["count"]
        if waiting:
            assert longest["stats"]["calculatedMetricValue"] > 0
            assert len(longest["observations"]) == 1
    for r in users:
        members = next(d for d in r["data"] if d["metric"] == "oMemberUsers")["stats"]["count"]
        on_queue = sum(d["stats"]["count"] for d in r["data"] if d["metric"] == "oOnQueueUsers")
        assert 0 <= on_queue <= members


# --- rate limit and faults ---------------------------------------------------------------------


def test_rate_limit_headers_and_429(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> list[httpx.Response]:
        return [await client.get("/api/v2/routing/queues", headers=headers) for _ in range(6)]

    responses = run(sim, scenario, rate_limit_per_minute=5)
    assert [r.status_code for r in responses] == [200] * 5 + [429]
    assert [r.headers["inin-ratelimit-count"] for r in responses[:5]] == ["1", "2", "3", "4", "5"]
    limited = responses[-1]
    assert limited.json()["code"] == "too.many.requests.retry.after"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.headers["inin-ratelimit-allowed"] == "5"


def test_injected_faults_are_deterministic_and_counted(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> tuple[list[int], dict[str, Any]]:
        statuses = []
        for _ in range(200):
            response = await client.get("/api/v2/routing/queues", headers=headers)
            if response.status_code == 200:
                try:
                    response.json()
                except ValueError:
                    statuses.append(-1)  # malformed
                    continue
            statuses.append(response.status_code)
        return statuses, (await client.get("/_fake/stats")).json()

    spec = "429=0.2:3s,5xx=0.1,malformed=0.05,seed=4"
    statuses, stats = run(sim, scenario, spec)
    again, _ = run(sim, scenario, spec)
    assert statuses == again
    assert 20 < statuses.count(429) < 70
    assert 5 < sum(1 for s in statuses if s >= 500) < 40
    assert statuses.count(-1) > 0
    assert stats["faults"]["429"] == statuses.count(429)
    assert stats["byPath"]["/api/v2/routing/queues"]["429"] == statuses.count(429)


def test_5xx_bursts_and_429_storms(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> list[int]:
        return [
            (await client.get("/api/v2/routing/queues", headers=headers)).status_code
            for _ in range(300)
        ]

    statuses = run(sim, scenario, "5xx=0.02:5,seed=1")
    runs, current = [], 0
    for status in statuses:
        if status >= 500:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    assert runs and all(length % 5 == 0 for length in runs)


def test_token_revoked_after_n_requests(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> list[int]:
        statuses = [
            (await client.get("/api/v2/routing/queues", headers=headers)).status_code
            for _ in range(5)
        ]
        fresh = await login(client)
        statuses.append((await client.get("/api/v2/routing/queues", headers=fresh)).status_code)
        return statuses

    assert run(sim, scenario, "revoke-token-after=3") == [200, 200, 401, 401, 401, 200]


def test_token_expires_early(sim: Simulation) -> None:
    # every token dies within 0.2–1 s while still advertising expires_in
    assert run(sim, _sleep_then_get(0.0), "expire-token-early=1:1s") == 200
    assert run(sim, _sleep_then_get(1.1), "expire-token-early=1:1s") == 401


def _sleep_then_get(seconds: float) -> Callable[[Client, dict[str, str]], Awaitable[int]]:
    async def scenario(client: Client, headers: dict[str, str]) -> int:
        await asyncio.sleep(seconds)
        return (await client.get("/api/v2/routing/queues", headers=headers)).status_code

    return scenario


def test_outage_window_and_status_page(sim: Simulation) -> None:
    clock = ManualClock(ANCHOR)

    async def scenario(client: Client, headers: dict[str, str]) -> list[Any]:
        seen: list[Any] = []
        for minutes in (0, 125, 131):
            clock.set(ANCHOR + timedelta(minutes=minutes))
            response = await client.get("/api/v2/routing/queues", headers=headers)
            token = await client.post(
                "/oauth/token", auth=SECRET, data={"grant_type": "client_credentials"}
            )
            status = (await client.get("/api/v2/summary.json")).json()
            seen.append((response.status_code, token.status_code, status["status"]["indicator"]))
        return seen

    seen = run(sim, scenario, "outage=+2h:10m", clock=clock)
    assert seen[0][:2] == (200, 200)
    assert seen[1] == (503, 503, "critical")
    assert seen[2][:2] == (200, 200)


def test_status_page_reflects_incidents(sim: Simulation) -> None:
    api_incident = next(i for i in sim.scenario.incidents if i.api_error_rate)
    clock = ManualClock(api_incident.start + timedelta(minutes=5))

    async def scenario(client: Client, headers: dict[str, str]) -> tuple[dict[str, Any], list[int]]:
        status = (await client.get("/api/v2/summary.json")).json()
        codes = [
            (await client.get("/api/v2/routing/queues", headers=headers)).status_code
            for _ in range(40)
        ]
        return status, codes

    status, codes = run(sim, scenario, clock=clock)
    assert set(status) == {"page", "status", "components", "incidents", "scheduled_maintenances"}
    assert status["status"]["indicator"] == "major"
    component = next(c for c in status["components"] if c["name"] == "Platform API")
    assert component["status"] == "partial_outage"
    assert api_incident.name in {i["name"] for i in status["incidents"]}
    assert 5 < codes.count(503) < 35


def test_slow_responses(sim: Simulation) -> None:
    async def scenario(client: Client, headers: dict[str, str]) -> float:
        began = time.perf_counter()
        await client.get("/api/v2/routing/queues", headers=headers)
        return time.perf_counter() - began

    assert run(sim, scenario, "slow=1:1s") >= 0.9


# --- performance ---------------------------------------------------------------------------------


def test_one_day_all_queues_answers_quickly(sim: Simulation) -> None:
    start = ANCHOR - 3 * DAY

    async def scenario(client: Client, headers: dict[str, str]) -> float:
        query = sl_query(start, start + DAY) | {
            "metrics": [
                "nOffered",
                "tAnswered",
                "tAbandon",
                "tShortAbandon",
                "tFlowOut",
                "nOverSla",
                "oServiceLevel",
                "tHandle",
                "tWait",
            ]
        }
        await client.post(CONVERSATIONS, json=query, headers=headers)  # generate (cold)
        timings = []
        for _ in range(5):
            began = time.perf_counter()
            response = await client.post(CONVERSATIONS, json=query, headers=headers)
            timings.append(time.perf_counter() - began)
            assert response.status_code == 200
        return min(timings)

    assert run(sim, scenario) < 0.1


# --- parsing -----------------------------------------------------------------------------------


def test_fault_spec_parsing() -> None:
    spec = parse_faults(
        "429=0.3,5xx=0.1,slow=0.05:2s,malformed=0.01,revoke-token-after=50,"
        "expire-token-early=0.2,outage=+2h:5m"
    )
    assert (spec.rate_429, spec.rate_5xx, spec.rate_slow, spec.slow_seconds) == (0.3, 0.1, 0.05, 2)
    assert (spec.rate_malformed, spec.revoke_token_after, spec.rate_expire_early) == (0.01, 50, 0.2)
    (outage,) = spec.outages
    assert outage.window(ANCHOR) == (
        ANCHOR + timedelta(hours=2),
        ANCHOR + timedelta(hours=2, minutes=5),
    )
    absolute = parse_faults("outage=2026-11-10T17:00Z:5m").outages[0]
    assert absolute.window(ANCHOR)[0] == ANCHOR + timedelta(hours=2)
    assert parse_faults("").empty
    for bad in ("429=2", "bogus=1", "slow=0.1:soon", "outage=5m", "revoke-token-after=0", "429"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


def test_granularity_and_time_zone_buckets() -> None:
    new_york = zone("America/New_York")
    start = datetime(2026, 10, 31, 4, 0, tzinfo=UTC)  # midnight New York, DST ends 11-01
    edges = bucket_edges(start, start + 3 * DAY, parse_granularity("P1D"), new_york)
    assert [e.astimezone(new_york).hour for e in edges[:-1]] == [0, 0, 0]
    assert edges[2] - edges[1] == timedelta(hours=25)
    assert len(bucket_edges(start, start + DAY, parse_granularity("PT15M"), new_york)) == 97
    with pytest.raises(IntervalError):
        parse_granularity("PT30S")
