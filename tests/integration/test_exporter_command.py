"""``errorbudget exporter`` on real sockets, fed by the fake Genesys Cloud API: TLS with
basic authentication, bearer tokens, 401 before any work and no poll caused by a scrape,
the command itself as a process, and a real Prometheus scraping it (``genesys_queue_depth``
and a ``histogram_quantile`` over the wait buckets as the exporter exposed them)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import math
import os
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector
from real_servers import Prometheus, free_port, require_binary, self_signed

from errorbudget.app import App
from errorbudget.config import load_config
from errorbudget.exporter_server import Exporter, run_exporter
from errorbudget.server import listen
from errorbudget.simulate import ManualClock, Simulation, default_scenario
from errorbudget.simulate.server import FakeGenesysServer
from errorbudget.sources.genesys.queue_poller import QueuePoller

pytestmark = pytest.mark.integration

ANCHOR = datetime(2026, 11, 9, 15, 0, 20, tzinfo=UTC)
METRICS = "{observation_interval: 1h, granularity: 60m, settle: 5s, revision_lookback: 60m}"


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeGenesysServer, ManualClock]]:
    clock = ManualClock(ANCHOR)
    sim = Simulation(default_scenario(ANCHOR), seed=7)
    with FakeGenesysServer(sim, clock) as server:
        yield server, clock


def write_config(tmp_path: Path, url: str, exporter: str = "{}") -> Path:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(
        f"""
store: {{path: eb.db}}
sources:
  genesys:
    base_url: {url}
    client_id: errorbudget-sim
    client_secret: errorbudget-sim-secret
    queue_metrics: {METRICS}
exporter: {exporter}
""",
        encoding="utf-8",
    )
    return path


class CountingCollector(Collector):
    """Counts how often the registry is collected (a 401 must not collect)."""

    def __init__(self) -> None:
        self.calls = 0

    def collect(self) -> Iterator[Metric]:
        self.calls += 1
        yield GaugeMetricFamily("test_collections", "collections", value=self.calls)


@contextmanager
def running(
    config: Path, env: dict[str, str], clock: ManualClock
) -> Iterator[tuple[Exporter, dict[str, Any]]]:
    """The exporter's loop (feeds + uvicorn) in a thread, on the fake's simulated clock;
    ``state`` has its loop and server."""
    built = Exporter.build(load_config(config), env, clock)
    port = free_port()
    sock = listen("127.0.0.1", port)
    state: dict[str, Any] = {"port": port}

    def on_server(server: Any) -> None:
        state["server"], state["loop"] = server, asyncio.get_running_loop()

    thread = threading.Thread(
        target=lambda: asyncio.run(
            run_exporter(built, sock, "127.0.0.1", port, on_server=on_server)
        ),
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 15
    while not (state.get("server") is not None and state["server"].started):
        assert time.monotonic() < deadline and thread.is_alive(), "the exporter did not start"
        time.sleep(0.02)
    try:
        yield built, state
    finally:
        state["server"].should_exit = True
        thread.join(15)
        assert not thread.is_alive()


def poller_of(built: Exporter) -> QueuePoller:
    (feed,) = built.feeds
    assert isinstance(feed, QueuePoller)
    return feed


def settle_counters(built: Exporter, state: dict[str, Any], clock: ManualClock) -> QueuePoller:
    """Wait for the feed's first polls, then move the clock past a closed hour and poll the
    aggregates in the exporter's own loop (as its next scheduled poll would)."""
    poller = poller_of(built)
    deadline = time.monotonic() + 15
    while poller.polls["observations"] < 1 or poller.polls["aggregates"] < 1:
        assert time.monotonic() < deadline, "no first poll"
        time.sleep(0.05)
    clock.set(ANCHOR + timedelta(hours=1, minutes=10))
    asyncio.run_coroutine_threadsafe(poller.poll_aggregates(), state["loop"]).result(30)
    asyncio.run_coroutine_threadsafe(poller.poll_observations(), state["loop"]).result(30)
    return poller


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_tls_and_basic_auth_401_before_any_work_and_scrapes_never_poll(
    tmp_path: Path, fake: tuple[FakeGenesysServer, ManualClock]
) -> None:
    server, clock = fake
    clock.set(ANCHOR)
    cert, key = self_signed(tmp_path)
    try:
        import bcrypt

        hashed = bcrypt.hashpw(b"scrape-pw", bcrypt.gensalt(rounds=4)).decode()
    except ImportError:  # the exporter-auth extra is absent: the SHA-256 form
        hashed = "sha256:" + hashlib.sha256(b"scrape-pw").hexdigest()
    exporter = (
        f"{{tls: {{cert_file: {cert.name}, key_file: {key.name}}}, "
        f"auth: {{type: basic, username: prom, password_hash: '{hashed}'}}}}"
    )
    config = write_config(tmp_path, server.base_url, exporter)
    with running(config, {}, clock) as (built, state):
        counting = CountingCollector()
        built.registry.register(counting)
        poller = settle_counters(built, state, clock)
        attempts, polls = poller.client.stats.attempts, dict(poller.polls)
        url = f"https://127.0.0.1:{state['port']}"
        tls = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=url, verify=tls, timeout=10) as client:
            refused = client.get("/metrics")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"].startswith("Basic")
            assert client.get("/metrics", headers=basic("prom", "wrong")).status_code == 401
            assert (
                client.get("/metrics", headers=basic("prometheus", "scrape-pw")).status_code == 401
            )
            assert counting.calls == 0  # nothing was collected for a refused scrape
            for _ in range(5):
                answer = client.get("/metrics", headers=basic("prom", "scrape-pw"))
                assert answer.status_code == 200
            assert client.get("/healthz").json() == {"status": "ok"}
        assert counting.calls == 5
        assert "genesys_queue_offer_total{" in answer.text
        assert 'genesys_queue_wait_time_seconds_bucket{le="512.0"' in answer.text
        # scrapes read the snapshot: no request reached Genesys, no poll ran
        assert (poller.client.stats.attempts, dict(poller.polls)) == (attempts, polls)
        with pytest.raises(httpx.HTTPError):  # plain HTTP is not served on the TLS port
            httpx.get(f"http://127.0.0.1:{state['port']}/metrics", timeout=5)


