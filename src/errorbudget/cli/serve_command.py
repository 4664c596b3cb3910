"""``errorbudget serve``: the HTTP API, dashboard, /metrics and scheduled collection."""

from __future__ import annotations

from pathlib import Path

import click

from errorbudget import logs
from errorbudget.app import App
from errorbudget.cli.common import config_option
from errorbudget.exporter_settings import tls_files
from errorbudget.server import listen
from errorbudget.server import run as run_loop
from errorbudget.server import serve as run


@click.command()
@config_option
@click.option("--host", default=None, help="Address to bind [default: server.host, 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: server.port, 8787].")
@click.option("--no-collect", is_flag=True, help="Serve only; do not run the collectors.")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
def serve(
    config_path: Path | None,
    host: str | None,
    port: int | None,
    no_collect: bool,
    log_format: str,
    log_level: str,
) -> None:
    """Run the dashboard (/), the HTTP API (/api/v1, OpenAPI at /docs), /metrics, /healthz,
    /readyz and the configured collectors on their schedules, in one process.

    Binds 127.0.0.1 unless told otherwise. The port is taken before anything else starts:
    when it is in use the command says so and exits 3. SIGINT or SIGTERM stops it
    gracefully: requests in flight finish and every collector finishes its current chunk
    first.
    """
    logs.configure(log_format, log_level)
    with App.open(config_path) as app:
        settings = app.loaded.config.server
        bind_host = host or settings.host
        bind_port = port or settings.port
        tls_files(app.loaded.path.parent, settings.tls)  # a missing file: before listening
        sock = listen(bind_host, bind_port)

        def started(url: str) -> None:
            click.echo(f"errorbudget is serving {url}  (dashboard /, API /api/v1, docs /docs)")

        run_loop(
            run(
                app,
                bind_host,
                bind_port,
                with_sources=not no_collect,
                on_started=started,
                sock=sock,
            )
        )
