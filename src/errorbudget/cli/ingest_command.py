"""``errorbudget ingest``: load CSV / NDJSON count files into the store."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from errorbudget.cli.common import config_option, echo_json, format_option
from errorbudget.cli.store_wait import open_app
from errorbudget.durations import parse_duration
from errorbudget.ingest import IngestReport, ingest_files
from errorbudget.schema.ingest import IngestRunOut

PROGRESS_MIN_BYTES = 16 << 20
"""Below this much input the bar would only flicker: no bar."""

SHOWN_REJECTS = 20
"""With --skip-invalid, this many rejected rows are echoed to stderr (all are in the file)."""


def _duration(ctx: click.Context, param: click.Parameter, value: str) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from exc


@click.command("ingest")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@config_option
@click.option(
    "--events",
    "events",
    is_flag=True,
    help="The files are voice-agent events (.ndjson, .jsonl or .parquet), folded into the "
    "counts of the events SLOs (docs/events-ingest.md).",
)
@click.option(
    "--skip-invalid",
    is_flag=True,
    help="Write the good rows and put bad ones in a rejects file, instead of rejecting "
    "a file with any bad row.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Rejects CSV for --skip-invalid [default: FILE.rejects.csv; a directory when "
    "ingesting several files].",
)
@click.option(
    "--source",
    default="ingest",
    show_default=True,
    help="Counts source name: a re-ingest replaces this source's minutes only.",
)
@click.option(
    "--wait",
    metavar="DURATION",
    default="10m",
    show_default=True,
    callback=_duration,
    help="While another process writes to the store, wait this long for it (saying who it "
    "is), then give up with exit code 4.",
)
@format_option("text", "json")
def ingest(
    files: tuple[Path, ...],
    config_path: Path | None,
    events: bool,
    skip_invalid: bool,
    rejects_path: Path | None,
    source: str,
    wait: timedelta,
    output_format: str,
) -> None:
    """Load count files (CSV with a header row, or NDJSON) into the store.

    Columns: time (RFC 3339 with a zone, e.g. 2026-11-01T10:00:00Z, or Unix seconds), slo,
    good, total, and one per segment key of the SLO. Times are floored to the minute; rows
    of the same SLO, segment and minute in one file are summed, and the file replaces what
    --source had stored for those minutes, so ingesting a file twice changes nothing.
    Files may be gzip-compressed (.csv.gz, .ndjson.gz, .jsonl.gz).

    Synthetic checks: rows with synthetic true (an optional column) belong to an SLO whose
    indicator is source: synthetic, and only such rows do; they are stored under the
    source synthetic, whatever --source says.

    A file with any bad row is rejected whole (nothing of it is written) and every problem
    is printed as FILE:LINE: reason; the exit code is then 1. Each file is independent.

    One process writes to the store at a time: while another one does (another ingest,
    say), this command says who and waits for it, up to --wait; it then gives up with
    exit code 4, having written nothing more.

    With --events the files are voice-agent events instead (NDJSON or Parquet): each event
    is identified by its id and minute and counted once (a file ingested twice adds
    nothing), by every events SLO of the config. The same id at another minute within one
    batch (a Parquet file, or a piece of about 32 MiB of an NDJSON file) is a bad event;
    across batches it cannot be seen and counts as another event. A file with any bad
    event is rejected whole, its problems printed as FILE:LINE: field: message (exit
    code 1).
    """
    if events:
        if skip_invalid or rejects_path is not None or source != "ingest":
            raise click.UsageError(
                "--events takes no --skip-invalid, --rejects or --source: event files are "
                "all or nothing, under the source events"
            )
        from errorbudget.cli.ingest_events import ingest_events

        with open_app(config_path, "errorbudget ingest --events", wait) as app:
            total_bytes = sum(path.stat().st_size for path in files if path.is_file())
            with _progress_bar(total_bytes) as progress:
                ingest_events(app, files, progress, output_format)
        return
    with open_app(config_path, "errorbudget ingest", wait) as app:
        slos = {slo.id: slo for slo in app.evaluations.slos}
        total_bytes = sum(path.stat().st_size for path in files if path.is_file())
        with _progress_bar(total_bytes) as progress:
            report = ingest_files(
                app.store,
                slos,
                list(files),
                skip_invalid=skip_invalid,
                rejects_path=rejects_path,
                source=source,
                progress=progress,
                raise_on_reject=False,
            )
    if output_format == "json":
        echo_json(IngestRunOut.of(report).model_dump(mode="json"))
    else:
        _print_summary(report)
    _print_rejects(report)
    error = report.error()
    if error is not None:
        raise error  # the root group prints each problem as FILE:LINE: reason, exit 1


@contextmanager
def _progress_bar(total_bytes: int) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr when it is a terminal and the input is large."""
    if total_bytes < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
        yield None
        return
    columns = (
        TextColumn("ingest"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("ingest", total=total_bytes)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _print_summary(report: IngestReport) -> None:
    for file in report.files:
        status = "written" if file.written else "REJECTED, nothing written"
        click.echo(
            f"{file.path}: {file.rows_read:,} rows read, {file.rows_written:,} minute rows "
            f"written, {file.rows_rejected:,} rejected, {file.series:,} series, "
            f"{file.seconds:.2f} s ({file.rows_per_second:,.0f} rows/s): {status}"
        )
    if len(report.files) > 1:
        click.echo(
            f"total: {report.rows_read:,} rows read, {report.rows_written:,} minute rows "
            f"written, {report.rows_rejected:,} rejected, {len(report.rejected)} of "
            f"{len(report.files)} files rejected, {report.seconds:.2f} s "
            f"({report.rows_per_second:,.0f} rows/s)"
        )


def _print_rejects(report: IngestReport) -> None:
    """With --skip-invalid: where the rejected rows went, and the first few of them."""
    for file in report.files:
        if not file.written or not file.rows_rejected:
            continue
        for problem in file.problems[:SHOWN_REJECTS]:
            click.echo(f"{problem} (rejected)", err=True)
        more = file.rows_rejected - min(len(file.problems), SHOWN_REJECTS)
        also = f"{more:,} more; " if more > 0 else ""
        click.echo(
            f"{file.path}: {file.rows_rejected:,} rows rejected ({also}all in {file.rejects_path})",
            err=True,
        )