def test_the_command_serves_bearer_authenticated_scrapes_and_stops_on_sigterm(
    tmp_path: Path, fake: tuple[FakeGenesysServer, ManualClock]
) -> None:
    server, _ = fake
    config = write_config(
        tmp_path, server.base_url, "{auth: {type: bearer, token_env: SCRAPE_TOKEN}}"
    )
    App.open(config).close()  # a store: the SLO families are served too
    port = free_port()
    env = {**os.environ, "SCRAPE_TOKEN": "tok-123"}
    process = subprocess.Popen(
        [sys.executable, "-m", "errorbudget", "exporter", "-c", str(config),
         "--listen", f"127.0.0.1:{port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, process.stderr
            time.sleep(0.2)
        assert httpx.get(f"{url}/metrics", timeout=5).status_code == 401
        wrong = {"Authorization": "Bearer tok-12"}
        assert httpx.get(f"{url}/metrics", headers=wrong, timeout=5).status_code == 401
        good = {"Authorization": "Bearer tok-123"}
        deadline = time.monotonic() + 30
        while "genesys_queue_depth{" not in (
            text := httpx.get(f"{url}/metrics", headers=good, timeout=5).text
        ):
            assert time.monotonic() < deadline, text[-2000:]
            time.sleep(0.2)
        assert "genesys_queue_agents{" in text
        assert "# TYPE errorbudget_budget_remaining_ratio gauge" in text  # the store's families
        assert httpx.get(f"{url}/docs", headers=good, timeout=5).status_code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "no store" not in err
    assert f"errorbudget exporter is serving http://127.0.0.1:{port}/metrics" in out


def test_without_a_store_only_the_feeds_are_served(
    tmp_path: Path, fake: tuple[FakeGenesysServer, ManualClock]
) -> None:
    server, clock = fake
    built = Exporter.build(load_config(write_config(tmp_path, server.base_url)), {}, clock)
    assert built.store is None and any("no store" in note for note in built.notes)
    assert [type(feed).__name__ for feed in built.feeds] == ["QueuePoller"]
    asyncio.run(built.aclose())


def expected_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus's ``histogram_quantile`` over cumulative (upper bound, count) buckets."""
    buckets = sorted(buckets)
    total = buckets[-1][1]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            if count == previous_count:
                return bound
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / (
                count - previous_count
            )
        previous_bound, previous_count = bound, count
    return previous_bound


def test_a_real_prometheus_scrapes_the_queue_families(
    tmp_path: Path, fake: tuple[FakeGenesysServer, ManualClock]
) -> None:
    require_binary("prometheus")
    server, clock = fake
    clock.set(ANCHOR)
    exporter = "{auth: {type: basic, username: prom, password_env: SCRAPE_PASSWORD}}"
    config = write_config(tmp_path, server.base_url, exporter)
    with running(config, {"SCRAPE_PASSWORD": "pw-1"}, clock) as (built, state):
        settle_counters(built, state, clock)
        answer = httpx.get(
            f"http://127.0.0.1:{state['port']}/metrics", headers=basic("prom", "pw-1"), timeout=10
        )
        families = {f.name: f for f in text_string_to_metric_families(answer.text)}
        depth = {s.labels["queue_id"]: s.value for s in families["genesys_queue_depth"].samples}
        buckets: dict[str, list[tuple[float, float]]] = {}
        for sample in families["genesys_queue_wait_time_seconds"].samples:
            if sample.name.endswith("_bucket"):
                buckets.setdefault(sample.labels["queue_id"], []).append(
                    (float(sample.labels["le"]), sample.value)
                )
        prometheus_yml = tmp_path / "prometheus.yml"
        prometheus_yml.write_text(
            f"""
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: genesys
    basic_auth: {{username: prom, password: pw-1}}
    static_configs: [{{targets: ["127.0.0.1:{state["port"]}"]}}]
""",
            encoding="utf-8",
        )
        with Prometheus(prometheus_yml, tmp_path / "prom").start(tmp_path / "prom.log") as prom:
            vector = prom.wait_for("genesys_queue_depth")
            assert {v["metric"]["queue_id"]: float(v["value"][1]) for v in vector} == depth
            assert prom.value('up{job="genesys"}') == 1
            busy = [q for q, b in buckets.items() if max(c for _, c in b) > 0]
            assert len(busy) >= 5
            for queue_id in busy:
                expr = (
                    "histogram_quantile(0.95, sum by (le) "
                    f'(genesys_queue_wait_time_seconds_bucket{{queue_id="{queue_id}"}}))'
                )
                assert prom.value(expr) == pytest.approx(
                    expected_quantile(0.95, buckets[queue_id]), rel=1e-9
                ), queue_id


def test_a_bcrypt_check_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """bcrypt costs ~0.1 s per check and a wrong password is never remembered: checked on
    the event loop, every bad scrape would stall the feeds' polls and every other request."""
    import bcrypt
    from prometheus_client.registry import CollectorRegistry

    from errorbudget.exporter_settings import ExporterAuth
    from errorbudget.web.exporter_app import ScrapeAuth, create_exporter_app

    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()
    auth = ScrapeAuth(ExporterAuth(type="basic", username="prom", password_hash=hashed), {})
    on_loop: list[bool] = []
    checkpw = bcrypt.checkpw

    def watched(password: bytes, hashed_password: bytes) -> bool:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return checkpw(password, hashed_password)

    monkeypatch.setattr(bcrypt, "checkpw", watched)
    transport = httpx.ASGITransport(app=create_exporter_app(CollectorRegistry(), auth))

    async def scrape(password: str) -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://e") as client:
            headers = {
                "Authorization": "Basic " + base64.b64encode(f"prom:{password}".encode()).decode()
            }
            return (await client.get("/metrics", headers=headers)).status_code

    wrong, right = asyncio.run(scrape("nope")), asyncio.run(scrape("s3cret"))
    assert (wrong, right) == (401, 200)
    assert on_loop == [False, False]
