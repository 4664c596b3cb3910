"""``errorbudget collect``: fetch counts from the configured sources (Genesys Cloud)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from errorbudget.app import App
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.cli.store_wait import open_app
from errorbudget.durations import parse_duration
from errorbudget.errors import InvalidRequestError, SourceError
from errorbudget.model import from_minute, to_minute
from errorbudget.sources import SourceRegistry
from errorbudget.sources.genesys.collector import CollectReport, GenesysCollector


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


@click.command("collect")
@config_option
@time_option("--from", "start", help="Start of the history to fetch (e.g. 2026-11-01T00:00Z, -7d).")
@time_option("--to", "end", help="End of the history to fetch [default: now].")
@click.option(
    "--once",
    is_flag=True,
    help="One scheduled run: re-fetch the open and recent intervals and backfill any gap "
    "since the last collection.",
)
@click.option(
    "--deadline",
    metavar="DURATION",
    callback=_duration,
    help="Give up after this long (e.g. 30s, 10m) [default: sources.genesys.collect_deadline, 3m].",
)
@format_option("text", "json")
def collect(
    config_path: Path | None,
    start: datetime | None,
    end: datetime | None,
    once: bool,
    deadline: timedelta | None,
    output_format: str,
) -> None:
    """Fetch counts from Genesys Cloud into the store.

    With --from (and --to) the history of every Genesys SLO is fetched in chunks and
    stored; with --once, one scheduled collection runs. Either way, re-fetched intervals
    replace what was stored (source genesys): running twice never counts twice. A run
    ends within its deadline. If the API keeps failing, or the deadline comes first,
    everything before the failing chunk is kept, the error says what failed and what to
    check, and the exit code is 1; run the same command again to resume. Every run is
    recorded in the store (the source's health), with one summary line: rows written,
    API calls made and failed, data issues found.
    """
    if once == (start is not None):
        raise click.UsageError("give either --from (and optionally --to) or --once")
    if end is not None and start is None:
        raise click.UsageError("--to needs --from")
    with open_app(config_path, "errorbudget collect") as app:
        source = SourceRegistry.default().create("genesys", app.loaded, app.store, app.clock)
        if source is None:
            raise InvalidRequestError(f"no SLO in {app.loaded.path} uses source genesys")
        assert isinstance(source, GenesysCollector)
        report = asyncio.run(_run(source, app, start, end, once, deadline))
    if output_format == "json":
        echo_json(_report_dict(report, source))
    else:
        _print_report(report, source)
    if report.error is not None:
        raise SourceError(report.error, retryable=True)


async def _run(
    source: GenesysCollector,
    app: App,
    start: datetime | None,
    end: datetime | None,
    once: bool,
    deadline: timedelta | None = None,
) -> CollectReport:
    async with source:
        if once:
            return await source.run_once(deadline=deadline)
        assert start is not None
        # without --to, the open minute is fetched too: the range is [--from, now]
        first = to_minute(start)
        last = to_minute(end) if end is not None else to_minute(app.clock()) + 1
        if last <= first:
            raise InvalidRequestError("--to must be after --from")
        with _progress_bar() as progress:
            return await source.collect_range(first, last, progress=progress, deadline=deadline)


@contextmanager
def _progress_bar() -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar of chunks on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("collect"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("chunks"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("collect", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _iso(minute: int | None) -> str | None:
    return None if minute is None else from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")


def _report_dict(report: CollectReport, source: GenesysCollector) -> dict[str, Any]:
    stats = source.client.stats
    return {
        "source": source.name,
        "from": _iso(report.start),
        "to": _iso(report.end),
        "slos": report.slos,
        "chunks": report.chunks,
        "chunks_written": report.chunks_written,
        "rows_written": report.rows_written,
        "collected_through": _iso(report.collected_through),
        "seconds": round(report.seconds, 3),
        "requests": stats.attempts + stats.by_endpoint["oauth_token"],
        "calls": report.calls,
        "failed_calls": report.failed_calls,
        "rate_limited": report.rate_limited,
        "retries": stats.retries,
        "chunks_skipped": report.chunks_skipped,
        "data_issues": report.data_issues,
        "data_issues_resolved": report.data_issues_resolved,
        "service_level_discrepancies": report.service_level_discrepancies,
        "error": report.error,
    }


def _print_report(report: CollectReport, source: GenesysCollector) -> None:
    data = _report_dict(report, source)
    through = data["collected_through"] or "nothing new"
    issues = f"{report.data_issues} data issue(s) found"
    if report.data_issues_resolved:
        issues += f", {report.data_issues_resolved} resolved"
    click.echo(
        f"genesys: {'ok' if report.ok else 'FAILED'}, {data['chunks_written']}/"
        f"{data['chunks']} chunks, {data['rows_written']:,} minute rows written for "
        f"{len(report.slos)} SLO(s), collected through {through}; {report.calls} API calls "
        f"({report.failed_calls} failed, {report.rate_limited} rate limited), {issues}; "
        f"{data['seconds']:.1f} s"
    )
