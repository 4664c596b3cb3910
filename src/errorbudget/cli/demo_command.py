"""``errorbudget demo``: a month of simulated contact-center data, its budgets and a gate."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import click
from rich.console import Console

from errorbudget.app import App
from errorbudget.cli.common import time_option
from errorbudget.cli.gate_command import render_decision
from errorbudget.cli.status_command import WIDE, status_table
from errorbudget.demo.traffic import Incident, generate, write_csv
from errorbudget.gate import decide
from errorbudget.ingest import ingest_files
from errorbudget.model import from_minute, to_minute

DAYS = 30


def demo_config_text() -> str:
    return resources.files("errorbudget.demo").joinpath("config.yaml").read_text("utf-8")


@click.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to put the config, data and store [default: a new temporary directory].",
)
@time_option("--at", help="Pretend it is TIME [default: now].")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
def demo(directory: Path | None, at: datetime | None, seed: int) -> None:
    """Generate 30 days of counts for the seed SLIs (Voice SLA per tier, Digital SLA, IVR
    completion, API availability) with one platform incident, ingest them, and show the
    budgets and a release-gate decision."""
    console = Console(width=WIDE)
    workdir = directory or Path(tempfile.mkdtemp(prefix="errorbudget-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "errorbudget.yaml"
    config_path.write_text(demo_config_text(), encoding="utf-8")

    now = to_minute(at or datetime.now(tz=UTC))
    end = now - now % 60
    start = end - DAYS * 1440
    incident_start = end - 6 * 1440 - (end % 1440) + 19 * 60  # 6 days ago, 14:00 New York
    incident = Incident(incident_start, incident_start + 150, "carrier degradation")

    began = time.perf_counter()
    table = generate(start, end, incident, seed=seed)
    csv_path = write_csv(table, workdir / "counts.csv")
    with App.open(config_path) as app:
        report = ingest_files(app.store, {s.id: s for s in app.slos}, [csv_path])
        took = time.perf_counter() - began
        console.print(
            f"Generated and ingested {report.rows_read:,} rows of 1-minute counts "
            f"({DAYS} days, {len(app.slos)} SLOs) in {took:.1f} s into {app.loaded.store_path}"
        )
        console.print(
            f"Incident: {incident.description}, "
            f"{from_minute(incident.start):%Y-%m-%d %H:%M}–{from_minute(incident.end):%H:%M} UTC"
        )
        moment = from_minute(end)
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
    console.print(f"Explore: errorbudget status -c {config_path}")
    console.print(
        f"         errorbudget gate -c {config_path} --service contact-center --risk high"
    )


def register(group: click.Group) -> None:
    group.add_command(demo)
