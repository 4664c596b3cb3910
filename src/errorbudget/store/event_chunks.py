"""Voice-agent event chunks, for every backend: claimed-id chunks, kept-event chunks, rollups.

The tables (``event_claims``, ``kept_events``, ``event_dimensions``, ``event_stages``) have
the same columns and the same blob formats on SQLite and PostgreSQL; this module encodes,
decodes and decides, and a backend only reads and writes rows (``sqlite/events.py``,
``postgres/events_part.py``).

- A claim chunk (``event_claims.ids``) holds the ids one write claimed in one minute: their
  UTF-8 byte lengths (``count`` little-endian uint16) followed by their UTF-8 bytes. A
  claim reads the chunks of the minutes it touches and compares full ids (Arrow
  ``is_in``), so nothing rests on a hash (``plan_claims``).
- A kept-event chunk (``kept_events.events``) holds one SLO's bad and excluded events of
  one UTC hour and one write as an Arrow IPC stream, zstd-compressed from
  ``COMPRESS_FROM`` events on: their non-empty fields plus ``kept_series``,
  ``kept_verdict``, ``kept_exclusion`` (``kept_chunks``); read back filtered and ordered in
  Arrow, so only the page returned becomes Python objects (``select_kept``).

pyarrow is imported inside the functions that need it: opening a store must not pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt

from errorbudget.errors import StoreError
from errorbudget.event_records import (
    DIMENSION_COLUMNS,
    STAGE_COLUMNS,
    VERDICTS,
    KeptBatch,
    KeptEvent,
    Verdict,
)
from errorbudget.model import Minute
from errorbudget.records import SeriesInfo

if TYPE_CHECKING:
    import pyarrow as pa

MAX_ID_BYTES = 0xFFFF
"""A claimed id's UTF-8 length must fit the chunk's uint16 lengths."""

COMPACT_CHUNKS = 8
"""A minute holding more claim chunks than this after a write is rewritten as one chunk:
streaming writes (a request a second) add a chunk per request, and a claim reads every
chunk of its minutes, so without it a claim's cost grows with the writes before it."""

COMPRESS_FROM = 100
"""Kept-event chunks of at least this many events are zstd-compressed (a smaller chunk's
buffers are too small to gain, and zstd costs ~0.5 ms a chunk); a reader reads both."""

Chunk = tuple[int, int, bytes]
"""A row of ``event_claims`` (minute, count, ids) or of ``kept_events`` (hour, count,
events), as written."""

StoredChunks = Callable[[list[int]], Iterable[tuple[Any, Any, Any]]]
"""A backend's read of the claim chunks (minute, count, ids) of the minutes given."""


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


@dataclass(frozen=True)
class ClaimPlan:
    """What a claim writes: ``new`` (True where an (id, minute) is new), the minutes whose
    stored chunks it replaces (``rewritten``: delete them first) and the chunks to insert."""

    new: npt.NDArray[np.bool_]
    rewritten: list[int]
    chunks: list[Chunk]


def plan_claims(
    ids: Sequence[str] | Any, minutes: npt.ArrayLike, stored: StoredChunks
) -> ClaimPlan:
    """Claim the events (id, minute) not claimed before, against the chunks ``stored``
    reads (called once, with the minutes touched, inside the caller's write transaction).

    An (id, minute) repeated within ``ids`` is new only at its first occurrence (the same
    id at another minute is another event here; the event model refuses such a batch). New
    ids become one chunk per minute; a minute with ``COMPACT_CHUNKS`` chunks or more is
    rewritten as one.
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
        return ClaimPlan(new, [], [])
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
    chunks_of: dict[int, list[pa.StringArray]] = {}
    for minute, count, blob in stored(touched.tolist()):
        chunks_of.setdefault(int(minute), []).append(_decode_chunk(int(count), bytes(blob)))
    compact: dict[int, pa.StringArray] = {}
    for minute, chunks in chunks_of.items():
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
        old_ids = pa.concat_arrays(list(compact.values()))
        old_minutes = np.concatenate(
            [np.full(len(ids), minute, dtype=np.int64) for minute, ids in compact.items()]
        )
        id_array = cast("pa.StringArray", pa.concat_arrays([old_ids, id_array]))
        minute_array = np.concatenate([old_minutes, minute_array])
        fresh = np.concatenate([np.arange(len(old_ids), dtype=np.int64), fresh + len(old_ids)])
    return ClaimPlan(new, sorted(compact), _claim_chunks(id_array, minute_array, fresh))


def _claim_chunks(
    ids: pa.StringArray, minutes: npt.NDArray[np.int64], rows: npt.NDArray[np.int64]
) -> list[Chunk]:
    """One ``event_claims`` row (minute, count, ids) per minute of the claimed ``rows``."""
    import pyarrow as pa

    if not rows.size:
        return []
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
    return [
        (
            int(chunk_minutes[start]),
            int(end - start),
            lengths[start:end].tobytes() + data[offsets[start] : offsets[end]].tobytes(),
        )
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


# --- kept events -----------------------------------------------------------------------------


_SERIES, _VERDICT, _EXCLUSION = "kept_series", "kept_verdict", "kept_exclusion"
"""The columns a kept chunk adds to the events' own fields."""


