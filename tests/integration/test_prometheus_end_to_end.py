"""Acceptance (#11): a real Prometheus scraping errorbudget's ``/metrics`` (fed by the fake
Genesys Cloud API through the real collector) and loading the generated rules records, for
the same data, the burn rates and budget remaining ``errorbudget status --format json``
reports, within 1 %; vmalert with VictoriaMetrics, loading the rules generated for it,
records the same.

The scenario: two voice queues on a flat day, one understaffed so it burns its 80 %
service-level budget steadily about 1.5 times as fast as allowed, one staffed so it never
misses; 26 hours of history
collected from the fake API (real clock), one SLO per queue series over a rolling day.

1. The collector stores the history; the App's web app serves ``/metrics`` on 127.0.0.1
   (its first scrape anchors the counters, 0 there).
2. ``errorbudget export openmetrics`` writes the counters' history up to that anchor every
   15 s: promtool turns it into blocks for Prometheus; the same export with millisecond
   timestamps is imported into VictoriaMetrics.
3. Prometheus (and VictoriaMetrics) scrape ``/metrics`` every 5 s from then on;
   Prometheus evaluates ``errorbudget generate prometheus-rules``, vmalert ``… --target
   vmalert`` (recording into VictoriaMetrics through remote write).
4. For recorded samples evaluated 15–40 s into a minute (the counters step once a minute:
   there the window ``(t − w, t]`` holds a sample of the minute ``w`` earlier, so it covers
   the same minutes as a status at ``t``), each ``slo:sli_error:ratio_rate<W>`` divided by
   ``slo:error_budget:ratio`` equals the status's ``burn_rates[W]`` (and for the period,
   ``period_burn_rate``), and ``slo:period_error_budget_remaining:ratio`` equals
   ``budget_remaining_ratio``, within 1 % relative. A window where status has no data
   (no eligible event: ``None``) must be NaN or absent on the server too — both say "no
   data" — and is counted apart; at least the burning queue's period, 1h, 6h and 1d are
   compared with a value on both servers.
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from real_servers import (
    Prometheus,
    VictoriaMetrics,
    VMAlert,
    backfill,
    free_port,
    require_binary,
)

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from errorbudget.app import App  # noqa: E402
from errorbudget.cli.main import main  # noqa: E402
from errorbudget.config import load_config  # noqa: E402
from errorbudget.model import segment_label, to_minute  # noqa: E402
from errorbudget.simulate.clock import SimClock  # noqa: E402
from errorbudget.simulate.engine import Simulation  # noqa: E402
from errorbudget.simulate.genesys_api.app import ApiSettings  # noqa: E402
from errorbudget.simulate.genesys_api.app import create_app as fake_api  # noqa: E402
from errorbudget.simulate.genesys_api.faults import parse_faults  # noqa: E402
from errorbudget.simulate.scenario import QueueSpec, Scenario, Seasonality  # noqa: E402
from errorbudget.sources.genesys import create_source  # noqa: E402
from errorbudget.store import open_store  # noqa: E402
from errorbudget.web.app import create_app  # noqa: E402

pytestmark = pytest.mark.integration

SECRET = "fake-secret-for-tests"
HISTORY = timedelta(hours=26)
STEP_SECONDS = 15
SCRAPE_SECONDS = 5
TOLERANCE = 0.01
BURN_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
PERIOD = "1d"
WANTED = (
    *(f"slo:sli_error:ratio_rate{window}" for window in BURN_WINDOWS),
    "slo:period_error_budget_remaining:ratio",
)
"""The recorded series compared with status (divided by ``slo:error_budget:ratio``)."""
REFERENCE = "slo:sli_error:ratio_rate1h"
READY = {REFERENCE, "slo:sli_error:ratio_rate1d", "slo:period_error_budget_remaining:ratio"}
"""Recorded, in a usable evaluation, before comparing (a 5-min window may have no data)."""


def two_queues() -> Scenario:
    """A queue that misses its 20-s answer target about 30 % of the time (1.5 times the
    20 % an 80 % target allows) and one that never misses, both open all day, every day."""
    flat = Seasonality(intraday=[1.0] * 24)
    common: dict[str, Any] = {
        "media_type": "voice", "tier": "standard", "sl_target_seconds": 20,
        "sl_target_percent": 80.0, "peak_per_hour": 120.0, "seasonality": flat,
        "mean_handle_seconds": 300.0, "mean_patience_seconds": 240.0,
    }  # fmt: skip
    return Scenario(
        name="counters-end-to-end",
        timezone="UTC",
        queues=[
            QueueSpec(name="Steady burn", staffing=[11] * 168, **common),
            QueueSpec(name="Clean", staffing=[30] * 168, **common),
        ],
    )


@contextmanager
def served(asgi: Any) -> Iterator[str]:
    """``asgi`` under uvicorn in a thread on a free loopback port; stopped on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(asgi, log_level="warning", lifespan="off", ws="none", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def write_config(tmp_path: Path, genesys_url: str) -> Path:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(
        f"""\
store: {{path: eb.db}}
server: {{metrics_auth: open}}
sources:
  genesys:
    base_url: {genesys_url}
    client_id: errorbudget-sim
    client_secret: ${{FAKE_GENESYS_SECRET}}
    granularity: 15m
slos:
  - id: queue-sl
    service: contact-center
    target: 0.8
    window: {{type: rolling, length: {PERIOD}}}
    indicator:
      source: genesys
      metric: voice_sla
      media_types: [voice]
      include_flow_outs: false
      exclude_short_abandons: true
    segments: {{keys: [queue_id, media_type]}}
""",
        encoding="utf-8",
    )
    return path


def cli(*args: str) -> str:
    """The command's stdout (it must succeed)."""
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def collect_history(config: Path, clock: SimClock) -> App:
    """The App over the config's store, with ``HISTORY`` collected up to now."""
    loaded = load_config(config)
    app = App(loaded, open_store(loaded.store_path), clock=clock)
    collector = create_source(app.loaded, app.store, app.clock)
    assert collector is not None

    async def run() -> None:
        async with collector:
            now = to_minute(clock())
            report = await collector.collect_range(now - int(HISTORY.total_seconds() // 60), now)
            assert report.ok, report.error

    asyncio.run(asyncio.wait_for(run(), timeout=120))
    return app


def scrape_config(path: Path, target: str, rules: Path | None) -> Path:
    lines = [
        f"global: {{scrape_interval: {SCRAPE_SECONDS}s"
        + (", evaluation_interval: 5s}" if rules is not None else "}"),
        *([f"rule_files: [{rules}]"] if rules is not None else []),
        "scrape_configs:",
        "  - job_name: errorbudget",
        f"    static_configs: [{{targets: ['{target}']}}]",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


Samples = dict[tuple[str, str], list[tuple[float, float]]]
"""(recorded name, segment label) → [(timestamp, value)], for one SLO."""


def recorded(server: Prometheus | VictoriaMetrics, names: list[str]) -> Samples:
    """The last 3 minutes of raw samples of each recorded series in ``names``."""
    found: Samples = {}
    for name in names:
        data = server.api("/api/v1/query", {"query": f'{name}{{slo="queue-sl"}}[3m]'})
        for series in data["result"]:
            segment = series["metric"].get("segment", "")
            found[(name, segment)] = [(float(t), float(v)) for t, v in series["values"]]
    return found


WINDOW_SECONDS = {
    "5m": 300, "30m": 1800, "1h": 3600, "2h": 7200, "6h": 21600, "1d": 86400, "3d": 259200,
}  # fmt: skip


def usable(stamp: float, window: str, anchor: float, live_from: float) -> bool:
    """Whether a rule evaluated at ``stamp`` over ``window`` sees the minutes a status at
    ``stamp`` counts: 20–40 s into its minute (a rule reading another rule's recording may
    read one evaluation earlier), a live sample in that minute before it, and a sample in
    the window's first minute, after the window's start: from the history (15-s samples up
    to the anchor) or from the live scrapes (every 5 s from ``live_from``)."""
    into = stamp % 60
    if not 20 <= into <= 40 or live_from > stamp - into + (into - 2 * SCRAPE_SECONDS):
        return False
    start = stamp - 5 - WINDOW_SECONDS[window]
    first_minute_end = (start // 60 + 1) * 60
    return first_minute_end <= anchor or live_from < first_minute_end - SCRAPE_SECONDS


def status_at(config: Path, stamp: float, cache: dict[int, list[dict[str, Any]]]) -> Any:
    minute = int(stamp // 60)
    if minute not in cache:
        at = datetime.fromtimestamp(stamp, UTC).isoformat()
        cache[minute] = json.loads(cli("status", "-c", str(config), "--format", "json", "--at", at))
    return cache[minute]


def close(found: float | None, expected: float | None) -> bool:
    if expected is None:
        return found is None or math.isnan(found)
    if found is None or math.isnan(found):
        return False
    return abs(found - expected) <= TOLERANCE * abs(expected) + 1e-9


def window_of(name: str) -> str | None:
    if name == "slo:period_error_budget_remaining:ratio":
        return PERIOD
    if name.startswith("slo:sli_error:ratio_rate"):
        return name.removeprefix("slo:sli_error:ratio_rate")
    return None


def compare(
    server: str,
    samples: Samples,
    config: Path,
    anchor: float,
    live_from: float,
    statuses: dict[int, Any],
) -> tuple[list[str], list[str], list[str]]:
    """(compared with a value, both without data, mismatches) as readable lines, for every
    recorded name of ``WANTED`` and every segment. A series not recorded at all (vmalert
    writes no NaN sample) is "no data", judged at the instant of the segment's 1h rate."""
    budget = [v for (name, _), v in samples.items() if name == "slo:error_budget:ratio"]
    budget_ratio = budget[0][-1][1]
    segments = sorted({segment for (_, segment) in samples if segment})
    valued, empty, wrong = [], [], []
    for segment in segments:
        reference = [
            stamp
            for stamp, _ in samples.get((REFERENCE, segment), [])
            if usable(stamp, "1h", anchor, live_from)
        ]
        for name in WANTED:
            window = window_of(name)
            assert window is not None
            values = samples.get((name, segment))
            if values is None:
                stamp, value = reference[-1], math.nan
            else:
                chosen = [(t, v) for t, v in values if usable(t, window, anchor, live_from)]
                if not chosen:
                    continue
                stamp, value = chosen[-1]
            rows = {
                segment_label(tuple(sorted(row["segment"].items()))): row
                for row in status_at(config, stamp, statuses)
                if row["slo"] == "queue-sl" and row["segment"]
            }
            row = rows[segment]
            if name == "slo:period_error_budget_remaining:ratio":
                expected, found, what = row["budget_remaining_ratio"], value, "budget remaining"
            else:
                expected = row["burn_rates"].get(window)
                found, what = value / budget_ratio, f"burn {window}"
                if window == PERIOD:
                    assert close(found, row["period_burn_rate"]), (server, segment, row)
            line = f"{server} {segment[-30:]} {what} at {stamp:.0f}: {found} vs status {expected}"
            if not close(found, expected):
                wrong.append(line)
            elif expected is None:
                empty.append(line)
            else:
                valued.append(line)
    return valued, empty, wrong


def test_prometheus_and_vmalert_record_what_status_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_binary("prometheus", "promtool", "victoria-metrics", "vmalert")
    monkeypatch.setenv("FAKE_GENESYS_SECRET", SECRET)
    began = time.monotonic()
    clock = SimClock(datetime.now(UTC), speed=1.0)
    simulation = Simulation(two_queues(), seed=11)
    settings = ApiSettings(client_secret=SECRET, rate_limit_per_minute=6000)
    with ExitStack() as stack:
        genesys = stack.enter_context(
            served(fake_api(simulation, clock, parse_faults(""), settings))
        )
        config = write_config(tmp_path, f"http://{genesys}")
        app = collect_history(config, clock)
        stack.callback(app.close)
        target = stack.enter_context(served(create_app(app)))

        # the first scrape anchors the live counters; history is exported up to there
        import httpx

        first = httpx.get(f"http://{target}/metrics", timeout=30).text
        anchor_line = next(
            line for line in first.splitlines()
            if line.startswith("errorbudget_slo_counters_anchor_timestamp_seconds ")
        )  # fmt: skip
        anchor = float(anchor_line.split()[1])
        start = datetime.fromtimestamp(anchor, UTC) - HISTORY - timedelta(hours=1)
        until = datetime.fromtimestamp(anchor, UTC).isoformat()
        history = tmp_path / "history.om"
        export = ["export", "openmetrics", "-c", str(config), "--from", start.isoformat(),
                  "--to", until, "--step", f"{STEP_SECONDS}s"]  # fmt: skip
        cli(*export, "-o", str(history))
        history_ms = cli(*export, "--timestamp-unit", "ms")
        rules = tmp_path / "rules.yml"
        cli("generate", "prometheus-rules", "-c", str(config), "-o", str(rules))
        vm_rules = tmp_path / "vmalert-rules.yml"
        cli("generate", "prometheus-rules", "-c", str(config), "--target", "vmalert",
            "-o", str(vm_rules))  # fmt: skip

        backfill(history.read_text(encoding="utf-8"), tmp_path / "prom", tmp_path)
        prometheus = stack.enter_context(
            Prometheus(
                scrape_config(tmp_path / "prometheus.yml", target, rules), tmp_path / "prom"
            ).start(tmp_path / "prometheus.log")
        )
        vm = stack.enter_context(
            VictoriaMetrics(
                tmp_path / "vm",
                f"-promscrape.config={scrape_config(tmp_path / 'vm-scrape.yml', target, None)}",
            ).start(tmp_path / "vm.log")
        )
        vm.import_prometheus(history_ms)
        # the rules hold alerts too: vmalert needs a notifier (nothing listens there)
        nowhere = f"http://127.0.0.1:{free_port()}"
        vmalert = VMAlert([vm_rules], vm.url, nowhere).start(tmp_path / "vmalert.log")
        stack.callback(vmalert.stop)  # stopped before VictoriaMetrics (LIFO)

        names = [*WANTED, "slo:error_budget:ratio"]
        statuses: dict[int, Any] = {}
        results: dict[str, tuple[list[str], list[str], list[str]]] = {}
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and len(results) < 2:
            time.sleep(2)
            for server_name, server in (("prometheus", prometheus), ("vmalert", vm)):
                if server_name in results:
                    continue
                live = server.api(
                    "/api/v1/query",
                    {"query": 'errorbudget_slo_good_events_total{slo="queue-sl"}[3m]'},
                )["result"]
                stamps = [float(t) for series in live for t, _ in series["values"]]
                live_from = min((t for t in stamps if t > anchor), default=None)
                if live_from is None:
                    continue
                samples = recorded(server, names)
                ready = set()
                for (name, segment), values in samples.items():
                    window = window_of(name)
                    if (
                        segment
                        and window is not None
                        and any(usable(t, window, anchor, live_from) for t, _ in values)
                    ):
                        ready.add(name)
                if ready >= READY and any(n == "slo:error_budget:ratio" for n, _ in samples):
                    results[server_name] = compare(
                        server_name, samples, config, anchor, live_from, statuses
                    )
    elapsed = time.monotonic() - began
    assert set(results) == {"prometheus", "vmalert"}, f"no usable recordings in time: {results}"
    for server_name, (valued, empty, wrong) in results.items():
        assert not wrong, "\n".join(wrong)
        burning = [line for line in valued if "burn 1d" in line or "remaining" in line]
        assert len(burning) >= 4, (server_name, valued)  # both queues, burn and budget
        print(f"\n{server_name}: {len(valued)} values within 1 %, {len(empty)} no data on both")
        print("\n".join(valued))
    # the scenario burns: one queue well over 1x, the other not at all
    rows = next(iter(statuses.values()))
    burns = sorted(row["period_burn_rate"] for row in rows if row["segment"])
    assert burns[0] == 0 and 1.5 < burns[1] < 3, burns
    print(f"end to end in {elapsed:.1f} s")
