"""Issue #8 point 4: the collector never dies, and its health shows.

1. During an outage of the (fake) Genesys Cloud API, ``errorbudget serve`` (a real process)
   keeps collecting; ``/readyz`` turns 503 naming the source once it has failed longer
   than ``server.readiness.source_failure_age``, ``/metrics`` has the source's series
   (failures in a row, runs by outcome, last success, data lag), and both recover by
   themselves when the API is back.
2. A run whose store write finds the store locked (a CLI ingest) fails like an outage:
   recorded once the store is free, and the loop goes on — the next run succeeds.
3. A scheduled job that crashes is restarted, and its restarts show on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

pytest.importorskip("uvicorn")

from prometheus_client import CollectorRegistry, generate_latest
from serving import serving
from test_genesys_acceptance import (
    ANCHOR,
    SECRET,
    collector_for,
    fake_genesys,
    open_app,
    write_config,
)

from errorbudget.app import App
from errorbudget.runtime_metrics import RuntimeCollector
from errorbudget.scheduler import Scheduler
from errorbudget.simulate.clock import SimClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.sources.genesys.report import CollectReport
from errorbudget.web.app import create_app

pytestmark = pytest.mark.integration


def metric_values(text: str) -> dict[str, float]:
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def poll(what: str, check: object, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while True:
        found = check()  # type: ignore[operator]
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def test_an_upstream_outage_shows_in_readyz_and_metrics_and_heals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    now = datetime.now(tz=UTC)
    simulation = Simulation(default_scenario(now), seed=3)
    clock = SimClock(now, speed=1.0)  # serve runs on the real clock too
    begins = (now + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with fake_genesys(simulation, clock, f"outage={begins}:7s", rate_limit=6000) as url:
        config = write_config(
            tmp_path, url, simulation, interval="1s", collect_deadline="2s",
            requests_per_minute="6000", max_attempts="2",
        )  # fmt: skip
        with config.open("a", encoding="utf-8") as text:
            text.write("server:\n  metrics_auth: open\n  readiness: {source_failure_age: 2s}\n")
        with serving(config) as served, httpx.Client(base_url=served.url, timeout=30) as client:

            def readiness() -> tuple[int, dict[str, object]]:
                answer = client.get("/readyz")
                return answer.status_code, answer.json()

            def failing() -> dict[str, object] | None:
                status, body = readiness()
                problems = body["problems"]
                assert isinstance(problems, list)
                named = [p for p in problems if str(p).startswith("source genesys has failed")]
                return body if status == 503 and named else None

            during = poll("/readyz to name the failing source", failing, timeout=40)
            assert isinstance(during, dict)
            [source] = during["sources"]  # type: ignore[misc]
            assert source["source"] == "genesys" and source["ok"] is False
            assert source["consecutive_failures"] >= 1 and source["last_error"]
            values = metric_values(client.get("/metrics").text)
            assert values['errorbudget_source_consecutive_failures{source="genesys"}'] >= 1
            assert values['errorbudget_source_runs_total{outcome="failed",source="genesys"}'] >= 1
            assert values['errorbudget_job_up{job="genesys"}'] == 1.0  # failing, not dead

            def healed() -> bool:
                status, body = readiness()
                return status == 200 and body["sources"][0]["ok"] is True  # type: ignore[index]

            poll("/readyz to recover after the outage", healed, timeout=40)
            values = metric_values(client.get("/metrics").text)
            assert values['errorbudget_source_consecutive_failures{source="genesys"}'] == 0
            assert values['errorbudget_source_runs_total{outcome="ok",source="genesys"}'] >= 1
            last_success = values[
                'errorbudget_source_last_success_timestamp_seconds{source="genesys"}'
            ]
            failed_run = datetime.fromisoformat(str(source["last_run_at"])).timestamp()
            assert last_success > failed_run  # a run after the failing one succeeded
            # what it has stored is current again (absent before the first success; at
            # night too, when the queues are quiet: test_quiet_queues_are_not_data_lag)
            assert values['errorbudget_source_data_lag_seconds{source="genesys"}'] < 60
            assert values['errorbudget_job_restarts_total{job="genesys"}'] == 0
    assert "Traceback" not in served.log_text()


def test_quiet_queues_are_not_data_lag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A successful run at night on a fresh store: the queues had no traffic, so the
    queue SLO has nothing stored, yet the source is current (data lag 0), not absent."""
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    night = datetime(2026, 12, 7, 4, 3, tzinfo=UTC)  # Sunday 23:03 in New York
    simulation = Simulation(default_scenario(night), seed=3)
    clock = SimClock(night, speed=1.0)
    with fake_genesys(simulation, clock, "") as url:
        app = open_app(write_config(tmp_path, url, simulation), clock)
        collector = collector_for(app)

        async def once() -> CollectReport:
            async with collector:
                return await collector.run_once()

        report = asyncio.run(asyncio.wait_for(once(), timeout=60))
    assert report.ok and report.collected_through is not None
    assert collector.writer.marks()["queue-sl"] is None  # no traffic: nothing stored
    [health] = app.store.source_health()
    assert health.collected_through == report.collected_through
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(app, jobs=list, sources=lambda: [collector]))
    values = metric_values(generate_latest(registry).decode())
    assert values['errorbudget_source_data_lag_seconds{source="genesys"}'] < 60
    app.close()


