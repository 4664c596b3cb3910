"""Where counts, records and the audit log live, behind small protocols.

``protocols.py`` says what a store does (``Store`` and the protocols it is made of); a
backend is a package that implements them: ``sqlite/`` (the default, one file) and
``postgres/`` (a PostgreSQL database, issue #13). ``open_store`` opens the configured one,
importing the backend's package only then (``import errorbudget.store`` never imports
psycopg).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import cast

from errorbudget.database_urls import is_postgres_url
from errorbudget.records import DEFAULT_LOCK_TIMEOUT, AuditEntry, SeriesInfo, WriterInfo
from errorbudget.store.protocols import Store

__all__ = ["AuditEntry", "SeriesInfo", "Store", "is_postgres_url", "open_store"]


def open_store(
    location: str | Path,
    *,
    clock: Callable[[], datetime] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    holder: WriterInfo | None = None,
    password: str | None = None,
) -> Store:
    """Open (creating or migrating) the store at ``location``: an SQLite file,
    ``":memory:"`` for a store in RAM, or a PostgreSQL URL (``postgresql://user@host/db``).

    ``clock`` stamps audit entries and records (default: the system UTC clock);
    ``lock_timeout`` is how long a write waits for the write lock (then StoreBusyError);
    ``holder`` is this process, announced while its transactions hold the write lock;
    ``password`` is the PostgreSQL password (from the environment; never in a config file).
    """
    if is_postgres_url(location):
        from errorbudget.store.postgres import PostgresStore

        opened = PostgresStore.open(
            str(location), clock=clock, lock_timeout=lock_timeout, holder=holder, password=password
        )
        return cast(Store, opened)  # removed when the parts are merged (#13)
    from errorbudget.store.sqlite import SQLiteStore

    return SQLiteStore.open(location, clock=clock, lock_timeout=lock_timeout, holder=holder)
