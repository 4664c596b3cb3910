"""Pure parts of the Genesys source: regions, config, query bodies, formulas, pacing."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest

from errorbudget.config import parse_config
from errorbudget.errors import ConfigValidationError
from errorbudget.model import SLO, to_minute
from errorbudget.source_catalog import SourceCatalog
from errorbudget.sources import BUILTIN_SOURCES, SourcePlugin, plugin
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.observations import parse_observations
from errorbudget.sources.genesys.queries import (
    FlowQuery,
    IntervalCounts,
    QueueQuery,
    iso_duration,
    iso_interval,
    merge_queue_queries,
    parse_aggregates,
)
from errorbudget.sources.genesys.regions import REGIONS, find_region
from errorbudget.sources.genesys.resilience import (
    Backoff,
    CircuitBreaker,
    CircuitOpenError,
    RateLimiter,
)
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.sources.genesys.slis import Names, flow_good_total, queue_counts, queue_good_total


class VirtualTimer:
    def __init__(self) -> None:
        self.t = 0.0
        self.starts: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        await asyncio.sleep(0)


# --- regions and config -----------------------------------------------------------------------


def test_region_table() -> None:
    domains = {r.domain for r in REGIONS}
    for expected in ("mypurecloud.com", "usw2.pure.cloud", "cac1.pure.cloud", "mypurecloud.ie",
                     "euw2.pure.cloud", "mypurecloud.de", "aps1.pure.cloud", "apne2.pure.cloud",
                     "mypurecloud.com.au", "mypurecloud.jp", "sae1.pure.cloud"):  # fmt: skip
        assert expected in domains
    assert find_region("eu-central-1").api_url == "https://api.mypurecloud.de"
    assert (
        find_region("https://login.usw2.pure.cloud/").login_url == "https://login.usw2.pure.cloud"
    )
    with pytest.raises(ValueError, match=r"did you mean 'usw2\.pure\.cloud'"):
        find_region("usw2.pure.clod")


CONFIG = """
sources:
  genesys:
    region: {region}
    client_id: abc
    client_secret: ${{GENESYS_SECRET}}
slos:
  - id: voice
    service: cc
    target: 0.85
    window: {{type: rolling, length: 28d}}
    indicator:
      source: genesys
      metric: voice_sla
      segment_map: {{tier: {{"VIP *": vip, "*": standard}}}}
    segments: {{keys: [{keys}]}}
