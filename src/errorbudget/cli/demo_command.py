"""``errorbudget demo``: the simulated contact center, through the fake Genesys Cloud API and
the real collector, into a store; then its budgets and a release-gate decision, the commands
to explore it, and (unless ``--once``) the dashboard over the live simulation."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from errorbudget import logs
from errorbudget.cli.common import time_option
from errorbudget.cli.gate_command import render_decision
from errorbudget.cli.simulate_voice import scenario_lines as voice_scenario_lines
from errorbudget.cli.status_command import WIDE, status_table
from errorbudget.demo.incidents import describe
from errorbudget.demo.receiver import SECRET_ENV, Received
from errorbudget.demo.receiver import describe as describe_notification
from errorbudget.demo.voice_agent import (
    VOICE_BURNING_FLOW,
    VOICE_PAGE_SLO,
    VOICE_PAGE_SLOS,
    VOICE_QUIET_FLOW,
    VOICE_SERVICE,
)
from errorbudget.demo.world import DAYS, DemoWorld
from errorbudget.model import BudgetStatus
from errorbudget.server import listen, serve
from errorbudget.server import run as run_loop

HOST = "127.0.0.1"


def program() -> str:
    """How to call errorbudget again, as the user did: ``errorbudget`` when that is what is
    on the PATH, else the script's path (``.venv/bin/errorbudget`` from the repo root)."""
    invoked = Path(sys.argv[0])
    if invoked.name == "__main__.py":
        return f"{shlex.quote(shown(Path(sys.executable)))} -m errorbudget"
    on_path = shutil.which("errorbudget")
    with contextlib.suppress(OSError):
        if on_path is not None and invoked.exists() and invoked.samefile(on_path):
            return "errorbudget"
    if invoked.name != "errorbudget" or not invoked.exists():
        return "errorbudget"
    return shlex.quote(shown(invoked))


def shown(path: Path) -> str:
    """``path`` relative to the current directory when it is under it, else absolute."""
    absolute = path.absolute()
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def voice_rows(statuses: Sequence[BudgetStatus]) -> list[BudgetStatus]:
    """The voice agent's rows of a status: each whole SLO, and each segment with an alert
    firing (all its segments are in ``errorbudget status`` and on the dashboard)."""
    return [s for s in statuses if s.service == VOICE_SERVICE and (not s.segment or s.alerts)]


def explore_commands(world: DemoWorld, command: str) -> list[str]:
    """Commands to try on the demo's config, runnable as printed from the current
    directory; they evaluate at the demo's clock, as the dashboard does."""
    config = shlex.quote(shown(world.config_path))
    lines = [
        f"{command} status -c {config}",
        f"{command} status -c {config} --format json --slo voice-sla",
        f"{command} gate -c {config} --service contact-center --type flow --risk high",
        f"{command} alerts replay -c {config} --from {world.at - timedelta(days=7):%Y-%m-%dT%H:%MZ}"
        f" --to {world.at:%Y-%m-%dT%H:%MZ}",
    ]
    carrier = next(
        (
            n.incident
            for n in world.notes(world.at)
            if n.slo == "voice-sla" and n.incident.end <= world.at
        ),
        None,
    )
    if carrier is not None:
        lines.append(
            f"{command} exclusions propose -c {config} --slo voice-sla "
            f"--start {carrier.start:%Y-%m-%dT%H:%MZ} --end {carrier.end:%Y-%m-%dT%H:%MZ} "
            '--category external-outage --reason "carrier incident INC-123"'
        )
    month = (
        f"--from {world.at - timedelta(days=DAYS):%Y-%m-%dT%H:%MZ} --to {world.at:%Y-%m-%dT%H:%MZ}"
    )
    lines += [
        f"{command} status -c {config} --slo {VOICE_PAGE_SLO}",
        # a burning Spanish billing flow does not block an English FAQ change
        f"{command} gate -c {config} --service {VOICE_SERVICE} --type prompt "
        f"--segment flow={VOICE_BURNING_FLOW}",
        f"{command} gate -c {config} --service {VOICE_SERVICE} --type prompt "
        f"--segment flow={VOICE_QUIET_FLOW}",
        f"{command} backtest -c {config} --slo {VOICE_PAGE_SLO} {month}",
        f"{command} backtest -c {config} --slo voice-sla {month}",
    ]
    return lines


