"""Two ``errorbudget serve`` replicas on one store, as real processes (issue #13, "Two
replicas"; docs/operations.md "Replicas and leader election").

1. Replicas agree on "now": a write through replica A shows in replica B's status within a
   second (B's status cache follows the store's revision).
2. Failover: the leader is killed (SIGKILL) while a page fires — exactly while its webhook
   request is in flight, before it could stamp the notification delivered. The other
   replica takes over within 30 s (measured; printed), delivers the page — received once,
   by its ``Idempotency-Key`` — and later its resolution, once; the Genesys collection
   resumes from the high-water mark: every 15-minute interval from the first collected to
   the last closed one is exactly the simulator's (no gap, nothing counted twice).

Run on one SQLite file shared by the two processes, and on PostgreSQL (``store: {url}``).
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

from serving import Served, start, stop
from test_genesys_acceptance import (
    ANCHOR,
    BLOCK,
    SECRET,
    fake_genesys,
    queue_truth,
    stored_blocks,
)

from errorbudget.app import App
from errorbudget.clock import ScaledClock
from errorbudget.config import load_config
from errorbudget.model import to_minute
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.store import Store, open_store

pytestmark = pytest.mark.integration

HOOK_SECRET = "hook-secret-for-replica-tests"
OPERATOR = "operator-token-for-replica-tests"
SPEED = 120.0  # two simulated minutes per real second
CALLS = 200  # per minute, on the paged SLO
BACKENDS = ["sqlite-file", pytest.param("postgres", id="postgres")]


@dataclass
class Where:
    """The store both replicas and the test open: its config section and location."""

    backend: str
    section: str
    location: str

    def open(self) -> Store:
        return open_store(self.location, lock_timeout=30)


@pytest.fixture(params=BACKENDS)
def where(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Where]:
    if request.param == "sqlite-file":
        yield Where(request.param, "{path: eb.db}", str(tmp_path / "eb.db"))
        return
    from postgres_server import fresh_database

    with fresh_database("eb_t_leader") as url:
        parts = urlsplit(url)  # the config names no password: the environment has it
        monkeypatch.setenv("ERRORBUDGET_STORE_PASSWORD", parts.password or "")
        netloc = f"{parts.username}@{parts.hostname}:{parts.port}"
        bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        yield Where(request.param, f"{{url: {json.dumps(bare)}}}", url)


@dataclass
class Arrival:
    at: float
    key: str
    event: str
    dedup_key: str
    slo: str


@dataclass
class CountingReceiver:
    """A webhook receiver that records every request (its ``Idempotency-Key`` and event)
    and holds the first ``firing`` one ``hold`` seconds before answering, so the sender can
    be killed while it waits."""

    hold: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    held: threading.Event = field(default_factory=threading.Event)

    def start(self) -> CountingReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
                arrival = Arrival(
                    time.monotonic(), self.headers["Idempotency-Key"], body["event"],
                    body["dedup_key"], body["labels"].get("slo", ""),
                )  # fmt: skip
                owner.arrivals.append(arrival)
                if arrival.event == "firing" and not owner.held.is_set():
                    owner.held.set()
                    time.sleep(owner.hold)
                try:
                    self.send_response(200)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def once(self) -> dict[str, list[Arrival]]:
        """The notifications received, each once (by its Idempotency-Key), by event."""
        first: dict[str, Arrival] = {}
        for arrival in self.arrivals:
            first.setdefault(arrival.key, arrival)
        found: dict[str, list[Arrival]] = {}
        for arrival in first.values():
            found.setdefault(arrival.event, []).append(arrival)
        return found


def write_config(
    tmp_path: Path, where: Where, body: str, leader: str = "{ttl: 15s, renew_every: 2s}"
) -> Path:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(
        f"""
version: 1
store: {where.section}
server:
  anonymous_read: true
  leader: {leader}
  tokens:
    - {{name: ops, token: {OPERATOR}, role: operator}}
{body}""",
        encoding="utf-8",
    )
    return path


def readyz(served: Served) -> dict[str, Any]:
    answer = httpx.get(served.url + "/readyz", timeout=5)
    data: dict[str, Any] = answer.json()
    return data


def wait_for(condition: Any, timeout: float, what: str, every: float = 0.05) -> float:
    """Seconds until ``condition()`` held; AssertionError naming ``what`` after ``timeout``."""
    began = time.monotonic()
    while True:
        try:
            if condition():
                return time.monotonic() - began
        except httpx.TransportError:
            pass
        if time.monotonic() - began > timeout:
            raise AssertionError(f"{what}: not within {timeout:g} s")
        time.sleep(every)


def leading(served: Served) -> bool:
    return bool(readyz(served).get("leader", {}).get("leading"))


def test_a_write_through_one_replica_shows_in_the_others_status_within_a_second(
    tmp_path: Path, where: Where
) -> None:
    config = write_config(
        tmp_path,
        where,
        """slos:
  - id: agree
    service: contact-center
    target: 0.99
    window: {type: rolling, length: 1d}
    data: {min_coverage: 0}
