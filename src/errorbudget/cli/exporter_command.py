"""``errorbudget exporter``: the Genesys queue families and the SLO families on /metrics."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from errorbudget import logs
from errorbudget.cli.common import config_option
from errorbudget.config import load_config
from errorbudget.exporter_server import Exporter, run_exporter, split_listen
from errorbudget.server import listen as bind
from errorbudget.server import run as run_loop


@click.command()
@config_option
@click.option(
    "--listen",
    "address",
    default=None,
    help="host:port to listen on [default: exporter.listen, 127.0.0.1:9464].",
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def exporter(
    config_path: Path | None, address: str | None, log_format: str, log_level: str
) -> None:
    """Serve /metrics only: the Genesys queue families (polled on their own cadence) and the
    SLO families, with TLS and basic or bearer authentication for scrapes.

    The queue families come from sources.genesys.queue_metrics; the SLO families are read
    from the store when its file exists. /healthz answers liveness. Listener, TLS and
    authentication: the config's exporter section (docs/exporter.md).

    The port is taken before anything else starts (exit 3 when it is in use); SIGINT or
    SIGTERM stops it gracefully.
    """
    logs.configure(log_format, log_level)
    loaded = load_config(config_path)
    host, port = split_listen(address or loaded.config.exporter.listen)
    built = Exporter.build(loaded, os.environ)
    try:
        sock = bind(host, port)
    except BaseException:
        asyncio.run(built.aclose())
        raise
    for note in built.notes:
        click.echo(f"note: {note}", err=True)

    def started(url: str) -> None:
        click.echo(f"errorbudget exporter is serving {url}")

    run_loop(run_exporter(built, sock, host, port, on_started=started))
