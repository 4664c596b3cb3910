"""``errorbudget status``: the budget of every series at one instant."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from errorbudget.app import App
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.model import BudgetStatus, from_minute, segment_label
from errorbudget.sources import stored_warnings
from errorbudget.wording import burn, exhaustion, percent

if TYPE_CHECKING:
    from rich.table import Table

WIDE = 200
"""Tables are printed at least this wide: a status row is long, and wrapping it helps nobody."""

STATE_STYLE = {
    "healthy": "green",
    "watch": "yellow",
    "freeze": "bold red",
    "exhausted": "bold white on red",
    "no_data": "dim",
    "insufficient_data": "dim",
}

BAND_STYLE = {"green": "green", "amber": "yellow", "red": "red", "none": "dim"}
"""The state's band from the SLO's policy preset: the same colour the dashboard shows."""


def status_table(statuses: Sequence[BudgetStatus], title: str) -> Table:
    from rich.table import Table  # rich only for a table: JSON and CSV do without it

    table = Table(title=title, title_justify="left", header_style="bold")
    for name, justify in [
        ("SLO", "left"), ("segment", "left"), ("target", "right"), ("SLI", "right"),
        ("meets", "left"), ("budget left", "right"), ("burn 1h", "right"), ("burn 6h", "right"),
        ("burn 1d", "right"), ("state", "left"), ("exhausted in", "right"),
        ("period-end", "right"), ("alerts", "left"),
    ]:  # fmt: skip
        # the words may wrap (a preset's state, "not at this rate", alerts), never figures
        wraps = name in ("state", "exhausted in", "alerts")
        table.add_column(name, justify=justify, no_wrap=not wraps)  # type: ignore[arg-type]
    for status in statuses:
        remaining = status.budget_remaining_ratio
        alerts = ", ".join(f"{a.severity} {a.long_window}/{a.short_window}" for a in status.alerts)
        coverage = status.coverage
        left = f"[{BAND_STYLE[status.band]}]{percent(remaining)}[/]"
        if coverage is not None and not coverage.sufficient:
            # the number is not trusted: say how much data there is instead
            left = f"[dim]– ({coverage.covered_minutes:,}/{coverage.window_minutes:,} min)[/]"
        elif coverage is not None and coverage.stale:
            left += " [yellow](stale)[/]"
        meets = {True: "yes", False: "no", None: "–"}[status.meets_target]
        if status.meets_target is False and status.series > 1:
            meets = f"no ({status.series_missing_target}/{status.series})"
        label = status.state_label or status.state
        table.add_row(
            status.slo,
            segment_label(status.segment),
            percent(status.target, 2 if status.target > 0.99 else 1),
            percent(status.sli, 2),
            meets,
            left,
            burn(status.burn_rates.get("1h")),
            burn(status.burn_rates.get("6h")),
            burn(status.burn_rates.get("1d")),
            f"[{STATE_STYLE[status.state]}]{label}[/]",
            "–"
            if status.outlook == "insufficient_data"
            else exhaustion(status.time_to_exhaustion_seconds, status.outlook),
            percent(status.projected_consumed_ratio, 0)
            if status.projected_consumed_ratio is not None
            else "–",
            alerts or "–",
        )
    return table


def render_statuses(statuses: Sequence[BudgetStatus], output_format: str) -> None:
    if output_format in ("json", "csv"):
        # the outward schema's pydantic models cost ~15 ms to build: only these formats need them
        from errorbudget.schema.status import STATUS_CSV_COLUMNS, StatusOut
    if output_format == "json":
        echo_json([StatusOut.of(s).model_dump(mode="json") for s in statuses])
    elif output_format == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=STATUS_CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for status in statuses:
            writer.writerow(StatusOut.of(status).csv_row())
    else:
        from rich.console import Console

        at = from_minute(statuses[0].at).strftime("%Y-%m-%d %H:%M UTC") if statuses else ""
        Console(soft_wrap=False, width=max(Console().width, WIDE)).print(
            status_table(statuses, f"Error budgets at {at}")
        )


@click.command()
@config_option
@time_option("--at", help="Evaluate at TIME instead of now.")
@click.option("--slo", "slo_ids", multiple=True, help="Only this SLO (repeatable).")
@click.option("--service", default=None, help="Only the SLOs of this service.")
@format_option("table", "json", "csv")
def status(
    config_path: Path | None,
    at: datetime | None,
    slo_ids: tuple[str, ...],
    service: str | None,
    output_format: str,
) -> None:
    """Budget, burn rates, forecast and policy state of every series.

    A whole-SLO row (segment "(all)") comes first for SLOs with segments; its budget is the
    sum of its segments' budgets and it meets its target only when every segment meets its
    own. State and colour come from each SLO's policy preset. Time to exhaustion and
    "period-end" (the projected consumption at the end of a calendar period) come from one
    forecast over the last `forecast.lookback` (default 1d). A series with too little data
    shows "insufficient data (N of M minutes)" instead of a budget. Warnings
    the sources recorded (e.g. a Genesys service level that differs from Genesys's own)
    follow on stderr.
    """
    with App.open(config_path) as app:
        statuses = app.evaluations.status(at=at, slo_ids=list(slo_ids) or None, service=service)
        warnings = stored_warnings(app.store, app.loaded.sources_used())
    render_statuses(statuses, output_format)
    for warning in warnings:  # on stderr: JSON and CSV on stdout stay clean
        click.echo(f"warning: {warning}", err=True)