""",
    )
    a = start(config, "--no-collect")
    b = start(config, "--no-collect")
    try:
        wait_for(lambda: leading(a) != leading(b), 30, "one replica leads")
        now = to_minute(datetime.now(UTC))
        lags = []
        for n in range(1, 6):
            line = json.dumps({"time": (now - n) * 60, "slo": "agree", "good": n, "total": n})
            answer = httpx.post(
                a.url + "/api/v1/counts", content=line.encode() + b"\n",
                headers={"Authorization": f"Bearer {OPERATOR}",
                         "Content-Type": "application/x-ndjson"},
                timeout=10,
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
            written = time.monotonic()
            expected = n * (n + 1) / 2

            def seen(expected: float = expected) -> bool:
                rows = httpx.get(b.url + "/api/v1/status?slo=agree", timeout=5).json()
                return bool(rows) and rows[0]["raw_total"] == expected

            wait_for(seen, 5, f"write {n} in B's status")
            lags.append(time.monotonic() - written)
        print(f"\nB saw A's writes after {', '.join(f'{lag:.2f}' for lag in lags)} s")
        assert max(lags) <= 1.0, lags
        # the surfaces say who leads, the same on both replicas
        leader, follower = (a, b) if leading(a) else (b, a)
        lead, follow = readyz(leader)["leader"], readyz(follower)["leader"]
        assert lead["leading"] and not follow["leading"]
        assert lead["leader"] == follow["leader"] == lead["replica"] != follow["replica"]
        assert lead["token"] == lead["leader_token"] == follow["leader_token"] >= 1
        assert follow["token"] is None
        assert readyz(follower)["status"] == "ready"  # a follower serves: it is ready
        for served, value in ((leader, 1.0), (follower, 0.0)):
            metrics = httpx.get(served.url + "/metrics", timeout=10).text
            replica = readyz(served)["leader"]["replica"]
            assert f'errorbudget_leader{{replica="{replica}"}} {value}' in metrics
            assert f'errorbudget_leader_token{{replica="{replica}"}} {lead["token"]}.0' in metrics
            # every replica's /metrics names the leader, the follower's too
            info = f'errorbudget_leader_info{{leader="{lead["replica"]}",replica="{replica}"}} 1.0'
            assert info in metrics
            page = httpx.get(served.url + "/", timeout=10).text
            assert f"Replica {lead['replica']} leads (term {lead['token']})" in page
        assert "served this page" in httpx.get(leader.url + "/", timeout=10).text
        assert f"served by {follow['replica']}" in httpx.get(follower.url + "/", timeout=10).text
    finally:
        stop(a)
        stop(b)


def test_the_leader_killed_while_a_page_fires_fails_over_with_nothing_lost_or_doubled(
    tmp_path: Path, where: Where, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    monkeypatch.setenv("EB_TEST_HOOK_SECRET", HOOK_SECRET)
    real_start = datetime.now(UTC)
    clock = ScaledClock(ANCHOR, real_start, SPEED)
    simulation = Simulation(default_scenario(ANCHOR), seed=11)
    receiver = CountingReceiver(hold=8.0).start()
    sl = simulation.scenario.service_level
    with where.open() as store:  # three healthy days of the paged SLO before the start
        write_minutes(store, to_minute(ANCHOR) - 3 * 1440, to_minute(ANCHOR), bad=0)
    with fake_genesys(simulation, clock, "", rate_limit=100_000) as genesys:  # type: ignore[arg-type]
        config = write_config(
            tmp_path,
            where,
            f"""clock:
  simulated_start: "{ANCHOR.isoformat()}"
  real_start: "{real_start.isoformat()}"
  speed: {SPEED}
sources:
  genesys:
    base_url: {genesys}
    client_id: errorbudget-sim
    client_secret: ${{FAKE_GENESYS_SECRET}}
    granularity: 15m
    interval: 2s
    lookback: 1h
    circuit_reset: 1s
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
    alerting: {{enabled: false}}
  - id: answered
    service: contact-center
    target: 0.999
    window: {{type: rolling, length: 30d}}
    data: {{min_coverage: 0}}
notifications:
  receivers:
    - {{name: hook, type: webhook, url: "{receiver.url}/in", secret_env: EB_TEST_HOOK_SECRET}}
