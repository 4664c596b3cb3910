"""``SQLiteStore``: the embedded SQLite store of counts, exclusions and the audit log.

This module has its lifecycle, transactions, revision, series and counts; the records are
in ``store_records.py`` (the parts shared with PostgreSQL, ``store.shared``); alerts and
silences, the notification outbox and voice-agent events in ``record_parts.py`` (over the
SQL of ``alerts.py``, ``outbox.py`` and ``events.py``); leases in ``leases.py``: parts the
class is made of.

A file store writes through one connection and reads through others, so reads never wait
for a writer, and a writer waits for the write lock at most ``lock_timeout`` seconds
before ``StoreBusyError`` (``access.py`` has the connections, the transactions and the
waiting; ``locking.py`` who holds the lock). ``with store.transaction():`` is one
``BEGIN IMMEDIATE … COMMIT`` (or ``ROLLBACK`` on an exception), so an ingest of a whole
file is all or nothing. Every write method opens a nested level itself; nested levels are
savepoints, so a write that fails inside a caller's transaction undoes only itself and the
caller decides about the rest.

Every sqlite3 error leaves as ``StoreError`` (``raise … from exc``) with a sentence that
names the store file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from errorbudget.model import Minute, SegmentKey
from errorbudget.records import (
    DEFAULT_LOCK_TIMEOUT,
    SeriesInfo,
    WriterInfo,
)
from errorbudget.store.counts import reads, writes
from errorbudget.store.segments import SeriesRecords
from errorbudget.store.sqlite import schema
from errorbudget.store.sqlite import series as series_table
from errorbudget.store.sqlite.access import MEMORY, Access, open_writer
from errorbudget.store.sqlite.counts import SQLiteCountsQueries, SQLiteCountsTables
from errorbudget.store.sqlite.leases import LeasesPart
from errorbudget.store.sqlite.record_parts import AlertsPart, EventsPart, OutboxPart
from errorbudget.store.sqlite.store_records import ChangesPart, RecordsPart
from errorbudget.store.store_base import StoreBase

__all__ = ["MEMORY", "SQLiteStore"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteStore(
    StoreBase[Access], RecordsPart, ChangesPart, AlertsPart, OutboxPart, EventsPart, LeasesPart
):
    """Counts per series and minute, exclusions and audit entries in one SQLite file."""

    def __init__(self, access: Access, clock: Callable[[], datetime]) -> None:
        """Use ``Store.open``; this only wraps an already migrated store's connections."""
        self._db = access
        self._clock = clock
        self._series_records = SeriesRecords()

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        holder: WriterInfo | None = None,
    ) -> SQLiteStore:
        """Open (creating or migrating) the store at ``path``; ``":memory:"`` for a RAM store.

        ``clock`` stamps audit entries and exclusions (default: the system UTC clock).
        ``lock_timeout``: how long a write waits for the write lock (then StoreBusyError).
        ``holder``: this process, announced while its transactions hold the write lock.
        """
        access = open_writer(path, lock_timeout)
        access.holder = holder
        return cls(access, clock or _utc_now)

    @property
    def path(self) -> Path | None:
        """The store file (None in memory)."""
        return self._db.path

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """The writer connection (tests inspect tables through it)."""
        return self._db.connection

    @property
    def schema_version(self) -> int:
        with self._db.reading("read the schema version") as connection:
            return schema.user_version(connection)

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file without blocking readers or the
        writer (``wal_checkpoint(PASSIVE)``), on a connection of its own: a server runs this
        in the background so that a large automatic checkpoint never stalls a request."""
        self._db.checkpoint()

    def revision(self) -> int:
        """Moved by every committed write transaction that can change a status — counts,
        series, exclusions, data issues — of this process or any other (a row of the store,
        bumped in the write's own transaction, schema v6). Callers cache what they computed
        from the store under it. Never waits for a writer; a write moves it when it commits,
        so a status computed from data about to change is never cached under the new one."""
        return self._db.revision()

    # --- series ----------------------------------------------------------------------------------

    def series_ids(
        self, slo: str, segments: Sequence[SegmentKey], create: bool = True
    ) -> list[int]:
        """Stable ids of ``slo``'s series for ``segments``, in order; bulk.

        Missing series are created unless ``create`` is false (then NotFoundError).
        """
        with self._db.writing("create series") as connection:
            self._db.mark_changed()
            return series_table.series_ids(connection, slo, segments, create)

    def list_series(self, slo: str | None = None) -> list[SeriesInfo]:
        """Every stored series (of one SLO if given), by id."""
        with self._db.reading("list series") as connection:
            return self.series_records.infos(series_table.series_rows(connection, slo))

    # --- counts ----------------------------------------------------------------------------------

    def write_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str = "ingest",
    ) -> int:
        """Store 1-minute counts idempotently; return the number of rows written.

        Parallel int64 arrays, (series, minute) unique within a call. A (series, minute,
        source) already stored is replaced, never added; minutes not sent keep their values;
        different sources add up in reads. Raises StoreError (nothing written) when
        good > total, a count is negative, or a series id is unknown.
        """
        # Inside the caller's transaction (an ingest of a file, batch by batch) the hours a
        # batch leaves partial and the day rows are kept back until needed (pending.py).
        keep = self._db.in_transaction
        with self._db.writing("write counts", counts=keep) as connection:
            self._db.mark_changed()
            pending = self._db.pending if keep else None
            return writes.write_counts(
                SQLiteCountsTables(connection), series, minutes, good, total, source, pending
            )

    def add_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str,
    ) -> int:
        """Add 1-minute counts to what ``source`` stored for the same (series, minute),
        instead of replacing them; return the rows written. For counts that several
        processes accumulate (the calls of overlapping collector runs): the read and the
        write are one exclusive transaction. Same arrays and checks as :meth:`write_counts`.
        """
        with self._db.writing("add counts") as connection:
            self._db.mark_changed()
            return writes.add_counts(
                SQLiteCountsTables(connection), series, minutes, good, total, source
            )

    def sums(
        self, series: Sequence[int], intervals: Sequence[tuple[Minute, Minute]]
    ) -> npt.NDArray[np.float64]:
        """Good and total sums over ``[start, end)`` intervals: shape (series, intervals, 2).

        ``[..., 0]`` is good, ``[..., 1]`` total, summed over sources; empty intervals give 0.
        """
        with self._db.reading("read window sums") as connection:
            return reads.sums(SQLiteCountsQueries(connection), series, intervals)

    def minute_arrays(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per-minute good and total, each shaped (series, end - start); zeros where no data."""
        with self._db.reading("read minute counts") as connection:
            return reads.minute_arrays(SQLiteCountsQueries(connection), series, start, end)

    def minute_counts(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """:meth:`minute_arrays` as int64: the stored integers, no float copy."""
        with self._db.reading("read minute counts") as connection:
            return reads.minute_counts(SQLiteCountsQueries(connection), series, start, end)

    def data_bounds(self, series: Sequence[int] | None = None) -> tuple[Minute, Minute] | None:
        """(first minute with data, last minute with data + 1) of ``series`` (None = all).

        A minute "has data" when some source sent it, even with zero counts.
        """
        with self._db.reading("read data bounds") as connection:
            return reads.data_bounds(SQLiteCountsQueries(connection), series)

    def series_bounds(self, series: Sequence[int]) -> list[tuple[Minute, Minute] | None]:
        """Per series, in order: (first minute with data, last minute with data + 1), or
        None; one read for any number of series (``data_bounds`` of each, in bulk)."""
        with self._db.reading("read series data bounds") as connection:
            return reads.series_bounds(SQLiteCountsQueries(connection), series)