def test_a_run_that_finds_the_store_locked_fails_is_recorded_later_and_the_loop_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    clock = SimClock(ANCHOR, speed=1.0)
    with fake_genesys(simulation, clock, "") as url:
        app = open_app(write_config(tmp_path, url, simulation, interval="1s"), clock)
        app.store.set_lock_timeout(0.5)  # as under serve: a short wait, then a failed run
        collector = collector_for(app)
        holder = sqlite3.connect(tmp_path / "eb.db", isolation_level=None)

        async def scenario() -> None:
            stop = asyncio.Event()
            async with collector:
                holder.execute("BEGIN IMMEDIATE")  # a CLI ingest holds the store
                loop = asyncio.create_task(collector.run_forever(stop))
                while collector.last_report is None:
                    await asyncio.sleep(0.05)
                first = collector.last_report
                assert not first.ok and first.error is not None
                assert "another connection holds the write lock" in first.error
                assert first.error.endswith("(the next run tries again)")
                assert app.store.source_health() == []  # not recorded: the store is busy
                assert collector.run_health.unrecorded == [False]
                holder.execute("ROLLBACK")
                while not (collector.last_report and collector.last_report.ok):
                    assert not loop.done(), "the collection loop died"
                    await asyncio.sleep(0.05)
                stop.set()
                await asyncio.wait_for(loop, 30)

        asyncio.run(asyncio.wait_for(scenario(), timeout=60))
        holder.close()
        connection = app.store._connection
        assert connection is not None
        rows = connection.execute("SELECT ok, error FROM source_runs ORDER BY id").fetchall()
        assert rows[0][0] == 0 and "write lock" in rows[0][1]  # recorded later, in order
        assert rows[-1][0] == 1
        [health] = app.store.source_health()
        assert health.consecutive_failures == 0 and health.collected_through is not None
        assert collector.run_health.unrecorded == []
        assert app.store.list_series("queue-sl")  # the next run collected
        app.close()


def test_a_crashing_job_is_restarted_and_its_restarts_show_on_metrics(tmp_path: Path) -> None:
    config = tmp_path / "errorbudget.yaml"
    config.write_text(
        "store: {path: eb.db}\nserver: {metrics_auth: open}\nslos:\n"
        "  - {id: calls, service: cc, target: 0.9, window: {type: rolling, length: 1d}}\n",
        encoding="utf-8",
    )
    crashes = {"left": 3}

    async def flaky(stop: asyncio.Event) -> None:
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("lost the connection")
        await stop.wait()

    async def scenario(app: App) -> tuple[str, str]:
        web = create_app(app)
        scheduler = Scheduler(backoff_initial=0.02, backoff_max=0.05)
        web.state.scheduler = scheduler
        scheduler.add("flaky", flaky)
        scheduler.start()
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://eb") as client:
            while crashes["left"]:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            metrics = (await client.get("/metrics")).text
            ready = (await client.get("/readyz")).text
        await scheduler.stop(timeout=5)
        return metrics, ready

    with App.open(config) as app:
        metrics, ready = asyncio.run(scenario(app))
    values = metric_values(metrics)
    assert values['errorbudget_job_restarts_total{job="flaky"}'] == 3
    assert values['errorbudget_job_up{job="flaky"}'] == 1.0
    assert '"status":"ready"' in ready
