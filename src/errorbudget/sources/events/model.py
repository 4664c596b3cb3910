"""The voice-agent event model (issue #12): calls, turns, tasks, escalations and synthetic
checks, as one wide Arrow table (docs/sources/events.md has the table of every field).

Events arrive as NDJSON lines, JSON array items (``parse_records``) or Parquet rows, and
every path ends in :func:`validate_columns`: column-wise checks with ``pyarrow.compute``,
so the happy path never loops over events in Python; only once a column check failed are
its bad rows located, each as an :class:`EventProblem` with the line (NDJSON), row
(Parquet) or array index (JSON), 1-based. A batch with any bad event raises
:class:`EventParseError` listing them: nothing of it is kept (all or nothing).

Normalisation, so that rules and the fold see one shape:

- ``time`` (RFC 3339 with an offset, or integer epoch milliseconds) becomes
  ``timestamp[ms, UTC]``; a naive time is refused.
- absent and ``null`` mean the same; fields with a default get it (``test``, ``abuse``,
  ``external_outage``: false; a call's ``route_correct``: true; a turn's ``tool_calls``: 0;
  a task's ``agent_caused``: ``outcome != "completed"``); the other optional fields stay
  null (a dimension's null is the segment value ``"unknown"`` in the fold).
- an event is known by its ``id`` and its minute: one repeated inside a batch at the same
  minute is a re-send, its first event kept (how many were dropped is
  :func:`batch_duplicates` of the table; re-sends across batches are the store's business:
  it claims (id, minute)); the same id at another minute in one batch is a located problem
  (``id X repeated with another time (line N)``) that rejects the batch.
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from errorbudget.errors import IngestError
from errorbudget.limits import LATEST
from errorbudget.sources.events.fields import (
    _FIELD_LIST,
    DIMENSIONS,
    EVENT_TYPES,
    FIELDS,
    MAX_PROBLEMS,
    MAX_TEXT,
    MAX_TIME_MS,
    FieldSpec,
)
from errorbudget.yamlsource import did_you_mean

EVENT_SCHEMA: pa.Schema = pa.schema(
    [pa.field(spec.name, spec.arrow_type, nullable=True) for spec in _FIELD_LIST]
    + [pa.field("line", pa.int64(), nullable=False)]
)
"""The one wide table every parser returns: every field, plus ``line`` (where the event
came from: 1-based line, row or array index)."""

DUPLICATES_KEY = b"errorbudget.duplicate_ids"


def batch_duplicates(table: pa.Table) -> int:
    """How many events a parser dropped because their id repeated one earlier in the same
    batch (the first is kept)."""
    metadata = table.schema.metadata or {}
    return int(metadata.get(DUPLICATES_KEY, b"0"))


@dataclass(frozen=True)
class EventProblem:
    """One bad event: where it came from (1-based line, row or array index; 0 for the
    whole input), the field at fault (None for the event as a whole), and why."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "input"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class EventParseError(IngestError):
    """Events that cannot be used: ``problems`` lists the first :data:`MAX_PROBLEMS`
    (by line), ``problem_count`` counts all; nothing of the batch was kept."""

    problems: list[EventProblem]  # type: ignore[assignment]

    def __init__(self, problems: list[EventProblem], problem_count: int | None = None) -> None:
        count = len(problems) if problem_count is None else problem_count
        first = str(problems[0]) if problems else "bad events"
        more = f" (and {count - 1:,} more)" if count > 1 else ""
        super().__init__(f"bad events, none kept: {first}{more}")
        self.problems = problems
        self.problem_count = count


class _Problems:
    """Problems found so far: the first ``limit`` of each check, and the total (``limit``
    None: every one, for a caller that must locate every bad event in one pass)."""

    def __init__(self, limit: int | None = MAX_PROBLEMS) -> None:
        self.found: list[EventProblem] = []
        self.count = 0
        self.limit = limit

    def __bool__(self) -> bool:
        return self.count > 0

    def add(self, line: int, field: str | None, message: str) -> None:
        self.count += 1
        if self.limit is None or len(self.found) < self.limit * 4:
            self.found.append(EventProblem(line, field, message))

    def rows(
        self,
        rows: npt.NDArray[np.intp],
        lines: npt.NDArray[np.int64],
        field: str | None,
        message: str | Callable[[Any], str],
        values: pa.Array | Sequence[Any] | None = None,
    ) -> None:
        """A problem for each of ``rows`` (indices): ``message``, or ``message(value)`` of
        the row's value in ``values``."""
        self.count += int(rows.size)
        for row in (rows if self.limit is None else rows[: self.limit]).tolist():
            if callable(message):
                value = values[row] if values is not None else None
                text = message(value.as_py() if isinstance(value, pa.Scalar) else value)
            else:
                text = message
            self.found.append(EventProblem(int(lines[row]), field, text))

    def error(self) -> EventParseError:
        ordered = sorted(self.found, key=lambda p: p.line)
        return EventParseError(ordered[: self.limit], self.count)


