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
state at their next read.

The backup is not copied onto the store as it is: it is first copied beside the store
(``<store>.restoring``), migrated there (a backup of an older schema), and given

- a revision past both the backup's and the overwritten store's, so no cache keyed on a
  revision survives the restore;
- every lease (the backup's and the overwritten store's) expired, held by nobody (holder
  ``''``), with a token past both the backup's and the overwritten store's: a replica
  that led before the restore is fenced, and the next holder gets a token no holder was
  ever issued (never the one a live leader still holds, as the backup's older token would
  give);

and only then copied onto the store in one step, which holds the store's write lock from
its first page to its last: no other process takes a lease, or reads a revision, of the
restored state before these are in place. The overwritten store's tokens and revision are
read just before that step (under the exclusive lock when not forced). Forced, that read
is not under the write lock: a replica that takes or releases a lease between it and the
copy can be issued a token the restore then writes again (not fenced). Stop the replicas
first, or restore without ``force`` (docs/operations.md, "Backups and restore").
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
    staged = store_path.with_name(store_path.name + ".restoring")
    _remove(staged)
    forced = False
    try:
        target = sqlite3.connect(store_path, isolation_level=None, timeout=0)
        try:
            forced = not _take_exclusive(target, label, force)
            target.execute(f"PRAGMA busy_timeout = {30_000 if forced else 0:d}")
            with contextlib.closing(sqlite3.connect(staged, isolation_level=None)) as stage:
                backup_connection.backup(stage, pages=PAGES_PER_STEP)
                _migrate(stage, label)
                previous, tokens = _revision_and_tokens(target)
                _fence_restored(stage, previous, tokens)
                stage.backup(target, pages=PAGES_PER_STEP, progress=_pages_told(progress))
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
        _remove(staged)
    _open_once(store_path, label)
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


def _revision_and_tokens(connection: sqlite3.Connection) -> tuple[int, dict[str, int]]:
    """The revision of the store about to be overwritten and the token of each of its
    leases, read in one transaction (0 and none where the store, or its table, is not
    there: a new file, an older schema)."""
    connection.execute("BEGIN")
    try:
        tables = {
            str(row[0])
            for row in connection.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
        }
        revision = 0
        if "store_revision" in tables:
            row = connection.execute("SELECT revision FROM store_revision").fetchone()
            revision = int(row[0]) if row else 0
        tokens: dict[str, int] = {}
        if "leases" in tables:
            tokens = {
                str(name): int(token)
                for name, token in connection.execute("SELECT name, token FROM leases")
            }
    finally:
        connection.execute("COMMIT")
    return revision, tokens


def _fence_restored(stage: sqlite3.Connection, previous: int, tokens: dict[str, int]) -> None:
    """Give the staged (migrated) copy a revision past ``previous`` and its own, and every
    lease, its own and the overwritten store's (``tokens``), expired and held by nobody,
    with a token past both (see the module's docstring)."""
    now = time.time()
    stage.execute("BEGIN IMMEDIATE")
    try:
        restored = schema.read_revision(stage)
        stage.execute("UPDATE store_revision SET revision = ?", (max(previous, restored) + 1,))
        held = dict(tokens)
        for name, token in stage.execute("SELECT name, token FROM leases").fetchall():
            held[str(name)] = max(held.get(str(name), 0), int(token))
        for name, token in held.items():
            stage.execute(
                "INSERT INTO leases (name, holder, token, acquired_at, expires_at) "
                "VALUES (?, '', ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = '', "
                "token = excluded.token, acquired_at = excluded.acquired_at, "
                "expires_at = excluded.expires_at",
                (name, token + 1, now, now),
            )
    except BaseException:
        stage.execute("ROLLBACK")
        raise
    stage.execute("COMMIT")


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


def _migrate(connection: sqlite3.Connection, label: str) -> None:
    """Migrate the staged copy of a backup (a backup of an older schema)."""
    try:
        schema.configure(connection, is_file=True)
        schema.migrate(connection, label)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot migrate the restored store {label}: {exc}") from exc


def _open_once(store_path: Path, label: str) -> None:
    """Open the restored store once as a writer does (WAL mode again; migrated already)."""
    try:
        with contextlib.closing(sqlite3.connect(store_path, isolation_level=None)) as connection:
            _migrate(connection, label)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the restored store {label}: {exc}") from exc


def _remove(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