def voice_pages(world: DemoWorld, base_url: str) -> list[str]:
    """The dashboard's voice-agent pages worth opening first: the voice page (flow
    breakdown, pipeline attribution, release overlay, review queue) of the SLOs the
    scenario's bad prompt release and TTS incident hurt."""
    slo_ids = {slo.id for slo in world.app.evaluations.slos}
    return [f"{base_url}/slos/{slo}/voice" for slo in VOICE_PAGE_SLOS if slo in slo_ids]


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the config and store (an earlier demo's there are replaced) "
    "[default: a new temporary directory; make demo: ./demo].",
)
@time_option("--at", help="The simulated instant the demo starts at [default: now].")
@click.option("--seed", type=int, default=7, show_default=True, help="Simulation seed.")
@click.option(
    "--once", is_flag=True, help="Print the budgets, the gate decision and the commands; exit."
)
@click.option("--port", type=int, default=8787, show_default=True, help="Dashboard port.")
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
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
    collector, annotate its incidents, submit a few changes, and show the budgets of the seed
    SLIs (Voice SLA per tier, Digital SLA, IVR completion, API availability), a release-gate
    decision and the commands to explore the demo's config. Beside it, a simulated voice
    agent's month of events with seed 002's starter-kit SLOs. Then, unless --once, serve the
    dashboard and API on 127.0.0.1 while the contact center and the voice agent run on,
    accelerated, and the collector keeps collecting (Ctrl-C stops it).

    The config holds the demo's simulated clock (key `clock`), so `errorbudget status -c
    DIR/errorbudget.yaml` evaluates at the same instant as the dashboard; when the demo
    stops, that clock is held where it stopped. The port is taken before anything else
    starts: when it is in use the command says so and exits 3.
    """
    console = Console(width=WIDE, highlight=False)
    sock: socket.socket | None = None if once else listen(HOST, port)
    try:
        workdir = directory or Path(tempfile.mkdtemp(prefix="errorbudget-demo-"))
        moment = (at or datetime.now(tz=UTC)).astimezone(UTC)

        def notified(received: Received) -> None:
            console.print(f"Alert: {escape(describe_notification(received))}", soft_wrap=True)

        with DemoWorld(
            workdir,
            moment,
            seed=seed,
            speed=0 if once else speed,
            dashboard_url=f"http://{HOST}:{port}",
            on_notification=notified,
        ) as world:
            show_world(world, console)
            if sock is not None:
                serve_live(world, sock, port, console)
                stopped = world.freeze()
                console.print(
                    f"Stopped. The demo's clock is held at {stopped:%Y-%m-%d %H:%M} UTC in "
                    f"{shown(world.config_path)}: the commands above show what the dashboard "
                    "showed last."
                )
    finally:
        if sock is not None:
            sock.close()


def show_world(world: DemoWorld, console: Console) -> None:
    """Backfill, annotate, submit; print the budgets, the gate decision, the commands."""
    with console.status(f"Backfilling {DAYS} days from the fake Genesys Cloud API …"):
        backfill = world.backfill()
    app = world.app
    console.print(
        f"Collected {DAYS} days from the fake Genesys Cloud API at {world.server.base_url} "
        f"in {backfill.seconds:.1f} s: {backfill.rows:,} minute rows, {backfill.requests} API "
        f"requests, into {app.loaded.store_path}"
    )
    with console.status("Simulating the voice agent's month and ingesting its events …"):
        voice = world.backfill_voice_agent()
    console.print(
        f"Voice agent: {voice.written:,} simulated events (calls, turns, tasks, escalations, "
        f"synthetic checks) over {DAYS} days ingested in {voice.seconds:.1f} s"
    )
    for line in voice_scenario_lines(world.voice.scenario):
        console.print(f"Voice agent: {escape(line)}", soft_wrap=True)
    world.record_incidents(until=world.at)
    for incident in world.incidents:
        if incident.start < world.at:
            text = escape(describe(incident, world.at))
            console.print(f"Incident: {text} (annotated on its SLOs)")
    world.submit_changes()
    # one evaluation for both services, printed as two tables (the voice agent's shortened)
    statuses = app.evaluations.status(at=world.at)
    contact_center = [s for s in statuses if s.service != VOICE_SERVICE]
    console.print(status_table(contact_center, f"Error budgets at {world.at:%Y-%m-%d %H:%M} UTC"))
    voice_agent = voice_rows(statuses)
    if voice_agent:
        console.print(
            status_table(
                voice_agent,
                f"The voice agent's error budgets at {world.at:%Y-%m-%d %H:%M} UTC (whole SLOs, "
                "and the segments with an alert firing)",
            )
        )
    console.print()
    # judged now, at the demo's clock (the gate is never judged at a chosen instant)
    decision = app.gate.decide(
        service="contact-center", change_type="flow", risk="medium", actor="demo"
    )
    render_decision(decision, console)
    console.print()
    clock = "held at that instant" if world.speed == 0 else f"running at {world.speed:g}×"
    console.print(
        f"Explore, from {Path.cwd()} (the config holds the demo's clock, {clock}: these "
        "commands and the dashboard evaluate at the same instant):"
    )
    for line in explore_commands(world, program()):
        console.print(f"  {escape(line)}", soft_wrap=True)
    served = "" if world.speed > 0 else " (served by the live demo: make demo, without --once)"
    console.print(
        f"The voice agent on the dashboard{served}: the overview shows it beside the contact "
        "center; each events SLO's voice page has its flow breakdown, pipeline attribution, "
        "release overlay and review queue:"
    )
    for url in voice_pages(world, world.dashboard_url):
        console.print(f"  {url}", soft_wrap=True)
    console.print()


def serve_live(world: DemoWorld, sock: socket.socket, port: int, console: Console) -> None:
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
        console.print(
            f"Alerts are delivered to the demo's webhook receiver at {world.receiver.url} "
            "and printed here as they fire and resolve."
        )

    logs.configure("text", "warning")
    jobs = [
        ("demo-incidents", world.record_incidents_job),
        ("demo-voice-agent", world.voice_agent_job),
    ]
    # serve reads the receivers' secrets from the environment: this run's signing secret.
    os.environ[SECRET_ENV] = world.webhook_secret
    with contextlib.suppress(KeyboardInterrupt):
        run_loop(serve(world.app, HOST, port, on_started=started, sock=sock, jobs=jobs))
