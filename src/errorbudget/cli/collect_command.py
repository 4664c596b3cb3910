"""``errorbudget collect``: fetch counts from the configured sources (Genesys Cloud)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from errorbudget.app import App
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.errors import InvalidRequestError, SourceError
from errorbudget.model import from_minute, to_minute
from errorbudget.sources import SourceRegistry
from errorbudget.sources.genesys.collector import CollectReport, GenesysCollector


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
@format_option("text", "json")
def collect(
    config_path: Path | None,
    start: datetime | None,
    end: datetime | None,
    once: bool,
    output_format: str,
) -> None:
    """Fetch counts from Genesys Cloud into the store.

    With --from (and --to) the history of every Genesys SLO is fetched in chunks and
    stored; with --once, one scheduled collection runs. Either way, re-fetched intervals
    replace what was stored (source genesys): running twice never counts twice. If the API
    keeps failing, everything before the failing chunk is kept and the exit code is 1; run
    the same command again to resume.
    """
    if once == (start is not None):
        raise click.UsageError("give either --from (and optionally --to) or --once")
    if end is not None and start is None:
        raise click.UsageError("--to needs --from")
    with App.open(config_path) as app:
        source = SourceRegistry.default().create("genesys", app.loaded, app.store, app.clock)
        if source is None:
            raise InvalidRequestError(f"no SLO in {app.loaded.path} uses source genesys")
        assert isinstance(source, GenesysCollector)
        report = asyncio.run(_run(source, app, start, end, once))
    if output_format == "json":
        echo_json(_report_dict(report, source))
    else:
        _print_report(report, source)
    if report.error is not None:
        raise SourceError(report.error, retryable=True)


async def _run(
    source: GenesysCollector, app: App, start: datetime | None, end: datetime | None, once: bool
) -> CollectReport:
    async with source:
        if once:
            return await source.run_once()
        assert start is not None
        # without --to, the open minute is fetched too: the range is [--from, now]
        first = to_minute(start)
        last = to_minute(end) if end is not None else to_minute(app.clock()) + 1
        if last <= first:
            raise InvalidRequestError("--to must be after --from")
        with _progress_bar() as progress:
            report = await source.collect_range(first, last, progress=progress)
        report.rows_written += source.flush_calls()
        return report


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
        "rate_limited": stats.rate_limited,
        "retries": stats.retries,
        "service_level_discrepancies": report.service_level_discrepancies,
        "error": report.error,
    }


def _print_report(report: CollectReport, source: GenesysCollector) -> None:
    data = _report_dict(report, source)
    through = data["collected_through"] or "nothing new"
    click.echo(
        f"genesys: {data['chunks_written']}/{data['chunks']} chunks, "
        f"{data['rows_written']:,} minute rows written for {len(report.slos)} SLO(s), "
        f"collected through {through}; {data['requests']} API requests "
        f"({data['rate_limited']} rate limited, {data['retries']} retried), "
        f"{data['seconds']:.1f} s"
    )


def register(group: click.Group) -> None:
    group.add_command(collect)
