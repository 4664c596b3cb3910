"""``errorbudget db copy``: an SQLite store moved into PostgreSQL, table for table, and
proved equal by a checksum per table (docs/operations.md "Moving to PostgreSQL").

1. Both stores are opened once as the store opens them: the SQLite file is migrated to this
   version's schema, the PostgreSQL database upgraded to it (created if empty), so their
   tables are the same (the PostgreSQL schema mirrors SQLite's, column for column).
2. The tables come from the SQLite store itself (``sqlite_schema``), and every one must
   exist on the target with the same columns — a table or a column on one side only is an
   error that names it, so a table added later can never be skipped silently.
3. The target must be empty: a copy into a store that holds data would mix two histories.
   (A failed copy leaves it empty: the copy is one transaction.)
4. One read snapshot of the SQLite file is copied with ``COPY``, parents before children,
   under the PostgreSQL store's write lock; the identity sequences are moved past the
   copied ids; the transaction commits. The SQLite store's revision is first moved past
   the target's if it is not already (both are 0 when new): the copied revision moves the
   target's forward, so a process that has the target open reads the copied data.
5. Each table is then read back on both sides in primary-key order and digested the same
   way (``table_digest.py``): rows and SHA-256 per table, and whether they match.

``verify`` runs step 5 alone (after a copy, before switching the config over).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import psycopg

from errorbudget.database_urls import redact
from errorbudget.errors import StoreError
from errorbudget.store import is_postgres_url, open_store
from errorbudget.store.postgres import dump
from errorbudget.store.postgres import tables as pg_tables
from errorbudget.store.postgres.access import Connection
from errorbudget.store.sqlite import schema as sqlite_schema
from errorbudget.store.sqlite import tables as sqlite_tables
from errorbudget.store.table_digest import TableCheck, TableDigest, TableShape, TableSum


@dataclass(frozen=True, slots=True)
class CopyReport:
    """A copy (or a verification) and each table's comparison."""

    source: str
    target: str
    tables: list[TableCheck]
    copied: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return all(check.match for check in self.tables)

    @property
    def mismatched(self) -> list[str]:
        return [check.table for check in self.tables if not check.match]


def copy_store(
    source: str | Path,
    target: str,
    *,
    password: str | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy the SQLite store ``source`` into the empty PostgreSQL store ``target``, then
    verify it (see the module's docstring); ``progress`` is told (table, rows written)."""
    return _run(source, target, password, progress, copy=True)


def verify(source: str | Path, target: str, *, password: str | None = None) -> CopyReport:
    """Compare every table of the two stores by rows and checksum; copy nothing."""
    return _run(source, target, password, None, copy=False)


def _run(
    source: str | Path,
    target: str,
    password: str | None,
    progress: Callable[[str, int], None] | None,
    *,
    copy: bool,
) -> CopyReport:
    began = time.monotonic()
    if not is_postgres_url(target):
        raise StoreError(
            f"db copy writes into a PostgreSQL store: {target} is not a postgresql:// URL"
        )
    if is_postgres_url(source) or str(source) == ":memory:":
        raise StoreError(f"db copy reads an SQLite store's file: {redact(str(source))} is not one")
    path = Path(source)
    if not path.is_file():
        raise StoreError(f"cannot copy from {path}: there is no such file")
    open_store(path).close()  # migrated to this version's tables
    to = dump.connection_target(target, password)
    open_store(target, password=to.password).close()  # upgraded; a newer one is refused
    try:
        return _copy_and_compare(path, to, progress, copy=copy, began=began)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the store {path}: {exc}") from exc
    except psycopg.Error as exc:
        what = "copy into" if copy else "read"
        message = " ".join(str(exc).split())  # its CONTEXT line names the table and row
        raise StoreError(f"cannot {what} the store {to.label}: {message}") from exc


def _copy_and_compare(
    path: Path,
    to: dump.ConnectionTarget,
    progress: Callable[[str, int], None] | None,
    *,
    copy: bool,
    began: float,
) -> CopyReport:
    with (
        closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as lite,
        dump.open_connection(to, "copy into") as pg,
    ):
        if copy:
            _move_source_revision_past(path, pg)
        lite.execute("BEGIN")  # one snapshot for the copy and its checksums
        shapes = sqlite_tables.table_shapes(lite)
        theirs = pg_tables.table_shapes(pg)
        _same_tables(shapes, theirs, str(path), to.label)
        if copy:
            with pg.transaction():
                dump.lock_store(pg)
                _refuse_non_empty(pg, shapes, to.label)
                for shape in shapes:
                    written = pg_tables.write_rows(pg, shape, sqlite_tables.rows(lite, shape))
                    pg_tables.reset_identities(pg, shape.name)
                    if progress is not None:
                        progress(shape.name, written)
        checks = []
        with pg.transaction():
            pg.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for shape in shapes:
                mine = TableDigest().add_all(sqlite_tables.rows(lite, shape))
                text = pg_tables.text_columns(pg, shape.name)
                their = TableDigest().add_all(pg_tables.rows(pg, shape, text))
                checks.append(
                    TableCheck(
                        shape.name,
                        TableSum(shape.name, mine.rows, mine.hexdigest()),
                        TableSum(shape.name, their.rows, their.hexdigest()),
                    )
                )
        lite.execute("COMMIT")
    return CopyReport(str(path), to.label, checks, copy, time.monotonic() - began)


def _same_tables(
    shapes: list[TableShape], theirs: dict[str, TableShape], source: str, target: str
) -> None:
    """Every table of the source on the target with the same columns, and nothing more."""
    mine = {shape.name: shape for shape in shapes}
    only_source = sorted(set(mine) - set(theirs))
    only_target = sorted(set(theirs) - set(mine))
    if only_source:
        raise StoreError(
            f"cannot copy: table {', '.join(only_source)} of {source} does not exist in "
            f"{target} (is it at this errorbudget's schema? `errorbudget db upgrade`)"
        )
    if only_target:
        raise StoreError(
            f"cannot copy: table {', '.join(only_target)} of {target} does not exist in {source}"
        )
    for name, shape in mine.items():
        if set(shape.columns) != set(theirs[name].columns):
            missing = sorted(set(shape.columns) ^ set(theirs[name].columns))
            raise StoreError(
                f"cannot copy: table {name} differs between {source} and {target} "
                f"(column {', '.join(missing)} on one side only)"
            )


def _move_source_revision_past(path: Path, pg: Connection) -> None:
    """Move the SQLite store's revision past the target's when it is not already (a new
    store, or one migrated from before the revision, is at 0 like a new target). The copy
    writes the source's revision onto the target's, which then moves forward — as the
    target's guard demands, and as the status caches of any process that has the target
    open need to see the copied data — and still equals the source's, as verification
    demands. Moving a revision forward only makes the source's readers read again."""
    target = int(pg.execute("SELECT revision FROM store_revision").fetchone()[0])  # type: ignore[index]
    with closing(sqlite3.connect(path, isolation_level=None, timeout=30.0)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        try:
            if sqlite_schema.read_revision(writer) <= target:
                writer.execute("UPDATE store_revision SET revision = ?", (target + 1,))
        finally:
            writer.execute("COMMIT")


def _refuse_non_empty(pg: Connection, shapes: list[TableShape], target: str) -> None:
    for shape in shapes:
        if shape.name in pg_tables.PREFILLED:
            continue
        count = pg_tables.row_count(pg, shape.name)
        if count:
            raise StoreError(
                f"cannot copy into {target}: it is not empty (table {shape.name} has "
                f"{count:,} rows); copy into a new, empty database"
            )
