"""``errorbudget db copy``: an SQLite store into PostgreSQL, verified table by table
(docs/operations.md "Moving to PostgreSQL (db copy)")."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from errorbudget.cli.common import echo_json, format_option
from errorbudget.cli.db_command import resolve_store
from errorbudget.database_urls import is_postgres_url
from errorbudget.store.copy import CopyReport, copy_store, verify
from errorbudget.store.maintenance import parse_location

MISMATCH_EXIT = 1
"""Exit code when a table's rows or checksum differ between the two stores."""


@click.command("copy")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="sqlite:///PATH",
    help="The SQLite store: sqlite:///relative.db, sqlite:////absolute.db, or a path.",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="postgresql://USER@HOST:PORT/DB",
    help="The PostgreSQL store: an empty database (its schema is created); the password "
    "from $ERRORBUDGET_STORE_PASSWORD (or libpq's PGPASSWORD, ~/.pgpass).",
)
@click.option(
    "--verify-only",
    is_flag=True,
    help="Copy nothing: compare the two stores' tables (rows and checksum) only.",
)
@format_option("text", "json")
def copy(source: str, target: str, verify_only: bool, output_format: str) -> None:
    """Copy every table of an SQLite store into an empty PostgreSQL store, then verify it.

    Tables come from the SQLite store and must all exist on the target (a table on one side
    only is an error naming it). Rows are copied with COPY in one transaction, identity
    sequences reset; then each table is read back on both sides in primary-key order and
    its SHA-256 compared. Exit 0 when every table matches, 1 when one does not (or the copy
    is refused: a non-empty target, a missing table).
    """
    location, password = resolve_store(None, target)
    if not is_postgres_url(location):
        raise click.UsageError(f"--to must be a postgresql:// URL, not {target}")
    origin = parse_location(source)
    if verify_only:
        report = verify(origin, str(location), password=password)
    else:
        console = Console(stderr=True)
        with console.status("copying…") as status:

            def told(table: str, rows: int) -> None:
                status.update(f"copied {table} ({rows:,} rows)")

            report = copy_store(origin, str(location), password=password, progress=told)
    _print(report, output_format)
    if not report.ok:
        raise SystemExit(MISMATCH_EXIT)


def _print(report: CopyReport, output_format: str) -> None:
    if output_format == "json":
        echo_json(
            {
                "source": report.source,
                "target": report.target,
                "copied": report.copied,
                "ok": report.ok,
                "seconds": round(report.seconds, 3),
                "tables": [
                    {
                        "table": check.table,
                        "rows": check.source.rows,
                        "target_rows": check.target.rows,
                        "checksum": check.source.checksum,
                        "target_checksum": check.target.checksum,
                        "match": check.match,
                    }
                    for check in report.tables
                ],
            }
        )
        return
    table = Table("table", "rows", "checksum (sha256)", "match")
    for check in report.tables:
        rows = f"{check.source.rows:,}"
        checksum = check.source.checksum[:16]
        if not check.match:
            rows += f" / {check.target.rows:,}"
            checksum += f" / {check.target.checksum[:16]}"
        table.add_row(check.table, rows, checksum, "yes" if check.match else "NO")
    Console(width=max(Console().width, 100)).print(table)
    done = "copied and verified" if report.copied else "verified"
    if report.ok:
        click.echo(
            f"{done}: {len(report.tables)} tables of {report.source} equal in {report.target} "
            f"({report.seconds:.2f} s)"
        )
    else:
        click.echo(
            f"MISMATCH in {len(report.mismatched)} tables: {', '.join(report.mismatched)}",
            err=True,
        )
