"""The Genesys queue families against the fake Genesys Cloud API (real HTTP on 127.0.0.1):
values equal the simulated contact center's truth; against the scripted server: a revised
interval is never counted twice, the cardinality guard aggregates, drops and reports, and
the exporter's health moves on errors, 429s and token refreshes; ``serve``'s /metrics
carries the families on the collector's own client."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry
from test_genesys_client import SECRET, Answer, Script, server

from errorbudget.app import App
from errorbudget.model import from_minute, to_minute
from errorbudget.scheduler import Scheduler
from errorbudget.server import schedule_metrics_feeds
from errorbudget.simulate import ManualClock, Simulation, default_scenario
from errorbudget.simulate.records import datetime_to_ms
from errorbudget.simulate.server import FakeGenesysServer
from errorbudget.simulate.truth import ground_truth
from errorbudget.sources import create_metrics_feeds, create_sources
from errorbudget.sources.genesys.plugin import plugin
from errorbudget.sources.genesys.queue_metrics import WAIT_BUCKETS
from errorbudget.sources.genesys.queue_poller import QueuePoller
from errorbudget.sources.genesys.settings import GenesysSettings
from errorbudget.web.app import create_app

__all__ = ["server"]  # the scripted server's fixture, imported

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 9, 15, 0, 20, tzinfo=UTC)  # a Monday, busy
OBS = "/api/v2/analytics/queues/observations/query"
AGG = "/api/v2/analytics/conversations/aggregates/query"
QUEUES = "/api/v2/routing/queues"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(poller: QueuePoller) -> Samples:
    registry = CollectorRegistry(auto_describe=False)
    for collector in poller.collectors():
        registry.register(collector)
    text = generate_latest(registry).decode() + poller.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def pick(samples: Samples, name: str, **labels: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Samples of ``name`` whose labels include ``labels``."""
    return {
        key: value
        for (sample, key), value in samples.items()
        if sample == name and set(labels.items()) <= set(key)
    }


def one(samples: Samples, name: str, **labels: str) -> float:
    (value,) = pick(samples, name, **labels).values()
    return value


def fake_settings(url: str, **metrics: Any) -> GenesysSettings:
    return GenesysSettings.model_validate(
        {"base_url": url, "client_id": "errorbudget-sim",
         "client_secret": "errorbudget-sim-secret", "queue_metrics": metrics}
    )  # fmt: skip


def waiting_now(sim: Simulation, index: int, now_ms: int) -> int:
    total = 0
    for arrays in sim.queue_range(index, now_ms, now_ms + 1):
        exit_ms = arrays.entry_ms + arrays.wait_ms
        total += int(((arrays.entry_ms <= now_ms) & (exit_ms > now_ms)).sum())
    return total


def test_every_family_equals_the_simulated_contact_centers_truth() -> None:
    clock = ManualClock(ANCHOR)
    sim = Simulation(default_scenario(ANCHOR), seed=7)
    origin = ANCHOR.replace(second=0)
    end = origin + timedelta(minutes=20)
    # a moment when callers wait, so depth is not trivially zero
    moment = next(
        end + timedelta(seconds=s)
        for s in range(20, 1800, 7)
        if sum(
            waiting_now(sim, i, datetime_to_ms(end + timedelta(seconds=s)))
            for i in range(len(sim.scenario.queues))
        )
        > 0
    )
    with FakeGenesysServer(sim, clock) as fake:
        poller = plugin.metrics_feed(fake_settings(fake.base_url), clock, None)
        assert isinstance(poller, QueuePoller) and poller.owns_client

        async def main() -> Samples:
            await poller.poll_aggregates()  # counting starts with this interval
            clock.set(moment)
            await poller.poll_aggregates()
            await poller.poll_observations()
            await poller.aclose()
            return scrape(poller)

        samples = asyncio.run(main())
    now_ms = datetime_to_ms(moment)
    closed_end = moment.replace(second=0)
    truth = ground_truth(sim, origin, closed_end, timedelta(minutes=1), as_of=moment)
    settings = sim.service_level_calculation
    checked = breached = 0
    for index, queue in enumerate(sim.scenario.queues):
        labels = {"queue_id": queue.id, "queue_name": queue.name, "media_type": queue.media_type}
        assert one(samples, "genesys_queue_depth", **labels) == waiting_now(sim, index, now_ms)
        agents = pick(samples, "genesys_queue_agents", queue_id=queue.id)
        assert len(agents) == 4 and sum(agents.values()) == sim.agents(index, now_ms)
        counts = [c for (q, _, _), c in truth.items() if q == queue.id]
        offered = sum(c.offered for c in counts)
        missed = sum(c.sl_denominator(settings) - c.answered_within_target for c in counts)
        if not counts:
            continue
        checked += 1
        breached += missed > 0
        assert one(samples, "genesys_queue_offer_total", **labels) == offered > 0
        assert one(samples, "genesys_queue_sla_breach_total", **labels) == missed
        # waits: every conversation that left the queue (answer, abandon, flow-out) in range
        waits = np.concatenate(
            [
                a.wait_ms[
                    (a.entry_ms + a.wait_ms >= datetime_to_ms(origin))
                    & (a.entry_ms + a.wait_ms < datetime_to_ms(closed_end))
                ]
                for a in sim.queue_range(index, datetime_to_ms(origin), datetime_to_ms(closed_end))
            ]
        )
        name = "genesys_queue_wait_time_seconds"
        assert one(samples, f"{name}_count", **labels) == len(waits)
        assert one(samples, f"{name}_sum", **labels) == pytest.approx(waits.sum() / 1000)
        for bound in WAIT_BUCKETS:
            le = repr(bound)
            assert one(samples, f"{name}_bucket", le=le, **labels) == (waits <= bound * 1000).sum()
        assert one(samples, f"{name}_bucket", le="+Inf", **labels) == len(waits)
    assert sum(pick(samples, "genesys_queue_depth").values()) > 0
    assert checked >= 5 and breached >= 1, (checked, breached)


