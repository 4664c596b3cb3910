"""Back up the store to a file and restore it from one, on its backend
(``errorbudget db backup|restore``; docs/operations.md "Backups and restore").

- SQLite: the online backup API into a single file, checked with ``integrity_check``
  (``sqlite/backup.py``).
- PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` into an empty database
  (``postgres/dump.py``), the password passed through the environment.

Like ``open_store``, this picks the backend from the location and imports it only then.
"""

from __future__ import annotations

from pathlib import Path

from errorbudget.errors import StoreError
from errorbudget.store import is_postgres_url
from errorbudget.store.backup_records import BackupReport, Progress, RestoreReport

__all__ = ["BackupReport", "RestoreReport", "backup_store", "restore_store"]


def backup_store(
    location: str | Path,
    file: Path,
    *,
    progress: Progress | None = None,
    password: str | None = None,
) -> BackupReport:
    """Write a backup of the store at ``location`` to the new file ``file``.

    ``password``: a PostgreSQL store's password (else libpq's ``PGPASSWORD``/``.pgpass``).
    """
    if is_postgres_url(location):
        from errorbudget.store.postgres import dump

        return dump.backup(str(location), file, password=password)
    from errorbudget.store.sqlite import backup

    return backup.backup(_sqlite_path(location, "back up"), file, progress)


def restore_store(
    location: str | Path,
    file: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
    password: str | None = None,
) -> RestoreReport:
    """Restore the store at ``location`` from the backup ``file``.

    SQLite: refused while a process holds the store unless ``force``. PostgreSQL: only into
    an empty database (``force`` does not change that).
    """
    if is_postgres_url(location):
        from errorbudget.store.postgres import dump

        return dump.restore(str(location), file, password=password)
    from errorbudget.store.sqlite import backup

    return backup.restore(_sqlite_path(location, "restore"), file, force=force, progress=progress)


def _sqlite_path(location: str | Path, doing: str) -> Path:
    if str(location) == ":memory:":
        raise StoreError(f"cannot {doing} a store in memory: it has no file")
    return Path(location)
