"""``errorbudget collect``: fetch counts from a configured source that collects (Genesys
Cloud, a third-party plugin); the source runs, reports and formats its own report."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from errorbudget.app import App
from errorbudget.cli.common import config_option, echo_json, format_option, time_option
from errorbudget.cli.store_wait import open_app
from errorbudget.durations import parse_duration
from errorbudget.errors import InvalidRequestError, SourceError
from errorbudget.model import to_minute
from errorbudget.sources import PullSource, create_sources, source_names
from errorbudget.sources.plugin import SourceRun
from errorbudget.yamlsource import did_you_mean


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


@click.command("collect")
@config_option
@click.option(
    "--source",
    "source_name",
    metavar="NAME",
    help="The source to collect (e.g. genesys) [default: the one source the config collects "
    "from; required when there are several].",
)
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
    help="Give up after this long (e.g. 30s, 10m) [default: the source's collect_deadline, "
    "3m for genesys].",
)
@format_option("text", "json")
def collect(
    config_path: Path | None,
    source_name: str | None,
    start: datetime | None,
    end: datetime | None,
    once: bool,
    deadline: timedelta | None,
    output_format: str,
) -> None:
    """Fetch counts from a source that collects (Genesys Cloud, a plugin) into the store.

    With --from (and --to) the history of every SLO of the source is fetched in chunks
    and stored; with --once, one scheduled collection runs. Either way, re-fetched
    intervals replace what was stored (per source): running twice never counts twice. A
    run ends within its deadline. If the API keeps failing, or the deadline comes first,
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
        source = _pull_source(app, source_name)
        report = asyncio.run(_run(source, app, start, end, once, deadline))
    if output_format == "json":
        echo_json(source.report(report))
    else:
        click.echo(source.summary(report))
    if report.error is not None:
        raise SourceError(report.error, retryable=True)


def _pull_source(app: App, name: str | None) -> PullSource:
    """The source to run: ``name``, or the only one the config collects from."""
    known = source_names()
    if name is not None and name not in known:
        hint = did_you_mean(name, known)
        raise click.BadParameter(
            f"no source named {name!r}{hint} (known: {', '.join(known)})", param_hint="--source"
        )
    found: list[PullSource] = []
    for source in create_sources(app.loaded, app.store, app.clock, [name] if name else None):
        if isinstance(source, PullSource):
            found.append(source)
    if not found:
        what = f"source {name}" if name else "a source that collects"
        raise InvalidRequestError(f"no SLO in {app.loaded.path} uses {what}")
    if len(found) > 1:
        names = ", ".join(s.name for s in found)
        raise click.UsageError(f"the config collects from several sources ({names}): give --source")
    return found[0]


async def _run(
    source: PullSource,
    app: App,
    start: datetime | None,
    end: datetime | None,
    once: bool,
    deadline: timedelta | None = None,
) -> SourceRun:
    try:
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
    finally:
        await source.aclose()


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
