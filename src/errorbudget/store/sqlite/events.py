"""Voice-agent events besides their counts (schema v9, in ``schema.py``; issue #12).

- ``event_claims``: the event ids claimed, for idempotency. An event is known by its id and
  its minute; the ids one write claimed in one minute are one row (a *chunk*), so a file of
  a million events spread over a day is ~1,440 rows, not a million: one row per event was
  measured at 4-7 s per million on this backend (``docs/events-ingest.md``). The blob
  format and the comparison of full ids are ``store/event_chunks.py``'s, shared with the
  PostgreSQL backend.
- ``kept_events``: the events an SLO counted bad or excluded, one row per (SLO, UTC hour,
  write) holding them as an Arrow IPC stream, zstd-compressed from ``COMPRESS_FROM`` events
  on (a smaller chunk's buffers are too small to gain, and zstd costs ~0.5 ms a chunk: the
  demo's month wrote ~9,000 such chunks; a reader reads both) (their non-empty fields plus
  ``kept_series``, ``kept_verdict``, ``kept_exclusion``): a row per event, with its JSON,
  cost ~2 s per 100,000 kept events to encode and insert; a chunk costs milliseconds. Read
  by SLO and hour range, filtered and ordered in Arrow, so only the page returned becomes
  Python objects.
- ``event_dimensions`` / ``event_stages``: hourly rollups per SLO, flow and dimension value
  (or stage), added up on conflict.

Pruning (``prune_events``) drops claim chunks of minutes before a horizon and kept-event
chunks of hours that ended by then; the rollups stay, like counts. ``EventsPart``
(``store/record_parts.py``) is the ``EventRecords`` half of ``SQLiteStore``; here is the SQL
SQLite speaks its own way.

pyarrow is imported inside the functions that need it: opening a store (``errorbudget
status``) must not pay for it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from errorbudget.event_records import KeptBatch, KeptEvent, Verdict
from errorbudget.model import Minute
from errorbudget.store import event_chunks
from errorbudget.store.event_chunks import COMPACT_CHUNKS as COMPACT_CHUNKS  # re-exported
from errorbudget.store.sqlite import series as series_table

if TYPE_CHECKING:
    import pyarrow as pa

_STORED_CHUNKS = """
SELECT c.minute, c.count, c.ids
FROM json_each(?) AS t
CROSS JOIN event_claims AS c ON c.minute = t.value
"""

_ADD_DIMENSIONS = """
INSERT INTO event_dimensions
    (slo, hour, flow, dimension, value, eligible, bad, excluded, excluded_bad)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (slo, hour, flow, dimension, value) DO UPDATE SET
    eligible = eligible + excluded.eligible,
    bad = bad + excluded.bad,
    excluded = event_dimensions.excluded + excluded.excluded,
    excluded_bad = excluded_bad + excluded.excluded_bad
"""

_ADD_STAGES = """
INSERT INTO event_stages (slo, hour, flow, stage, eligible_ms, eligible_n, bad_ms, bad_n)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (slo, hour, flow, stage) DO UPDATE SET
    eligible_ms = eligible_ms + excluded.eligible_ms,
    eligible_n = eligible_n + excluded.eligible_n,
    bad_ms = bad_ms + excluded.bad_ms,
    bad_n = bad_n + excluded.bad_n
"""

PLACEHOLDER = "?"
"""sqlite3's (``record_parts.Dialect``)."""


def claim_event_ids(
    connection: sqlite3.Connection, ids: Sequence[str] | Any, minutes: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Claim the events (id, minute) not claimed before; True where one is new
    (``event_chunks.plan_claims``)."""

    def stored(touched: list[int]) -> Iterable[tuple[Any, Any, Any]]:
        return connection.execute(_STORED_CHUNKS, (json.dumps(touched),))

    plan = event_chunks.plan_claims(ids, minutes, stored)
    if plan.rewritten:  # these minutes' chunks are in the plan's chunks, as one each
        connection.execute(
            "DELETE FROM event_claims WHERE minute IN (SELECT value FROM json_each(?))",
            (json.dumps(plan.rewritten),),
        )
    connection.executemany(
        "INSERT INTO event_claims (minute, count, ids) VALUES (?, ?, ?)", plan.chunks
    )
    return plan.new


# --- kept events and rollups ----------------------------------------------------------------


def save_kept_events(connection: sqlite3.Connection, slo: str, rows: KeptBatch) -> int:
    """Insert ``slo``'s kept events as one chunk per UTC hour; return how many events."""
    if not len(rows):
        return 0
    series_table.check_series_exist(connection, event_chunks.kept_series(rows))
    chunks = event_chunks.kept_chunks(rows)
    connection.executemany(
        "INSERT INTO kept_events (slo, hour, count, events) VALUES (?, ?, ?, ?)",
        [(slo, *chunk) for chunk in chunks],
    )
    return len(rows)


def add_rollup(connection: sqlite3.Connection, slo: str, rows: pa.Table, stages: bool) -> int:
    """Add dimension counts (or, ``stages``, stage sums) to what ``slo`` has stored."""
    if not rows.num_rows:
        return 0
    columns = event_chunks.rollup_columns(rows, stages)
    connection.executemany(
        _ADD_STAGES if stages else _ADD_DIMENSIONS,
        zip([slo] * rows.num_rows, *columns, strict=True),
    )
    return int(rows.num_rows)


# --- reads ---------------------------------------------------------------------------------


def kept_events(
    connection: sqlite3.Connection,
    slo: str,
    start: Minute,
    end: Minute,
    *,
    verdict: Verdict | None,
    segment: Mapping[str, str] | None,
    limit: int,
) -> list[KeptEvent]:
    """The chunks of the hours overlapping ``[start, end)``, filtered and ordered in Arrow
    (``event_chunks.select_kept``); only the ``limit`` returned become Python objects."""
    event_chunks.check_verdict(verdict)
    series = event_chunks.matching_series(series_table.list_series(connection, slo), segment or {})
    if not series or limit <= 0 or end <= start:
        return []
    found = connection.execute(
        "SELECT hour, events FROM kept_events WHERE slo = ? AND hour >= ? AND hour < ?"
        " ORDER BY hour DESC",
        (slo, event_chunks.first_hour(start), int(end)),
    )
    return event_chunks.select_kept(
        slo,
        found,
        start,
        end,
        verdict=verdict,
        series=series,
        by_segment=bool(segment),
        limit=limit,
    )
