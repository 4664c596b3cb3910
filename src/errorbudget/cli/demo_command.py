"""``errorbudget demo``: the simulated contact center, through the fake Genesys Cloud API and
the real collector, into a store; then its budgets and a release-gate decision."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import click
from rich.console import Console

from errorbudget import logs
from errorbudget.app import App
from errorbudget.cli.common import time_option
from errorbudget.cli.gate_command import render_decision
from errorbudget.cli.status_command import WIDE, status_table
from errorbudget.gate import decide
from errorbudget.model import from_minute, to_minute
from errorbudget.server import run as run_loop
from errorbudget.server import serve
from errorbudget.simulate.clock import SimClock
from errorbudget.simulate.default_scenario import default_scenario
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.genesys_api import ApiSettings
from errorbudget.simulate.server import FakeGenesysServer
from errorbudget.sources.genesys import create_source

DAYS = 30
DEMO_RATE_LIMIT = 6_000
"""Requests per minute the demo's fake org allows (the real default is 300): a month of
history then backfills in seconds instead of minutes."""


def demo_config_text() -> str:
    return resources.files("errorbudget.demo").joinpath("config.yaml").read_text("utf-8")


def write_demo_config(
    directory: Path, base_url: str, secret: str, collect_every: timedelta
) -> Path:
    """The packaged demo config with the fake server's address and secret filled in."""
    text = (
        demo_config_text()
        .replace("${FAKE_GENESYS_URL:-http://127.0.0.1:8788}", base_url)
        .replace("${FAKE_GENESYS_SECRET:-errorbudget-sim-secret}", secret)
        .replace("${FAKE_GENESYS_RPM:-300}", str(DEMO_RATE_LIMIT))
        .replace("${DEMO_COLLECT_INTERVAL:-60s}", f"{int(collect_every.total_seconds())}s")
    )
    path = directory / "errorbudget.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the config and store [default: a new temporary directory].",
)
@time_option("--at", help="Pretend it is TIME [default: now].")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed.")
@click.option("--once", is_flag=True, help="Print the budgets and the gate decision, then exit.")
@click.option("--port", type=int, default=8787, show_default=True, help="Dashboard port.")
@click.option(
    "--speed",
    type=float,
    default=60.0,
    show_default=True,
    help="How much faster than real time the live contact center runs.",
)
def demo(
    directory: Path | None,
    at: datetime | None,
    seed: int,
    once: bool,
    port: int,
    speed: float,
) -> None:
    """Simulate a contact center (queues, staffing, abandonment, IVR flows, incidents), serve
    it through a fake Genesys Cloud API on 127.0.0.1, backfill 30 days with the real
    collector, and show the budgets of the seed SLIs (Voice SLA per tier, Digital SLA, IVR
    completion, API availability) and a release-gate decision. Then, unless --once, serve
    the dashboard and API on 127.0.0.1 while the contact center runs on, accelerated, and
    the collector keeps collecting (Ctrl-C stops it)."""
    console = Console(width=WIDE)
    workdir = directory or Path(tempfile.mkdtemp(prefix="errorbudget-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    now = (at or datetime.now(tz=UTC)).astimezone(UTC).replace(second=0, microsecond=0)
    clock = SimClock(now, speed=1.0 if once else speed)
    # Collect about every simulated minute, but no more often than every 2 real seconds.
    collect_every = timedelta(seconds=max(2, round(60 / clock.speed)))
    simulation = Simulation(default_scenario(now), seed=seed)
    settings = ApiSettings(rate_limit_per_minute=DEMO_RATE_LIMIT)

    began = time.perf_counter()
    with FakeGenesysServer(simulation, clock, settings=settings) as server:
        config_path = write_demo_config(
            workdir, server.base_url, settings.client_secret, collect_every
        )
        with App.open(config_path, clock=clock) as app:
            collector = create_source(app.loaded, app.store, clock)
            assert collector is not None  # the demo config has Genesys SLOs
            start = now - timedelta(days=DAYS)

            async def backfill() -> int:
                async with collector:
                    report = await collector.collect_range(to_minute(start), to_minute(now))
                    return report.rows_written + collector.flush_calls()

            with console.status(f"Backfilling {DAYS} days from the fake Genesys Cloud API …"):
                rows = asyncio.run(backfill())
            stats = server.stats()
            console.print(
                f"Collected {DAYS} days from the fake Genesys Cloud API at {server.base_url} "
                f"in {time.perf_counter() - began:.1f} s: {rows:,} minute rows, "
                f"{sum(stats['byStatus'].values())} API requests, into "
                f"{app.loaded.store_path}"
            )
            for incident in simulation.scenario.incidents:
                if incident.start < now:
                    end = f"{incident.end:%H:%M}"
                    if incident.end.date() != incident.start.date():
                        end = f"{incident.end:%Y-%m-%d %H:%M}"
                    console.print(
                        f"Incident: {incident.name}, {incident.start:%Y-%m-%d %H:%M} – {end} UTC"
                    )
            moment = from_minute(to_minute(now))
            console.print(
                status_table(app.status(at=moment), f"Error budgets at {moment:%Y-%m-%d %H:%M} UTC")
            )
            console.print()
            decision = decide(
                app,
                service="contact-center",
                change_type="flow",
                risk="medium",
                actor="demo",
                at=moment,
            )
            render_decision(decision, console)
            console.print()
            if not once:
                serve_live(app, port, console)
    console.print(f"Explore: errorbudget status -c {config_path}")
    console.print(
        f"         errorbudget gate -c {config_path} --service contact-center --risk high"
    )


def serve_live(app: App, port: int, console: Console) -> None:
    """The dashboard, API and collector over the live simulation, until Ctrl-C."""

    def started(url: str) -> None:
        console.print(
            f"[bold]Dashboard: {url}/[/]   API: {url}/api/v1   docs: {url}/docs   "
            f"metrics: {url}/metrics"
        )
        console.print(
            "Tokens for writes (submit and approve changes): ops-lead (operator) "
            "demo-operator-token, vp-ops (approver) demo-approver-token. Ctrl-C stops."
        )

    logs.configure("text", "warning")
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve(app, "127.0.0.1", port, on_started=started))


def register(group: click.Group) -> None:
    group.add_command(demo)