""",
        )
        feeder = Feeder(where, clock).start()
        a = start(config)
        b: Served | None = None
        try:
            wait_for(lambda: leading(a), 30, "A leads")
            b = start(config)
            wait_for(lambda: readyz(b)["leader"]["leader"] == readyz(a)["leader"]["replica"],
                     30, "B sees A lead")  # fmt: skip
            assert not leading(b)
            wait_for(lambda: collected(where) > 0, 60, "A collects")
            feeder.bad = CALLS  # a total outage of the paged SLO: A pages
            wait_for(receiver.held.is_set, 60, "A sends the page")
            killed_sim = clock()
            a.process.send_signal(signal.SIGKILL)  # not reaped yet: B cannot tell it died
            takeover = wait_for(lambda: leading(b), 60, "B takes over", every=0.1)  # type: ignore[arg-type]
            took_sim = clock()
            # the documented bound: ttl (15 s) + renew_every (2 s), well within 30 s
            assert takeover < 30.0, f"B took over {takeover:.1f} s after the kill"
            a.process.wait()
            # B sends the page A could not stamp; then the outage ends and B resolves it
            wait_for(lambda: len(receiver.arrivals) >= 2, 30, "B sends the page again")
            feeder.bad = 0
            wait_for(lambda: "resolved" in receiver.once(), 120, "B sends the resolution")
            # one more collection run after the resolution, then B stops
            # (and far enough past the takeover that whole intervals after it are compared)
            after = max(clock() + timedelta(minutes=4), took_sim + timedelta(minutes=40))
            wait_for(lambda: last_success(b) > after, 60, "B collects after the resolution")  # type: ignore[arg-type]
            final = last_success(b)  # type: ignore[arg-type]
        finally:
            feeder.stop()
            if a.process.poll() is None:
                a.process.kill()
                a.process.wait()
            if b is not None:
                assert stop(b) == 0, b.log_text()
            receiver.stop()

    # the page and its resolution: each received once (by Idempotency-Key), the page sent
    # twice (A's request was cut short by the kill, B sent it again with the same key)
    once = receiver.once()
    assert sorted(once) == ["firing", "resolved"], once
    assert {x.slo for x in receiver.arrivals} == {"answered"}
    [page], [resolution] = once["firing"], once["resolved"]
    assert page.dedup_key == resolution.dedup_key
    assert [x.event for x in receiver.arrivals] == ["firing", "firing", "resolved"]
    with where.open() as store:
        log = store.list_notifications()
        assert sorted((n.event, n.status) for n in log) == [
            ("firing", "delivered"), ("resolved", "delivered"),
        ]  # fmt: skip
        bounds = store.data_bounds([s.id for s in store.list_series("queue-sl")])
    assert bounds is not None
    # collection: every closed interval from the first collected on, exactly the truth
    first = bounds[0] + (-bounds[0]) % BLOCK
    end = to_minute(final) - 8  # closed before the start of B's last run
    end -= end % BLOCK
    assert first < to_minute(killed_sim) - BLOCK and end > to_minute(took_sim) + BLOCK
    truth = queue_truth(simulation, first * 60_000, end * 60_000, int(final.timestamp() * 1000))
    loaded = load_config(config)
    with App(loaded, where.open(), clock=clock) as app:
        stored = stored_blocks(app, "queue-sl", first, end, ("queue_id", "media_type"))
    blocks = (end - first) // BLOCK
    for key, expected in truth.items():
        got = stored.get(key, np.zeros((blocks, 2), dtype=np.int64))
        assert np.array_equal(got, expected), (key, got.tolist(), expected.tolist())
    between = slice(
        (to_minute(killed_sim) - first) // BLOCK, (to_minute(took_sim) - first) // BLOCK + 1
    )
    assert sum(int(v[between, 1].sum()) for v in truth.values()) > 0  # a gap would show
    print(
        f"\nfailover ({where.backend}): B led {takeover:.1f} s after the kill "
        f"(ttl 15 s, renew every 2 s; {(took_sim - killed_sim).total_seconds() / 60:.0f} "
        f"simulated minutes); page and resolution received once each "
        f"({len(receiver.arrivals)} requests); {blocks} intervals of "
        f"{len(truth)} queues equal to the truth"
    )


def test_a_leader_paused_past_its_ttl_steps_down_and_sends_nothing_again(
    tmp_path: Path, where: Where, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The leader is paused (SIGSTOP) past its ttl: the other replica takes over within the
    bound and pages; the old one, resumed (SIGCONT), steps down, names the new leader, and
    neither sends nor records anything twice (its writes and claims are fenced)."""
    monkeypatch.setenv("EB_TEST_HOOK_SECRET", HOOK_SECRET)
    clock = ScaledClock(ANCHOR, datetime.now(UTC), SPEED)
    receiver = CountingReceiver().start()
    with where.open() as store:  # three healthy days of the paged SLO before the start
        write_minutes(store, to_minute(ANCHOR) - 3 * 1440, to_minute(ANCHOR), bad=0)
    config = write_config(
        tmp_path,
        where,
        f"""clock:
  simulated_start: "{ANCHOR.isoformat()}"
  real_start: "{clock.real_start.isoformat()}"
  speed: {SPEED}
slos:
  - id: answered
    service: contact-center
    target: 0.999
    window: {{type: rolling, length: 30d}}
    data: {{min_coverage: 0}}
notifications:
  receivers:
    - {{name: hook, type: webhook, url: "{receiver.url}/in", secret_env: EB_TEST_HOOK_SECRET}}
""",
        leader="{ttl: 4s, renew_every: 1s}",
    )
    feeder = Feeder(where, clock).start()
    a = start(config)
    b: Served | None = None
    paused = False
    try:
        wait_for(lambda: leading(a), 30, "A leads")
        b = start(config)
        a_id = readyz(a)["leader"]["replica"]
        wait_for(lambda: readyz(b)["leader"]["leader"] == a_id, 30, "B sees A lead")
        a.process.send_signal(signal.SIGSTOP)
        paused = True
        feeder.bad = CALLS  # an outage while A is paused: B is to page, A must not
        takeover = wait_for(lambda: leading(b), 30, "B takes over", every=0.1)  # type: ignore[arg-type]
        assert takeover < 4 + 1 + 3, f"B took over {takeover:.1f} s after A paused"  # ttl + renew
        b_lead = readyz(b)["leader"]  # type: ignore[arg-type]
        wait_for(lambda: receiver.arrivals, 60, "B pages")
        a.process.send_signal(signal.SIGCONT)
        paused = False
        wait_for(
            lambda: (
                readyz(a)["leader"]["leading"] is False
                and readyz(a)["leader"]["leader"] == b_lead["replica"]
            ),
            30,
            "A steps down and names B",
        )
        time.sleep(3)  # A's jobs have had their rounds since it resumed
        assert leading(b) and readyz(b)["leader"]["token"] == b_lead["token"]  # type: ignore[arg-type]
        metrics = httpx.get(a.url + "/metrics", timeout=10).text
        assert f'errorbudget_leader{{replica="{a_id}"}} 0.0' in metrics
        assert f'leader="{b_lead["replica"]}"' in metrics
    finally:
        feeder.stop()
        if paused:
            a.process.send_signal(signal.SIGCONT)
        assert stop(a) == 0, a.log_text()
        if b is not None:
            assert stop(b) == 0, b.log_text()
        receiver.stop()
    keys = [arrival.key for arrival in receiver.arrivals]
    assert keys and len(keys) == len(set(keys)), keys  # nothing sent twice
    with where.open() as store:
        log = store.list_notifications()
    assert {n.status for n in log} == {"delivered"} and {n.attempts for n in log} == {1}
    assert len(log) == len(keys)
    assert "this replica no longer leads" in a.log_text()


