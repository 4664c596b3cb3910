# ruff: noqa: E501  (the report is a Markdown template with long table rows, as in run.py)
"""The issue #4 benchmark: the HTTP server over 200 series × 30 days of 1-minute counts.

Measures, on this machine:
- the overview (``GET /``) rendered server-side, in process (``httpx.ASGITransport``):
  median and p95 of repeated renders after one warm-up (target < 200 ms);
- ``GET /api/v1/status`` and ``POST /api/v1/gate/decide`` on a real server on loopback
  (``errorbudget serve`` in a subprocess, or uvicorn over ``create_app`` when that command
  is missing), driven open-loop at a fixed rate: each request has a scheduled send time and
  its latency is measured from that time, so a server that falls behind is charged for the
  queue it builds (no coordinated omission). Target: p99 < 50 ms at 200 requests/s.
  ``GET /healthz`` is driven the same way first, as the floor of this harness.

Writes the "## Issue #4: HTTP server" section of docs/performance.md (``--output``), keeping
the other sections; ``benchmarks/run.py`` calls it for ``make bench``.

    python benchmarks/web.py                                  # full size, ~2 minutes
    python benchmarks/web.py --quick --output /dev/stdout     # smoke run, ~40 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml
from run import SLO_GROUPS, machine, revision, series_per_slo, write_config, write_csv

HEADING = "## Issue #4: HTTP server"
OPERATOR_TOKEN = "bench-operator-token-0123456789"
SERVICES = ("svc-0", "svc-1", "svc-2")
CONNECTIONS = 64
"""At most this many requests in flight on the server; later ones wait for a connection in
the client, and that wait counts in their latency (it is measured from the scheduled send)."""


@dataclass(frozen=True)
class Size:
    series: int
    days: int
    renders: int
    rate: float
    seconds: float
    timeout: float
    """A request not answered this long after its scheduled send counts as timed out."""


FULL = Size(series=200, days=30, renders=30, rate=200, seconds=20, timeout=10)
QUICK = Size(series=200, days=2, renders=5, rate=200, seconds=2, timeout=5)


# --- the store -----------------------------------------------------------------------------


def prepare(workdir: Path, size: Size, end_minute: int) -> tuple[Path, int]:
    """run.py's config (SLO_GROUPS SLOs segmented by queue) with reads open and an operator
    token, and ``size.series`` × ``size.days`` of 1-minute counts ingested from CSV."""
    from errorbudget.app import App
    from errorbudget.ingest import ingest_files

    config = write_config(workdir)
    data = yaml.safe_load(config.read_text(encoding="utf-8"))
    data["server"] = {
        "anonymous_read": True,
        "tokens": [{"name": "bench", "token": OPERATOR_TOKEN, "role": "operator"}],
    }
    config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    csv_path, rows = write_csv(workdir, size.series, size.days, end_minute)
    with App.open(config) as app:
        ingest_files(app.store, {s.id: s for s in app.evaluations.slos}, [csv_path])
    csv_path.unlink()
    return config, rows


# --- the overview, in process --------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (``inf`` entries are requests that never answered)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def overview(config: Path, renders: int, end_minute: int) -> dict[str, Any]:
    """Time ``GET /`` in process after one warm-up, at an evaluation minute not seen before
    (the App evaluates every series: the first render of each minute) and again at the same
    minute (the App's statuses are reused); also ``app.evaluations.status()`` alone at unseen minutes,
    the part of a fresh render that evaluates budgets. The App's clock is set per render."""
    from errorbudget.app import App
    from errorbudget.model import from_minute
    from errorbudget.web.app import create_app

    moment = [from_minute(end_minute)]
    with App.open(config, clock=lambda: moment[0]) as app:
        web = create_app(app)

        async def render(client: httpx.AsyncClient) -> tuple[float, httpx.Response]:
            began = time.perf_counter()
            page = await client.get("/")
            elapsed = time.perf_counter() - began
            if page.status_code != 200:
                raise SystemExit(f"GET / answered {page.status_code}: {page.text[:300]}")
            return elapsed, page

        async def measure() -> tuple[list[float], list[float], httpx.Response]:
            transport = httpx.ASGITransport(app=web)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                _, first = await render(client)  # warm-up
                fresh = []
                for index in range(renders):  # minutes inside the data, each new to the App
                    moment[0] = from_minute(end_minute - 1 - index)
                    fresh.append((await render(client))[0])
                same = [(await render(client))[0] for _ in range(renders)]
                return fresh, same, first

        fresh, same, first = asyncio.run(measure())
        status_times = []
        for index in range(renders):
            moment[0] = from_minute(end_minute - 1 - renders - index)
            began = time.perf_counter()
            statuses = app.evaluations.status()
            status_times.append(time.perf_counter() - began)
    return {
        "fresh": fresh,
        "same": same,
        "bytes": len(first.content),
        "gauges": first.text.count('<svg class="gauge"'),
        "statuses": len(statuses),
        "status_times": status_times,
    }


# --- the server under load -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def has_serve_command() -> bool:
    found = subprocess.run(
        [sys.executable, "-m", "errorbudget", "serve", "--help"],
        capture_output=True,
        check=False,
    )
    return found.returncode == 0


def server_command(kind: str, config: Path, port: int) -> list[str]:
    if kind == "serve":
        return [
            sys.executable,
            "-m",
            "errorbudget",
            "serve",
            "-c",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-collect",
            "--log-level",
            "warning",
        ]
    return [sys.executable, str(Path(__file__).resolve()), "--serve", str(config), str(port)]


def serve_with_uvicorn(config: str, port: str) -> None:
    """The fallback server: uvicorn over ``create_app`` as ``errorbudget serve`` configures it."""
    import uvicorn

    from errorbudget.app import App
    from errorbudget.web.app import create_app

    with App.open(config) as app:
        uvicorn.run(
            create_app(app),
            host="127.0.0.1",
            port=int(port),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """A server subprocess on a free loopback port, stopped (SIGTERM, then SIGKILL) on exit."""

    def __init__(self, kind: str, config: Path, workdir: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._log = (workdir / f"server-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            server_command(kind, config, self.port),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
        )

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the server exited ({self.process.returncode}): {self.output()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"the server did not answer /healthz within {seconds:.0f} s")

    def output(self) -> str:
        self._log.flush()
        return Path(self._log.name).read_text(encoding="utf-8", errors="replace")[-2000:]

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)
        self._log.close()


@dataclass
class Load:
    """One open-loop run against one endpoint."""

    name: str
    method: str
    path: str
    bodies: list[dict[str, Any] | None]
    headers: dict[str, str] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    server_cpu: float | None = None
    client_cpu: float | None = None
    late_sends: int = 0
    """Requests the client itself sent more than 5 ms after their scheduled time."""
    started_at: float = 0.0
    """Wall-clock (Unix) time of the first scheduled send."""
    scheduled_seconds: float = 0.0

    def slow(self, limit: float) -> tuple[int, int]:
        """Requests slower than ``limit`` s, and how many of them were scheduled in the 2 s
        after a minute boundary (when the server evaluates the new minute)."""
        slow = [i for i, latency in enumerate(self.latencies) if latency > limit]
        rate = len(self.latencies) / self.scheduled_seconds if self.scheduled_seconds else 1
        near = sum(1 for i in slow if (self.started_at + i / rate) % 60 < 2)
        return len(slow), near

    def crosses_minute(self) -> bool:
        return int(self.started_at // 60) != int((self.started_at + self.scheduled_seconds) // 60)


class ServerClosedError(ConnectionError):
    """The connection was closed before any byte of an answer."""


class LoopbackClient:
    """A minimal HTTP/1.1 client over asyncio streams with keep-alive connections.

    The load generator shares the machine with the server, so it must cost little: httpx
    costs milliseconds of CPU per request here (its pool bookkeeping, and httpcore retrying
    ``import sniffio`` on every request when sniffio is not installed), which at 200/s
    would make the client, not the server, the bottleneck. The requests are fixed and the
    answers are uvicorn's (``Content-Length`` or chunked), so this reads exactly those."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    def encode(self, method: str, path: str, headers: dict[str, str], body: object) -> bytes:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + payload

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send one encoded request; the status code and body of the answer. A kept-alive
        connection the server closed while it was idle (uvicorn does after 5 s) is replaced
        by a new one — only when no byte of an answer came back, so nothing is sent twice."""
        while self._idle:
            reader, writer = self._idle.pop()
            try:
                return await self._exchange(reader, writer, request)
            except ServerClosedError:
                continue
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        return await self._exchange(reader, writer, request)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
    ) -> tuple[int, bytes]:
        try:
            writer.write(request)
            try:
                first = await reader.readline()
            except ConnectionError:
                first = b""
            if not first:
                raise ServerClosedError("the server closed the connection before answering")
            status = int(first.split()[1])
            length, chunked, keep = 0, False, True
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    chunked = "chunked" in value
                elif name == "connection":
                    keep = value != "close"
            if chunked:
                parts = []
                while size := int((await reader.readline()).split(b";")[0], 16):
                    parts.append(await reader.readexactly(size + 2))
                await reader.readline()
                body = b"".join(part[:-2] for part in parts)
            else:
                body = await reader.readexactly(length)
        except BaseException:
            writer.close()  # a timed-out or broken exchange never returns to the pool
            raise
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return status, body

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def drive(load: Load, port: int, size: Size) -> None:
    """``size.rate`` requests/s for ``size.seconds`` on a schedule fixed in advance; each
    request's latency runs from its scheduled send to its answer (``inf`` when it timed
    out). At most CONNECTIONS requests are in flight; the others wait for a slot (that wait
    counts), and one whose deadline passes while it waits is counted as timed out without
    being sent. Bounded: nothing runs past the last scheduled send + ``size.timeout`` (plus a
    grace period, after which whatever is left is cancelled and counted)."""
    count = round(size.rate * size.seconds)
    load.latencies = [math.inf] * count
    client = LoopbackClient(port)
    requests = [client.encode(load.method, load.path, load.headers, b) for b in load.bodies]
    slots = asyncio.Semaphore(CONNECTIONS)
    loop = asyncio.get_running_loop()
    try:
        for index in range(5):  # warm-up: a connection open, first-request costs paid
            status, _ = await asyncio.wait_for(
                client.send(requests[index % len(requests)]), size.timeout
            )
            if status != 200:
                raise SystemExit(f"{load.method} {load.path} answered {status}")

        async def one(index: int, due: float) -> None:
            if loop.time() - due > 0.005:
                load.late_sends += 1
            async with slots:
                left = due + size.timeout - loop.time()
                if left <= 0:
                    load.errors["timeout"] += 1
                    return
                try:
                    status, _ = await asyncio.wait_for(
                        client.send(requests[index % len(requests)]), timeout=left
                    )
                except TimeoutError:
                    load.errors["timeout"] += 1
                    return
                except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
                    load.errors[type(exc).__name__] += 1
                    return
            load.latencies[index] = loop.time() - due
            if status != 200:
                load.errors[f"HTTP {status}"] += 1

        start = loop.time() + 0.1
        load.started_at = time.time() + (start - loop.time())
        load.scheduled_seconds = size.seconds
        tasks = []
        for index in range(count):
            due = start + index / size.rate
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index, due)))
        _, pending = await asyncio.wait(tasks, timeout=size.timeout + 30)
        for task in pending:
            task.cancel()
        if pending:
            load.errors["harness gave up"] += len(pending)
            await asyncio.wait(pending, timeout=10)
        load.elapsed = loop.time() - start
    finally:
        client.close()


