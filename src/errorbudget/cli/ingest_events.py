"""``errorbudget ingest --events``: voice-agent event files (NDJSON, Parquet) into the store.

The files go through the event ingest service (``services/event_files.py``: each file one
transaction, all or nothing); this module prints what happened.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click

from errorbudget.app import App
from errorbudget.cli.common import echo_json
from errorbudget.schema.events import EventRunOut
from errorbudget.services.event_files import EventFilesReport, ingest_event_files


def ingest_events(
    app: App,
    files: Sequence[Path],
    progress: Callable[[int, int], None] | None,
    output_format: str,
) -> None:
    """Ingest ``files`` as events, print the summary; raise IngestError when one was
    rejected (the root group prints each problem as FILE:LINE: field: message, exit 1)."""
    report = ingest_event_files(app.events, list(files), progress)
    if output_format == "json":
        echo_json(EventRunOut.of(report).model_dump(mode="json"))
    else:
        _print_summary(report)
    error = report.error()
    if error is not None:
        raise error


def _print_summary(report: EventFilesReport) -> None:
    for file in report.files:
        done = file.report
        if not file.written:
            click.echo(
                f"{file.path}: {done.received:,} events read, {file.problem_count:,} "
                "problems: REJECTED, nothing written"
            )
            continue
        click.echo(
            f"{file.path}: {done.received:,} events read, {done.written_events:,} written, "
            f"{done.duplicates:,} duplicates, {done.counts_rows:,} minute rows, "
            f"{done.kept:,} kept, {file.seconds:.2f} s ({file.events_per_second:,.0f} events/s)"
        )
        for slo, counts in done.per_slo.items():
            click.echo(
                f"  {slo}: {counts.eligible:,} eligible, {counts.good:,} good, "
                f"{counts.kept:,} kept, {counts.series:,} series"
            )