class Upstream:
    """A scripted org: queues, observations and aggregates the test revises at will."""

    def __init__(self, script: Script) -> None:
        self.queues = {"q1": "Billing", "q2": "Sales", "q3": "Support"}
        self.waiting = {"q1": 1, "q2": 2, "q3": 4}
        self.offered: dict[tuple[str, int], int] = {}
        self.asked: list[str] = []
        script.handlers[QUEUES] = self.listing
        script.handlers[OBS] = self.observations
        script.handlers[AGG] = self.aggregates

    def listing(self, query: dict[str, str], body: bytes) -> Answer:
        entities = [{"id": q, "name": n} for q, n in self.queues.items()]
        return Answer(body={"entities": entities, "pageCount": 1})

    def observations(self, query: dict[str, str], body: bytes) -> Answer:
        ids = [p["value"] for p in json.loads(body)["filter"]["predicates"]]
        results = []
        for q in ids:
            waiting = {"metric": "oWaiting", "stats": {"count": self.waiting[q]}}
            results.append({"group": {"queueId": q, "mediaType": "voice"}, "data": [waiting]})
            results.append({"group": {"queueId": q},
                            "data": [{"metric": "oOnQueueUsers", "qualifier": "IDLE",
                                      "stats": {"count": 2}}]})  # fmt: skip
        return Answer(body={"results": results})

    def aggregates(self, query: dict[str, str], body: bytes) -> Answer:
        interval = json.loads(body)["interval"]
        self.asked.append(interval)
        first, last = (
            to_minute(datetime.fromisoformat(t.replace("Z", "+00:00"))) for t in interval.split("/")
        )
        results = []
        for q in self.queues:
            data = [
                {"interval": f"{from_minute(m).isoformat()}/{from_minute(m + 1).isoformat()}",
                 "metrics": [{"metric": "nOffered", "stats": {"count": self.offered[(q, m)]}}]}
                for m in range(first, last) if self.offered.get((q, m))
            ]  # fmt: skip
            if data:
                results.append({"group": {"queueId": q, "mediaType": "voice"}, "data": data})
        return Answer(body={"results": results} if results else {})


def scripted(url: str, now: list[datetime], **metrics: Any) -> QueuePoller:
    settings = GenesysSettings.model_validate(
        {"base_url": url, "client_id": "client-1", "client_secret": SECRET,
         "requests_per_minute": 6000, "queue_cache_ttl": "1s", "queue_metrics": metrics}
    )  # fmt: skip
    poller = plugin.metrics_feed(settings, lambda: now[0], None)
    assert isinstance(poller, QueuePoller)
    return poller


START = to_minute(datetime(2026, 11, 9, 15, 0, tzinfo=UTC))