def run_load(kind: str, config: Path, workdir: Path, load: Load, size: Size) -> Load:
    """``load`` against a fresh server (so one endpoint's backlog never reaches the next)."""
    with Server(kind, config, workdir) as server:
        server.wait_ready()
        if size.seconds >= 10:
            # Start 10 s before a minute boundary, so that every run crosses one: the new
            # minute's evaluation is part of what the server does under load.
            time.sleep((50 - time.time()) % 60)
        before, mine = cpu_seconds(server.process.pid), time.process_time()
        asyncio.run(drive(load, server.port, size))
        after, mine = cpu_seconds(server.process.pid), time.process_time() - mine
        if load.elapsed > 0:
            load.client_cpu = mine / load.elapsed
            if before is not None and after is not None:
                load.server_cpu = (after - before) / load.elapsed
        if server.process.poll() is not None:
            load.errors["server exited"] += 1
    return load


# --- the report ----------------------------------------------------------------------------


def ms(seconds: float, timeout: float) -> str:
    return f"> {timeout:.0f} s (timed out)" if math.isinf(seconds) else f"{seconds * 1000:,.1f}"


def load_row(load: Load, size: Size) -> str:
    done = sum(1 for x in load.latencies if not math.isinf(x))
    errors = sum(load.errors.values())
    detail = ", ".join(f"{n:,} {kind}" for kind, n in load.errors.most_common()) or "none"
    cells = [ms(percentile(load.latencies, q), size.timeout) for q in (0.5, 0.9, 0.99)]
    cpu = " / ".join(
        "—" if share is None else f"{share:.0%}" for share in (load.server_cpu, load.client_cpu)
    )
    return (
        f"| `{load.method} {load.path}` | {len(load.latencies):,} | "
        f"{done / load.elapsed:,.0f}/s | {' | '.join(cells)} | "
        f"{ms(max(load.latencies), size.timeout)} | {errors:,} ({detail}) | {cpu} | "
        f"{load.late_sends:,} |"
    )


