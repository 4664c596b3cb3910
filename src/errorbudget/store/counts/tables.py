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


class CountsQueries(Protocol):
    """The statements of a counts read; ``ids`` are unique, ascending series ids."""

    def day_chunks(
        self, ids: list[int], first_chunk: int, last_chunk: int
    ) -> Sequence[tuple[int, int, bytes]]:
        """(series, chunk, totals blob) of the chunks ``first_chunk`` to ``last_chunk``."""
        ...

    def day_rows(self, ids: list[int], days: list[int]) -> Sequence[tuple[int, int, bytes]]:
        """(series, day, hourly sums blob) of those days' rows."""
        ...

    def blocks_at_hours(self, ids: list[int], hours: list[int]) -> Sequence[tuple[int, int, bytes]]:
        """(series, hour, counts blob) of every source's blocks of those hours."""
        ...

    def blocks_between(
        self, ids: list[int], first_hour: int, end_hour: int
    ) -> Sequence[tuple[int, int, bytes]]:
        """(series, hour, counts blob) of every source's blocks of ``[first, end)`` hours."""
        ...

    def series_bounds(self, ids: list[int]) -> Sequence[tuple[int, int, int]]:
        """(series, first minute, end minute) of the series of ``ids`` that have data."""
        ...

    def bounds(self, ids: list[int] | None) -> tuple[int | None, int | None] | None:
        """(min first minute, max end minute) over ``ids`` (None: every series)."""
        ...
