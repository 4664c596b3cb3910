"""One parsed chunk of a count file (``Batch``), where its rows are, and the slow parsers.

Arrow parses the fast path (see ``reader``). When it refuses a chunk, the standard
library reads it line by line here, so that every row — even one that cannot be parsed —
gets its physical line number and a reason. ``row_lines`` maps Arrow's rows back to lines
(blank lines skipped, quoted newlines continued), only for batches with problems.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

Format = Literal["csv", "ndjson"]
Int64Array = npt.NDArray[np.int64]

ARROW_BLOCK_BYTES = 4 << 20
"""Arrow splits a chunk into blocks of this size and parses them in parallel."""

_NEWLINE, _QUOTE = 10, 34
_WHITESPACE = np.array([9, 10, 13, 32], dtype=np.uint8)


@dataclass
class Batch:
    """The rows of one chunk: ``table`` has one column per wanted column present.

    ``row_errors`` maps a row the parser could not read (ragged CSV row, invalid JSON) to
    why; such rows are all-null in ``table``.
    """

    table: pa.Table
    data: bytes
    first_line: int
    bytes_done: int
    fmt: Format
    header: tuple[str, ...]
    row_errors: dict[int, str] = field(default_factory=dict)
    _lines: Int64Array | None = None
    _texts: list[list[str]] | None = None

    @property
    def num_rows(self) -> int:
        return int(self.table.num_rows)

    def lines(self) -> Int64Array:
        """The physical (1-based) line on which each row starts."""
        if self._lines is None:
            self._lines = row_lines(self.data, self.first_line, self.fmt, self.num_rows)
        return self._lines

    def original_fields(self, rows: Sequence[int]) -> list[list[str]]:
        """The text of ``rows`` as written: CSV fields by header, or the NDJSON line."""
        if self.fmt == "ndjson":
            starts = line_starts(self.data)
            lines = self.lines()
            out = []
            for row in rows:
                start = int(starts[int(lines[row]) - self.first_line])
                end = self.data.find(b"\n", start)
                text = self.data[start : end if end >= 0 else len(self.data)]
                out.append([text.decode("utf-8", errors="replace").rstrip("\r")])
            return out
        if self._texts is None:
            self._texts = csv_texts(self)
        return [self._texts[row] for row in rows]


def line_starts(data: bytes) -> Int64Array:
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = np.flatnonzero(buffer == _NEWLINE) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), starts.astype(np.int64)))
    return starts[starts < len(data)] if len(data) else starts[:0]


def row_lines(data: bytes, first_line: int, fmt: Format, num_rows: int) -> Int64Array:
    """Line of each row, mirroring Arrow: blank lines are skipped, quoted newlines continue."""
    line_count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if line_count == num_rows and (fmt == "ndjson" or data.find(b'"') < 0):
        return first_line + np.arange(num_rows, dtype=np.int64)  # one row per line
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = line_starts(data)
    ends = np.append(starts[1:] - 1, len(data) - data.endswith(b"\n")).astype(np.int64)
    lengths = ends - starts
    if fmt == "ndjson":
        visible = np.flatnonzero(~np.isin(buffer, _WHITESPACE))
        # a line holds a row when some non-blank byte falls in [start, end)
        row_start = np.searchsorted(visible, ends) > np.searchsorted(visible, starts)
    else:
        trailing_cr = (lengths > 0) & (buffer[np.maximum(ends - 1, 0)] == 13)
        quotes = np.flatnonzero(buffer == _QUOTE)
        outside = np.searchsorted(quotes, starts) % 2 == 0
        row_start = outside & (lengths - trailing_cr > 0)
    lines = first_line + np.flatnonzero(row_start).astype(np.int64)
    if lines.size != num_rows and fmt == "csv":  # e.g. lone CR line ends: ask the csv module
        lines = np.asarray([line for line, _, _ in python_csv(data, (), first_line)])
    if lines.size != num_rows:  # cannot happen for well-formed input; never fail on it
        lines = first_line + np.arange(num_rows, dtype=np.int64)
    return lines


def csv_texts(batch: Batch) -> list[list[str]]:
    """Every field of every row of a CSV batch, as text (only for batches with rejects)."""
    table = arrow_csv(batch.data, batch.header, {name: pa.string() for name in batch.header})
    if table is None or table.num_rows != batch.num_rows:
        rows = python_csv(batch.data, batch.header, batch.first_line)
        return [fields for _, fields, _ in rows]
    columns = [table.column(name).to_pylist() for name in batch.header]
    return [list(fields) for fields in zip(*columns, strict=True)]


def arrow_csv(
    chunk: bytes, header: Sequence[str], types: dict[str, pa.DataType]
) -> pa.Table | None:
    """The chunk parsed by Arrow, or None when Arrow refuses it (the caller falls back)."""
    if not chunk:
        return pa.table({name: pa.array([], type) for name, type in types.items()})
    read = pa_csv.ReadOptions(
        column_names=list(header), block_size=ARROW_BLOCK_BYTES, use_threads=True
    )
    parse = pa_csv.ParseOptions(newlines_in_values=chunk.find(b'"') >= 0)
    convert = pa_csv.ConvertOptions(
        column_types=types,
        include_columns=list(types),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        return pa_csv.read_csv(pa.py_buffer(chunk), read, parse, convert)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


_Row = tuple[int, list[str], str | None]


def python_csv(chunk: bytes, header: Sequence[str], first_line: int) -> list[_Row]:
    """(line, fields, problem) per row, by the standard library: the slow, exact path."""
    raw_lines = chunk.split(b"\n")
    if raw_lines and not raw_lines[-1]:
        raw_lines.pop()
    undecodable: set[int] = set()
    texts: list[str] = []
    for index, raw in enumerate(raw_lines):
        try:
            texts.append(raw.decode("utf-8") + "\n")
        except UnicodeDecodeError:
            undecodable.add(index)
            texts.append(raw.decode("utf-8", errors="replace") + "\n")
    rows: list[_Row] = []
    start = 0
    while start < len(texts):
        reader = csv.reader(texts[start:])
        consumed = 0
        try:
            for fields in reader:
                row_start, consumed = start + consumed, reader.line_num
                if not fields:
                    continue  # a blank line, skipped as Arrow does
                problem = None
                if undecodable.intersection(range(row_start, start + consumed)):
                    problem = "the row is not UTF-8 text"
                elif len(fields) != len(header):
                    problem = f"expected {len(header)} fields (as the header), found {len(fields)}"
                rows.append((first_line + row_start, fields, problem))
            break
        except csv.Error as exc:  # skip the offending line and go on with the next one
            rows.append((first_line + start + consumed, [], f"cannot read the CSV row: {exc}"))
            start += consumed + 1
    return rows


def python_ndjson(chunk: bytes, first_line: int, position: int, wanted: tuple[str, ...]) -> Batch:
    """Line by line with ``json``: for chunks Arrow refuses (mixed types, bad JSON)."""
    columns: dict[str, list[str | None]] = {name: [] for name in wanted}
    errors: dict[int, str] = {}
    lines: list[int] = []
    for offset, raw in enumerate(chunk.split(b"\n")):
        if not raw.strip():
            continue
        row = len(lines)
        lines.append(first_line + offset)
        record: Any
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            record, errors[row] = None, f"invalid JSON: {exc}"
        if record is not None and not isinstance(record, dict):
            record, errors[row] = None, "the line is not a JSON object"
        for name in wanted:
            value = record.get(name) if record is not None else None
            columns[name].append(json_text(value))
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    batch = Batch(table, chunk, first_line, position, "ndjson", wanted, errors)
    batch._lines = np.asarray(lines, dtype=np.int64)
    return batch


def json_text(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold (numbers as written, not as floats)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
