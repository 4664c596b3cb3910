"""The PostgreSQL store's counts (``CountsWriter``, ``CountsReader``): a mixin of
``PostgresStore`` using ``self._db`` (``PgAccess``).

The tables (``sql/20_counts.sql``) and blob formats are SQLite's (``counts/blocks.py``);
the write and read algorithms are the shared ones of ``store/counts/``, run on this
backend's statements (``counts.py``: binary COPY into temporary tables and set-based
upserts, ``= ANY`` array reads). Every write is one transaction level holding the store's
write lock, so a failed write (good > total, a negative count, an unknown series) writes
nothing, the day rows and rollups are recomputed in the same transaction, and the revision
moves when it commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
import numpy.typing as npt

from errorbudget.model import Minute
from errorbudget.store.counts import reads, writes
from errorbudget.store.postgres.access import PgAccess
from errorbudget.store.postgres.counts import PgCountsQueries, PgCountsTables


class CountsPart:
    """1-minute good/total counts per series: idempotent writes, sums, minute arrays."""

    _db: PgAccess
    _clock: Callable[[], datetime]

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
        with self._db.writing("write counts") as connection:
            self._db.mark_changed()
            return writes.write_counts(
                PgCountsTables(connection), series, minutes, good, total, source
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
        instead of replacing them; return the rows written. The read and the write are one
        transaction holding the store's write lock, so writers of other processes add in
        turn, never in between. Same arrays and checks as :meth:`write_counts`."""
        with self._db.writing("add counts") as connection:
            self._db.mark_changed()
            return writes.add_counts(
                PgCountsTables(connection), series, minutes, good, total, source
            )

    def sums(
        self, series: Sequence[int], intervals: Sequence[tuple[Minute, Minute]]
    ) -> npt.NDArray[np.float64]:
        """Good and total sums over ``[start, end)`` intervals: shape (series, intervals, 2).

        ``[..., 0]`` is good, ``[..., 1]`` total, summed over sources; empty intervals give 0.
        """
        with self._db.reading("read window sums") as connection:
            return reads.sums(PgCountsQueries(connection), series, intervals)

    def minute_arrays(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per-minute good and total, each shaped (series, end - start); zeros where no data."""
        with self._db.reading("read minute counts") as connection:
            return reads.minute_arrays(PgCountsQueries(connection), series, start, end)

    def minute_counts(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """:meth:`minute_arrays` as int64: the stored integers, no float copy."""
        with self._db.reading("read minute counts") as connection:
            return reads.minute_counts(PgCountsQueries(connection), series, start, end)

    def data_bounds(self, series: Sequence[int] | None = None) -> tuple[Minute, Minute] | None:
        """(first minute with data, last minute with data + 1) of ``series`` (None = all).

        A minute "has data" when some source sent it, even with zero counts.
        """
        with self._db.reading("read data bounds") as connection:
            return reads.data_bounds(PgCountsQueries(connection), series)

    def series_bounds(self, series: Sequence[int]) -> list[tuple[Minute, Minute] | None]:
        """Per series, in order: (first minute with data, last minute with data + 1), or
        None; one read for any number of series (``data_bounds`` of each, in bulk)."""
        with self._db.reading("read series data bounds") as connection:
            return reads.series_bounds(PgCountsQueries(connection), series)
