"""Acceptance: the Genesys collector against the real fake Genesys Cloud API on 127.0.0.1.

The fake server (``errorbudget.simulate.genesys_api``) runs under uvicorn in a thread,
serving the packaged scenario on an accelerated clock. Ground truth comes from the
simulator itself (``errorbudget.simulate.aggregate``: the org's own service-level
formula), never from the collector's code.

1. With 30 % 429s, 10 % 5xx, every token revoked mid-run and a 5-minute outage, a 7-day
   backfill plus live collection stores exactly the simulator's numerator and denominator
   for every queue × media type × 15-minute interval: nothing lost, nothing doubled.
2. A fault-free backfill needs the minimum number of requests and sees no 429; the
   figures are printed (``pytest -s``) and attached to the test report.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from errorbudget.app import App  # noqa: E402
from errorbudget.config import load_config  # noqa: E402
from errorbudget.model import to_minute  # noqa: E402
from errorbudget.simulate.aggregate import (  # noqa: E402
    SL_INPUTS,
    Buckets,
    aggregate,
    flow_events,
    queue_events,
    service_level,
    sl_parts,
)
from errorbudget.simulate.clock import SimClock  # noqa: E402
from errorbudget.simulate.default_scenario import default_scenario  # noqa: E402
from errorbudget.simulate.engine import Simulation  # noqa: E402
from errorbudget.simulate.genesys_api.app import ApiSettings, create_app  # noqa: E402
from errorbudget.simulate.genesys_api.faults import parse_faults  # noqa: E402
from errorbudget.simulate.records import FlowArrays  # noqa: E402
from errorbudget.sources.genesys import create_source  # noqa: E402
from errorbudget.sources.genesys.collector import GenesysCollector  # noqa: E402
from errorbudget.store import open_store  # noqa: E402

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 9, 14, 0, tzinfo=UTC)  # a Monday afternoon, New York morning
SECRET = "fake-secret-for-tests"
BLOCK = 15  # minutes
BLOCK_MS = BLOCK * 60_000


@contextmanager
def fake_genesys(
    simulation: Simulation, clock: SimClock, faults: str, rate_limit: int = 300
) -> Iterator[str]:
    """The fake API under uvicorn on a free loopback port; stopped (and joined) on exit."""
    settings = ApiSettings(client_secret=SECRET, rate_limit_per_minute=rate_limit)
    app = create_app(simulation, clock, parse_faults(faults), settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="off", ws="none", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Genesys server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def write_config(tmp_path: Path, url: str, simulation: Simulation, **genesys: str) -> Path:
    sl = simulation.scenario.service_level
    extra = "".join(f"\n    {key}: {value}" for key, value in genesys.items())
    text = f"""
store: {{path: eb.db}}
sources:
  genesys:
    base_url: {url}
    client_id: errorbudget-sim
    client_secret: ${{FAKE_GENESYS_SECRET}}
    granularity: 15m
    lookback: 1h
    circuit_reset: 1s{extra}
slos:
  - id: queue-sl
    service: contact-center
    target: 0.8
    window: {{type: rolling, length: 28d}}
    indicator:
      source: genesys
      metric: voice_sla
      media_types: [voice, callback, chat, message, email]
      include_flow_outs: {str(sl.include_flow_outs).lower()}
      exclude_short_abandons: {str(sl.exclude_short_abandons).lower()}
    segments: {{keys: [queue_id, media_type]}}
  - id: ivr
    service: contact-center
    target: 0.8
    window: {{type: rolling, length: 28d}}
    indicator: {{source: genesys, metric: ivr_completion}}
    segments: {{keys: [flow_id]}}
  - id: api
    service: contact-center
    target: 0.999
    window: {{type: rolling, length: 28d}}
    indicator: {{source: genesys, metric: api_availability}}