def verdict(load: Load, target_ms: float) -> str:
    p99 = percentile(load.latencies, 0.99)
    met = p99 * 1000 < target_ms and not load.errors
    shown = "timed out" if math.isinf(p99) else f"{p99 * 1000:,.1f} ms"
    return f"**{'met' if met else 'NOT met'}** (p99 {shown})"


def section(size: Size, kind: str, workdir: Path) -> str:
    """Run everything and return the Markdown section."""
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    end_minute = int(now.timestamp() // 60)
    print(f"issue #4: seeding {size.series} series × {size.days} days in {workdir} …", flush=True)
    config, rows = prepare(workdir, size, end_minute)

    print(f"issue #4: overview, {size.renders} renders in process …", flush=True)
    page = overview(config, size.renders, end_minute)
    status_median = percentile(page["status_times"], 0.5)

    def renders(times: list[float]) -> str:
        return (
            f"**{percentile(times, 0.5) * 1000:,.0f} ms** (p95 {percentile(times, 0.95) * 1000:,.0f} ms,"
            f" max {max(times) * 1000:,.0f} ms)"
        )

    gate_bodies: list[dict[str, Any] | None] = [{"service": s} for s in SERVICES]
    loads = [
        Load("healthz", "GET", "/healthz", [None]),
        Load("status", "GET", "/api/v1/status", [None]),
        Load(
            "gate",
            "POST",
            "/api/v1/gate/decide",
            gate_bodies,
            {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        ),
    ]
    for load in loads:
        print(
            f"issue #4: {load.method} {load.path} at {size.rate:.0f}/s for {size.seconds:.0f} s …",
            flush=True,
        )
        run_load(kind, config, workdir, load, size)
    _, status_load, gate_load = loads
    audit = audit_growth(config)
    server = (
        "`errorbudget serve --no-collect` (one uvicorn worker)"
        if kind == "serve"
        else "uvicorn over `create_app` in a subprocess (one worker; `errorbudget serve` was missing)"
    )
    counts = series_per_slo(size.series)
    slow_notes = "; ".join(
        f"{load.name} {total:,} ({near:,} after a minute boundary"
        f"{'' if load.crosses_minute() else '; this run crossed none'})"
        for load in loads
        for total, near in [load.slow(0.05)]
    )
    return f"""{HEADING}

Measured by `benchmarks/web.py`{" (`--quick`)" if size is QUICK else ""} on {datetime.now(tz=UTC):%Y-%m-%d}.
Machine: {machine()}. Code: {revision()}.

Workload: the issue #2 configuration ({SLO_GROUPS} SLOs in three services, segmented by queue)
with {size.series:,} series ({sum(counts[:-1]):,} counting occurrences, {counts[-1]} in timeslices)
and {size.days} days of 1-minute counts ({rows:,} rows, ingested from CSV into a fresh store);
reads open (`server.anonymous_read`), the gate called with an operator token.

| measure | target | result |
|---|---|---|
| overview `GET /` rendered server-side, first render of a minute (median of {size.renders}) | < 200 ms | {renders(page["fresh"])} |
| overview `GET /`, later renders in the same minute (median of {size.renders}) | < 200 ms | {renders(page["same"])} |
| `GET /api/v1/status` at {size.rate:.0f} requests/s for {size.seconds:.0f} s | p99 < 50 ms | {verdict(status_load, 50)} |
| `POST /api/v1/gate/decide` at {size.rate:.0f} requests/s for {size.seconds:.0f} s | p99 < 50 ms | {verdict(gate_load, 50)} |

Latency under load, in ms from each request's scheduled send time:

| endpoint | requests | answers/s | p50 | p90 | p99 | max | errors | CPU server / client | late sends |
|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(load_row(load, size) for load in loads)}

- Overview: in process (`httpx.ASGITransport`, no socket), after one warm-up; {page["gauges"]} gauges,
  {page["bytes"] / 1024:,.0f} KiB of HTML. `app.evaluations.status()` keeps the statuses of its latest evaluation
  minute (and store data version), so the first render of a minute evaluates every series —
  one `app.evaluations.status()` of {page["statuses"]} statuses, {status_median * 1000:,.0f} ms alone (median, timed separately) — and
  later ones reuse them. The App's clock is moved to a minute not yet evaluated before each "first"
  render.
- Server: {server}, on a free 127.0.0.1 port, a fresh process per endpoint over
  the same store. Client: a lean asyncio HTTP/1.1 client (`LoopbackClient`; httpx costs too
  much CPU per request to generate this load beside the server) in another process, at most
  {CONNECTIONS} keep-alive connections. Send times are fixed in advance ({size.rate:.0f}/s), so time a
  request spends queued — waiting for a connection or in the server — counts in its latency.
  A request not answered {size.timeout:.0f} s after its scheduled send is abandoned and counted as
  timed out (its latency as infinite in the percentiles).
- "answers/s": answers received in time, over the whole run including the drain. "CPU": the
  server's and the client's processes over the run (100 % = one core). "late sends":
  requests the client itself started more than 5 ms after their scheduled time (a busy
  client; their latency still runs from the schedule).
- `GET /healthz` is the floor of this harness: what the client, uvicorn and FastAPI cost
  with no work behind the route.
- Each load run starts 10 s before a minute boundary, so the server's status warmer
  evaluates the new minute (every series, in a worker thread) during the run; requests
  meanwhile get the last evaluation. Requests over 50 ms, and how many of them were
  scheduled in the 2 s after the boundary: {slow_notes}.
- The gate request rotates over the three services ({", ".join(SERVICES)}); each decision
  judges its service's series from the current evaluation and appends an audit entry that
  references the budget snapshot behind it, stored once per scope and evaluation: the
  {audit["decisions"]:,} decisions of the run wrote {audit["entry_bytes"]:,.0f} bytes of audit details each
  (mean) and {audit["snapshots"]:,} snapshots of {audit["snapshot_bytes"]:,.0f} bytes (mean).
"""


def audit_growth(config: Path) -> dict[str, float]:
    """What the gate run left in the store: decisions, mean bytes of an audit entry's
    details, distinct snapshots and their mean size."""
    import sqlite3

    from errorbudget.config import load_config

    connection = sqlite3.connect(load_config(config).store_path)
    try:
        decisions, entry_bytes = connection.execute(
            "SELECT count(*), coalesce(avg(length(details)), 0) FROM audit_log "
            "WHERE action = 'gate.decision'"
        ).fetchone()
        snapshots, snapshot_bytes = connection.execute(
            "SELECT count(*), coalesce(avg(length(body)), 0) FROM gate_snapshots"
        ).fetchone()
    finally:
        connection.close()
    return {
        "decisions": decisions,
        "entry_bytes": entry_bytes,
        "snapshots": snapshots,
        "snapshot_bytes": snapshot_bytes,
    }


# --- the gate alone at a higher rate (issue #9) ----------------------------------------------


GATE_HEADING = "### `POST /api/v1/gate/decide` at 500 requests/s (issue #9)"


def wal_sampler(store: Path, samples: list[tuple[float, int]], stop: threading.Event) -> None:
    """Every 0.25 s, the size of the store's write-ahead log (wall-clock time, bytes)."""
    wal = Path(f"{store}-wal")
    while not stop.wait(0.25):
        try:
            samples.append((time.time(), wal.stat().st_size))
        except OSError:
            samples.append((time.time(), 0))


def stalls(load: Load, limit: float = 0.05) -> list[tuple[float, float]]:
    """Groups of requests slower than ``limit``: (seconds into the run, worst latency), one
    per group of slow requests scheduled less than 0.5 s apart."""
    rate = len(load.latencies) / load.scheduled_seconds if load.scheduled_seconds else 1
    found: list[tuple[float, float]] = []
    last = -1.0
    for index, latency in enumerate(load.latencies):
        if latency <= limit:
            continue
        at = index / rate
        if found and at - last < 0.5:
            found[-1] = (found[-1][0], max(found[-1][1], latency))
        else:
            found.append((at, latency))
        last = at
    return found


def gate_section(
    workdir: Path,
    rate: float,
    seconds: float,
    series: int,
    days: int,
    kind: str,
    label: str | None = None,
) -> str:
    """``POST /api/v1/gate/decide`` alone at ``rate``/s: percentiles, the stalls (groups of
    requests over 50 ms, when they came) and the write-ahead log's size over the run."""
    from errorbudget.config import load_config

    size = Size(series=series, days=days, renders=0, rate=rate, seconds=seconds, timeout=10)
    now = datetime.now(tz=UTC).replace(second=0, microsecond=0)
    print(f"gate: seeding {series} series × {days} days in {workdir} …", flush=True)
    config, _ = prepare(workdir, size, int(now.timestamp() // 60))
    store = load_config(config).store_path
    load = Load(
        "gate",
        "POST",
        "/api/v1/gate/decide",
        [{"service": s} for s in SERVICES],
        {"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=wal_sampler, args=(store, samples, stop), daemon=True)
    print(f"gate: {rate:.0f}/s for {seconds:.0f} s …", flush=True)
    sampler.start()
    try:
        run_load(kind, config, workdir, load, size)
    finally:
        stop.set()
        sampler.join()
    during = [b for t, b in samples if load.started_at <= t <= load.started_at + seconds]
    groups = stalls(load)
    shown = ", ".join(f"{at:.1f} s ({worst * 1000:.0f} ms)" for at, worst in groups[:12])
    cells = [ms(percentile(load.latencies, q), size.timeout) for q in (0.5, 0.9, 0.99)]
    return (
        f"| {label or revision()} | {len(load.latencies):,} | {' | '.join(cells)} | "
        f"{ms(max(load.latencies), size.timeout)} | {sum(load.errors.values()):,} | "
        f"{max(during, default=0) / 1e6:.1f} MB | {len(groups)}: {shown or '—'} |"
    )


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve_with_uvicorn(*sys.argv[2:4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-run sizes")
    parser.add_argument("--output", type=Path, default=None, help="Markdown file to update")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--server",
        choices=["auto", "serve", "uvicorn"],
        default="auto",
        help="errorbudget serve, uvicorn over create_app, or serve when it exists (default)",
    )
    parser.add_argument(
        "--gate-only",
        action="store_true",
        help="only POST /api/v1/gate/decide at --rate for --seconds; prints one table row",
    )
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--label", default=None, help="--gate-only: the row's first cell")
    args = parser.parse_args()
    if args.gate_only:
        kind = args.server if args.server != "auto" else "serve"
        directory = args.workdir or Path(tempfile.mkdtemp(prefix="errorbudget-bench-gate-"))
        directory.mkdir(parents=True, exist_ok=True)
        try:
            print(
                gate_section(
                    directory, args.rate, args.seconds, args.series, args.days, kind, args.label
                )
            )
        finally:
            if args.workdir is None:
                shutil.rmtree(directory, ignore_errors=True)
        return
    text = run_section(args.quick, args.server, args.workdir)
    if args.output is not None:
        from run import update_report

        update_report(args.output, {HEADING: text})
    print(text)


def run_section(quick: bool, server: str = "auto", workdir: Path | None = None) -> str:
    """The section at full or ``--quick`` size, in a temporary directory unless given one."""
    kind = server if server != "auto" else ("serve" if has_serve_command() else "uvicorn")
    # SIGTERM unwinds like Ctrl-C, so the server subprocess is stopped and the directory removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    directory = workdir or Path(tempfile.mkdtemp(prefix="errorbudget-bench-web-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        return section(QUICK if quick else FULL, kind, directory)
    finally:
        if workdir is None:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
