"""Event files into the store: NDJSON (``.ndjson``, ``.jsonl``) and Parquet (``.parquet``),
each file all or nothing (issue #12; ``errorbudget ingest --events``).

A file is one transaction of :class:`~errorbudget.services.event_ingest.EventIngestService`
writes, fed in chunks so a large file neither sits in memory as one table (NDJSON: pieces
of about :data:`CHUNK_BYTES`, cut at a line end) nor holds the progress bar still. A chunk
with a bad event rolls the whole file back; the rest of the file is still read, without
writing, so that every problem (up to ``MAX_PROBLEMS``) is reported at once as
``FILE:LINE: field: message``. Files are independent: a rejected file does not undo the
ones before it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from errorbudget.errors import IngestError, Problem
from errorbudget.services.event_ingest import EventIngestReport, EventIngestService
from errorbudget.sources.events import (
    MAX_PROBLEMS,
    EventParseError,
    EventProblem,
    parse_ndjson,
    parse_parquet,
)

CHUNK_BYTES = 32 << 20
"""NDJSON is parsed and written in pieces of about this many bytes (cut at line ends)."""

CHUNK_ROWS = 1 << 20
"""A Parquet file's table is written in slices of this many rows."""

NDJSON_SUFFIXES = (".ndjson", ".jsonl")
PARQUET_SUFFIXES = (".parquet",)

Progress = Callable[[int, int], None]
"""Told (bytes done, bytes in all) as the files are read."""

_Advance = Callable[[int], None]
"""Told the bytes of the current file read so far."""


@dataclass
class EventFileReport:
    """One file: what was written (``report``), or why nothing was (``problems``)."""

    path: Path
    size: int
    report: EventIngestReport = field(default_factory=EventIngestReport)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    seconds: float = 0.0

    @property
    def written(self) -> bool:
        return not self.problem_count

    @property
    def events_per_second(self) -> float:
        return self.report.received / self.seconds if self.seconds > 0 else 0.0


@dataclass
class EventFilesReport:
    """Every file of one ``ingest --events``."""

    files: list[EventFileReport] = field(default_factory=list)

    @property
    def rejected(self) -> list[EventFileReport]:
        return [file for file in self.files if not file.written]

    def error(self) -> IngestError | None:
        """An error listing every rejected file's problems (None when all were written)."""
        rejected = self.rejected
        if not rejected:
            return None
        problems = [problem for file in rejected for problem in file.problems]
        count = sum(file.problem_count for file in rejected)
        names = ", ".join(str(file.path) for file in rejected)
        noun = "problem" if count == 1 else "problems"
        return IngestError(
            f"{len(rejected)} of {len(self.files)} event file(s) rejected, nothing of them "
            f"written ({count:,} {noun}): {names}",
            problems,
        )


class _RejectedError(Exception):
    """Raised inside a file's transaction to roll it back once its problems are known."""


def ingest_event_files(
    service: EventIngestService, paths: Sequence[Path], progress: Progress | None = None
) -> EventFilesReport:
    """Ingest each of ``paths`` in its own transaction (module docstring)."""
    report = EventFilesReport()
    sizes = [path.stat().st_size if path.is_file() else 0 for path in paths]
    total = sum(sizes)
    done = 0
    for path, size in zip(paths, sizes, strict=True):
        file = EventFileReport(path=path, size=size)
        report.files.append(file)
        started = time.perf_counter()

        def advance(read: int, before: int = done) -> None:
            if progress is not None:
                progress(before + read, total)

        _ingest_file(service, file, advance)
        file.seconds = time.perf_counter() - started
        done += size
        if progress is not None:
            progress(done, total)
    return report


def _ingest_file(service: EventIngestService, file: EventFileReport, advance: _Advance) -> None:
    name = file.path.name.lower()
    if not file.path.is_file():
        _reject(file, [EventProblem(0, None, "no such file")], 1)
        return
    if not name.endswith(NDJSON_SUFFIXES + PARQUET_SUFFIXES):
        known = ", ".join(NDJSON_SUFFIXES + PARQUET_SUFFIXES)
        _reject(file, [EventProblem(0, None, f"not an event file: name it {known}")], 1)
        return
    chunks = _ndjson_chunks(file.path) if name.endswith(NDJSON_SUFFIXES) else None
    try:
        with service.store.transaction():
            if chunks is not None:
                _write_chunks(service, file, chunks, advance)
            else:
                _write_parquet(service, file, advance)
            if file.problem_count:
                raise _RejectedError
    except _RejectedError:
        file.report = EventIngestReport(received=file.report.received)


def _write_chunks(
    service: EventIngestService,
    file: EventFileReport,
    chunks: Iterator[tuple[bytes, int, int]],
    advance: _Advance,
) -> None:
    """Parse and write each NDJSON piece; after a bad one, only parse (to find the rest)."""
    for data, first_line, read in chunks:
        try:
            table = parse_ndjson(data, first_line=first_line)
        except EventParseError as exc:
            _reject(file, exc.problems, exc.problem_count)
        else:
            _write(service, file, table)
        advance(read)


def _write_parquet(service: EventIngestService, file: EventFileReport, advance: _Advance) -> None:
    try:
        table = parse_parquet(file.path)
    except EventParseError as exc:
        _reject(file, exc.problems, exc.problem_count)
        return
    rows = max(table.num_rows, 1)
    for start in range(0, table.num_rows, CHUNK_ROWS):
        piece = table.slice(start, CHUNK_ROWS)
        if start:  # the file's in-batch duplicates ride on its first piece only
            piece = piece.replace_schema_metadata(None)
        _write(service, file, piece)
        advance(file.size * min(start + CHUNK_ROWS, rows) // rows)


def _write(service: EventIngestService, file: EventFileReport, table: pa.Table) -> None:
    if file.problem_count:  # already rejected: count the events, write nothing
        file.report.received += table.num_rows
        return
    try:
        file.report.add(service.ingest(table))
    except EventParseError as exc:
        _reject(file, exc.problems, exc.problem_count)
        file.report.received += table.num_rows


def _reject(file: EventFileReport, problems: Sequence[EventProblem], count: int) -> None:
    room = MAX_PROBLEMS - len(file.problems)
    file.problems.extend(_located(file.path, p) for p in problems[: max(room, 0)])
    file.problem_count += max(count, len(problems))


def _located(path: Path, problem: EventProblem) -> Problem:
    """``FILE:LINE: field: message`` (the line left out when the problem is the file's)."""
    message = f"{problem.field}: {problem.message}" if problem.field else problem.message
    return Problem(str(path), problem.line, 0, message)


def _ndjson_chunks(path: Path) -> Iterator[tuple[bytes, int, int]]:
    """(piece, its first line number, bytes read so far) of about CHUNK_BYTES each, cut
    after a newline."""
    line = 1
    read = 0
    rest = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(CHUNK_BYTES)
            if not block:
                break
            read += len(block)
            data = rest + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            piece, rest = data[:cut], data[cut:]
            yield piece, line, read - len(rest)
            line += piece.count(b"\n")
    if rest.strip():
        yield rest, line, read
