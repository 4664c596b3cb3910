"""The PostgreSQL store's own SQL of voice-agent events besides their counts (tables in
``sql/60_events.sql``, the same as SQLite's; ``store/sqlite/events.py`` says what each
holds): what ``EventsPart`` (``store/record_parts.py``, via ``events_part.py``) does
differently from SQLite (the rollup reads and pruning are shared SQL there).

The chunk formats, the comparison of claimed ids and the filtering of kept events are
``store/event_chunks.py``'s, shared with SQLite; only the SQL is here, set-based: chunks go
in by ``COPY … (FORMAT BINARY)``, the minutes a claim touches are one ``= ANY(%s)`` read,
and a rollup write is one ``INSERT … SELECT … FROM unnest(…) GROUP BY … ON CONFLICT``
(rows of one key within a write summed first, as SQLite's row-by-row upsert adds them).

**Concurrent claims.** Two processes (replicas, an ingest and ``serve``) claiming
overlapping ids each read the stored chunks and write the ids they found new; the claim
runs in a write transaction, which holds the store's write lock from its ``BEGIN``
(``access.py``) in ``READ COMMITTED``, so the second claim reads after the first committed
and exactly one of them wins each (id, minute)
(``tests/integration/test_store_postgres_alerts.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.event_records import KeptBatch, KeptEvent, Verdict
from errorbudget.model import Minute
from errorbudget.store import event_chunks
from errorbudget.store.postgres.access import Connection
from errorbudget.store.segments import series_infos

if TYPE_CHECKING:
    import pyarrow as pa

_ADD_DIMENSIONS = """
INSERT INTO event_dimensions
    (slo, hour, flow, dimension, value, eligible, bad, excluded, excluded_bad)
SELECT %s, hour, flow, dimension, value, sum(eligible), sum(bad), sum(excluded),
    sum(excluded_bad)
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::bigint[], %s::bigint[],
    %s::bigint[], %s::bigint[])
    AS r (hour, flow, dimension, value, eligible, bad, excluded, excluded_bad)
GROUP BY hour, flow, dimension, value
ON CONFLICT (slo, hour, flow, dimension, value) DO UPDATE SET
    eligible = event_dimensions.eligible + EXCLUDED.eligible,
    bad = event_dimensions.bad + EXCLUDED.bad,
    excluded = event_dimensions.excluded + EXCLUDED.excluded,
    excluded_bad = event_dimensions.excluded_bad + EXCLUDED.excluded_bad
"""

_ADD_STAGES = """
INSERT INTO event_stages (slo, hour, flow, stage, eligible_ms, eligible_n, bad_ms, bad_n)
SELECT %s, hour, flow, stage, sum(eligible_ms), sum(eligible_n), sum(bad_ms), sum(bad_n)
FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[],
    %s::bigint[])
    AS r (hour, flow, stage, eligible_ms, eligible_n, bad_ms, bad_n)
GROUP BY hour, flow, stage
ON CONFLICT (slo, hour, flow, stage) DO UPDATE SET
    eligible_ms = event_stages.eligible_ms + EXCLUDED.eligible_ms,
    eligible_n = event_stages.eligible_n + EXCLUDED.eligible_n,
    bad_ms = event_stages.bad_ms + EXCLUDED.bad_ms,
    bad_n = event_stages.bad_n + EXCLUDED.bad_n
"""

PLACEHOLDER = "%s"
"""psycopg's (``record_parts.Dialect``)."""

KEPT_BATCH = 8
"""Kept-event chunks fetched at a time: a page of the newest events stops early."""


def _copy(
    connection: Connection, into: str, types: list[str], rows: Iterable[tuple[Any, ...]]
) -> None:
    """``rows`` into ``into`` (a table and its columns) in one binary COPY."""
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {into} FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def claim_event_ids(
    connection: Connection, ids: Sequence[str] | Any, minutes: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Claim the events (id, minute) not claimed before; True where one is new
    (``event_chunks.plan_claims``)."""

    def stored(touched: list[int]) -> Iterable[tuple[Any, Any, Any]]:
        return connection.execute(
            "SELECT minute, count, ids FROM event_claims WHERE minute = ANY(%s::bigint[])",
            (touched,),
        )

    plan = event_chunks.plan_claims(ids, minutes, stored)
    if plan.rewritten:  # these minutes' chunks are in the plan's chunks, as one each
        connection.execute(
            "DELETE FROM event_claims WHERE minute = ANY(%s::bigint[])", (plan.rewritten,)
        )
    _copy(connection, "event_claims (minute, count, ids)", ["int8", "int8", "bytea"], plan.chunks)
    return plan.new


def check_series_exist(connection: Connection, ids: list[int]) -> None:
    """Raise StoreError naming the ids in ``ids`` that are not stored series."""
    if not ids:
        return
    unknown = [
        int(row[0])
        for row in connection.execute(
            "SELECT wanted.id FROM unnest(%s::bigint[]) AS wanted (id)"
            " WHERE NOT EXISTS (SELECT 1 FROM series WHERE series.id = wanted.id)"
            " ORDER BY wanted.id",
            (ids,),
        )
    ]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" …" if len(unknown) > 5 else "")
        raise StoreError(f"unknown series id(s) {shown}: get ids from series_ids() first")


def save_kept_events(connection: Connection, slo: str, rows: KeptBatch) -> int:
    """Insert ``slo``'s kept events as one chunk per UTC hour; return how many events."""
    if not len(rows):
        return 0
    check_series_exist(connection, event_chunks.kept_series(rows))
    _copy(
        connection,
        "kept_events (hour, count, events, slo)",
        ["int8", "int8", "bytea", "text"],
        ((*chunk, slo) for chunk in event_chunks.kept_chunks(rows)),
    )
    return len(rows)


def add_rollup(connection: Connection, slo: str, rows: pa.Table, stages: bool) -> int:
    """Add dimension counts (or, ``stages``, stage sums) to what ``slo`` has stored."""
    if not rows.num_rows:
        return 0
    columns = event_chunks.rollup_columns(rows, stages)
    connection.execute(_ADD_STAGES if stages else _ADD_DIMENSIONS, (slo, *columns))
    return int(rows.num_rows)


def kept_events(
    connection: Connection,
    slo: str,
    start: Minute,
    end: Minute,
    *,
    verdict: Verdict | None,
    segment: Mapping[str, str] | None,
    limit: int,
) -> list[KeptEvent]:
    """The chunks of the hours overlapping ``[start, end)``, newest first, fetched a few at
    a time (a server-side cursor) and filtered in Arrow (``event_chunks.select_kept``)."""
    event_chunks.check_verdict(verdict)
    stored = connection.execute(
        "SELECT id, slo, segment FROM series WHERE slo = %s ORDER BY id", (slo,)
    ).fetchall()
    series = event_chunks.matching_series(series_infos(stored), segment or {})
    if not series or limit <= 0 or end <= start:
        return []
    with connection.cursor(name="errorbudget_kept_events") as cursor:
        cursor.itersize = KEPT_BATCH
        cursor.execute(
            "SELECT hour, events FROM kept_events WHERE slo = %s AND hour >= %s AND hour < %s"
            " ORDER BY hour DESC",
            (slo, event_chunks.first_hour(start), int(end)),
        )
        return event_chunks.select_kept(
            slo,
            cursor,
            start,
            end,
            verdict=verdict,
            series=series,
            by_segment=bool(segment),
            limit=limit,
        )
