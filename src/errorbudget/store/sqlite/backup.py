"""Backups of an SQLite store and restores from them (``errorbudget db backup|restore``).

**Backup.** SQLite's online backup API (``sqlite3.Connection.backup``) copies the store's
pages into a new file a slice at a time. The source connection first opens a read
transaction and keeps it for the whole copy: in WAL mode that pins one snapshot, so the
copy is the store as of one instant even while ``serve`` or ``ingest`` write (writers are
never blocked, and the backup never restarts because of them). The copy is written beside
its destination as ``<file>.partial``, switched to a single self-contained file
(``journal_mode = DELETE``), checked with ``PRAGMA integrity_check``, and only then renamed
to its name: a backup that fails leaves no file that looks like a backup.

**Restore.** The backup is checked first (``integrity_check``; an errorbudget store; a
schema no newer than this version knows). A store that exists is overwritten only when no
process has it open: the restoring connection takes the file in exclusive locking mode and
leaves WAL mode, which SQLite allows only when no other connection holds the file (a
running ``serve`` holds it even while idle). Otherwise the restore is refused, naming the
writer if one announced itself (``locking.py``), unless ``force``: then the pages are
copied through WAL like any write, and the processes holding the store see the restored
state at their next read. Either way the restored store's revision is moved past both the
backup's and the overwritten store's, so no cache keyed on a revision survives the restore;
the store is then opened once, which migrates a backup of an older schema.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from errorbudget.errors import StoreBusyError, StoreError
from errorbudget.store.backup_records import BackupReport, Progress, RestoreReport
from errorbudget.store.sqlite import locking, schema

PAGES_PER_STEP = 1024
"""Pages copied per step of the backup API (8 MiB at the store's page size), between
which ``progress`` is told."""


def backup(store_path: Path, file: Path, progress: Progress | None = None) -> BackupReport:
    """Copy the store at ``store_path`` into the new file ``file`` (see the module's
    docstring); raise StoreError if ``file`` exists or the copy does not verify."""
    began = time.monotonic()
    label = str(store_path)
    if not store_path.is_file():
        raise StoreError(f"cannot back up the store {label}: there is no such file")
    if file.exists():
        raise StoreError(f"cannot back up to {file}: the file exists (choose a new name)")
    if not file.parent.is_dir():
        raise StoreError(f"cannot back up to {file}: directory {file.parent} does not exist")
    partial = file.with_name(file.name + ".partial")
    _remove(partial)
    try:
        source = sqlite3.connect(f"{store_path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up the store {label}: {exc}") from exc
    try:
        source.execute("PRAGMA busy_timeout = 10000")
        version = _store_version(source, label)
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_schema").fetchone()  # pins the snapshot
        with contextlib.closing(sqlite3.connect(partial)) as copy:
            source.backup(copy, pages=PAGES_PER_STEP, progress=_pages_told(progress))
            source.execute("COMMIT")
            copy.execute("PRAGMA journal_mode = DELETE")
            check = _integrity(copy)
        if check != "ok":
            raise StoreError(f"the backup of {label} does not verify: integrity_check: {check}")
        partial.replace(file)
    except sqlite3.Error as exc:
        _remove(partial)
        raise StoreError(f"cannot back up the store {label} to {file}: {exc}") from exc
    except BaseException:
        _remove(partial)
        raise
    finally:
        source.close()
    return BackupReport(
        backend="sqlite",
        store=label,
        file=file,
        bytes=file.stat().st_size,
        schema=f"version {version}",
        check="integrity_check ok",
        seconds=time.monotonic() - began,
    )


def restore(
    store_path: Path, file: Path, *, force: bool = False, progress: Progress | None = None
) -> RestoreReport:
    """Replace the store at ``store_path`` (or create it) with the backup ``file`` (see the
    module's docstring). Raises StoreError for a bad or newer backup, StoreBusyError when a
    process holds the store and ``force`` is false."""
    began = time.monotonic()
    label = str(store_path)
    version = check_backup(file)
    if not store_path.parent.is_dir():
        raise StoreError(f"cannot restore to {label}: directory {store_path.parent} does not exist")
    try:
        backup_connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the backup {file}: {exc}") from exc
    forced = False
    try:
        target = sqlite3.connect(store_path, isolation_level=None, timeout=0)
        try:
            previous = _revision_or_zero(target)
            forced = not _take_exclusive(target, label, force)
            target.execute(f"PRAGMA busy_timeout = {30_000 if forced else 0:d}")
            backup_connection.backup(target, pages=PAGES_PER_STEP, progress=_pages_told(progress))
            if version >= schema.REVISION_SCHEMA:
                restored = schema.read_revision(target)
                target.execute(
                    "UPDATE store_revision SET revision = ?", (max(previous, restored) + 1,)
                )
        finally:
            target.close()
    except sqlite3.Error as exc:
        if locking.is_busy(exc):
            raise StoreBusyError(
                f"cannot restore the store {label}: another process writes it; "
                "stop it and try again"
            ) from exc
        raise StoreError(f"cannot restore the store {label} from {file}: {exc}") from exc
    finally:
        backup_connection.close()
    _migrate(store_path, label)
    return RestoreReport(
        backend="sqlite",
        store=label,
        file=file,
        schema=f"version {version}",
        forced=forced,
        seconds=time.monotonic() - began,
    )


def check_backup(file: Path) -> int:
    """The schema version of the SQLite backup ``file``, after checking that it is a
    sound errorbudget store this version can open (else StoreError)."""
    if not file.is_file():
        raise StoreError(f"cannot restore from {file}: there is no such file")
    try:
        connection = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the backup {file}: {exc}") from exc
    try:
        version = _store_version(connection, str(file))
        check = _integrity(connection)
    except sqlite3.Error as exc:
        raise StoreError(f"{file} is not an SQLite backup of a store: {exc}") from exc
    finally:
        connection.close()
    if check != "ok":
        raise StoreError(f"the backup {file} does not verify: integrity_check: {check}")
    if version > schema.LATEST_VERSION:
        raise StoreError(
            f"the backup {file} was written by a newer errorbudget (schema version {version}; "
            f"this version knows up to {schema.LATEST_VERSION}): restore it with that version"
        )
    return version


def _pages_told(progress: Progress | None) -> Callable[[int, int, int], None]:
    """The backup API's progress callback, telling ``progress`` (pages done, total)."""

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    return step


def _store_version(connection: sqlite3.Connection, label: str) -> int:
    version = schema.user_version(connection)
    has_migrations = connection.execute(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()[0]
    if version == 0 or not has_migrations:
        raise StoreError(f"{label} is not an errorbudget store (no schema version)")
    return version


def _integrity(connection: sqlite3.Connection) -> str:
    rows = connection.execute("PRAGMA integrity_check").fetchall()
    return "; ".join(str(row[0]) for row in rows[:5])


def _revision_or_zero(connection: sqlite3.Connection) -> int:
    """The revision of the store about to be overwritten (0 if none or unreadable)."""
    try:
        row = connection.execute("SELECT revision FROM store_revision").fetchone()
    except sqlite3.Error:
        return 0
    return int(row[0]) if row else 0


def _take_exclusive(connection: sqlite3.Connection, label: str, force: bool) -> bool:
    """Hold the store file alone until ``connection`` closes; True if done. When another
    process holds it: StoreBusyError, or False with ``force`` (copy through WAL then)."""
    connection.execute("PRAGMA locking_mode = EXCLUSIVE")
    try:
        mode = str(connection.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower()
        held = mode != "delete"
        if not held:
            connection.execute("BEGIN EXCLUSIVE")  # the lock stays after COMMIT (exclusive mode)
            connection.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if not locking.is_busy(exc):
            raise
        held = True
    if not held:
        return True
    if force:
        connection.execute("PRAGMA locking_mode = NORMAL")
        return False
    found = locking.current_holder(Path(label))
    who = (
        f"it is being written by {found.describe()}"
        if found is not None
        else "another process has it open (a running `errorbudget serve`?)"
    )
    raise StoreBusyError(
        f"cannot restore over the store {label}: {who}; stop it first, or pass --force to "
        "restore under it",
        holder=found,
    )


def _migrate(store_path: Path, label: str) -> None:
    """Open the restored store once (a backup of an older schema is migrated now)."""
    try:
        connection = sqlite3.connect(store_path, isolation_level=None)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the restored store {label}: {exc}") from exc
    try:
        schema.configure(connection, is_file=True)
        schema.migrate(connection, label)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot migrate the restored store {label}: {exc}") from exc
    finally:
        connection.close()


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