"""
    path = tmp_path / "errorbudget.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def open_app(config: Path, clock: SimClock) -> App:
    loaded = load_config(config)
    return App(loaded, open_store(loaded.store_path), clock=clock)


def collector_for(app: App) -> GenesysCollector:
    source = create_source(app.loaded, app.store, app.clock)
    assert isinstance(source, GenesysCollector)
    return source


def fake_stats(url: str) -> dict[str, Any]:
    answer = httpx.get(url + "/_fake/stats", timeout=10)
    answer.raise_for_status()
    data: dict[str, Any] = answer.json()
    return data


def queue_truth(
    simulation: Simulation, start_ms: int, end_ms: int, visible_ms: int
) -> dict[tuple[str, str], np.ndarray]:
    """(queue id, media) → per 15-minute block [numerator, denominator] from the simulator."""
    edges = list(range(start_ms, end_ms + 1, BLOCK_MS))
    truth = {}
    for index, queue in enumerate(simulation.scenario.queues):
        buckets = Buckets(edges, visible_ms)
        batches = (queue_events(a) for a in simulation.queue_range(index, start_ms, end_ms))
        metrics, _ = aggregate(batches, SL_INPUTS, [], buckets)
        numerator, denominator = service_level(sl_parts(metrics), simulation.scenario.service_level)
        truth[(queue.id, queue.media_type)] = np.stack([numerator, denominator], axis=1)
    return truth


def flow_truth(
    simulation: Simulation, start_ms: int, end_ms: int, visible_ms: int
) -> dict[str, np.ndarray]:
    """flow id → per 15-minute block [good, total] visits that ended, each visit judged
    from the simulator's own record (``FlowArrays.good``)."""
    edges = list(range(start_ms, end_ms + 1, BLOCK_MS))
    truth = {}

    def events(arrays: FlowArrays) -> dict[str, Any]:
        found = flow_events(arrays)
        found["good"] = (arrays.end_ms, None, arrays.good)
        return found

    for index, flow in enumerate(simulation.scenario.flows):
        batches = (events(a) for a in simulation.flow_range(index, start_ms, end_ms))
        metrics, _ = aggregate(batches, ["good", "tFlow"], [], Buckets(edges, visible_ms))
        truth[flow.id] = np.stack([metrics["good"].count, metrics["tFlow"].count], axis=1)
    return truth


def stored_blocks(
    app: App, slo: str, start: int, end: int, keys: tuple[str, ...]
) -> dict[tuple[str, ...], np.ndarray]:
    """Segment values (in ``keys`` order) → per 15-minute block [good, total] as stored;
    asserts that every count sits on a block's start minute."""
    series = app.store.list_series(slo)
    good, total = app.store.minute_arrays([s.id for s in series], start, end)
    found = {}
    for row, info in enumerate(series):
        g = good[row].reshape(-1, BLOCK)
        t = total[row].reshape(-1, BLOCK)
        assert not g[:, 1:].any() and not t[:, 1:].any(), "counts off the interval start"
        labels = dict(info.segment)
        found[tuple(labels[k] for k in keys)] = np.stack([g[:, 0], t[:, 0]], axis=1)
    return found


def test_faulty_api_backfill_and_live_collection_store_exactly_the_ground_truth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    clock = SimClock(ANCHOR, speed=300.0)  # 5 simulated minutes per real second
    faults = "429=0.3,5xx=0.1,revoke-token-after=20,outage=+15m:5m,seed=5"
    started = time.monotonic()
    with fake_genesys(simulation, clock, faults) as url:
        status_page = f"{url}/api/v2/summary.json"
        config = write_config(
            tmp_path, url, simulation, max_query_span="1d", status_page_url=status_page
        )
        app = open_app(config, clock)
        collector = collector_for(app)

        async def scenario() -> datetime:
            async with collector:
                begin = to_minute(ANCHOR - timedelta(days=7))
                report = await collector.collect_range(begin, to_minute(clock()))
                assert report.ok, report.error
                outage_end = ANCHOR + timedelta(minutes=20)
                runs = 0  # live, through the outage, and enough requests for the revocation
                while clock() < outage_end + timedelta(minutes=15) or runs < 4:
                    await collector.run_once()
                    runs += 1
                    await asyncio.sleep(0.05)
                last = clock()
                final = await collector.run_once()
                assert final.ok, final.error
                return last

        last_run = asyncio.run(asyncio.wait_for(scenario(), timeout=150))
        stats = fake_stats(url)
        client_stats = collector.client.stats
    elapsed = time.monotonic() - started

    # the faults really happened
    assert stats["faults"].get("429", 0) > 0, stats
    assert stats["faults"].get("revoke", 0) == 1, stats
    assert stats["faults"].get("outage", 0) > 0, stats
    assert sum(v for k, v in stats["byStatus"].items() if k.startswith("5")) > 0, stats
    assert stats["tokensIssued"] >= 2

    # every closed interval of every queue is exactly the simulator's
    start = to_minute(ANCHOR - timedelta(days=7))
    start -= start % BLOCK
    end = to_minute(last_run) - to_minute(last_run) % BLOCK
    visible = int(last_run.timestamp() * 1000)
    truth = queue_truth(simulation, start * 60_000, end * 60_000, visible)
    stored = stored_blocks(app, "queue-sl", start, end, ("queue_id", "media_type"))
    assert set(stored) >= set(truth)
    compared = 0
    for (queue_id, media), expected in truth.items():
        got = stored[(queue_id, media)]
        mismatch = np.flatnonzero((got != expected).any(axis=1))
        assert not mismatch.size, (
            f"queue {queue_id} {media}: {mismatch.size} intervals differ, first at block "
            f"{mismatch[0]}: stored {got[mismatch[0]]}, truth {expected[mismatch[0]]}"
        )
        compared += len(expected)
    assert compared >= len(truth) * 7 * 96
    assert sum(int(v[:, 1].sum()) for v in truth.values()) > 10_000  # a real workload
    # and Genesys's own oServiceLevel agreed with every interval collected (#7)
    assert not collector.discrepancy_intervals_total, collector.discrepancy_intervals_total

    # IVR: good and total visits that ended per interval, exactly (visits with two
    # outcomes and failed outcomes that do not transfer included)
    flows = flow_truth(simulation, start * 60_000, end * 60_000, visible)
    stored_flows = stored_blocks(app, "ivr", start, end, ("flow_id",))
    for flow_id, expected in flows.items():
        assert np.array_equal(stored_flows[(flow_id,)], expected), flow_id
    assert (
        0
        < sum(int(v[:, 0].sum()) for v in flows.values())
        < sum(int(v[:, 1].sum()) for v in flows.values())
    )

    # API availability: the collector's own calls, with the failures it saw
    api = app.store.list_series("api")
    bounds = app.store.data_bounds([s.id for s in api])
    assert bounds is not None
    good, total = app.store.minute_arrays([s.id for s in api], *bounds)
    assert 0 < good.sum() < total.sum()
    assert stats["byPath"]["/api/v2/summary.json"]["200"] >= 4  # polled on every run
    app.close()
    print(
        f"\nfaulty run: {elapsed:.1f} s, {stats['requests']} requests at the server "
        f"{stats['byStatus']}, faults {stats['faults']}, tokens {stats['tokensIssued']}, "
        f"client retries {client_stats.retries}, circuit waits {client_stats.circuit_waits}"
    )


