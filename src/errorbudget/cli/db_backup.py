"""``errorbudget db backup`` and ``db restore``: the store to a file and back
(docs/operations.md "Backups and restore")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

from errorbudget.cli.common import config_option
from errorbudget.cli.db_command import resolve_store, store_option
from errorbudget.database_urls import is_postgres_url
from errorbudget.store.backup import backup_store, restore_store


@contextmanager
def _pages(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr, told (done, total) pages."""
    columns = (TextColumn(label), BarColumn(), TaskProgressColumn(), TextColumn("pages"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def tell(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield tell


def _file_option(flag: str, help: str) -> Callable[[click.decorators.FC], click.decorators.FC]:
    return click.option(
        flag, "file", required=True, type=click.Path(dir_okay=False, path_type=Path), help=help
    )


@click.command("backup")
@config_option
@store_option
@_file_option("--to", "The backup file to write (it must not exist).")
def backup(config_path: Path | None, store: str | None, file: Path) -> None:
    """Back up the store to a file, while it is in use.

    SQLite: the online backup API copies one consistent snapshot (writers go on), and the
    copy is checked with integrity_check before it gets its name. PostgreSQL: pg_dump
    --format=custom (the password from the environment, never on the command line).
    """
    location, password = resolve_store(config_path, store)
    if is_postgres_url(location):
        report = backup_store(location, file, password=password)
    else:
        with _pages("backup") as progress:
            report = backup_store(location, file, progress=progress)
    click.echo(
        f"backed up {report.store} to {report.file}: {report.bytes:,} bytes, schema "
        f"{report.schema}, {report.check}, in {report.seconds:.2f} s"
    )


@click.command("restore")
@config_option
@store_option
@_file_option("--from", "The backup file (written by `errorbudget db backup`).")
@click.option(
    "--force",
    is_flag=True,
    help="SQLite: restore even though a process (serve, ingest) has the store open; it "
    "sees the restored state at its next read.",
)
def restore(config_path: Path | None, store: str | None, file: Path, force: bool) -> None:
    """Replace the store with a backup.

    SQLite: refused while a process has the store open (unless --force), or when the
    backup comes from a newer errorbudget; a backup of an older schema is migrated.
    PostgreSQL: pg_restore into an empty database (a non-empty one is refused).
    """
    location, password = resolve_store(config_path, store)
    if is_postgres_url(location):
        report = restore_store(location, file, password=password)
    else:
        with _pages("restore") as progress:
            report = restore_store(location, file, force=force, progress=progress)
    forced = " (forced: processes had it open)" if report.forced else ""
    click.echo(
        f"restored {report.store} from {report.file}: schema {report.schema}, in "
        f"{report.seconds:.2f} s{forced}"
    )
