"""The PostgreSQL statements of the counts store (``store/counts/`` has what they serve).

Layout: the tables of SQLite schema v9 (``sql/20_counts.sql``), column for column, with the
same blob formats (``counts/blocks.py``): ``minute_blocks`` one row per (series, hour,
source) with 60 minutes of good/total counts and a minutes mask; ``day_counts`` one row per
(series, UTC day) with the day's totals and 24 hourly sums, summed over sources;
``day_chunks`` 32 days of day totals per row; each series' data bounds on its ``series``
row. The algorithms are the backend-neutral ones of ``counts/writes.py`` and
``counts/reads.py``; only the statements below are PostgreSQL's.

- **Bulk writes** go through binary ``COPY`` into a temporary table of the session, then
  one set-based ``INSERT … SELECT … ON CONFLICT DO UPDATE`` into the real table (a re-sent
  block replaces the stored one, which ``counts/writes.py`` merged first). The COPY payload
  is laid out in numpy, one structured array per blob length, so no Python runs per row.
  The temporary tables are created once per writer session (``ON COMMIT DELETE ROWS``) and
  emptied before each use, inside the caller's transaction: a failed write rolls back with
  it.
- **Key lists** (``series << 32 | hour`` …) go to SQL as two ``bigint[]`` arrays unnested
  side by side and joined to the table's primary key; **reads** select with
  ``series_id = ANY(%s)``: one statement text for any number of keys, prepared by psycopg
  after a few uses, and a read never writes. Results come back in binary (blobs as
  stored). A ``sums()``'s three reads (day chunks, day rows, edge-hour blocks) go in one
  pipeline: one round trip, which is what a read costs most on a busy machine.
- ``add_counts`` reads and writes inside the store's write transaction, which holds the
  store's advisory lock (``access.py``): writers of every process are serialised, so two
  processes adding to the same minute add exactly.
- Unlike SQLite (``counts/pending.py``), a transaction of several writes does not keep
  partial hours back: each write stores its blocks and day rows at once, and the next
  batch of a file reads back the hours it completes (one indexed read per batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from psycopg import Connection, Cursor

from errorbudget.errors import StoreError
from errorbudget.store.counts.blocks import Int64Array
from errorbudget.store.counts.tables import BlobRows

_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"

_TEMP_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS eb_blocks_in (
    series_id BIGINT, hour BIGINT, source_id BIGINT, counts BYTEA,
    minutes_mask BIGINT, good_sum BIGINT, total_sum BIGINT
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS eb_days_in (
    series_id BIGINT, day BIGINT, good BIGINT, total BIGINT, hours BYTEA
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS eb_chunks_in (
    series_id BIGINT, chunk BIGINT, totals BYTEA
) ON COMMIT DELETE ROWS
"""

_MERGE_BLOCKS = """
INSERT INTO minute_blocks
    (series_id, hour, source_id, counts, minutes_mask, good_sum, total_sum)
SELECT series_id, hour, source_id, counts, minutes_mask, good_sum, total_sum FROM eb_blocks_in
ON CONFLICT (series_id, hour, source_id) DO UPDATE SET
    counts = excluded.counts,
    minutes_mask = excluded.minutes_mask,
    good_sum = excluded.good_sum,
    total_sum = excluded.total_sum
"""

_MERGE_DAYS = """
INSERT INTO day_counts (series_id, day, good, total, hours)
SELECT series_id, day, good, total, hours FROM eb_days_in
ON CONFLICT (series_id, day) DO UPDATE
SET good = excluded.good, total = excluded.total, hours = excluded.hours
"""

_MERGE_CHUNKS = """
INSERT INTO day_chunks (series_id, chunk, totals)
SELECT series_id, chunk, totals FROM eb_chunks_in
ON CONFLICT (series_id, chunk) DO UPDATE SET totals = excluded.totals
"""

_KEYS = "unnest(%s::bigint[], %s::bigint[]) AS t (series_id, low)"

_STORED_BLOCKS = f"""
SELECT b.series_id, b.hour, b.counts, b.minutes_mask
FROM {_KEYS}
JOIN minute_blocks AS b
  ON b.series_id = t.series_id AND b.hour = t.low AND b.source_id = %s
"""

_OTHER_HOUR_SUMS = f"""
SELECT b.series_id, b.hour, b.good_sum, b.total_sum
FROM {_KEYS}
JOIN minute_blocks AS b ON b.series_id = t.series_id AND b.hour = t.low
WHERE b.source_id <> %s
"""

_STORED_DAYS = f"""
SELECT d.series_id, d.day, d.hours
FROM {_KEYS} JOIN day_counts AS d ON d.series_id = t.series_id AND d.day = t.low
"""

_STORED_CHUNKS = f"""
SELECT c.series_id, c.chunk, c.totals
FROM {_KEYS} JOIN day_chunks AS c ON c.series_id = t.series_id AND c.chunk = t.low
"""

