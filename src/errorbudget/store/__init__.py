"""Where counts, records and the audit log live, behind small protocols.

``protocols.py`` says what a store does (``Store`` and the protocols it is made of); a
backend is a package that implements them: ``sqlite/`` today (the default, one file), a
PostgreSQL backend later beside it. ``open_store`` opens the configured one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from errorbudget.records import DEFAULT_LOCK_TIMEOUT, AuditEntry, SeriesInfo, WriterInfo
from errorbudget.store.protocols import Store

__all__ = ["AuditEntry", "SeriesInfo", "Store", "open_store"]


def open_store(
    location: str | Path,
    *,
    clock: Callable[[], datetime] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    holder: WriterInfo | None = None,
) -> Store:
    """Open (creating or migrating) the store at ``location``: an SQLite file, or
    ``":memory:"`` for a store in RAM.

    ``clock`` stamps audit entries and records (default: the system UTC clock);
    ``lock_timeout`` is how long a write waits for the write lock (then StoreBusyError);
    ``holder`` is this process, announced while its transactions hold the write lock.
    """
    from errorbudget.store.sqlite import SQLiteStore

    return SQLiteStore.open(location, clock=clock, lock_timeout=lock_timeout, holder=holder)