def kept_series(rows: KeptBatch) -> list[int]:
    """The series ids (unique, sorted) of a batch to keep, once its verdicts and ids are
    checked; the backend then checks that they are stored series."""
    unknown = set(rows.verdicts) - set(VERDICTS)
    if unknown:
        raise StoreError(f"a kept event's verdict must be bad or excluded, not {sorted(unknown)}")
    if "id" not in rows.events.column_names or rows.events.column("id").null_count:
        raise StoreError("every kept event needs its id")
    series = np.unique(np.asarray(rows.series, dtype=np.int64))
    return [int(series_id) for series_id in series.tolist()]


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


def _ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    compression = "zstd" if table.num_rows >= COMPRESS_FROM else None
    options = pa.ipc.IpcWriteOptions(compression=compression)
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def kept_chunks(rows: KeptBatch) -> list[Chunk]:
    """The ``kept_events`` rows (hour, count, events) of a checked batch (``kept_series``):
    one chunk per UTC hour."""
    import pyarrow as pa

    if not len(rows):
        return []
    series = np.asarray(rows.series, dtype=np.int64)
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
    return [
        (int(hours[start]), int(end - start), _ipc(events.slice(start, end - start)))
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True)
    ]


def check_verdict(verdict: Verdict | None) -> None:
    if verdict is not None and verdict not in VERDICTS:
        raise StoreError(f"a verdict is bad or excluded, not {verdict!r}")


def matching_series(
    stored: Iterable[SeriesInfo], segment: Mapping[str, str]
) -> dict[int, dict[str, str]]:
    """The ``stored`` series (id → segment) whose segment has every pair of ``segment``."""
    found: dict[int, dict[str, str]] = {}
    for info in stored:
        pairs = dict(info.segment)
        if all(pairs.get(key) == value for key, value in segment.items()):
            found[info.id] = pairs
    return found


def first_hour(start: Minute) -> int:
    """The hour of the chunks that may hold ``start``'s events."""
    return int(start) - int(start) % 60


def select_kept(
    slo: str,
    chunks: Iterable[tuple[Any, Any]],
    start: Minute,
    end: Minute,
    *,
    verdict: Verdict | None,
    series: Mapping[int, Mapping[str, str]],
    by_segment: bool,
    limit: int,
) -> list[KeptEvent]:
    """The kept events of ``chunks`` ((hour, events) rows of ``slo``, newest hour first)
    in ``[start, end)`` with ``verdict`` (if given) and, ``by_segment``, of ``series``;
    newest first, at most ``limit``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    wanted = pa.array(sorted(series), pa.int64()) if by_segment else None
    tables: list[pa.Table] = []
    matched, last_hour = 0, None
    for hour, blob in chunks:  # newest hours first: stop once older hours cannot make the cut
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
                segment=dict(series.get(series_id, {})),
                minute=int(event["time"]) // 60_000,
                verdict=cast(Verdict, kept_verdict),
                exclusion=exclusion,
                event=event,
            )
        )
    return result


# --- rollups ---------------------------------------------------------------------------------


def rollup_columns(rows: pa.Table, stages: bool) -> list[list[Any]]:
    """The columns of rollup ``rows`` (``STAGE_COLUMNS`` if ``stages``, else
    ``DIMENSION_COLUMNS``) as lists, every field present."""
    names = STAGE_COLUMNS if stages else DIMENSION_COLUMNS
    missing = [name for name in names if name not in rows.column_names]
    if missing:
        raise StoreError(f"the rollup rows lack the column(s) {', '.join(missing)}")
    columns = [rows.column(name).to_pylist() for name in names]
    if any(value is None for column in columns for value in column):
        raise StoreError("a rollup row has an empty field")
    return columns


def rollup_where(
    slo: str, start: Minute, end: Minute, **filters: str | None
) -> tuple[str, list[Any]]:
    """The ``WHERE`` clause (``?`` placeholders) and parameters of a rollup read: ``slo``'s
    hours in ``[start, end)`` and the filters given (None: all)."""
    conditions = ["slo = ?", "hour >= ?", "hour < ?"]
    parameters: list[Any] = [slo, int(start), int(end)]
    for column, value in filters.items():
        if value is not None:
            conditions.append(f"{column} = ?")
            parameters.append(value)
    return " WHERE " + " AND ".join(conditions), parameters