_WIDEN = """
UPDATE series AS s
SET first_minute = LEAST(s.first_minute, t.first_minute),
    end_minute = GREATEST(s.end_minute, t.end_minute)
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS t (id, first_minute, end_minute)
WHERE s.id = t.id
"""


def _split(keys: Int64Array) -> tuple[list[int], list[int]]:
    """``series << 32 | low`` keys as the two arrays ``_KEYS`` unnests."""
    return (keys >> 32).tolist(), (keys & 0xFFFF_FFFF).tolist()


def copy_payload(columns: Sequence[Int64Array | list[bytes]]) -> bytes:
    """Rows of ``columns`` (bigint arrays, or one bytea column as a list of blobs) in
    PostgreSQL's binary COPY format, built in numpy: the rows are grouped by blob length,
    each group is one structured array of fixed-size tuples (row order does not matter to
    an upsert)."""
    blob_columns = [column for column in columns if isinstance(column, list)]
    if len(blob_columns) > 1:
        raise ValueError("copy_payload takes at most one bytea column")
    rows = len(columns[0])
    lengths = (
        np.fromiter(map(len, blob_columns[0]), dtype=np.int64, count=rows)
        if blob_columns
        else np.zeros(rows, dtype=np.int64)
    )
    pieces = [_COPY_HEADER]
    for length in np.unique(lengths).tolist():
        picked = np.flatnonzero(lengths == length)
        every = picked.size == rows
        fields: list[tuple[str, str]] = [("count", ">i2")]
        for index, column in enumerate(columns):
            fields.append((f"size{index}", ">i4"))
            if not isinstance(column, list):
                fields.append((f"value{index}", ">i8"))
            elif length:
                fields.append((f"value{index}", f"V{length}"))
        tuples = np.empty(picked.size, dtype=np.dtype(fields))
        tuples["count"] = len(columns)
        for index, column in enumerate(columns):
            if not isinstance(column, list):
                tuples[f"size{index}"] = 8
                tuples[f"value{index}"] = column if every else column[picked]
                continue
            tuples[f"size{index}"] = length
            if length:
                data = b"".join(column if every else [column[i] for i in picked.tolist()])
                tuples[f"value{index}"] = np.frombuffer(data, dtype=f"V{length}")
        pieces.append(tuples.tobytes())
    pieces.append(_COPY_TRAILER)
    return b"".join(pieces)


