"""The PostgreSQL store's voice-agent events besides their counts (tables in
``sql/60_events.sql``, the same as SQLite's; ``store/sqlite/events.py`` says what each
holds). ``EventsPart`` is the ``EventRecords`` half of ``PostgresStore``.

The chunk formats, the comparison of claimed ids and the filtering of kept events are
``store/event_chunks.py``'s, shared with SQLite; only the SQL is here, set-based: chunks go
in by ``COPY … (FORMAT BINARY)``, the minutes a claim touches are one ``= ANY(%s)`` read,
and a rollup write is one ``INSERT … SELECT … FROM unnest(…) GROUP BY … ON CONFLICT``
(rows of one key within a write summed first, as SQLite's row-by-row upsert adds them).

**Concurrent claims.** Two processes (replicas, an ingest and ``serve``) claiming
overlapping ids each read the stored chunks and write the ids they found new; the claim
runs in a write transaction, which holds the store's write lock from its ``BEGIN``
(``access.py``) in ``READ COMMITTED``, so the second claim reads after the first committed
and exactly one of them wins each (id, minute) — ``tests/integration/test_pg_events.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.event_records import DimensionCount, KeptBatch, KeptEvent, StageSum, Verdict
from errorbudget.model import Minute
from errorbudget.store import event_chunks
from errorbudget.store.postgres.access import Connection, PgAccess
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

_PRUNE = """
WITH claimed AS (DELETE FROM event_claims WHERE minute < %s RETURNING count),
     kept AS (DELETE FROM kept_events WHERE hour <= %s RETURNING count)
SELECT (SELECT coalesce(sum(count), 0) FROM claimed) + (SELECT coalesce(sum(count), 0) FROM kept)
"""

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


class EventsPart:
    """``EventRecords`` over PostgreSQL."""

    _db: PgAccess
    _clock: Callable[[], datetime]

    def claim_event_ids(self, ids: Sequence[str], minutes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Claim the events (id, minute) not claimed before; True where one is new."""
        with self._db.writing("claim event ids") as connection:
            return claim_event_ids(connection, ids, minutes)

    def save_kept_events(self, slo: str, rows: KeptBatch) -> int:
        """Keep ``slo``'s bad and excluded events."""
        with self._db.writing("save kept events") as connection:
            self._db.mark_changed()
            return save_kept_events(connection, slo, rows)

    def add_dimension_counts(self, slo: str, rows: pa.Table) -> int:
        """Add to ``slo``'s hourly dimension counts."""
        with self._db.writing("add event dimension counts") as connection:
            self._db.mark_changed()
            return add_rollup(connection, slo, rows, stages=False)

    def add_stage_sums(self, slo: str, rows: pa.Table) -> int:
        """Add to ``slo``'s hourly stage sums."""
        with self._db.writing("add event stage sums") as connection:
            self._db.mark_changed()
            return add_rollup(connection, slo, rows, stages=True)

    def kept_events(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        verdict: Verdict | None = None,
        segment: Mapping[str, str] | None = None,
        limit: int = 500,
    ) -> list[KeptEvent]:
        """``slo``'s kept events of ``[start, end)``, newest first."""
        with self._db.reading("read kept events") as connection:
            return kept_events(
                connection, slo, start, end, verdict=verdict, segment=segment, limit=limit
            )

    def dimension_counts(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        dimension: str | None = None,
        flow: str | None = None,
    ) -> list[DimensionCount]:
        """``slo``'s hourly dimension counts of the hours starting in ``[start, end)``."""
        where, parameters = event_chunks.rollup_where(
            "%s", slo, start, end, dimension=dimension, flow=flow
        )
        with self._db.reading("read event dimension counts") as connection:
            rows = connection.execute(
                "SELECT hour, flow, dimension, value, eligible, bad, excluded, excluded_bad "
                f"FROM event_dimensions{where} ORDER BY hour, flow, dimension, value",
                parameters,
            )
            return [DimensionCount(*row) for row in rows]

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[StageSum]:
        """``slo``'s hourly stage sums of the hours starting in ``[start, end)``."""
        where, parameters = event_chunks.rollup_where("%s", slo, start, end, flow=flow)
        with self._db.reading("read event stage sums") as connection:
            rows = connection.execute(
                "SELECT hour, flow, stage, eligible_ms, eligible_n, bad_ms, bad_n "
                f"FROM event_stages{where} ORDER BY hour, flow, stage",
                parameters,
            )
            return [StageSum(*row) for row in rows]

    def prune_events(self, before: Minute) -> int:
        """Forget kept events and claimed ids of minutes before ``before``."""
        with self._db.writing("prune events") as connection:
            row = connection.execute(_PRUNE, (int(before), int(before) - 60)).fetchone()
            return 0 if row is None else int(row[0])
