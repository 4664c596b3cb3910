"""Reading count files as Arrow batches of about a million rows, with physical line numbers.

The file is cut into chunks of ``CHUNK_BYTES`` at line ends (for CSV, at line ends outside
quotes), and each chunk is parsed by pyarrow's multithreaded reader. Chunking ourselves,
rather than using ``pyarrow.csv.open_csv`` (single-threaded by design), gives both the
parallel parser and exact line numbers: a chunk starts at a known line, and while a chunk
has no quotes and no blank lines, row ``i`` is simply line ``first_line + i``.

Each chunk is parsed with the narrowest types first (``time`` as a timestamp or integer,
``good``/``total`` as int64). When Arrow refuses a chunk (a bad value, a ragged row, bad
JSON) it is parsed again more leniently — all columns as text, then by the standard
library line by line — so every problem can be named by line; files without problems
never leave the fast path.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from errorbudget.errors import IngestError, Problem

Format = Literal["csv", "ndjson"]
TimeKind = Literal["timestamp", "int", "string"]
Int64Array = npt.NDArray[np.int64]

CHUNK_BYTES = 48 << 20
"""Bytes per batch: about one million rows of a typical counts file."""

ARROW_BLOCK_BYTES = 4 << 20
"""Arrow splits a chunk into blocks of this size and parses them in parallel."""

TIMESTAMP = pa.timestamp("ms", tz="UTC")
REQUIRED_COLUMNS = ("time", "slo", "good", "total")
_EXTENSIONS: dict[str, Format] = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson"}
_NEWLINE, _QUOTE = 10, 34
_WHITESPACE = np.array([9, 10, 13, 32], dtype=np.uint8)


def file_error(path: Path, message: str, line: int = 0) -> IngestError:
    """An error about a whole file, as one Problem (the CLI prints ``file:line: message``)."""
    problem = Problem(str(path), line, 0, message)
    return IngestError(str(problem), [problem])


def detect_format(path: Path) -> tuple[Format, bool]:
    """(format, gzip?) from the name: ``.csv``, ``.ndjson`` or ``.jsonl``, each maybe ``.gz``."""
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[: -len(".gz")]
    fmt = _EXTENSIONS.get(Path(name).suffix)
    if fmt is None:
        raise file_error(
            path, "cannot tell the format from the name: use .csv, .ndjson or .jsonl (or .gz)"
        )
    return fmt, compressed


# --- batches ---------------------------------------------------------------------------------


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
            self._lines = _row_lines(self.data, self.first_line, self.fmt, self.num_rows)
        return self._lines

    def original_fields(self, rows: Sequence[int]) -> list[list[str]]:
        """The text of ``rows`` as written: CSV fields by header, or the NDJSON line."""
        if self.fmt == "ndjson":
            starts = _line_starts(self.data)
            lines = self.lines()
            out = []
            for row in rows:
                index = int(lines[row]) - self.first_line
                end = starts[index + 1] - 1 if index + 1 < len(starts) else len(self.data)
                text = self.data[starts[index] : end].decode("utf-8", errors="replace")
                out.append([text.rstrip("\r")])
            return out
        if self._texts is None:
            self._texts = _csv_texts(self)
        return [self._texts[row] for row in rows]


def _line_starts(data: bytes) -> Int64Array:
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = np.flatnonzero(buffer == _NEWLINE) + 1
    starts = np.concatenate((np.zeros(1, dtype=np.int64), starts.astype(np.int64)))
    return starts[starts < len(data)] if len(data) else starts[:0]


def _row_lines(data: bytes, first_line: int, fmt: Format, num_rows: int) -> Int64Array:
    """Line of each row, mirroring Arrow: blank lines are skipped, quoted newlines continue."""
    line_count = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if line_count == num_rows and (fmt == "ndjson" or data.find(b'"') < 0):
        return first_line + np.arange(num_rows, dtype=np.int64)  # one row per line
    buffer = np.frombuffer(data, dtype=np.uint8)
    starts = _line_starts(data)
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
        lines = np.asarray([line for line, _, _ in _python_csv(data, (), first_line)])
    if lines.size != num_rows:  # cannot happen for well-formed input; never fail on it
        lines = first_line + np.arange(num_rows, dtype=np.int64)
    return lines


def _csv_texts(batch: Batch) -> list[list[str]]:
    """Every field of every row of a CSV batch, as text (only for batches with rejects)."""
    table = _arrow_csv(batch.data, batch.header, {name: pa.string() for name in batch.header})
    if table is None or table.num_rows != batch.num_rows:
        rows = _python_csv(batch.data, batch.header, batch.first_line)
        return [fields for _, fields, _ in rows]
    columns = [table.column(name).to_pylist() for name in batch.header]
    return [list(fields) for fields in zip(*columns, strict=True)]


# --- chunks ----------------------------------------------------------------------------------


class _Source:
    """The file's bytes (gunzipped if needed) and how far into the file on disk we are."""

    def __init__(self, path: Path, compressed: bool) -> None:
        self.raw = path.open("rb")
        self.size = os.fstat(self.raw.fileno()).st_size
        self.stream: io.BufferedIOBase = (
            gzip.GzipFile(fileobj=self.raw, mode="rb") if compressed else self.raw
        )

    def read(self, size: int) -> bytes:
        return self.stream.read(size)

    def position(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.stream.close()
        self.raw.close()


def _cut(buffer: bytes, quote_aware: bool) -> int:
    """Index just after the last line end (outside quotes for CSV); -1 when there is none."""
    end = buffer.rfind(b"\n")
    if end < 0 or not quote_aware or buffer.find(b'"') < 0:
        return end + 1 if end >= 0 else -1
    quotes = buffer.count(b'"', 0, end)
    while quotes % 2:  # the newline at ``end`` is inside a quoted field: look further back
        previous = buffer.rfind(b"\n", 0, end)
        if previous < 0:
            return -1
        quotes -= buffer.count(b'"', previous, end)
        end = previous
    return end + 1


# --- parsing -----------------------------------------------------------------------------------


class FileReader:
    """The batches of one file. Opening reads the CSV header (``header`` is ``()`` when the
    file is empty); ``wanted`` names the columns to read: the required ones, then every
    configured segment key."""

    def __init__(self, path: Path, wanted: Sequence[str]) -> None:
        self.path = path
        self.fmt, compressed = detect_format(path)
        self.wanted = tuple(wanted)
        self.header: tuple[str, ...] = self.wanted if self.fmt == "ndjson" else ()
        self.time_kind: TimeKind = "timestamp" if self.fmt == "csv" else "string"
        try:
            self._source = _Source(path, compressed)
        except OSError as exc:
            raise file_error(path, f"cannot open: {exc.strerror or exc}") from exc
        try:
            self._first = self._read(CHUNK_BYTES)
            if self._first.startswith(b"\xef\xbb\xbf"):
                self._first = self._first[3:]
            if self.fmt == "csv":
                self._read_header()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._source.close()

    def __enter__(self) -> FileReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def size(self) -> int:
        return self._source.size

    def _read(self, size: int) -> bytes:
        try:
            return self._source.read(size)
        except (OSError, EOFError, zlib.error) as exc:
            raise file_error(self.path, f"cannot read: {exc}") from exc

    def _read_header(self) -> None:
        while b"\n" not in self._first:
            more = self._read(CHUNK_BYTES)
            if not more:
                break
            self._first += more
        head, _, self._first = self._first.partition(b"\n")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise file_error(self.path, "the header is not UTF-8 text", line=1) from exc
        self.header = tuple(name.strip() for name in next(csv.reader([text]), []))

    def batches(self) -> Iterator[Batch]:
        """Parsed chunks in file order (each about ``CHUNK_BYTES`` of text)."""
        line = 2 if self.fmt == "csv" else 1
        pending, self._first = self._first, b""
        quote_aware = self.fmt == "csv"
        eof = False
        while True:
            if not eof and len(pending) < CHUNK_BYTES:
                more = self._read(max(CHUNK_BYTES - len(pending), CHUNK_BYTES // 8))
                eof, pending = not more, pending + more
            cut = len(pending) if eof else _cut(pending, quote_aware)
            if cut <= 0:
                if eof:
                    return
                more = self._read(CHUNK_BYTES)  # one line longer than a chunk: read on
                eof, pending = not more, pending + more
                continue
            chunk, pending = pending[:cut], pending[cut:]
            yield self._parse(chunk, line, self._source.position())
            line += chunk.count(b"\n")

    def _parse(self, chunk: bytes, first_line: int, position: int) -> Batch:
        if self.fmt == "csv":
            return self._parse_csv(chunk, first_line, position)
        return self._parse_ndjson(chunk, first_line, position)

    # CSV

    def _csv_types(self, kind: TimeKind) -> dict[str, pa.DataType]:
        types = {name: pa.string() for name in self.wanted if name in self.header}
        if "time" in types:
            types["time"] = {"timestamp": TIMESTAMP, "int": pa.int64(), "string": pa.string()}[kind]
        for name in ("good", "total"):
            if name in types:
                types[name] = pa.int64()
        return types

    def _parse_csv(self, chunk: bytes, first_line: int, position: int) -> Batch:
        def batch(table: pa.Table, errors: dict[int, str] | None = None) -> Batch:
            return Batch(table, chunk, first_line, position, "csv", self.header, errors or {})

        for kind in dict.fromkeys((self.time_kind, "string")):
            table = _arrow_csv(chunk, self.header, self._csv_types(kind))
            if table is not None:
                if kind == "string" and "time" in table.column_names:
                    self.time_kind = _time_kind(table.column("time"))
                return batch(table)
        texts = {name: pa.string() for name in self._csv_types("string")}
        table = _arrow_csv(chunk, self.header, texts)
        if table is not None:
            return batch(table)
        rows = _python_csv(chunk, self.header, first_line)
        columns: dict[str, list[str | None]] = {name: [] for name in texts}
        errors: dict[int, str] = {}
        lines = np.empty(len(rows), dtype=np.int64)
        positions = {name: self.header.index(name) for name in texts}
        for index, (line, fields, error) in enumerate(rows):
            lines[index] = line
            if error:
                errors[index] = error
            for name, at in positions.items():
                columns[name].append(None if error else fields[at])
        result = batch(pa.table({n: pa.array(v, pa.string()) for n, v in columns.items()}), errors)
        result._lines = lines
        result._texts = [fields for _, fields, _ in rows]
        return result

    # NDJSON

    def _json_schema(self, kind: TimeKind) -> pa.Schema:
        types: dict[str, pa.DataType] = {name: pa.string() for name in self.wanted}
        types["time"] = pa.int64() if kind == "int" else pa.string()
        types["good"] = types["total"] = pa.int64()
        return pa.schema(list(types.items()))

    def _parse_ndjson(self, chunk: bytes, first_line: int, position: int) -> Batch:
        kinds: tuple[TimeKind, ...] = (
            ("int", "string") if self.time_kind == "int" else ("string", "int")
        )
        for kind in kinds:
            options = pa_json.ParseOptions(
                explicit_schema=self._json_schema(kind), unexpected_field_behavior="ignore"
            )
            read = pa_json.ReadOptions(use_threads=True, block_size=ARROW_BLOCK_BYTES)
            try:
                table = pa_json.read_json(pa.py_buffer(chunk), read, options)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                continue
            return Batch(table, chunk, first_line, position, "ndjson", self.wanted)
        return _python_ndjson(chunk, first_line, position, self.wanted)


def _arrow_csv(
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


def _python_csv(chunk: bytes, header: Sequence[str], first_line: int) -> list[_Row]:
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


def _python_ndjson(chunk: bytes, first_line: int, position: int, wanted: tuple[str, ...]) -> Batch:
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
            columns[name].append(_json_text(value))
    table = pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})
    batch = Batch(table, chunk, first_line, position, "ndjson", wanted, errors)
    batch._lines = np.asarray(lines, dtype=np.int64)
    return batch


def _json_text(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold (numbers as written, not as floats)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _time_kind(times: pa.ChunkedArray) -> TimeKind:
    """Which type to try first for the next chunk, from the times of this one."""
    if pc.all(pc.match_substring_regex(times, r"^\s*-?[0-9]+\s*$")).as_py():
        return "int"
    if pc.any(pc.match_substring_regex(times, r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)$")).as_py():
        return "timestamp"
    return "string"