def test_a_revised_interval_is_never_counted_twice(server: tuple[str, Script]) -> None:
    url, script = server
    upstream = Upstream(script)
    now = [from_minute(START) + timedelta(seconds=30)]
    labels = {"queue_id": "q1", "media_type": "voice"}

    async def main() -> list[float]:
        poller = scripted(url, now, revision_lookback="5m")
        seen = []
        await poller.poll_aggregates()  # origin: START
        upstream.offered[("q1", START)] = 3
        upstream.offered[("q1", START + 1)] = 9  # still open at the next poll: not counted
        now[0] = from_minute(START + 1) + timedelta(seconds=5)
        await poller.poll_aggregates()
        seen.append(one(scrape(poller), "genesys_queue_offer_total", **labels))
        upstream.offered[("q1", START)] = 5  # late data revises the closed interval
        now[0] = from_minute(START + 2) + timedelta(seconds=5)
        await poller.poll_aggregates()
        seen.append(one(scrape(poller), "genesys_queue_offer_total", **labels))
        upstream.offered[("q1", START)] = 4  # revised down: a counter does not go back
        now[0] = from_minute(START + 3) + timedelta(seconds=5)
        await poller.poll_aggregates()
        await poller.poll_aggregates()  # the same closed intervals asked again
        seen.append(one(scrape(poller), "genesys_queue_offer_total", **labels))
        await poller.aclose()
        return seen

    assert asyncio.run(main()) == [3.0, 5.0 + 9.0, 14.0]
    # only closed intervals were asked: each interval ends at or before the poll's minute
    assert upstream.asked[0].endswith("15:01:00.000Z")
    assert all(not a.endswith("15:04:00.000Z") for a in upstream.asked)


def test_the_guard_aggregates_transient_and_surplus_queues_and_reports(
    server: tuple[str, Script], caplog: pytest.LogCaptureFixture
) -> None:
    url, script = server
    upstream = Upstream(script)
    now = [from_minute(START) + timedelta(seconds=30)]
    caplog.set_level(logging.WARNING, "errorbudget.sources.genesys.queue_poller")

    async def main() -> tuple[Samples, Samples]:
        poller = scripted(url, now, max_series_per_family=2, transient_age="1h")
        await poller.poll_aggregates()
        for q in ("q1", "q2", "q3"):
            upstream.offered[(q, START)] = 10
        now[0] = from_minute(START + 1) + timedelta(seconds=5)
        await poller.poll_observations()
        await poller.poll_aggregates()
        before = scrape(poller)
        del upstream.queues["q1"]  # a campaign queue deleted
        await asyncio.sleep(1.1)  # the name cache (queue_cache_ttl 1s) is refreshed
        await poller.poll_observations()
        now[0] += timedelta(hours=2)  # … and not listed for longer than transient_age
        await asyncio.sleep(1.1)
        await poller.poll_observations()
        after = scrape(poller)
        await poller.aclose()
        return before, after

    before, after = asyncio.run(main())
    depth = pick(before, "genesys_queue_depth")
    assert {dict(k)["queue_id"]: v for k, v in depth.items()} == {"q1": 1, "q2": 2, "other": 4}
    assert one(before, "genesys_queue_depth", queue_id="other", queue_name="other") == 4
    offers = {dict(k)["queue_id"]: v for k, v in pick(before, "genesys_queue_offer_total").items()}
    assert offers == {"q1": 10, "q2": 10, "other": 10}
    dropped = "genesys_exporter_dropped_series_total"
    assert one(before, dropped, family="genesys_queue_depth", reason="max_series") == 1
    assert one(before, dropped, family="genesys_queue_offer_total", reason="max_series") == 1
    # q1 turned transient: its series are gone, its offers folded into "other" (monotonic)
    offers = {dict(k)["queue_id"]: v for k, v in pick(after, "genesys_queue_offer_total").items()}
    assert offers == {"q2": 10, "other": 20}
    assert "q1" not in {dict(k)["queue_id"] for k in pick(after, "genesys_queue_depth")}
    assert one(after, dropped, family="genesys_queue_offer_total", reason="transient") == 1
    assert one(after, dropped, family="genesys_queue_depth", reason="transient") == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any("genesys_queue_depth aggregated into" in m and "max_series" in m for m in messages)
    assert any("transient_age" in m for m in messages)


def test_drop_mode_leaves_no_other_series(server: tuple[str, Script]) -> None:
    url, script = server
    Upstream(script)
    now = [from_minute(START) + timedelta(seconds=30)]

    async def main() -> Samples:
        poller = scripted(url, now, max_series_per_family=1, overflow="drop")
        await poller.poll_observations()
        await poller.aclose()
        return scrape(poller)

    samples = asyncio.run(main())
    assert [dict(k)["queue_id"] for k in pick(samples, "genesys_queue_depth")] == ["q1"]
    assert one(samples, "genesys_exporter_dropped_series_total",
               family="genesys_queue_depth", reason="max_series") == 2  # fmt: skip


