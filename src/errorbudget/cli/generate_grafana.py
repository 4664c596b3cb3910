"""``errorbudget generate grafana-dashboard``: the config's SLOs as a Grafana dashboard."""

from __future__ import annotations

from pathlib import Path

import click

from errorbudget.cli.common import config_option

OUTPUT = click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path)


@click.command("grafana-dashboard")
@click.option(
    "--slo",
    "slos",
    multiple=True,
    metavar="NAME",
    help="Only this SLO (repeatable) [default: every SLO in the config].",
)
@click.option("-o", "--output", type=OUTPUT, default=None, help="Write here [default: stdout].")
@config_option
def grafana_dashboard(slos: tuple[str, ...], output: Path | None, config_path: Path | None) -> None:
    """A Grafana dashboard (JSON) of the config's SLOs and the Genesys queues.

    Budget gauges coloured by each SLO's policy preset, projected period-end consumption,
    the daily burn rate over 30 days, a row per series (SLI, budget, burn rates, state), the
    changes and approvals from errorbudget's API, and the queue depth, p95 wait, SLA
    compliance and agents of the Genesys exporter; deploys and incidents as annotations.
    Import it in Grafana (UI, provisioning or API): docs/grafana.md.
    """
    # The generator and the SDK load only when this command runs.
    from errorbudget.config import load_config
    from errorbudget.generate.grafana import dashboard_json

    text = dashboard_json(load_config(config_path), slos)
    if output is None or str(output) == "-":
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
