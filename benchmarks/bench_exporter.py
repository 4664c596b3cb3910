"""The issue #11 benchmark: a scrape of the Genesys queue families for 500 queues.

The poller (``sources/genesys/queue_poller.py``) is fed Genesys-shaped answers for 500 queues
(observations with four routing statuses each, an hour of 1-minute aggregates with the ten
wait views) through its real poll path — only the HTTP to Genesys is replaced — and then:

- **scrape handler**: what one ``GET /metrics`` does for the feed — ``generate_latest``
  over the registry holding its health collector (read from the client) plus the queue
  families the last poll rendered, appended as they are; median of runs;
- **whole HTTP scrape**: ``GET /metrics`` of ``errorbudget exporter``'s app under uvicorn
  on 127.0.0.1 with basic authentication (a SHA-256 hash), one keep-alive client; median;
- **poll publish**: building the snapshot and rendering its families, once per poll (not
  per scrape).

Run by ``benchmarks/run.py`` (``make bench``), or alone::

    python benchmarks/bench_exporter.py            # prints the figures as JSON
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import socket
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

HEADING = "## Issue #11 — Genesys exporter"
QUEUES = 500
RUNS = 101
HTTP_RUNS = 201
MEDIA = ("voice", "chat", "email", "message", "callback")
STATUSES = ("IDLE", "INTERACTING", "COMMUNICATING", "NOT_RESPONDING")


def _answers(start: datetime) -> tuple[dict[str, Any], dict[str, Any], list[Any]]:
    from errorbudget.sources.genesys.client import Queue
    from errorbudget.sources.genesys.queue_metrics import WAIT_BUCKETS, wait_view
    from errorbudget.sources.genesys.service_levels import ServiceLevelTarget

    queues = {
        f"q{i:04d}": Queue(
            f"q{i:04d}",
            f"Queue {i}",
            {MEDIA[i % len(MEDIA)]: ServiceLevelTarget(0.8, 20_000)},
        )
        for i in range(QUEUES)
    }
    observations: list[dict[str, Any]] = []
    aggregates: list[dict[str, Any]] = []
    for i, queue_id in enumerate(queues):
        media = MEDIA[i % len(MEDIA)]
        observations.append(
            {"group": {"queueId": queue_id, "mediaType": media},
             "data": [{"metric": "oWaiting", "stats": {"count": i % 17}}]}
        )  # fmt: skip
        observations.append(
            {"group": {"queueId": queue_id},
             "data": [{"metric": "oOnQueueUsers", "qualifier": s, "stats": {"count": (i + k) % 5}}
                      for k, s in enumerate(STATUSES)]}
        )  # fmt: skip
        data = []
        for minute in range(60):
            interval = start + timedelta(minutes=minute)
            waits = [min(10, (i + minute) % 7 + b) for b in range(len(WAIT_BUCKETS))]
            data.append(
                {"interval": f"{interval:%Y-%m-%dT%H:%M}:00.000Z/"
                             f"{interval + timedelta(minutes=1):%Y-%m-%dT%H:%M}:00.000Z",
                 "metrics": [{"metric": "nOffered", "stats": {"count": 12}},
                             {"metric": "tWait", "stats": {"count": 12, "sum": 95_000}},
                             {"metric": "oServiceLevel",
                              "stats": {"numerator": 9, "denominator": 12, "ratio": 0.75}}],
                 "views": [{"name": wait_view(b), "stats": {"count": min(12, waits[k])}}
                           for k, b in enumerate(WAIT_BUCKETS)]}
            )  # fmt: skip
        aggregates.append({"group": {"queueId": queue_id, "mediaType": media}, "data": data})
    return {"results": observations}, {"results": aggregates}, [queues]


def populated_poller() -> Any:
    """A poller that polled 500 queues (observations, an hour of aggregates)."""
    from errorbudget.sources.genesys.client import GenesysClient
    from errorbudget.sources.genesys.queue_poller import QueuePoller
    from errorbudget.sources.genesys.settings import GenesysSettings

    start = datetime(2026, 11, 9, 15, 0, tzinfo=UTC)
    now = [start + timedelta(seconds=30)]
    observations, aggregates, (queues,) = _answers(start)
    settings = GenesysSettings.model_validate(
        {"base_url": "http://127.0.0.1:9", "client_id": "bench", "client_secret": "bench",
         "queue_metrics": {"revision_lookback": "2h"}}
    )  # fmt: skip
    client = GenesysClient(settings, clock=lambda: now[0])

    async def details(**_: object) -> dict[str, Any]:
        return dict(queues)

    async def observe(body: object) -> dict[str, Any]:
        return observations

    async def aggregate(body: object) -> dict[str, Any]:
        return aggregates

    client.queue_details = details  # type: ignore[method-assign]
    client.queue_observations = observe  # type: ignore[method-assign]
    client.conversation_aggregates = aggregate  # type: ignore[method-assign]
    poller = QueuePoller(settings, client, clock=lambda: now[0], owns_client=True)

    async def poll() -> None:
        await poller.poll_aggregates()  # origin
        now[0] = start + timedelta(hours=1, seconds=30)
        await poller.poll_aggregates()
        await poller.poll_observations()

    asyncio.run(poll())
    return poller


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def scrape_handler(poller: Any) -> dict[str, float]:
    from prometheus_client import generate_latest
    from prometheus_client.registry import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    for collector in poller.collectors():
        registry.register(collector)
    body = generate_latest(registry) + poller.exposition()
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        generate_latest(registry) + poller.exposition()
        times.append(time.perf_counter() - began)
    publish = []
    for _ in range(11):
        began = time.perf_counter()
        asyncio.run(poller._publish())
        publish.append(time.perf_counter() - began)
    samples = sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))
    return {
        "handler_ms": _median_ms(times),
        "handler_max_ms": max(times) * 1000,
        "publish_ms": _median_ms(publish),
        "samples": samples,
        "bytes": len(body),
    }


def http_scrape(poller: Any) -> dict[str, float]:
    import httpx
    import uvicorn
    from prometheus_client.registry import CollectorRegistry

    from errorbudget.exporter_settings import ExporterAuth
    from errorbudget.web.exporter_app import ScrapeAuth, create_exporter_app

    registry = CollectorRegistry(auto_describe=False)
    for collector in poller.collectors():
        registry.register(collector)
    digest = hashlib.sha256(b"bench").hexdigest()
    auth = ScrapeAuth(
        ExporterAuth(type="basic", username="prom", password_hash=f"sha256:{digest}"), {}
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_exporter_app(registry, auth, poller.exposition), log_level="warning",
                       access_log=False, lifespan="off")
    )  # fmt: skip
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    headers = {"Authorization": "Basic " + base64.b64encode(b"prom:bench").decode()}
    times = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as client:
            client.get("/metrics").raise_for_status()
            for _ in range(HTTP_RUNS):
                began = time.perf_counter()
                answer = client.get("/metrics")
                times.append(time.perf_counter() - began)
                answer.raise_for_status()
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    ordered = sorted(times)
    return {
        "http_ms": _median_ms(times),
        "http_p95_ms": ordered[int(len(ordered) * 0.95)] * 1000,
    }


def measure() -> dict[str, float]:
    poller = populated_poller()
    figures = scrape_handler(poller)
    figures |= http_scrape(poller)
    return figures


def run_section() -> str:
    """Measure and return the Markdown section for docs/performance.md."""
    from run import revision  # benchmarks/run.py

    load = os.getloadavg()
    f = measure()
    rows = [
        ("measure", "target", "result"),
        ("---", "---", "---"),
        (
            f"scrape of {QUEUES} queues: the `/metrics` handler's work (median of {RUNS})",
            "< 50 ms",
            f"**{f['handler_ms']:,.2f} ms** (max {f['handler_max_ms']:,.2f} ms)",
        ),
        (
            "the whole HTTP scrape (`GET /metrics` with basic auth, loopback, keep-alive; "
            f"median of {HTTP_RUNS})",
            "—",
            f"**{f['http_ms']:,.1f} ms** (p95 {f['http_p95_ms']:,.1f} ms)",
        ),
        (
            "building the snapshot and rendering its families, once per poll (median)",
            "—",
            f"{f['publish_ms']:,.1f} ms",
        ),
    ]
    table = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    return f"""{HEADING}

Measured by `benchmarks/bench_exporter.py` (run by `benchmarks/run.py`) on
{datetime.now(tz=UTC):%Y-%m-%d}, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}
(2 cores shared). Code: {revision()}.

{table}

- {QUEUES} queues, one media type each, four routing statuses: {int(f["samples"]):,} samples,
  {f["bytes"] / 1024:,.0f} KiB of exposition text per scrape.
- The poller was fed Genesys-shaped answers (observations, an hour of 1-minute aggregates with
  the ten `tWait` views) through its real poll path; only the HTTP to Genesys is replaced. A
  scrape does no parsing, no upstream call and no rendering of the queue families: it appends
  the text the last poll rendered (observations every 10 s, aggregates every minute) to the
  few live health samples. Rendering per scrape instead (prometheus_client's
  `generate_latest` over the prebuilt families) measured ~80 ms under the same load.
"""


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