def test_health_moves_on_errors_rate_limits_and_token_refreshes(
    server: tuple[str, Script],
) -> None:
    url, script = server
    upstream = Upstream(script)
    now = [from_minute(START) + timedelta(seconds=30)]
    ok = upstream.observations

    async def main() -> list[Samples]:
        poller = scripted(url, now)
        shots = []
        await poller.poll_observations()
        shots.append(scrape(poller))
        answers = [Answer(429, {"message": "slow down"}, headers={"Retry-After": "0"}),
                   Answer(503, {"message": "down"}, headers={"Retry-After": "0"})]  # fmt: skip
        script.handlers[OBS] = lambda q, b: answers.pop(0) if answers else ok(q, b)
        script.valid_tokens.clear()  # the token expired upstream: 401, one refresh
        await poller.poll_observations()
        shots.append(scrape(poller))
        script.handlers[OBS] = lambda q, b: Answer(400, {"message": "bad query"})
        await poller.poll_observations()
        shots.append(scrape(poller))
        await poller.aclose()
        return shots

    first, second, third = asyncio.run(main())
    errors = "genesys_exporter_api_errors_total"
    assert pick(first, errors) == {}
    assert one(first, "genesys_exporter_token_refreshes_total") == 1
    assert one(second, "genesys_exporter_token_refreshes_total") == 2
    assert one(second, "genesys_exporter_rate_limited_total") == 1
    assert one(second, errors, endpoint="queue_observations", status="429") == 1
    assert one(second, errors, endpoint="queue_observations", status="503") == 1
    assert one(second, errors, endpoint="queue_observations", status="401") == 1
    success = "genesys_exporter_last_success_timestamp_seconds"
    assert one(second, success, poll="observations") >= one(first, success, poll="observations")
    assert one(second, "genesys_exporter_poll_errors_total", poll="observations") == 0
    assert one(third, "genesys_exporter_poll_errors_total", poll="observations") == 1
    assert one(third, success, poll="observations") == one(second, success, poll="observations")
    assert one(third, errors, endpoint="queue_observations", status="400") == 1
    assert one(third, "genesys_exporter_collection_duration_seconds", poll="observations") > 0


def test_an_exporter_that_never_succeeded_shows_it(server: tuple[str, Script]) -> None:
    """``time() - genesys_exporter_last_success_timestamp_seconds > 120`` (the documented
    alert) must fire when polls have failed since the start (bad credentials, a bad
    query): the sample is 0 then, not absent — absent, the alert never fires. The
    aggregates' first poll (which only sets where counting starts) is a success."""
    url, script = server
    now = [from_minute(START) + timedelta(seconds=30)]

    async def main() -> Samples:
        poller = scripted(url, now)
        script.handlers[OBS] = lambda q, b: Answer(400, {"message": "bad query"})
        await poller.poll_observations()
        await poller.poll_aggregates()
        shot = scrape(poller)
        await poller.aclose()
        return shot

    shot = asyncio.run(main())
    success = "genesys_exporter_last_success_timestamp_seconds"
    assert one(shot, "genesys_exporter_poll_errors_total", poll="observations") == 1
    assert one(shot, success, poll="observations") == 0
    assert one(shot, success, poll="aggregates") > 0


@pytest.fixture
def genesys_config(tmp_path: Path, server: tuple[str, Script]) -> Iterator[tuple[Path, Script]]:
    url, script = server
    Upstream(script)
    path = tmp_path / "errorbudget.yaml"
    path.write_text(
        f"""
store: {{path: eb.db}}
server: {{metrics_auth: open}}
sources:
  genesys:
    base_url: {url}
    client_id: client-1
    client_secret: {SECRET}
    requests_per_minute: 6000
    queue_metrics: {{observation_interval: 1h}}
slos:
  - id: voice
    service: cc
    target: 0.8
    window: {{type: rolling, length: 7d}}
    indicator: {{source: genesys, metric: voice_sla}}
""",
        encoding="utf-8",
    )
    yield path, script


def test_serve_metrics_carry_the_families_on_the_collectors_client(
    genesys_config: tuple[Path, Script],
) -> None:
    path, _ = genesys_config
    with App.open(path) as app:
        sources = list(create_sources(app.loaded, app.store, app.clock))
        (feed,) = create_metrics_feeds(app.loaded, app.clock, sources)
        assert isinstance(feed, QueuePoller)
        assert feed.client is sources[0].client and not feed.owns_client  # one client
        scheduler = Scheduler()
        scheduled = schedule_metrics_feeds(app, scheduler, sources)  # type: ignore[arg-type]
        assert [job.name for job in scheduler.jobs] == ["genesys-queue-metrics"]
        assert scheduled[0].client is sources[0].client
        web = create_app(app)
        web.state.metric_feeds = [feed]

        async def main() -> str:
            await feed.poll_observations()
            transport = httpx.ASGITransport(app=web)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                answer = await client.get("/metrics")
            for source in sources:
                await source.aclose()
            return answer.text

        text = asyncio.run(main())
    assert 'genesys_queue_depth{media_type="voice",queue_id="q2",queue_name="Sales"} 2.0' in text
    assert "genesys_exporter_token_refreshes_total 1.0" in text
    assert "errorbudget_" in text  # next to the SLO families
