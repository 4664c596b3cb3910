"""What a backend's SQL gives the counts algorithms: one method per statement.

Keys are ``series_id << 32 | hour`` (or ``| day``, ``| chunk``) in sorted, unique int64
arrays; rows come back as tuples in any order. Nothing here holds a connection: each
backend wraps its own (``store/sqlite/counts.py``, ``store/postgres/counts.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from errorbudget.store.counts.blocks import Int64Array


class CountsTables(Protocol):
    """The statements of a counts write, inside the caller's write transaction."""

    def check_series_exist(self, ids: list[int]) -> None:
        """Raise StoreError naming the ids of ``ids`` (unique) that are not stored series."""
        ...

    def source_id(self, source: str) -> int:
        """The id of a counts source name, created on first use."""
        ...

    def stored_blocks(self, keys: Int64Array, source: int) -> Sequence[tuple[int, int, bytes, int]]:
        """(series, hour, counts blob, minutes mask) of ``source``'s blocks at ``keys``."""
        ...

    def has_other_sources(self, source: int) -> bool:
        """Whether any other source ever wrote counts."""
        ...

    def other_hour_sums(self, keys: Int64Array, source: int) -> Sequence[tuple[int, ...]]:
        """(series, hour, good sum, total sum) of the other sources' blocks at ``keys``."""
        ...

    def stored_days(self, keys: Int64Array) -> Sequence[tuple[int, int, bytes]]:
        """(series, day, hourly sums blob) of the ``day_counts`` rows at ``keys``."""
        ...

    def stored_chunks(self, keys: Int64Array) -> Sequence[tuple[int, int, bytes]]:
        """(series, chunk, totals blob) of the ``day_chunks`` rows at ``keys``."""
        ...

    def upsert_blocks(
        self,
        keys: Int64Array,
        source: int,
        blobs: list[bytes],
        masks: list[int],
        sums: Int64Array,
    ) -> None:
        """Insert or replace ``source``'s blocks at ``keys`` (sums: (n, 2) good, total)."""
        ...

    def widen_bounds(self, ids: Int64Array, first: Int64Array, end: Int64Array) -> None:
        """Widen the ``series`` rows' first_minute / end_minute to cover [first, end)."""
        ...

    def upsert_days(self, keys: Int64Array, totals: Int64Array, blobs: list[bytes]) -> None:
        """Insert or replace day rows at ``keys`` (totals: (n, 2) good, total)."""
        ...

    def upsert_chunks(self, keys: Int64Array, blobs: list[bytes]) -> None:
        """Insert or replace day-total chunks at ``keys``."""
        ...


BlobRows = Sequence[tuple[int, bytes]]
"""(key, blob) rows of a read: the key is ``series << 32 | hour`` (or ``| day``, ``| chunk``),
computed by the statement, so a row is two values to fetch (a count read fetches
thousands: one Python int less each)."""


class CountsQueries(Protocol):
    """The statements of a counts read; ``ids`` are unique, ascending series ids."""

    def sum_rows(
        self,
        ids: list[int],
        chunk_range: tuple[int, int] | None,
        days: list[int],
        hours: list[int],
    ) -> tuple[BlobRows, BlobRows, BlobRows]:
        """The three reads of a ``sums``, asked for together (:data:`BlobRows`): (series ‹‹
        chunk, totals blob) of the day chunks ``chunk_range`` (first, last; None: none),
        (series ‹‹ day, hourly sums blob) of the ``days``' rows, and (series ‹‹ hour,
        counts blob) of every source's blocks of the ``hours``. Empty lists read nothing."""
        ...

    def blocks_between(self, ids: list[int], first_hour: int, end_hour: int) -> BlobRows:
        """(series ‹‹ hour, counts blob) of every source's blocks of ``[first, end)`` hours."""
        ...

    def series_bounds(self, ids: list[int]) -> Sequence[tuple[int, int, int]]:
        """(series, first minute, end minute) of the series of ``ids`` that have data."""
        ...

    def bounds(self, ids: list[int] | None) -> tuple[int | None, int | None] | None:
        """(min first minute, max end minute) over ``ids`` (None: every series)."""
        ...
