"""Voice-agent events besides their counts (schema v9, in ``schema.py``; issue #12).

- ``event_claims``: the event ids claimed, for idempotency. An event is known by its id and
  its minute; the ids one write claimed in one minute are one row (a *chunk*), so a file of
  a million events spread over a day is ~1,440 rows, not a million: one row per event was
  measured at 4-7 s per million on this backend (``docs/events-ingest.md``). A chunk's
  ``ids`` blob is the ids' UTF-8 byte lengths (``count`` little-endian uint16) followed by
  their UTF-8 bytes; a claim reads the chunks of the minutes it touches and compares full
  ids (Arrow ``is_in``), so nothing rests on a hash.
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
chunks of hours that ended by then; the rollups stay, like counts. ``EventsPart`` is the
``EventRecords`` half of ``SQLiteStore``.

pyarrow is imported inside the functions that need it: opening a store (``errorbudget
status``) must not pay for it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.event_records import (
    DIMENSION_COLUMNS,
    STAGE_COLUMNS,
    VERDICTS,
    DimensionCount,
    KeptBatch,
    KeptEvent,
    StageSum,
    Verdict,
)
from errorbudget.model import Minute
from errorbudget.store.sqlite import series as series_table
from errorbudget.store.sqlite.access import Access

if TYPE_CHECKING:
    import pyarrow as pa

MAX_ID_BYTES = 0xFFFF
"""A claimed id's UTF-8 length must fit the chunk's uint16 lengths."""

COMPACT_CHUNKS = 8
"""A minute holding more claim chunks than this after a write is rewritten as one chunk:
streaming writes (a request a second) add a chunk per request, and a claim reads every
chunk of its minutes, so without it a claim's cost grows with the writes before it."""

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


# --- claims --------------------------------------------------------------------------------