def test_fault_free_backfill_uses_the_minimum_requests_and_no_429(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, record_property: Any
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    clock = SimClock(ANCHOR, speed=1.0)
    limit = 300
    with fake_genesys(simulation, clock, "", rate_limit=limit) as url:
        app = open_app(write_config(tmp_path, url, simulation, max_query_span="6h"), clock)
        collector = collector_for(app)

        async def backfill() -> float:
            async with collector:
                began = time.monotonic()
                report = await collector.collect_range(
                    to_minute(ANCHOR - timedelta(days=7)), to_minute(ANCHOR)
                )
                assert report.ok, report.error
                return time.monotonic() - began

        seconds = asyncio.run(asyncio.wait_for(backfill(), timeout=120))
        stats = fake_stats(url)
    app.close()
    chunks = 7 * 4  # 7 days in 6-hour queries
    # token, one queue page, per chunk a queue query and the three IVR queries
    minimum = 1 + 1 + chunks * 4
    requests = stats["requests"]
    floor_seconds = (requests - 1) * 60 / limit  # sustained at exactly the limit
    figures = {
        "requests": requests,
        "minimum_requests": minimum,
        "request_ratio": round(requests / minimum, 3),
        "seconds": round(seconds, 2),
        "seconds_at_the_limit": round(floor_seconds, 2),
        "time_ratio": round(seconds / floor_seconds, 3),
        "status": stats["byStatus"],
        "by_path": stats["byPath"],
    }
    for key, value in figures.items():
        record_property(key, value)
    print(f"\nfault-free backfill: {figures}")
    assert "429" not in stats["byStatus"]
    assert requests <= 1.2 * minimum
    assert seconds <= 1.2 * floor_seconds + 2.0  # paced near the limit, not far below it


def test_cli_collect_history_then_once_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from errorbudget.cli.main import main

    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    now = datetime.now(tz=UTC)
    simulation = Simulation(default_scenario(now), seed=3)
    clock = SimClock(now, speed=1.0)  # the CLI runs on the real clock
    with fake_genesys(simulation, clock, "") as url:
        config = write_config(tmp_path, url, simulation, max_query_span="1d")
        runner = CliRunner()
        args = ["collect", "-c", str(config), "--from", "-2d", "--format", "json"]
        first = runner.invoke(main, args)
        assert first.exit_code == 0, first.output
        report = json.loads(first.output)
        assert report["chunks_written"] == report["chunks"] == 3
        assert report["rate_limited"] == 0 and report["error"] is None
        assert report["service_level_discrepancies"] == 0

        def stored() -> tuple[float, float]:
            with open_store(tmp_path / "eb.db") as store:
                ids = [s.id for s in store.list_series("queue-sl")]
                result = store.sums(ids, [(0, to_minute(datetime.now(tz=UTC)) + 1)])
                return float(result[..., 0].sum()), float(result[..., 1].sum())

        before = stored()
        assert before[1] > 0
        again = runner.invoke(main, ["collect", "-c", str(config), "--once"])
        assert again.exit_code == 0, again.output
        assert "collected through" in again.output
        after = stored()
        # --once re-fetched the last hour: the same closed intervals, only the open one grew
        assert after[1] >= before[1] and after[1] - before[1] < 0.01 * before[1] + 50
        usage = runner.invoke(main, ["collect", "-c", str(config)])
        assert usage.exit_code == 2 and "--from" in usage.output
