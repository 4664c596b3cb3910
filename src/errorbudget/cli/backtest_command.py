"""``errorbudget backtest``: an SLO's targets over stored history (docs/backtest.md): the SLI
per day and week, the budget each candidate target would have left per period, the alerts
it would have raised (the alert replay) and a proposed target with its reasoning."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from errorbudget.app import App
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.engine.backtest import (
    MAX_PAGES_PER_30_DAYS,
    MIN_REMAINING,
    SliRow,
    target_text,
)
from errorbudget.model import from_minute, segment_label
from errorbudget.schema.backtest import BacktestOut
from errorbudget.services.backtest import MAX_DAYS, Backtest, BacktestService

PROGRESS_FROM_SERIES = 10
"""Show a progress bar (on stderr) when the SLO has at least this many series (each is
replayed once per candidate target)."""


def parse_targets(text: str | None) -> list[float]:
    """``0.9,0.95,99.5%`` → ``[0.9, 0.95, 0.995]``."""
    if not text:
        return []
    found = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            number = Decimal(part[:-1]) / 100 if part.endswith("%") else Decimal(part)
            if not number.is_finite():
                raise ValueError(part)
            found.append(float(number))  # 99.9% → 0.999 exactly as written, not 0.99900…01
        except (ValueError, ArithmeticError) as exc:
            raise click.BadParameter(f"{part!r} is not a target", param_hint="--targets") from exc
    return found


def _percent(ratio: float | None, digits: int = 1) -> str:
    return "–" if ratio is None else f"{ratio * 100:.{digits}f}%"


def _sli_table(title: str, rows: list[SliRow]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in ("", "eligible", "bad", "SLI"):
        table.add_column(name, justify="left" if not name else "right")
    for row in rows:
        sli = "no data" if row.sli is None else _percent(row.sli, 3)
        table.add_row(row.label, f"{row.eligible:,}", f"{row.bad:,}", sli)
    return table


def render(found: Backtest, console: Console) -> None:
    """The backtest as tables and the proposal in words."""
    console.print(
        f"Backtest of {found.slo} from {from_minute(found.start):%Y-%m-%d %H:%M} to "
        f"{from_minute(found.end):%Y-%m-%d %H:%M} UTC: {found.series} series, observed SLI "
        + ("no data" if found.observed_sli is None else _percent(found.observed_sli, 3))
    )
    for note in found.notes:
        console.print(f"[yellow]note:[/] {note}")
    console.print(_sli_table("SLI per day", found.days))
    console.print(_sli_table("SLI per ISO week", found.weeks))
    budgets = Table(
        title="Budget left per period (at its end · worst point)",
        title_justify="left",
        header_style="bold",
    )
    budgets.add_column("target")
    periods = found.candidates[0].candidate.periods if found.candidates else []
    for period in periods:
        budgets.add_column(period.label + ("" if period.complete else " (part)"), justify="right")
    budgets.add_column("pages", justify="right")
    budgets.add_column("tickets", justify="right")
    for result in found.candidates:
        candidate = result.candidate
        mark = " ←" if candidate.target == found.proposal.target else ""
        budgets.add_row(
            f"{target_text(candidate.target)} ({candidate.origin}){mark}",
            *(f"{_percent(p.remaining)} · {_percent(p.worst)}" for p in candidate.periods),
            str(candidate.alerts.pages),
            str(candidate.alerts.tickets),
        )
    console.print(budgets)
    firings = Table(title="Pages and tickets per target", title_justify="left", header_style="bold")
    for name in ("target", "alert", "segment", "severity", "fired", "resolved"):
        firings.add_column(name)
    for result in found.candidates:
        for incident in result.incidents:
            if incident.inhibited:
                continue
            resolved = incident.resolved_at
            firings.add_row(
                target_text(result.candidate.target),
                incident.alertname + (f" ({incident.rule})" if incident.rule else ""),
                segment_label(incident.segment),
                incident.severity,
                f"{from_minute(incident.fired_at):%Y-%m-%d %H:%M}",
                "–" if resolved is None else f"{from_minute(resolved):%Y-%m-%d %H:%M}",
            )
    if firings.row_count:
        console.print(firings)
    target = found.proposal.target
    console.print(
        "[bold]Proposed target:[/] " + ("none" if target is None else target_text(target))
    )
    console.print(found.proposal.reasoning)


@click.command("backtest")
@config_option
@click.option("--slo", "slo_id", required=True, help="The SLO to backtest.")
@time_option("--from", "start", required=True, help="From TIME (30 to 60 days back is typical).")
@time_option("--to", "end", help="Up to TIME (default now).")
@click.option(
    "--targets",
    help="Candidate targets besides the SLO's own, comma-separated: 0.99,0.995 or 99.5%. "
    "Defaults around the observed SLI are always tried.",
)
@click.option(
    "--min-remaining",
    type=click.FloatRange(0.0, 1.0),
    default=MIN_REMAINING,
    show_default=True,
    help="The proposal keeps at least this share of the budget at the end of every period.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(0),
    default=MAX_PAGES_PER_30_DAYS,
    show_default=True,
    help="The proposal pages at most this many times per 30 days.",
)
@format_option("text", "json")
def backtest(
    config_path: Path,
    slo_id: str,
    start: datetime,
    end: datetime | None,
    targets: str | None,
    min_remaining: float,
    max_pages: int,
    output_format: str,
) -> None:
    """Backtest an SLO's targets over stored history: SLI per day and week, budget left per
    period, the alerts each target would have raised, and a proposed target.

    Candidates: the SLO's own target, --targets and defaults around the observed SLI. For
    each, the budget left at the end of each budget period and its worst point, and the
    pages and tickets the alert rules would have raised (the alert replay, with the SLO's
    alerting settings at that target); the proposal is the highest target that kept
    --min-remaining of its budget at every period's end, never ran out, and paged at most
    --max-pages times per 30 days, with why.

    At most 400 days; the store's history is read as stored.
    """
    given = parse_targets(targets)
    with App.open(config_path) as app:
        service = BacktestService(app.loaded, app.store)
        until = end or app.clock()
        count = service.series_count(slo_id)
        args = (slo_id, start, until, given)
        options = {
            "max_days": MAX_DAYS,
            "min_remaining": min_remaining,
            "max_pages_per_30_days": max_pages,
        }
        if count >= PROGRESS_FROM_SERIES and output_format == "text":
            columns = (
                TextColumn("backtest"), BarColumn(), MofNCompleteColumn(), TextColumn("series"),
                TimeRemainingColumn(),
            )  # fmt: skip
            with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("backtest", total=None)
                found = service.run(
                    *args,
                    **options,  # type: ignore[arg-type]
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
        else:
            found = service.run(*args, **options)  # type: ignore[arg-type]
    if output_format == "json":
        echo_json(BacktestOut.of(found).model_dump(mode="json"))
        return
    render(found, Console(width=max(Console().width, 140)))