"""


def test_config_with_env_secret_and_segment_keys() -> None:
    loaded = parse_config(
        CONFIG.format(region="us-east-1", keys="tier, queue"), environ={"GENESYS_SECRET": "x1"}
    )
    genesys = loaded.source_settings("genesys")
    assert isinstance(genesys, GenesysSettings) and genesys.region == "mypurecloud.com"
    assert genesys.client_secret.get_secret_value() == "x1"
    assert "x1" not in repr(genesys) and "x1" not in str(loaded.config)


def test_config_problems_name_the_place() -> None:
    with pytest.raises(ConfigValidationError) as info:
        parse_config(CONFIG.format(region="moon-1", keys="flow"), environ={"GENESYS_SECRET": "x"})
    text = "\n".join(str(p) for p in info.value.problems)
    assert "unknown Genesys Cloud region 'moon-1'" in text
    assert "segment key(s) ['flow'] cannot be filled by Genesys metric voice_sla" in text


def test_indicator_rules() -> None:
    with pytest.raises(ValueError, match="needs threshold_seconds"):
        GenesysIndicator(metric="answered_within")
    with pytest.raises(ValueError, match="only applies to metric answered_within"):
        GenesysIndicator(metric="voice_sla", threshold_seconds=20)
    with pytest.raises(ValueError, match="give exactly one of region and base_url"):
        GenesysSettings(client_id="a", client_secret="b")
    digital = GenesysIndicator(metric="digital_sla")
    assert digital.media == ("chat", "message")


def test_registry_has_genesys_builtin() -> None:
    catalog = SourceCatalog(BUILTIN_SOURCES)
    assert "genesys" in catalog.names()
    genesys = plugin("genesys")
    assert isinstance(genesys, SourcePlugin) and genesys.indicator_model is GenesysIndicator
    assert genesys.settings_model is GenesysSettings


# --- queries and formulas ---------------------------------------------------------------------


def test_query_bodies() -> None:
    start = to_minute(datetime(2026, 11, 2, tzinfo=UTC))
    merged = merge_queue_queries(
        [QueueQuery(("voice",), ("q1",)), QueueQuery(("chat", "message"), ("q2",), (20,))]
    )
    assert merged is not None
    body = merged.body(start, start + 1440, timedelta(minutes=15))
    assert body["interval"] == "2026-11-02T00:00:00.000Z/2026-11-03T00:00:00.000Z"
    assert body["granularity"] == "PT15M"
    assert body["groupBy"] == ["queueId", "mediaType"]
    assert body["views"] == [
        {"target": "tAnswered", "name": "tAnsweredWithin20s", "function": "rangeBound",
         "range": {"lt": 20000}}
    ]  # fmt: skip
    assert [p["value"] for p in body["filter"]["clauses"][1]["predicates"]] == ["q1", "q2"]
    assert "filter" not in FlowQuery(None).body(start, start + 60, timedelta(hours=1))
    assert iso_duration(timedelta(days=1, minutes=5)) == "P1DT5M"
    assert iso_interval(0, 1) == "1970-01-01T00:00:00.000Z/1970-01-01T00:01:00.000Z"


def test_parse_aggregates_and_service_level_formula() -> None:
    response = {
        "results": [
            {
                "group": {"queueId": "q1", "mediaType": "voice"},
                "data": [
                    {
                        "interval": "2026-11-02T00:15:00.000Z/2026-11-02T00:30:00.000Z",
                        "metrics": [
                            {"metric": "tAnswered", "stats": {"count": 10, "sum": 5}},
                            {"metric": "nOverSla", "stats": {"count": 3}},
                            {"metric": "tAbandon", "stats": {"count": 4}},
                            {"metric": "tShortAbandon", "stats": {"count": 1}},
                            {"metric": "tFlowOut", "stats": {"count": 2}},
                        ],
                        "views": [{"name": "tAnsweredWithin20s", "stats": {"count": 6}}],
                    }
                ],
            }
        ]
    }
    (row,) = parse_aggregates(response, "test")
    assert row.start == to_minute(datetime(2026, 11, 2, 0, 15, tzinfo=UTC))
    assert queue_good_total(GenesysIndicator(metric="voice_sla"), row) == (7, 14)
    both = GenesysIndicator(metric="voice_sla", include_flow_outs=True, exclude_short_abandons=True)
    assert queue_good_total(both, row) == (7, 15)
    within = GenesysIndicator(metric="answered_within", threshold_seconds=20)
    assert queue_good_total(within, row) == (6, 14)
    no_abandons = GenesysIndicator(metric="voice_sla", include_abandons=False)
    assert queue_good_total(no_abandons, row) == (7, 10)
    assert parse_aggregates({}, "empty") == []


def test_ivr_completion_formula() -> None:
    # 10 visits ended: 4 successes and 2 hang-ups before an outcome (6 disconnects),
    # 3 failures (transferred) and 1 exit to an agent (4 exits)
    counts = {"tFlowDisconnect": 6, "tFlowExit": 4, "nFlowOutcome": 7, "nFlowOutcomeFailed": 3,
              "failed.tFlowExit": 3, "no_outcome.tFlowDisconnect": 2,
              "no_outcome.tFlowExit": 1}  # fmt: skip
    row = IntervalCounts({"flowId": "f"}, 0, counts)
    assert flow_good_total(row) == (5, 10)  # good: 4 successes + 1 exit


@pytest.mark.parametrize(
    ("visits", "counts", "expected"),
    [
        (
            "a success then a hang-up; a failed outcome, then the flow hangs up (no transfer)",
            {"tFlowDisconnect": 2, "nFlowOutcome": 2, "nFlowOutcomeFailed": 1,
             "failed.tFlowDisconnect": 1},
            (1, 2),  # main said 0 of 2: the failure was counted again as a bare hang-up
        ),
        (
            "two failed outcomes, then a transfer; an exit to an agent without outcome",
            {"tFlowExit": 2, "nFlowOutcome": 2, "nFlowOutcomeFailed": 2, "failed.tFlowExit": 1,
             "no_outcome.tFlowExit": 1},
            (1, 2),  # main said 0 of 2: two failed outcomes are one bad visit
        ),
        (
            "Authenticate failed then Pay bill succeeded, hang-up; a hang-up before any outcome",
            {"tFlowDisconnect": 2, "nFlowOutcome": 2, "nFlowOutcomeFailed": 1,
             "failed.tFlowDisconnect": 1, "no_outcome.tFlowDisconnect": 1},
            (0, 2),
        ),
    ],
)  # fmt: skip
def test_ivr_completion_counts_visits_not_outcomes(
    visits: str, counts: dict[str, int], expected: tuple[int, int]
) -> None:
    row = IntervalCounts({"flowId": "f"}, 0, counts)
    assert flow_good_total(row) == expected, visits


def test_segments_sum_queues_into_tiers() -> None:
    slo = SLO.model_validate(
        {"id": "v", "service": "cc", "target": 0.8, "window": {"type": "rolling", "length": "7d"},
         "indicator": {"source": "genesys", "metric": "voice_sla",
                       "queues": {"patterns": ["support *", "VIP*"]},
                       "segment_map": {"tier": {"VIP*": "vip", "*": "standard"}}},
         "segments": {"keys": ["tier"]}}
    )  # fmt: skip
    rows = [
        IntervalCounts({"queueId": q, "mediaType": m}, 0, {"tAnswered": 5, "tAbandon": 5})
        for q, m in [("a", "voice"), ("b", "voice"), ("c", "voice"), ("a", "chat"), ("x", "voice")]
    ]
    names = Names({"a": "VIP Gold", "b": "Support EN", "c": "Support FR", "x": "Sales"}, {})
    counts = queue_counts(slo, rows, names)
    assert counts == {((("tier", "vip"),), 0): [5, 10], ((("tier", "standard"),), 0): [10, 20]}


def test_observations() -> None:
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    response = {
        "results": [
            {"group": {"queueId": "q1", "mediaType": "voice"},
             "data": [{"metric": "oWaiting", "stats": {"count": 3}},
                      {"metric": "oLongestWaiting",
                       "stats": {"count": 1, "calculatedMetricValue": 95000}}]},
            {"group": {"queueId": "q1"},
             "data": [{"metric": "oOnQueueUsers", "stats": {"count": 7}}]},
        ]
    }  # fmt: skip
    (observation,) = parse_observations(response, now, {"q1": "Billing"}).values()
    assert (observation.queue, observation.waiting, observation.on_queue_agents) == (
        "Billing",
        3,
        7,
    )
    assert observation.oldest_waiting_seconds == 95.0


def test_agents_on_queue_sum_every_routing_status() -> None:
    """``oOnQueueUsers`` comes once per routing status (``qualifier``): the Support queue
    has 8 idle and 9 interacting agents, 17 on queue (main kept the last entry: 9)."""
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    response = {
        "results": [
            {"group": {"queueId": "q1", "mediaType": "voice"},
             "data": [{"metric": "oWaiting", "stats": {"count": 2}}]},
            {"group": {"queueId": "q1"},
             "data": [{"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 8}},
                      {"metric": "oOffQueueUsers", "stats": {"count": 3}},
                      {"metric": "oOnQueueUsers", "qualifier": "NOT_RESPONDING",
                       "stats": {"count": 0}},
                      {"metric": "oOnQueueUsers", "qualifier": "INTERACTING",
                       "stats": {"count": 9}}]},
        ]
    }  # fmt: skip
    (observation,) = parse_observations(response, now, {"q1": "Support"}).values()
    assert observation.on_queue_agents == 17
    assert observation.on_queue_by_status == {"IDLE": 8, "NOT_RESPONDING": 0, "INTERACTING": 9}
    assert observation.waiting == 2


def test_agents_on_queue_equal_the_simulator_through_the_fake_api() -> None:
    from errorbudget.simulate import Simulation, default_scenario
    from errorbudget.simulate.genesys_api.observations import queue_observations
    from errorbudget.simulate.records import datetime_to_ms

    anchor = datetime(2026, 11, 10, 15, tzinfo=UTC)
    sim = Simulation(default_scenario(anchor), seed=7)
    now = anchor + timedelta(hours=2)  # noon in New York: every voice queue staffed
    ids = [q.id for q in sim.scenario.queues]
    predicates = [{"dimension": "queueId", "value": q} for q in ids]
    body = {
        "filter": {"type": "or", "predicates": predicates},
        "metrics": ["oWaiting", "oInteracting", "oLongestWaiting", "oOnQueueUsers"],
    }
    names = {q.id: q.name for q in sim.scenario.queues}
    observations = parse_observations(queue_observations(sim, body, now), now, names)
    assert len(observations) == len(ids)
    for index, queue in enumerate(sim.scenario.queues):
        seen = observations[(queue.id, queue.media_type)]
        assert seen.on_queue_agents == sim.agents(index, datetime_to_ms(now)), queue.name
        assert sum(seen.on_queue_by_status.values()) == seen.on_queue_agents
    assert any(o.on_queue_by_status["INTERACTING"] > 0 for o in observations.values())
    assert any(o.on_queue_by_status["IDLE"] > 0 for o in observations.values())


# --- pacing, backoff, breaker (virtual clock) ---------------------------------------------------


def test_rate_limiter_paces_under_the_limit_in_any_window() -> None:
    timer = VirtualTimer()
    limiter = RateLimiter(300, timer)

    async def main() -> list[float]:
        starts = []
        for _ in range(900):
            await limiter.acquire()
            starts.append(timer.now())
        return starts

    starts = asyncio.run(main())
    for i, t in enumerate(starts):  # any 60 s window holds at most the limit
        assert sum(1 for u in starts[i:] if u < t + 60) <= 300
    assert starts[-1] == pytest.approx(899 * 60 / 285)


def test_rate_limiter_follows_headers_and_pauses() -> None:
    timer = VirtualTimer()
    limiter = RateLimiter(300, timer)
    limiter.observe({"inin-ratelimit-allowed": "60", "inin-ratelimit-count": "59",
                     "inin-ratelimit-reset": "12"})  # fmt: skip
    assert limiter.allowed == 60

    async def main() -> float:
        await limiter.acquire()
        return timer.now()

    assert asyncio.run(main()) == pytest.approx(12.0)


def test_backoff_full_jitter_and_retry_after() -> None:
    backoff = Backoff(base=1, cap=8, rng=random.Random(1))
    delays = [backoff.delay(a) for a in range(8) for _ in range(50)]
    assert all(0 <= d <= 8 for d in delays) and max(delays) > 4
    assert backoff.delay(3, retry_after=2.5) == 2.5


def test_circuit_breaker_states() -> None:
    timer = VirtualTimer()
    breaker = CircuitBreaker(3, 10, timer)
    for _ in range(3):
        assert breaker.admit() is False
        breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError):
        breaker.admit()
    timer.t = 10
    assert breaker.admit() is True  # the probe
    with pytest.raises(CircuitOpenError):
        breaker.admit()  # one probe at a time
    breaker.record_failure()
    assert breaker.state == "open"
    timer.t = 20
    assert breaker.admit() is True
    breaker.record_success()
    assert breaker.state == "closed" and breaker.admit() is False


def test_status_page_verdict() -> None:
    from errorbudget.sources.genesys.responses import status_page_verdict

    up = {"status": {"indicator": "minor"},
          "components": [{"name": "Platform API", "status": "operational"},
                         {"name": "Voice", "status": "degraded_performance"}]}  # fmt: skip
    assert status_page_verdict(up) is True
    down = {"components": [{"name": "Platform API", "status": "major_outage"}]}
    assert status_page_verdict(down) is False
    assert status_page_verdict({"status": {"indicator": "none"}}) is True