def _string_array(ids: Sequence[str] | Any) -> pa.StringArray:
    """``ids`` as one Arrow string array (int32 offsets), however they came."""
    import pyarrow as pa

    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if not isinstance(ids, pa.Array):
        try:
            ids = pa.array(list(ids), pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise StoreError(f"event ids must be strings: {exc}") from exc
    if pa.types.is_dictionary(ids.type):
        ids = ids.dictionary_decode()
    if ids.type != pa.string():
        try:
            ids = ids.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise StoreError(f"event ids must be strings, not {ids.type}") from exc
    if ids.null_count:
        raise StoreError("an event id is missing (null): every event needs an id")
    return cast("pa.StringArray", ids)


def _offsets(ids: pa.StringArray) -> npt.NDArray[np.int64]:
    """The byte offsets of ``ids``' values in its data buffer (length + 1)."""
    raw = np.frombuffer(ids.buffers()[1], dtype=np.int32)
    return raw[ids.offset : ids.offset + len(ids) + 1].astype(np.int64)


def _data(ids: pa.StringArray) -> npt.NDArray[np.uint8]:
    buffer = ids.buffers()[2]
    if buffer is None:
        return np.zeros(0, dtype=np.uint8)
    return np.frombuffer(buffer, dtype=np.uint8)


def _decode_chunk(count: int, blob: bytes) -> pa.StringArray:
    """A chunk's ids as an Arrow string array (no copy of the UTF-8 bytes)."""
    import pyarrow as pa

    lengths = np.frombuffer(blob, dtype="<u2", count=count)
    offsets = np.zeros(count + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    data = pa.py_buffer(blob)[2 * count :]
    array = pa.StringArray.from_buffers(count, pa.py_buffer(offsets.tobytes()), data)
    return cast("pa.StringArray", array)


def claim_event_ids(
    connection: sqlite3.Connection, ids: Sequence[str] | Any, minutes: npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Claim the events (id, minute) not claimed before; True where one is new.

    An (id, minute) repeated within ``ids`` is new only at its first occurrence (the same
    id at another minute is another event here; the event model refuses such a batch). New
    ids are written as one chunk per minute.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    id_array = _string_array(ids)
    try:
        minute_array = np.asarray(minutes, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"event minutes must be integers: {exc}") from exc
    size = len(id_array)
    if minute_array.size != size:
        raise StoreError(
            f"event ids and minutes must have the same length (got {size}, {minute_array.size})"
        )
    new = np.ones(size, dtype=np.bool_)
    if not size:
        return new
    offsets = _offsets(id_array)
    if int(np.diff(offsets).max()) > MAX_ID_BYTES:
        raise StoreError(f"an event id is longer than {MAX_ID_BYTES:,} bytes")
    encoded = pc.dictionary_encode(id_array)
    if len(encoded.dictionary) < size:  # repeats within the batch: the first one counts
        codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        _, first = np.unique(np.stack([codes, minute_array], axis=1), axis=0, return_index=True)
        new[:] = False
        new[first] = True
    if bool((minute_array[1:] >= minute_array[:-1]).all()):  # time-ordered: no sort
        order = np.arange(size, dtype=np.int64)
    else:
        order = np.argsort(minute_array, kind="stable")
    sorted_minutes = minute_array[order]
    touched = np.unique(sorted_minutes)
    stored: dict[int, list[pa.StringArray]] = {}
    for minute, count, blob in connection.execute(_STORED_CHUNKS, (json.dumps(touched.tolist()),)):
        stored.setdefault(int(minute), []).append(_decode_chunk(int(count), bytes(blob)))
    compact: dict[int, pa.StringArray] = {}
    for minute, chunks in stored.items():
        low, high = np.searchsorted(sorted_minutes, [minute, minute + 1])
        rows = order[low:high]
        rows = rows[new[rows]]
        if not rows.size:
            continue
        known = pa.chunked_array(chunks, pa.string()).combine_chunks()
        # hash the few ids claimed now and scan the many stored ones against them (rather
        # than hash a busy minute's every stored id, request after request); the rows left
        # are unique ids within their minute
        found = pc.index_in(known, value_set=id_array.take(pa.array(rows)))
        hits = pc.drop_null(found).to_numpy(zero_copy_only=False)
        new[rows[np.unique(hits)]] = False
        if len(chunks) >= COMPACT_CHUNKS and bool(new[rows].any()):
            compact[minute] = cast("pa.StringArray", known)
    fresh = np.flatnonzero(new)
    if compact:  # these minutes' chunks and their new ids become one chunk each
        minutes_json = json.dumps(sorted(compact))
        connection.execute(
            "DELETE FROM event_claims WHERE minute IN (SELECT value FROM json_each(?))",
            (minutes_json,),
        )
        old_ids = pa.concat_arrays(list(compact.values()))
        old_minutes = np.concatenate(
            [np.full(len(ids), minute, dtype=np.int64) for minute, ids in compact.items()]
        )
        id_array = cast("pa.StringArray", pa.concat_arrays([old_ids, id_array]))
        minute_array = np.concatenate([old_minutes, minute_array])
        fresh = np.concatenate([np.arange(len(old_ids), dtype=np.int64), fresh + len(old_ids)])
    _write_chunks(connection, id_array, minute_array, fresh)
    return new


def _write_chunks(
    connection: sqlite3.Connection,
    ids: pa.StringArray,
    minutes: npt.NDArray[np.int64],
    rows: npt.NDArray[np.int64],
) -> None:
    """One ``event_claims`` row per minute of the claimed ``rows``."""
    import pyarrow as pa

    if not rows.size:
        return
    chosen = minutes[rows]
    if not bool((chosen[1:] >= chosen[:-1]).all()):
        rows = rows[np.argsort(chosen, kind="stable")]
    taken = cast("pa.StringArray", ids.take(pa.array(rows)))
    offsets = _offsets(taken)
    data = _data(taken)
    lengths = np.diff(offsets).astype("<u2")
    chunk_minutes = minutes[rows]
    starts = np.flatnonzero(np.r_[True, chunk_minutes[1:] != chunk_minutes[:-1]])
    ends = np.r_[starts[1:], rows.size]
    connection.executemany(
        "INSERT INTO event_claims (minute, count, ids) VALUES (?, ?, ?)",
        (
            (
                int(chunk_minutes[start]),
                int(end - start),
                lengths[start:end].tobytes() + data[offsets[start] : offsets[end]].tobytes(),
            )
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
        ),
    )


# --- kept events and rollups ----------------------------------------------------------------


_SERIES, _VERDICT, _EXCLUSION = "kept_series", "kept_verdict", "kept_exclusion"
"""The columns a kept chunk adds to the events' own fields."""


def _millis(events: pa.Table) -> npt.NDArray[np.int64]:
    """The events' ``time`` as epoch milliseconds."""
    import pyarrow as pa

    if "time" not in events.column_names or events.column("time").null_count:
        raise StoreError("every kept event needs its time")
    column = events.column("time")
    if pa.types.is_timestamp(column.type):
        column = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    try:
        return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StoreError(f"a kept event's time must be a timestamp or epoch ms: {exc}") from exc


COMPRESS_FROM = 100
"""Kept-event chunks of at least this many events are zstd-compressed."""


def _ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    compression = "zstd" if table.num_rows >= COMPRESS_FROM else None
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def save_kept_events(connection: sqlite3.Connection, slo: str, rows: KeptBatch) -> int:
    """Insert ``slo``'s kept events as one chunk per UTC hour; return how many events."""
    import pyarrow as pa

    if not len(rows):
        return 0
    unknown = set(rows.verdicts) - set(VERDICTS)
    if unknown:
        raise StoreError(f"a kept event's verdict must be bad or excluded, not {sorted(unknown)}")
    if "id" not in rows.events.column_names or rows.events.column("id").null_count:
        raise StoreError("every kept event needs its id")
    series = np.asarray(rows.series, dtype=np.int64)
    series_table.check_series_exist(connection, np.unique(series).tolist())
    millis = _millis(rows.events)
    events = rows.events.drop_columns(
        [
            name
            for name in ("line", _SERIES, _VERDICT, _EXCLUSION)
            if name in rows.events.column_names
        ]
    )
    events = events.set_column(events.column_names.index("time"), "time", pa.array(millis))
    events = events.select(
        [name for name in events.column_names if events.column(name).null_count < len(events)]
    )
    events = events.append_column(_SERIES, pa.array(series))
    events = events.append_column(_VERDICT, pa.array(list(rows.verdicts), pa.string()))
    events = events.append_column(_EXCLUSION, pa.array(list(rows.exclusions), pa.string()))
    minutes = np.floor_divide(millis, 60_000)
    hours = minutes - np.mod(minutes, 60)
    order = np.argsort(hours, kind="stable")
    hours = hours[order]
    events = events.take(pa.array(order))
    starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
    ends = np.r_[starts[1:], hours.size]
    connection.executemany(
        "INSERT INTO kept_events (slo, hour, count, events) VALUES (?, ?, ?, ?)",
        (
            (slo, int(hours[start]), int(end - start), _ipc(events.slice(start, end - start)))
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
        ),
    )
    return len(rows)


def _columns(rows: pa.Table, names: Sequence[str]) -> list[list[Any]]:
    missing = [name for name in names if name not in rows.column_names]
    if missing:
        raise StoreError(f"the rollup rows lack the column(s) {', '.join(missing)}")
    return [rows.column(name).to_pylist() for name in names]


def add_rollup(connection: sqlite3.Connection, slo: str, rows: pa.Table, stages: bool) -> int:
    """Add dimension counts (or, ``stages``, stage sums) to what ``slo`` has stored."""
    names = STAGE_COLUMNS if stages else DIMENSION_COLUMNS
    if not rows.num_rows:
        return 0
    columns = _columns(rows, names)
    if any(value is None for column in columns for value in column):
        raise StoreError("a rollup row has an empty field")
    connection.executemany(
        _ADD_STAGES if stages else _ADD_DIMENSIONS,
        zip([slo] * rows.num_rows, *columns, strict=True),
    )
    return int(rows.num_rows)


# --- reads ---------------------------------------------------------------------------------


def _matching_series(
    connection: sqlite3.Connection, slo: str, segment: Mapping[str, str]
) -> dict[int, dict[str, str]]:
    """``slo``'s series (id → segment) whose segment has every pair of ``segment``."""
    found: dict[int, dict[str, str]] = {}
    for info in series_table.list_series(connection, slo):
        pairs = dict(info.segment)
        if all(pairs.get(key) == value for key, value in segment.items()):
            found[info.id] = pairs
    return found


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
    """The chunks of the hours overlapping ``[start, end)``, filtered and ordered in Arrow;
    only the ``limit`` returned become Python objects."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if verdict is not None and verdict not in VERDICTS:
        raise StoreError(f"a verdict is bad or excluded, not {verdict!r}")
    series = _matching_series(connection, slo, segment or {})
    if not series or limit <= 0 or end <= start:
        return []
    found = connection.execute(
        "SELECT hour, events FROM kept_events WHERE slo = ? AND hour >= ? AND hour < ?"
        " ORDER BY hour DESC",
        (slo, int(start) - int(start) % 60, int(end)),
    )
    wanted = pa.array(sorted(series), pa.int64()) if segment else None
    tables: list[pa.Table] = []
    matched, last_hour = 0, None
    for hour, blob in found:  # newest hours first: stop once older hours cannot make the cut
        if matched >= limit and hour != last_hour:
            break
        chunk = pa.ipc.open_stream(bytes(blob)).read_all()
        time = chunk.column("time")
        mask = pc.and_(
            pc.greater_equal(time, int(start) * 60_000), pc.less(time, int(end) * 60_000)
        )
        if verdict is not None:
            mask = pc.and_(mask, pc.equal(chunk.column(_VERDICT), verdict))
        if wanted is not None:
            mask = pc.and_(mask, pc.is_in(chunk.column(_SERIES), wanted))
        chunk = chunk.filter(mask)
        if chunk.num_rows:
            tables.append(chunk)
            matched += chunk.num_rows
        last_hour = hour
    if not tables:
        return []
    kept = pa.concat_tables(tables, promote_options="permissive")
    order = pc.sort_indices(kept, sort_keys=[("time", "descending"), ("id", "descending")])
    kept = kept.take(order[:limit])
    result = []
    for record in kept.to_pylist():
        series_id = int(record.pop(_SERIES))
        kept_verdict = record.pop(_VERDICT)
        exclusion = record.pop(_EXCLUSION)
        event = {key: value for key, value in record.items() if value is not None}
        result.append(
            KeptEvent.of(
                slo=slo,
                series=series_id,
                segment=series.get(series_id, {}),
                minute=int(event["time"]) // 60_000,
                verdict=cast(Verdict, kept_verdict),
                exclusion=exclusion,
                event=event,
            )
        )
    return result


def _filtered(
    base: str, slo: str, start: Minute, end: Minute, filters: Iterable[tuple[str, str | None]]
) -> tuple[str, list[Any]]:
    sql = base + " WHERE slo = ? AND hour >= ? AND hour < ?"
    parameters: list[Any] = [slo, int(start), int(end)]
    for column, value in filters:
        if value is not None:
            sql += f" AND {column} = ?"
            parameters.append(value)
    return sql, parameters


def dimension_counts(
    connection: sqlite3.Connection,
    slo: str,
    start: Minute,
    end: Minute,
    *,
    dimension: str | None,
    flow: str | None,
) -> list[DimensionCount]:
    sql, parameters = _filtered(
        "SELECT hour, flow, dimension, value, eligible, bad, excluded, excluded_bad "
        "FROM event_dimensions",
        slo,
        start,
        end,
        (("dimension", dimension), ("flow", flow)),
    )
    rows = connection.execute(sql + " ORDER BY hour, flow, dimension, value", parameters)
    return [DimensionCount(*row) for row in rows]


def stage_sums(
    connection: sqlite3.Connection, slo: str, start: Minute, end: Minute, *, flow: str | None
) -> list[StageSum]:
    sql, parameters = _filtered(
        "SELECT hour, flow, stage, eligible_ms, eligible_n, bad_ms, bad_n FROM event_stages",
        slo,
        start,
        end,
        (("flow", flow),),
    )
    rows = connection.execute(sql + " ORDER BY hour, flow, stage", parameters)
    return [StageSum(*row) for row in rows]


def prune_events(connection: sqlite3.Connection, before: Minute) -> int:
    """Delete claim chunks of minutes before ``before`` and kept-event chunks of hours that
    ended by then; return how many events' records went (claimed ids plus kept events)."""
    claimed = connection.execute(
        "DELETE FROM event_claims WHERE minute < ? RETURNING count", (int(before),)
    ).fetchall()
    kept = connection.execute(
        "DELETE FROM kept_events WHERE hour <= ? RETURNING count", (int(before) - 60,)
    ).fetchall()
    return sum(int(row[0]) for row in chain(claimed, kept))


class EventsPart:
    """``EventRecords`` over SQLite."""

    _db: Access
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
        with self._db.reading("read event dimension counts") as connection:
            return dimension_counts(connection, slo, start, end, dimension=dimension, flow=flow)

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[StageSum]:
        """``slo``'s hourly stage sums of the hours starting in ``[start, end)``."""
        with self._db.reading("read event stage sums") as connection:
            return stage_sums(connection, slo, start, end, flow=flow)

    def prune_events(self, before: Minute) -> int:
        """Forget kept events and claimed ids of minutes before ``before``."""
        with self._db.writing("prune events") as connection:
            return prune_events(connection, before)