def fetch(connection: Connection, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
    """Every row of ``sql``, fetched in binary (blobs as stored, no hex to decode)."""
    with connection.cursor(binary=True) as cursor:
        return cursor.execute(sql, parameters).fetchall()


class PgCountsTables:
    """``counts.tables.CountsTables`` on the writer connection inside a write transaction."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _rows(self, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        return fetch(self.connection, sql, parameters)

    def check_series_exist(self, ids: list[int]) -> None:
        if not ids:
            return
        found = self._rows("SELECT id FROM series WHERE id = ANY(%s::bigint[])", (ids,))
        if len(found) == len(ids):
            return
        unknown = sorted(set(ids) - {int(row[0]) for row in found})
        shown = ", ".join(map(str, unknown[:5])) + (" …" if len(unknown) > 5 else "")
        raise StoreError(f"unknown series id(s) {shown}: get ids from series_ids() first")

    def source_id(self, source: str) -> int:
        if not isinstance(source, str) or not source:
            raise StoreError(f"a counts source must be a non-empty string, not {source!r}")
        row = self.connection.execute(
            "SELECT id FROM sources WHERE name = %s", (source,)
        ).fetchone()
        if row is None:
            row = self.connection.execute(
                "INSERT INTO sources (name) VALUES (%s) RETURNING id", (source,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def stored_blocks(self, keys: Int64Array, source: int) -> list[tuple[int, int, bytes, int]]:
        return self._rows(_STORED_BLOCKS, (*_split(keys), source))

    def has_other_sources(self, source: int) -> bool:
        row = self.connection.execute(
            "SELECT EXISTS (SELECT 1 FROM sources WHERE id <> %s)", (source,)
        ).fetchone()
        return bool(row and row[0])

    def other_hour_sums(self, keys: Int64Array, source: int) -> list[tuple[int, ...]]:
        return self._rows(_OTHER_HOUR_SUMS, (*_split(keys), source))

    def stored_days(self, keys: Int64Array) -> list[tuple[int, int, bytes]]:
        return self._rows(_STORED_DAYS, _split(keys))

    def stored_chunks(self, keys: Int64Array) -> list[tuple[int, int, bytes]]:
        return self._rows(_STORED_CHUNKS, _split(keys))

    def _copy_merge(
        self, table: str, columns: Sequence[Int64Array | list[bytes]], merge: str
    ) -> None:
        """COPY ``columns`` into the session's temporary ``table``, then ``merge`` it."""
        connection = self.connection
        connection.execute(_TEMP_TABLES)
        connection.execute(f"TRUNCATE {table}")
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(copy_payload(columns))
            cursor.execute(merge)

    def upsert_blocks(
        self,
        keys: Int64Array,
        source: int,
        blobs: list[bytes],
        masks: list[int],
        sums: Int64Array,
    ) -> None:
        if not keys.size:
            return
        columns = (
            keys >> 32,
            keys & 0xFFFF_FFFF,
            np.full(keys.size, source, dtype=np.int64),
            blobs,
            np.asarray(masks, dtype=np.int64),
            np.ascontiguousarray(sums[:, 0]),
            np.ascontiguousarray(sums[:, 1]),
        )
        self._copy_merge("eb_blocks_in", columns, _MERGE_BLOCKS)

    def widen_bounds(self, ids: Int64Array, first: Int64Array, end: Int64Array) -> None:
        self.connection.execute(_WIDEN, (ids.tolist(), first.tolist(), end.tolist()))

    def upsert_days(self, keys: Int64Array, totals: Int64Array, blobs: list[bytes]) -> None:
        if not keys.size:
            return
        columns = (
            keys >> 32,
            keys & 0xFFFF_FFFF,
            np.ascontiguousarray(totals[:, 0]),
            np.ascontiguousarray(totals[:, 1]),
            blobs,
        )
        self._copy_merge("eb_days_in", columns, _MERGE_DAYS)

    def upsert_chunks(self, keys: Int64Array, blobs: list[bytes]) -> None:
        if not keys.size:
            return
        self._copy_merge("eb_chunks_in", (keys >> 32, keys & 0xFFFF_FFFF, blobs), _MERGE_CHUNKS)


_DAY_CHUNKS = """
SELECT (series_id << 32) | chunk, totals FROM day_chunks
WHERE series_id = ANY(%s::bigint[]) AND chunk >= %s AND chunk <= %s
"""

_DAY_ROWS = """
SELECT (series_id << 32) | day, hours FROM day_counts
WHERE day = ANY(%s::bigint[]) AND series_id = ANY(%s::bigint[])
"""

# The edge hours of many series: each hour one range of ``minute_blocks_by_hour`` (2.4 ms
# on 1,000 series x 35 days, against 10 ms for (series, hour) probes of the primary key and
# ~110 ms for the parallel scan the planner chose for two arrays on the primary key).
_BLOCKS_AT_HOURS = """
SELECT (series_id << 32) | hour, counts FROM minute_blocks
WHERE hour = ANY(%s::bigint[]) AND series_id = ANY(%s::bigint[])
"""

_BLOCKS_BETWEEN = """
SELECT (series_id << 32) | hour, counts FROM minute_blocks
WHERE series_id = ANY(%s::bigint[]) AND hour >= %s AND hour < %s
"""

_SERIES_BOUNDS = """
SELECT id, first_minute, end_minute FROM series
WHERE id = ANY(%s::bigint[]) AND first_minute IS NOT NULL
"""

_ALL_BOUNDS = "SELECT min(first_minute), max(end_minute) FROM series"

_SELECTED_BOUNDS = """
SELECT min(first_minute), max(end_minute) FROM series WHERE id = ANY(%s::bigint[])
"""


class PgCountsQueries:
    """``counts.tables.CountsQueries`` on a read snapshot (or the writer's transaction);
    results come back in binary (blobs as they are stored, no hex to decode)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _rows(self, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        return fetch(self.connection, sql, parameters)

    def sum_rows(
        self,
        ids: list[int],
        chunk_range: tuple[int, int] | None,
        days: list[int],
        hours: list[int],
    ) -> tuple[BlobRows, BlobRows, BlobRows]:
        """The three statements in one pipeline: one round trip to the server."""
        wanted = [
            (_DAY_CHUNKS, (ids, *chunk_range)) if chunk_range else None,
            (_DAY_ROWS, (days, ids)) if days else None,
            (_BLOCKS_AT_HOURS, (hours, ids)) if hours else None,
        ]
        connection = self.connection
        with connection.pipeline():
            cursors: list[Cursor[tuple[Any, ...]] | None] = []
            for statement in wanted:
                if statement is None:
                    cursors.append(None)
                    continue
                cursor = connection.cursor(binary=True)
                cursor.execute(*statement)
                cursors.append(cursor)
        chunk_rows, day_rows, block_rows = (
            [] if cursor is None else cursor.fetchall() for cursor in cursors
        )
        return chunk_rows, day_rows, block_rows

    def blocks_between(self, ids: list[int], first_hour: int, end_hour: int) -> BlobRows:
        return self._rows(_BLOCKS_BETWEEN, (ids, first_hour, end_hour))

    def series_bounds(self, ids: list[int]) -> list[tuple[int, int, int]]:
        return self._rows(_SERIES_BOUNDS, (ids,))

    def bounds(self, ids: list[int] | None) -> tuple[int | None, int | None] | None:
        if ids is None:
            row = self.connection.execute(_ALL_BOUNDS).fetchone()
        else:
            row = self.connection.execute(_SELECTED_BOUNDS, (ids,)).fetchone()
        return None if row is None else (row[0], row[1])