def _where(mask: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.intp]:
    """Row indices where a boolean array is true (null counts as false)."""
    filled = pc.fill_null(mask, False)
    return np.flatnonzero(np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool))


def _any(mask: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.fill_null(mask, False)).as_py())


# --- column coercion ----------------------------------------------------------------------

_TYPE_WORDS = {
    "str": "a string",
    "url": "an http(s) URL string",
    "bool": "true or false",
    "int": "an integer",
    "float": "a number",
}


def _arrow_word(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "a boolean"
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return "a number"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "a string"
    if pa.types.is_struct(kind) or pa.types.is_map(kind):
        return "an object"
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return "a list"
    if pa.types.is_timestamp(kind):
        return "a timestamp"
    return str(kind)


def _python_word(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _is_stringlike(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _coerce(
    spec: FieldSpec,
    column: pa.Array,
    lines: npt.NDArray[np.int64],
    problems: _Problems,
) -> pa.Array | None:
    """``column`` (any Arrow type) as ``spec``'s type, or None with its problems added."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_null(kind):
        return pa.nulls(len(column), spec.arrow_type)
    if spec.kind == "time":
        return _coerce_time(column, lines, problems)
    expected = spec.arrow_type
    accepted = {
        "str": _is_stringlike(kind),
        "url": _is_stringlike(kind),
        "bool": pa.types.is_boolean(kind),
        "int": pa.types.is_integer(kind) or pa.types.is_floating(kind),
        "float": pa.types.is_integer(kind) or pa.types.is_floating(kind),
    }[spec.kind]
    if not accepted:
        word = f"must be {_TYPE_WORDS[spec.kind]} (got {_arrow_word(kind)})"
        problems.rows(_where(pc.is_valid(column)), lines, spec.name, word)
        return None
    if spec.kind == "int" and pa.types.is_floating(kind):
        fractional = pc.or_(pc.not_equal(pc.floor(column), column), pc.is_nan(column))
        too_big = pc.greater(pc.abs(column), 2.0**62)
        bad = pc.or_(fractional, too_big)
        if _any(bad):
            problems.rows(_where(bad), lines, spec.name, "must be an integer")
            return None
    if spec.kind == "int" and pa.types.is_uint64(kind):
        too_big = pc.greater(column, 2**63 - 1)
        if _any(too_big):
            problems.rows(_where(too_big), lines, spec.name, "is too large")
            return None
    if spec.kind == "float" and pa.types.is_floating(kind):
        bad = pc.invert(pc.is_finite(column))
        if _any(bad):
            problems.rows(_where(bad), lines, spec.name, "must be a finite number")
            return None
    return column.cast(expected) if kind != expected else column


_LAST_YEAR = LATEST.year - 1

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?$"
)


def _time_text_problem(text: str) -> tuple[int | None, str | None]:
    """Epoch ms of an RFC 3339 time, or a reason it is not one."""
    match = _RFC3339.match(text)
    if match is None:
        return None, f"{text[:60]!r} is not an RFC 3339 time (2026-12-01T10:00:00.250Z)"
    if match.group(8) is None:
        return None, f"{text[:60]!r} has no UTC offset: add Z or ±hh:mm (a naive time is refused)"
    fraction = (match.group(7) or "")[:6]
    normal = (
        f"{match.group(1)}-{match.group(2)}-{match.group(3)}T{match.group(4)}:"
        f"{match.group(5)}:{match.group(6)}{'.' + fraction if fraction else ''}"
        f"{'+00:00' if match.group(8) in 'Zz' else match.group(8)}"
    )
    try:
        moment = datetime.fromisoformat(normal)
        millis = math.floor(moment.timestamp() * 1000)
    except (ValueError, OverflowError) as exc:
        return None, f"{text[:60]!r} is not a valid time ({exc})"
    if not 0 <= millis <= MAX_TIME_MS:
        return None, f"{text[:60]!r} is before 1970 or after {_LAST_YEAR}"
    return millis, None


def _coerce_time(
    column: pa.Array, lines: npt.NDArray[np.int64], problems: _Problems
) -> pa.Array | None:
    """``column`` as ``timestamp[ms, UTC]`` within [1970, ``limits.LATEST``), or None with
    every bad time located."""
    coerced = _coerce_time_any(column, lines, problems)
    if coerced is None or coerced.null_count == len(coerced):
        return coerced
    millis = coerced.cast(pa.int64())
    low, high = pc.min_max(millis).values()
    if low.as_py() >= 0 and high.as_py() <= MAX_TIME_MS:
        return coerced
    out = pc.or_(pc.less(millis, 0), pc.greater(millis, MAX_TIME_MS))
    problems.rows(
        _where(out),
        lines,
        "time",
        lambda value: f"{value} is before 1970 or after {_LAST_YEAR}",
        coerced,
    )
    return None


def _coerce_time_any(
    column: pa.Array, lines: npt.NDArray[np.int64], problems: _Problems
) -> pa.Array | None:
    kind = column.type
    utc_ms = pa.timestamp("ms", tz="UTC")
    if pa.types.is_null(kind):
        return pa.nulls(len(column), utc_ms)
    if _is_stringlike(kind):
        try:
            return column.cast(utc_ms)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # sub-millisecond digits, lower-case t/z, a bad or naive time: row by row
        texts = column.to_pylist()
        before = problems.count
        millis: list[int | None] = []
        for row, text in enumerate(texts):
            if text is None:
                millis.append(None)
                continue
            value, reason = _time_text_problem(text)
            if reason is not None:
                problems.add(int(lines[row]), "time", reason)
            millis.append(value)
        if problems.count > before:
            return None
        return pa.array(millis, pa.int64()).cast(utc_ms)
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            problems.rows(
                _where(pc.is_valid(column)),
                lines,
                "time",
                "a timestamp without a time zone (naive) is refused: store it in UTC",
            )
            return None
        return pc.floor_temporal(column, unit="millisecond").cast(utc_ms)
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        if pa.types.is_floating(kind):
            fractional = pc.or_(pc.not_equal(pc.floor(column), column), pc.is_nan(column))
            if _any(fractional):
                problems.rows(
                    _where(fractional), lines, "time", "epoch milliseconds must be an integer"
                )
                return None
        out = pc.or_(pc.less(column, 0), pc.greater(column, MAX_TIME_MS))
        if _any(out):
            problems.rows(
                _where(out),
                lines,
                "time",
                lambda value: f"epoch milliseconds {value} are before 1970 or after {_LAST_YEAR}",
                column,
            )
            return None
        return column.cast(pa.int64()).cast(utc_ms)
    word = f"must be an RFC 3339 string or epoch milliseconds (got {_arrow_word(kind)})"
    problems.rows(_where(pc.is_valid(column)), lines, "time", word)
    return None


# --- validation -----------------------------------------------------------------------------


def validate_columns(
    columns: Mapping[str, pa.Array | pa.ChunkedArray],
    lines: npt.NDArray[np.int64],
    problems: _Problems | None = None,
    *,
    failed: set[str] | None = None,
) -> pa.Table:
    """The event table of ``columns`` (any Arrow types, known fields only), or
    :class:`EventParseError` naming every bad event. Column-wise: a loop over rows runs only
    to word the problems of a check that failed."""
    problems = _Problems() if problems is None else problems
    rows = int(lines.size)
    typed: dict[str, pa.Array] = {}
    failed = set(failed or ())  # columns of the wrong JSON type: not also called missing
    for name, column in columns.items():
        spec = FIELDS[name]
        coerced = _coerce(spec, column, lines, problems)  # chunks stay: no copy
        if coerced is None:
            failed.add(name)
        else:
            typed[name] = coerced
    for spec in FIELDS.values():
        if spec.name not in typed:
            typed[spec.name] = pa.nulls(rows, spec.arrow_type)
    event_type = typed["type"]
    _check_values(typed, lines, problems)
    type_codes = _type_codes(event_type)
    of_type: dict[str, npt.NDArray[np.bool_]] = {
        t: type_codes == i for i, t in enumerate(EVENT_TYPES)
    }
    known = type_codes >= 0
    for spec in FIELDS.values():
        column = typed[spec.name]
        valid = _validity(column)
        if not spec.common:
            allowed = np.zeros(rows, dtype=np.bool_)
            for event in spec.types:
                allowed |= of_type[event]
            foreign = np.flatnonzero(valid & ~allowed & known)
            if foreign.size:
                owners = "/".join(sorted(spec.types))
                message = functools.partial(_foreign_message, owners=owners)
                problems.rows(foreign, lines, spec.name, message, event_type)
        if spec.name in failed:
            continue
        for required_type in sorted(spec.required):
            missing = np.flatnonzero(~valid & of_type[required_type])
            if missing.size:
                what = "event" if spec.common else f"{required_type} event"
                problems.rows(missing, lines, spec.name, f"is required in every {what}")
    if not failed & {"id", "time"}:
        _check_repeated_ids(typed["id"], typed["time"], lines, problems)
    if problems:
        raise problems.error()
    typed = _fill_defaults(typed, of_type)
    arrays = [typed[spec.name] for spec in FIELDS.values()]
    table = pa.Table.from_arrays([*arrays, pa.array(lines, pa.int64())], schema=EVENT_SCHEMA)
    return _drop_duplicate_ids(table)


def _validity(column: pa.Array) -> npt.NDArray[np.bool_]:
    """Where ``column`` is not null, as numpy."""
    if column.null_count == 0:
        return np.ones(len(column), dtype=np.bool_)
    if column.null_count == len(column):
        return np.zeros(len(column), dtype=np.bool_)
    return np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)


HIGH_CARDINALITY = frozenset({"id", "call_id", "trace_id", "span_id"})
"""Text fields checked value by value; the others (dimensions, enums, links) are checked on
their distinct values first, and row by row only when one of those is bad."""


def _check_values(
    typed: Mapping[str, pa.Array], lines: npt.NDArray[np.int64], problems: _Problems
) -> None:
    for spec in FIELDS.values():
        column = typed[spec.name]
        if column.null_count == len(column):
            continue
        if spec.kind in ("str", "url") and spec.name not in HIGH_CARDINALITY:
            distinct = pc.unique(column)
            probe = _Problems()
            _check_column(spec, distinct, np.zeros(len(distinct), dtype=np.int64), probe)
            if not probe:
                continue
        elif _surely_fine(spec, column):
            continue
        _check_column(spec, column, lines, problems)


def _surely_fine(spec: FieldSpec, column: pa.Array) -> bool:
    """One aggregate says a column passes (the row-wise checks then need not run)."""
    if spec.kind in ("str", "url"):
        shortest, longest = pc.min_max(pc.utf8_length(column)).values()
        return bool(shortest.as_py() >= 1 and longest.as_py() <= MAX_TEXT)
    if spec.minimum is not None or spec.maximum is not None:
        low, high = pc.min_max(column).values()
        above = spec.minimum is None or low.as_py() >= spec.minimum
        below = spec.maximum is None or high.as_py() <= spec.maximum
        return bool(above and below)
    return spec.choices is None


def _check_column(
    spec: FieldSpec, column: pa.Array, lines: npt.NDArray[np.int64], problems: _Problems
) -> None:
    if spec.choices is not None:
        bad = pc.invert(pc.is_in(column, pa.array(spec.choices)))
        if _any(pc.and_(bad, pc.is_valid(column))):
            problems.rows(
                _where(pc.and_(bad, pc.is_valid(column))),
                lines,
                spec.name,
                functools.partial(_choice_message, choices=spec.choices),
                column,
            )
    if spec.minimum is not None:
        below = pc.less(column, spec.minimum)
        if _any(below):
            problems.rows(
                _where(below),
                lines,
                spec.name,
                functools.partial(_minimum_message, spec.minimum),
                column,
            )
    if spec.maximum is not None:
        above = pc.greater(column, spec.maximum)
        if _any(above):
            problems.rows(
                _where(above),
                lines,
                spec.name,
                functools.partial(_maximum_message, spec.maximum),
                column,
            )
    if spec.kind in ("str", "url"):
        length = pc.utf8_length(column)
        bad_length = pc.or_(pc.less(length, 1), pc.greater(length, MAX_TEXT))
        if _any(bad_length):
            problems.rows(
                _where(bad_length), lines, spec.name, f"must be 1 to {MAX_TEXT} characters"
            )
    if spec.kind == "url":
        not_http = pc.invert(pc.match_substring_regex(column, r"^https?://[^\s/?#]+\S*$"))
        if _any(not_http):
            problems.rows(_where(not_http), lines, spec.name, "must be an http(s) URL")
    if spec.name in DIMENSIONS:
        control = pc.match_substring_regex(column, r"[\x00-\x1f\x7f]")
        if _any(control):
            problems.rows(
                _where(control),
                lines,
                spec.name,
                "must be one line of text (no control characters)",
            )


def _choice_message(value: object, choices: Sequence[str]) -> str:
    text = str(value)
    return f"{text[:60]!r} is not one of {', '.join(choices)}{did_you_mean(text, choices)}"


def _minimum_message(minimum: float, value: object) -> str:
    return f"must be ≥ {minimum:g} (got {value})"


def _maximum_message(maximum: float, value: object) -> str:
    return f"must be ≤ {maximum:,.0f} (one day; got {value})"


def _foreign_message(event_type: object, owners: str) -> str:
    return f"is not a field of {event_type} events (it belongs to {owners})"


def _type_codes(event_type: pa.Array) -> npt.NDArray[np.int8]:
    """The index of each row's type in EVENT_TYPES (types are already checked)."""
    codes = pc.index_in(event_type, pa.array(EVENT_TYPES))
    return np.asarray(pc.fill_null(codes, -1).to_numpy(zero_copy_only=False), dtype=np.int8)


def _fill_defaults(
    typed: dict[str, pa.Array], of_type: Mapping[str, npt.NDArray[np.bool_]]
) -> dict[str, pa.Array]:
    for spec in FIELDS.values():
        if spec.default is None:
            continue
        column = typed[spec.name]
        if spec.common:
            typed[spec.name] = pc.fill_null(column, spec.default)
        elif column.null_count:
            (event,) = spec.types
            fill = pa.array(of_type[event] & ~_validity(column))
            typed[spec.name] = pc.if_else(fill, pa.scalar(spec.default, spec.arrow_type), column)
    agent_caused = typed["agent_caused"]
    if agent_caused.null_count:
        fill = pa.array(of_type["task"] & ~_validity(agent_caused))
        derived = pc.not_equal(typed["outcome"], "completed")
        typed["agent_caused"] = pc.if_else(fill, derived, agent_caused)
    return typed


def _check_repeated_ids(
    ids: pa.Array, times: pa.Array, lines: npt.NDArray[np.int64], problems: _Problems
) -> None:
    """An event is (id, minute): an id repeated at its first event's minute is a re-send
    (dropped), at another minute a located problem (which of the two counts could not be
    told)."""
    if ids.null_count or times.null_count:
        return  # already located as missing
    if isinstance(ids, pa.ChunkedArray):  # one dictionary for all the chunks
        ids = ids.combine_chunks()
    encoded = pc.dictionary_encode(ids)
    if len(encoded.dictionary) == len(ids):
        return
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    millis = np.asarray(times.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    minutes = np.floor_divide(millis, 60_000)
    _, first = np.unique(codes, return_index=True)
    first_of_row = first[codes]
    other = np.flatnonzero(minutes != minutes[first_of_row])
    problems.count += int(other.size)
    for row in other[: problems.limit].tolist():
        text = str(ids[row].as_py())[:60]
        first_line = int(lines[first_of_row[row]])
        message = f"id {text!r} repeated with another time (line {first_line})"
        problems.found.append(EventProblem(int(lines[row]), "id", message))


def _drop_duplicate_ids(table: pa.Table) -> pa.Table:
    ids = table.column("id")
    if len(pc.unique(ids)) == table.num_rows:
        return table
    numbered = pa.table({"id": ids, "row": pa.array(np.arange(table.num_rows, dtype=np.int64))})
    first = numbered.group_by("id", use_threads=False).aggregate([("row", "min")])
    keep = np.sort(first.column("row_min").to_numpy())
    dropped = table.num_rows - int(keep.size)
    kept = table.take(pa.array(keep))
    return kept.replace_schema_metadata({DUPLICATES_KEY: str(dropped).encode()})


def _empty() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


def _unknown_message(name: str) -> str:
    return f"is not an event field{did_you_mean(name, list(FIELDS))}"


# --- parsers ---------------------------------------------------------------------------------


def parse_records(
    records: Sequence[Mapping[str, Any]],
    *,
    first_line: int = 1,
    max_problems: int | None = MAX_PROBLEMS,
) -> pa.Table:
    """Events given as mappings (a JSON array's items; ``line`` = array index +
    ``first_line``). Raises :class:`EventParseError` listing every bad event (the first
    ``max_problems`` problems; None: all of them, so that one pass locates every bad
    event, as the OTLP receiver needs to reject spans one by one)."""
    lines = np.arange(first_line, first_line + len(records), dtype=np.int64)
    return _records_table(records, lines, _Problems(max_problems))


def _records_table(
    records: Sequence[Any], lines: npt.NDArray[np.int64], problems: _Problems | None = None
) -> pa.Table:
    if not records:
        return _empty()
    problems = _Problems() if problems is None else problems
    seen: set[str] = set()
    for row, record in enumerate(records):
        if not isinstance(record, Mapping):
            word = _python_word(record)
            problems.add(int(lines[row]), None, f"an event is a JSON object (got {word})")
            continue
        if not seen.issuperset(record):
            seen.update(record)
    if problems:  # an array of other things than events: nothing more to say
        raise problems.error()
    if not seen.issubset(FIELDS):
        _locate_unknown(records, lines, problems)
    columns: dict[str, pa.Array] = {}
    failed: set[str] = set()
    for name in FIELDS:
        if name in seen:
            values = [record.get(name) for record in records]
            column = _python_column(FIELDS[name], values, lines, problems)
            if column is None:
                failed.add(name)
            else:
                columns[name] = column
    return validate_columns(columns, lines, problems, failed=failed)


def _locate_unknown(
    records: Sequence[Mapping[str, Any]], lines: npt.NDArray[np.int64], problems: _Problems
) -> None:
    """Every unknown field, with the rows that carry it: one pass over the records (a
    pass per distinct name would be quadratic in a batch of distinct stray keys)."""
    rows_of: dict[str, list[int]] = {}
    for row, record in enumerate(records):
        for key in record:
            if key not in FIELDS:
                rows_of.setdefault(str(key), []).append(row)
    for name in sorted(rows_of):
        problems.rows(np.asarray(rows_of[name], dtype=np.intp), lines, name, _unknown_message(name))


def _python_column(
    spec: FieldSpec, values: list[Any], lines: npt.NDArray[np.int64], problems: _Problems
) -> pa.Array | None:
    """Python values as one Arrow array of a single type, or None with each mismatching
    value located (mixed types, booleans given for numbers, nested values)."""
    if spec.kind == "time":
        if all(v is None or isinstance(v, str) for v in values):
            return pa.array(values, pa.string())
        numbers = [None if isinstance(v, str) else v for v in values]
        if all(type(v) in (int, float) or v is None for v in numbers):
            texts = [v if isinstance(v, str) else None for v in values]
            millis_numbers = _coerce_time(_python_array(numbers), lines, problems)
            millis_texts = _coerce_time(pa.array(texts, pa.string()), lines, problems)
            if millis_numbers is None or millis_texts is None:
                return None
            return pc.coalesce(millis_texts, millis_numbers)
    expected: tuple[type, ...] = {
        "str": (str,),
        "url": (str,),
        "bool": (bool,),
        "int": (int, float),
        "float": (int, float),
        "time": (str, int, float),
    }[spec.kind]
    bad = [
        row
        for row, v in enumerate(values)
        if v is not None
        and (not isinstance(v, expected) or (isinstance(v, bool) and spec.kind != "bool"))
    ]
    if bad:
        words = "an RFC 3339 string or epoch milliseconds" if spec.kind == "time" else None
        want = words or _TYPE_WORDS[spec.kind]
        problems.rows(
            np.asarray(bad, dtype=np.intp),
            lines,
            spec.name,
            lambda value: f"must be {want} (got {_python_word(value)})",
            values,
        )
        return None
    return _python_array(values)


def _python_array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # ints and floats mixed with ints beyond int64: as floats, checked as numbers later
        return pa.array([None if v is None else float(v) for v in values], pa.float64())


def parse_ndjson(data: bytes, *, first_line: int = 1) -> pa.Table:
    """Events as NDJSON (one JSON object a line; blank lines skipped; ``line`` = the line
    number, counting from ``first_line``). Read by Arrow's JSON reader in one pass, with the
    event schema (``time`` a string or an integer, as the first event's); a file it cannot
    read so (a syntax error, a field of another JSON type than the schema's, mixed time
    forms, an unknown field: Arrow stops at the first one) is read again line by line, to
    say where. Raises
    :class:`EventParseError` listing every bad event."""
    if _NOT_BLANK.search(data) is None:
        return _empty()
    table = _read_json_columns(data)
    if table is not None and all(name in FIELDS for name in table.column_names):
        lines = _line_numbers(data, table.num_rows, first_line)
        if lines is not None:
            columns = {name: table.column(name) for name in table.column_names}
            return validate_columns(columns, lines, _Problems())
    return _parse_ndjson_lines(data, first_line)


_NOT_BLANK = re.compile(rb"[^ \t\r\n]")
_TIME_IS_NUMBER = re.compile(rb'"time"\s*:\s*-?[0-9]')
_JSON_SCHEMAS = {
    numeric: pa.schema(
        [
            pa.field(
                s.name,
                pa.int64()
                if s.kind == "time" and numeric
                else pa.string()
                if s.kind == "time"
                else s.arrow_type,
            )
            for s in _FIELD_LIST
        ]
    )
    for numeric in (False, True)
}


def _read_json_columns(data: bytes) -> pa.Table | None:
    first = data[: data.find(b"\n", data.find(b"{")) if b"\n" in data else len(data)]
    schema = _JSON_SCHEMAS[_TIME_IS_NUMBER.search(first) is not None]
    block = max(1 << 20, min(len(data) // 2 + 1, 1 << 25))
    options = pajson.ReadOptions(use_threads=True, block_size=block)
    parse = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error")
    try:
        table = pajson.read_json(io.BytesIO(data), read_options=options, parse_options=parse)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    # explicit columns that no line has are all null: drop them (validation adds them back)
    return table.select(
        [
            n
            for n in table.column_names
            if table.column(n).null_count < len(table) or n not in FIELDS
        ]
    )


_WHITESPACE = b" \t\r\n"


def _line_numbers(data: bytes, rows: int, first_line: int) -> npt.NDArray[np.int64] | None:
    """The line of each row Arrow read (it skips blank lines), or None when they cannot be
    matched (then the line-by-line reader runs)."""
    start, end = 0, len(data)
    while start < end and data[start] in _WHITESPACE:
        start += 1
    while end > start and data[end - 1] in _WHITESPACE:
        end -= 1
    lines = data.count(b"\n", start, end) + 1
    if lines == rows:  # no blank line between events: row i is line i
        first = first_line + data.count(b"\n", 0, start)
        return np.arange(first, first + rows, dtype=np.int64)
    numbers = [first_line + i for i, text in enumerate(data.split(b"\n")) if text.strip()]
    return np.asarray(numbers, dtype=np.int64) if len(numbers) == rows else None


def _parse_ndjson_lines(data: bytes, first_line: int) -> pa.Table:
    problems = _Problems()
    records: list[Any] = []
    record_lines: list[int] = []
    for number, text in enumerate(data.split(b"\n"), start=first_line):
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            problems.add(number, None, f"not JSON: {exc}")
            continue
        if not isinstance(value, dict):
            problems.add(number, None, f"an event is a JSON object (got {_python_word(value)})")
            continue
        records.append(value)
        record_lines.append(number)
    try:
        table = _records_table(records, np.asarray(record_lines, dtype=np.int64))
    except EventParseError as exc:
        for problem in exc.problems:
            problems.found.append(problem)
        problems.count += exc.problem_count
    if problems:
        raise problems.error()
    return table


def parse_parquet(path: Path | BinaryIO) -> pa.Table:
    """Events as a Parquet file: columns named as the fields (missing optional columns
    allowed), ``time`` a time-zoned timestamp or int64 epoch ms; ``line`` = row number
    (1-based). Raises :class:`EventParseError` listing every bad event."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as exc:
        raise EventParseError(
            [EventProblem(0, None, f"cannot read Parquet file {path}: {exc}")]
        ) from exc
    problems = _Problems()
    for name in table.column_names:
        if name not in FIELDS:
            problems.add(0, name, f"column {_unknown_message(name)}")
    if problems:
        raise problems.error()
    lines = np.arange(1, table.num_rows + 1, dtype=np.int64)
    if table.num_rows == 0:
        return _empty()
    columns = {name: table.column(name) for name in table.column_names}
    return validate_columns(columns, lines, problems)
