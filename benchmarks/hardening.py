"""The issue #8 figures: a server that never freezes or loses its collector.

Each scenario runs the real commands (``errorbudget serve``, ``errorbudget ingest``) in
subprocesses, on 127.0.0.1, with the package from ``--src`` (default: this repository's
``src``), so the same harness measures an older revision too
(``git archive REV src | tar -x -C /tmp/old`` then ``--src /tmp/old/src``). Prints one JSON
object per scenario; docs/operations.md ("Issue #8: hardening") records the figures.

    python benchmarks/hardening.py freeze              # /healthz, reads, writes while a CLI
                                                       # ingest holds the write lock (~1 min)
    python benchmarks/hardening.py body                # an unauthenticated 300 MiB chunked POST
    python benchmarks/hardening.py crash               # kill -9 during ingest, collection
                                                       # and approval, 10 × each, both backends
    python benchmarks/hardening.py outage              # a 150-s fake Genesys Cloud outage
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
OPERATOR = "bench-operator-token-0123456789"
QUEUES = 200

CONFIG = f"""\
version: 1
store: {{path: eb.db}}
server:
  tokens:
    - {{name: ops, token: {OPERATOR}, role: operator}}
slos:
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [queue]}}
"""
AUTH = {"Authorization": f"Bearer {OPERATOR}"}


# --- processes ---------------------------------------------------------------------------------


def environment(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def errorbudget(src: Path, *args: str, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "errorbudget", *args],
        env=environment(src),
        text=True,
        **options,
    )


@contextmanager
def serving(src: Path, config: Path, *extra: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    log = (config.parent / f"serve-{port}.log").open("w")
    process = errorbudget(
        src, "serve", "-c", str(config), "--port", str(port), *extra,
        stdout=subprocess.DEVNULL, stderr=log,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/healthz", process)
        yield base, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def wait_for(url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.05)


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


# --- data ----------------------------------------------------------------------------------------


def write_counts(path: Path, start_minute: int, minutes: int, queues: int, seed: int) -> int:
    """``queues`` × ``minutes`` rows of 1-minute counts as CSV (time in Unix seconds)."""
    rng = np.random.default_rng(seed)
    minute = np.repeat(np.arange(start_minute, start_minute + minutes, dtype=np.int64), queues)
    queue = np.tile(np.array([f"q{i:03d}" for i in range(queues)]), minutes)
    total = rng.integers(50, 150, size=minute.size)
    good = total - rng.integers(0, 10, size=minute.size)
    table = pa.table(
        {"time": minute * 60, "slo": np.full(minute.size, "calls"), "queue": queue,
         "good": good, "total": total}
    )  # fmt: skip
    pacsv.write_csv(table, path)
    return int(minute.size)


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ordered = np.sort(np.asarray(values)) * 1000
    return {
        "count": len(values),
        "p50_ms": round(float(np.percentile(ordered, 50)), 1),
        "p99_ms": round(float(np.percentile(ordered, 99)), 1),
        "max_ms": round(float(ordered[-1]), 1),
    }


class Load:
    """Requests sent every ``every`` seconds from a thread until stopped; each one's latency
    and status (or the transport error) is kept."""

    def __init__(
        self, name: str, every: float, send: Callable[[httpx.Client], httpx.Response]
    ) -> None:
        self.name, self.every, self.send = name, every, send
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.retry_after: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=120) as client:
            while not self._stop.is_set():
                began = time.perf_counter()
                try:
                    answer = self.send(client)
                except httpx.HTTPError as exc:
                    self.statuses[type(exc).__name__] += 1
                else:
                    self.statuses[str(answer.status_code)] += 1
                    if "retry-after" in answer.headers:
                        self.retry_after.add(answer.headers["retry-after"])
                self.latencies.append(time.perf_counter() - began)
                self._stop.wait(max(0.0, self.every - (time.perf_counter() - began)))

    def start(self) -> Load:
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join(timeout=180)
        return {
            **percentiles(self.latencies),
            "statuses": dict(self.statuses),
            "retry_after": sorted(self.retry_after),
        }


# --- scenarios -----------------------------------------------------------------------------------


def freeze(src: Path, workdir: Path, rows_minutes: int, hold: float) -> dict[str, Any]:
    """/healthz, GET /api/v1/status and POST /api/v1/gate/decide while a CLI ingest holds
    the store's write lock (its file is one transaction), or, with ``hold``, another
    process holds it that many seconds (``BEGIN IMMEDIATE``: a larger file's ingest)."""
    config = workdir / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    now = int(time.time() // 60)
    seed_file = workdir / "seed.csv"
    write_counts(seed_file, now - 2 * 1440, 2 * 1440, 20, seed=1)
    subprocess.run(
        [sys.executable, "-m", "errorbudget", "ingest", "-c", str(config), str(seed_file)],
        env=environment(src), check=True, capture_output=True,
    )  # fmt: skip
    big = workdir / "big.csv"
    rows = 0 if hold else write_counts(big, now - rows_minutes, rows_minutes, QUEUES, seed=2)
    with serving(src, config) as (base, _):
        gate = {"service": "cc", "risk": "low"}
        loads = [
            Load("healthz", 0.02, lambda c: c.get(base + "/healthz")),
            Load("status", 0.1, lambda c: c.get(base + "/api/v1/status", headers=AUTH)),
            Load(
                "gate", 0.1, lambda c: c.post(base + "/api/v1/gate/decide", json=gate, headers=AUTH)
            ),
        ]
        time.sleep(2)  # warm: the first evaluation
        for load in loads:
            load.start()
        began = time.monotonic()
        if hold:  # a writer that holds the lock this long (a very large ingest's file)
            script = (
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None)"
                "; c.execute('BEGIN IMMEDIATE'); time.sleep(float(sys.argv[2]))"
            )
            writer = [sys.executable, "-c", script, str(workdir / "eb.db"), str(hold)]
        else:
            writer = [sys.executable, "-m", "errorbudget", "ingest", "-c", str(config), str(big)]
        ingest = subprocess.run(writer, env=environment(src), capture_output=True, text=True)
        held = time.monotonic() - began
        time.sleep(1)
        results = {load.name: load.stop() for load in loads}
    return {
        "scenario": "freeze",
        "writer": f"lock held {hold:g} s" if hold else f"errorbudget ingest of {rows:,} rows",
        "lock_held_seconds": round(held, 1),
        "ingest_exit": ingest.returncode,
        **results,
    }


def body(src: Path, workdir: Path, mib: int) -> dict[str, Any]:
    """An unauthenticated chunked POST of ``mib`` MiB to a JSON endpoint: the answer, when
    it came, how much of the body the server took, and how much the server grew."""
    config = workdir / "errorbudget.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    results: dict[str, Any] = {"scenario": "body", "mib": mib}
    with serving(src, config, "--no-collect") as (base, process):
        port = int(base.rsplit(":", 1)[1])
        before = rss_kib(process.pid)
        chunk = b"x" * (1 << 20)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(
            b"POST /api/v1/changes HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        began = time.monotonic()
        sent = 0
        answer = b""
        sock.setblocking(False)
        try:
            for _ in range(mib):
                frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
                view = memoryview(frame)
                while view:
                    with suppress(BlockingIOError):
                        answer += sock.recv(65536)
                    if answer:
                        break
                    try:
                        view = view[sock.send(view) :]
                    except BlockingIOError:
                        time.sleep(0.001)
                if answer:
                    break
                sent += 1
            else:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError) as exc:
            results["send_error"] = type(exc).__name__
        sock.setblocking(True)
        sock.settimeout(120)
        try:
            while b"\r\n\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (TimeoutError, ConnectionResetError) as exc:
            results["receive_error"] = type(exc).__name__
        sock.close()
        results["status_line"] = answer.split(b"\r\n", 1)[0].decode(errors="replace")
        results["seconds"] = round(time.monotonic() - began, 2)
        results["mib_sent_before_answer"] = sent
        results["server_rss_growth_mib"] = round((rss_kib(process.pid, "VmHWM") - before) / 1024)
    return results


def crash(
    src: Path,
    workdir: Path,
    kills: int,
    serves: int,
    seed: int,
    backends: list[str],
    scenarios: list[str],
) -> dict[str, Any]:
    """kill -9 during ingest, collection and approval (and of ``serve`` under count writes),
    on each backend: every acknowledged write is there afterwards, none twice (checked
    after every kill). The test's harness at full size; each scenario on a fresh store."""
    sys.path[:0] = [str(src), str(ROOT / "tests" / "integration"), str(ROOT / "tests")]
    from crash_store import CrashStore

    @contextmanager
    def fresh_store(backend: str, folder: Path) -> Iterator[CrashStore]:
        folder.mkdir(parents=True)
        if backend == "sqlite":
            yield CrashStore.sqlite(folder)
            return
        from postgres_server import fresh_database

        with fresh_database("eb_b_crash") as url:
            yield CrashStore.postgres(url)

    results: dict[str, Any] = {"scenario": "crash", "kills": kills, "serve_kills": serves}
    for backend in backends:
        found: dict[str, Any] = {}
        for name in scenarios:
            run = CRASH_SCENARIOS[name]
            began = time.monotonic()
            with fresh_store(backend, workdir / backend / name) as store:
                found[name] = run(workdir / backend / name, environment(src), store,
                                  kills, serves, seed)  # fmt: skip
            found[name]["seconds"] = round(time.monotonic() - began)
        results[backend] = found
    return results


def _crash_ingest(
    workdir: Path, env: dict[str, str], store: Any, kills: int, serves: int, seed: int
) -> dict[str, Any]:
    """1 M rows a file, killed at a random moment up to 1.5 times a whole ingest's time (one
    file ingested first, timed); then ``serve`` killed under three writer threads (count
    batches with an ``Idempotency-Key``, annotations)."""
    from crash_harness import CrashWorld

    world = CrashWorld(workdir, env, seed=seed, rows_per_file=1_000_000, store=store)
    seconds = world.time_ingest()
    ingests = [world.kill_ingest(within=1.5 * seconds) for _ in range(kills)]
    serve_runs = [world.kill_serve(load_seconds=1.0 + random.random() * 4) for _ in range(serves)]
    final = world.finish()
    return {
        "runs": kills,
        "one_ingest_seconds": round(seconds, 1),
        "acknowledged": sum(r["acknowledged"] for r in ingests),
        "unanswered": sum(r["killed"] for r in ingests),
        "killed_inside_transaction": sum(r["killed_in_transaction"] for r in ingests),
        "serve_runs": serves,
        "serve_acknowledged": sum(r["acknowledged"] for r in serve_runs),
        "serve_unanswered": sum(r["unanswered"] for r in serve_runs),
        **_verdict(final),
    }


def _crash_collection(
    workdir: Path, env: dict[str, str], store: Any, kills: int, serves: int, seed: int
) -> dict[str, Any]:
    """``collect`` of 3 days (8 queue × media series, 15-minute intervals, one chunk an
    interval, 1,500 requests a minute) from the fake Genesys API, killed at a random moment
    up to 3 s after its first query; each run resumes an hour before the high-water mark,
    every other one 6 hours before it (replacing what is stored)."""
    from crash_collection import CollectionWorld

    world = CollectionWorld(workdir, env, store, seed=seed, days=3)
    try:
        runs = [world.kill_collect(rewind=60 if n % 2 else 360) for n in range(kills)]
        final = world.finish()
    finally:
        world.close()
    return {
        "runs": kills,
        "acknowledged": sum(r["intervals_under_mark"] for r in runs),
        "unanswered": sum(r["killed"] for r in runs),
        "killed_inside_transaction": sum(r["killed_in_transaction"] for r in runs),
        "completed_before_the_kill": sum(r["completed"] for r in runs),
        "intervals_at_the_end": final["intervals"],
        **_verdict(final),
    }


def _crash_approval(
    workdir: Path, env: dict[str, str], store: Any, kills: int, serves: int, seed: int
) -> dict[str, Any]:
    """``serve`` killed 0.5–3 s into three clients' submissions and reviews of changes."""
    from crash_approval import ApprovalWorld

    world = ApprovalWorld(workdir, env, store, seed=seed)
    runs = [world.kill_serve(load_seconds=0.5 + random.random() * 2.5) for _ in range(kills)]
    final = world.finish()
    return {
        "runs": kills,
        "acknowledged": sum(r["acknowledged"] for r in runs),
        "unanswered": sum(r["unanswered"] for r in runs),
        "sent_again": world.resent,
        "changes": final["changes"],
        "reviews": final["reviews"],
        **_verdict(final),
    }


def _verdict(final: dict[str, Any]) -> dict[str, Any]:
    return {key: final[key] for key in ("lost", "doubled", "integrity", "chain")}


CRASH_SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "ingest": _crash_ingest,
    "collection": _crash_collection,
    "approval": _crash_approval,
}