def write_minutes(store: Store, first: int, last: int, bad: int) -> None:
    [series] = store.series_ids("answered", [()])
    minutes = list(range(first, last))
    store.write_counts(
        [series] * len(minutes), minutes, [CALLS - bad] * len(minutes), [CALLS] * len(minutes),
        source="feed",
    )  # fmt: skip


class Feeder:
    """Writes the paged SLO's current minute (``bad`` of ``CALLS`` calls bad) every 0.2 s,
    from the test process (any writer may: only the leader's jobs are fenced)."""

    def __init__(self, where: Where, clock: ScaledClock) -> None:
        self.where = where
        self.clock = clock
        self.bad = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            with self.where.open() as store:
                done = to_minute(ANCHOR)
                while not self._stop.is_set():
                    now = to_minute(self.clock())
                    write_minutes(store, done, now + 1, self.bad)
                    done = now
                    time.sleep(0.2)
        except BaseException as exc:
            self.error = exc
            raise

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert self.error is None, self.error


def collected(where: Where) -> int:
    with where.open() as store:
        return len(store.list_series("queue-sl"))


def last_success(served: Served) -> datetime:
    sources = readyz(served)["sources"]
    found = [s["last_success_at"] for s in sources if s["source"] == "genesys"]
    if not found or found[0] is None:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.fromisoformat(found[0])