def outage(src: Path, workdir: Path, seconds: int) -> dict[str, Any]:
    """A fake Genesys Cloud outage of ``seconds`` under ``errorbudget serve``: /readyz and the
    source series of /metrics every 5 s, before, during and after."""
    sys.path.insert(0, str(src))
    from errorbudget.simulate.clock import SimClock
    from errorbudget.simulate.default_scenario import default_scenario
    from errorbudget.simulate.engine import Simulation
    from errorbudget.simulate.genesys_api import ApiSettings
    from errorbudget.simulate.genesys_api.faults import parse_faults
    from errorbudget.simulate.server import FakeGenesysServer

    now = datetime.now(tz=UTC)
    simulation = Simulation(default_scenario(now), seed=3)
    lead = 30
    begins = (now + timedelta(seconds=lead)).strftime("%Y-%m-%dT%H:%M:%SZ")
    faults = parse_faults(f"outage={begins}:{seconds}s")
    settings = ApiSettings(client_secret="bench-secret", rate_limit_per_minute=6000)
    timeline: list[dict[str, Any]] = []
    with FakeGenesysServer(simulation, SimClock(now, speed=1.0), faults, settings) as fake:
        config = workdir / "errorbudget.yaml"
        config.write_text(
            CONFIG
            + f"""\
  - id: queue-sl
    service: cc
    target: 0.8
    window: {{type: rolling, length: 7d}}
    indicator: {{source: genesys, metric: voice_sla, media_types: [voice]}}
    segments: {{keys: [queue_id, media_type]}}
  - id: api
    service: cc
    target: 0.999
    window: {{type: rolling, length: 7d}}
    indicator: {{source: genesys, metric: api_availability}}
sources:
  genesys:
    base_url: {fake.base_url}
    client_id: errorbudget-sim
    client_secret: bench-secret
    interval: 10s
    collect_deadline: 8s
""",
            encoding="utf-8",
        )
        with serving(src, config) as (base, _):
            end = time.monotonic() + lead + seconds + 60
            while time.monotonic() < end:
                ready = httpx.get(base + "/readyz", timeout=30)
                text = httpx.get(base + "/metrics", headers=AUTH, timeout=30).text
                series = {
                    line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                    for line in text.splitlines()
                    if line.startswith(("errorbudget_source_", "errorbudget_job_"))
                    and 'source="genesys"' in line
                }
                timeline.append(
                    {
                        "t": round((datetime.now(tz=UTC) - now).total_seconds()),
                        "readyz": ready.status_code,
                        "problems": [p[:100] for p in ready.json().get("problems", [])],
                        "genesys_series": series,
                    }
                )
                time.sleep(5)
    during = [p for p in timeline if lead <= p["t"] <= lead + seconds]
    first_503 = next((p["t"] - lead for p in during if p["readyz"] == 503), None)
    after = [p for p in timeline if p["t"] > lead + seconds]
    back = next((p["t"] - lead - seconds for p in after if p["readyz"] == 200), None)
    return {
        "scenario": "outage",
        "outage_seconds": seconds,
        "readyz_during": dict(Counter(p["readyz"] for p in during)),
        "readyz_503_after_outage_began_s": first_503,
        "readyz_200_after_outage_ended_s": back,
        "source_series_seen": any(p["genesys_series"] for p in timeline),
        "timeline": timeline,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=["freeze", "body", "crash", "outage"])
    parser.add_argument("--src", type=Path, default=ROOT / "src")
    parser.add_argument("--minutes", type=int, default=60 * 1440, help="freeze: ingest minutes")
    parser.add_argument("--hold", type=float, default=0, help="freeze: hold the lock instead")
    parser.add_argument("--mib", type=int, default=300, help="body: MiB to send")
    parser.add_argument("--kills", type=int, default=10, help="crash: kills per scenario")
    parser.add_argument("--serves", type=int, default=6, help="crash: serve kills (counts)")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres"],
        help="crash: the store backends (repeatable) [default: both]",
    )  # fmt: skip
    parser.add_argument(
        "--crash", action="append", choices=["ingest", "collection", "approval"],
        help="crash: the scenarios (repeatable) [default: all three]",
    )  # fmt: skip
    parser.add_argument("--seconds", type=int, default=150, help="outage: its length")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    random.seed(args.seed)
    with tempfile.TemporaryDirectory(prefix="errorbudget-hardening-") as folder:
        workdir = Path(folder)
        if args.scenario == "freeze":
            result = freeze(args.src, workdir, args.minutes, args.hold)
        elif args.scenario == "body":
            result = body(args.src, workdir, args.mib)
        elif args.scenario == "crash":
            backends = args.backend or ["sqlite", "postgres"]
            scenarios = args.crash or ["ingest", "collection", "approval"]
            result = crash(
                args.src, workdir, args.kills, args.serves, args.seed, backends, scenarios
            )
        else:
            result = outage(args.src, workdir, args.seconds)
    result["revision"] = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    result["src"] = str(args.src)
    result["at"] = datetime.now(tz=UTC).isoformat(timespec="seconds")
    print(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
