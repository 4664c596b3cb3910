"""``ingest_files``: count files into the store, each file in one transaction.

Pipeline per file, two threads (Arrow and numpy release the GIL): the reader thread does
the per-row work — parse a ~1M-row batch, check it, group its rows by series and sum each
(series, minute) — while this thread does the per-series work: series ids (the store is
only touched here), minutes split across batches, and one ``store.write_counts`` per
batch, through the counts-write protocol every source writes through
(``errorbudget.sources.counts_sink.CountsSink``). Each file is one ``store.transaction()``: a file
with a bad row is rolled back whole (unless ``skip_invalid``), so nothing of it is
written, and files are independent of each other.
"""

from __future__ import annotations

import csv
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from errorbudget.errors import IngestError, Problem
from errorbudget.indicators import SYNTHETIC_SOURCE
from errorbudget.ingest.batch import Batch
from errorbudget.ingest.fold import FileFold, FoldOverflowError, MinuteRows, aggregate
from errorbudget.ingest.reader import REQUIRED_COLUMNS, FileReader, detect_format
from errorbudget.ingest.report import MAX_PROBLEMS, FileReport, IngestReport
from errorbudget.ingest.series import Grouped, SeriesResolver, group_rows
from errorbudget.ingest.validate import SYNTHETIC_COLUMN, Checked, Validator
from errorbudget.limits import MAX_COUNT, MAX_COUNT_TEXT
from errorbudget.model import SLO, from_minute, segment_label
from errorbudget.sources.counts_sink import CountsSink

Progress = Callable[[int, int], None]
_T = TypeVar("_T")
_WRITE_ROWS = 1 << 20
Int64Array = npt.NDArray[np.int64]


def ingest_files(
    store: CountsSink,
    slos: Mapping[str, SLO],
    paths: Sequence[Path],
    *,
    skip_invalid: bool = False,
    rejects_path: Path | None = None,
    source: str = "ingest",
    progress: Progress | None = None,
    raise_on_reject: bool = True,
) -> IngestReport:
    """Read CSV / NDJSON count files into ``store``; return what was read and written.

    Columns: ``time`` (RFC 3339 with a zone or offset, or Unix seconds; floored to the
    minute), ``slo``, ``good``, ``total`` and one per segment key of the SLO. Rows of the
    same SLO, segment and minute in one file are summed (sub-minute rows aggregate), and
    the file replaces what ``source`` had stored for those minutes: ingesting a file twice
    changes nothing.

    A file with any bad row is rejected whole: nothing of it is written, and (unless
    ``raise_on_reject`` is False) an IngestError listing the problems, by line, is raised
    once every file has been tried. With ``skip_invalid`` the good rows are written and the
    bad ones go to ``rejects_path`` (default ``<file>.rejects.csv``; a directory when there
    are several files) with their line, the reason and the original fields.

    ``progress(bytes_done, bytes_total)`` is called after each batch (bytes on disk).
    """
    started = time.perf_counter()
    paths = [Path(p) for p in paths]
    if rejects_path is not None and len(paths) > 1 and not rejects_path.is_dir():
        raise IngestError(
            f"the rejects path {rejects_path} must be an existing directory "
            f"when ingesting {len(paths)} files"
        )
    sizes = [_size(path) for path in paths]
    total_bytes = sum(sizes)
    done_before = 0

    def report_progress(done: int) -> None:
        if progress is not None:
            progress(min(done_before + done, total_bytes), total_bytes)

    reports = []
    for path, size in zip(paths, sizes, strict=True):
        options = _Options(skip_invalid, _rejects_for(path, rejects_path, len(paths)), source)
        reports.append(_ingest_file(store, list(slos.values()), path, options, report_progress))
        done_before += size
        report_progress(0)
    report = IngestReport(tuple(reports), time.perf_counter() - started)
    error = report.error()
    if error is not None and raise_on_reject:
        raise error
    return report


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _rejects_for(path: Path, rejects_path: Path | None, file_count: int) -> Path:
    if rejects_path is None:
        return path.with_name(path.name + ".rejects.csv")
    if file_count > 1 or rejects_path.is_dir():
        return rejects_path / (path.name + ".rejects.csv")
    return rejects_path


@dataclass(frozen=True, slots=True)
class _Options:
    skip_invalid: bool
    rejects_path: Path
    source: str


def _ingest_file(
    store: CountsSink,
    slos: list[SLO],
    path: Path,
    options: _Options,
    progress: Callable[[int], None],
) -> FileReport:
    started = time.perf_counter()
    fmt = "unknown"
    try:
        fmt = detect_format(path)[0]  # an unknown file type is rejected before anything else
        try:
            return _FileIngest(store, slos, path, options, progress, whole=False).run(started)
        except FoldOverflowError:  # a shuffled file: sum it whole in memory, then write
            return _FileIngest(store, slos, path, options, progress, whole=True).run(started)
    except IngestError as exc:
        problems = exc.problems or [Problem(str(path), 0, 0, str(exc))]
    except pa.ArrowException as exc:
        problems = [Problem(str(path), 0, 0, f"cannot read the file: {exc}")]
    return FileReport(
        path, fmt, False, 0, 0, 0, 0, time.perf_counter() - started, tuple(problems),
        len(problems),
    )  # fmt: skip


class _RollbackError(Exception):
    """Raised inside the file's transaction to undo it (the file has bad rows)."""


@dataclass
class _FileIngest:
    store: CountsSink
    slos: list[SLO]
    path: Path
    options: _Options
    progress: Callable[[int], None]
    whole: bool
    """Sum the whole file in memory before writing (shuffled files; see fold.py)."""
    rows_read: int = 0
    rows_written: int = 0
    rows_rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    rejecting: bool = False
    missing_reported: set[str] = field(default_factory=set)
    parts: list[MinuteRows] = field(default_factory=list)

    def run(self, started: float) -> FileReport:
        keys = sorted({k for s in self.slos for k in s.segments.keys})
        wanted = [*REQUIRED_COLUMNS, *keys, SYNTHETIC_COLUMN]  # a segment key is never one
        with FileReader(self.path, wanted) as reader:
            self._check_header(reader)
            rejects = _Rejects(self.options.rejects_path)
            series = 0
            try:
                if not self.rejecting:
                    series = self._transaction(reader, rejects)
            except _RollbackError:
                self.rows_written = series = 0
            except BaseException:
                rejects.discard()
                raise
            if self.rejecting:
                rejects.discard()
            rejects_file = None if self.rejecting else rejects.commit()
        self.problems.sort(key=lambda p: p.line)
        return FileReport(
            self.path, reader.fmt, not self.rejecting, self.rows_read, self.rows_written,
            self.rows_rejected, series, time.perf_counter() - started, tuple(self.problems),
            self.problem_count, rejects_file,
        )  # fmt: skip

    def _check_header(self, reader: FileReader) -> None:
        if reader.fmt != "csv":
            return
        if not reader.header:
            names = ", ".join(REQUIRED_COLUMNS)
            self._file_problem(f"the file is empty: expected a header row naming {names}")
        missing = [name for name in REQUIRED_COLUMNS if name not in reader.header]
        if reader.header and missing:
            columns = ", ".join(repr(name) for name in missing)
            self._file_problem(
                f"the header has no {columns} column (it needs time, slo, good, total)"
            )
        repeated = sorted({n for n in reader.header if reader.header.count(n) > 1})
        if repeated:
            self._file_problem(f"the header names {', '.join(map(repr, repeated))} more than once")

    def _file_problem(self, message: str) -> None:
        self.rejecting = True
        self.problem_count += 1
        self.problems.append(Problem(str(self.path), 1, 0, message))

    def _transaction(self, reader: FileReader, rejects: _Rejects) -> int:
        validator = Validator(self.slos, reader.header)
        with self.store.transaction():
            resolver = SeriesResolver(self.store, validator)
            fold = FileFold()
            prepared = (self._prepare(batch, validator) for batch in reader.batches())
            with closing(_prefetched(prepared)) as batches:
                for batch, checked, grouped in batches:
                    self._count(batch, checked, rejects)
                    if not self.rejecting:
                        self._write(grouped, resolver, fold)
                    self.progress(batch.bytes_done)
            if self.rejecting:
                raise _RollbackError
            if self.whole and self.parts:
                self._write_whole(resolver)
            return len(resolver.store_ids)

    def _count(self, batch: Batch, checked: Checked, rejects: _Rejects) -> None:
        self.rows_read += batch.num_rows
        for key, slo in checked.missing_columns.items():
            if key not in self.missing_reported:
                self.missing_reported.add(key)
                self.problem_count += 1
                self.problems.append(
                    Problem(
                        str(self.path),
                        1,
                        0,
                        f"no {key!r} column, but SLO {slo!r} is segmented by it",
                    )
                )
        bad = checked.bad_count
        if not bad:
            return
        self.rows_rejected += bad
        self.problem_count += int(np.count_nonzero(checked.listed()))
        self.rejecting = self.rejecting or not self.options.skip_invalid
        room = max(MAX_PROBLEMS - len(self.problems), 0)
        if not room and not self.options.skip_invalid:
            return  # the list is full: the rest are only counted
        lines = batch.lines()
        for row, reason in checked.reasons(room):
            self.problems.append(Problem(str(self.path), int(lines[row]), 0, reason))
        if self.options.skip_invalid:
            every = checked.reasons(every=True)
            rows = [row for row, _ in every]
            rejects.write(batch, [int(lines[r]) for r in rows], [r for _, r in every], rows)

    def _prepare(self, batch: Batch, validator: Validator) -> tuple[Batch, Checked, Grouped]:
        """The per-row work, on the reader thread: check, then group by series and sum."""
        checked = validator.check(batch)
        if self.rejecting:  # read only to find every problem: nothing will be written
            return batch, checked, _NOTHING
        return batch, checked, group_rows(checked, validator)

    def _write(self, grouped: Grouped, resolver: SeriesResolver, fold: FileFold) -> None:
        """The per-series work, on this thread: series ids, earlier parts, one write."""
        if not len(grouped.rows):
            return
        dense = resolver.resolve(grouped)
        rows, series = _in_store_order(grouped.rows, dense, resolver.store_id_of(dense))
        if self.whole:
            self.parts.append(rows)
            return
        rewritten = fold.fold(rows)
        self._check_sums(rows, resolver)
        self._write_counts(resolver, rows.series, series, rows.minute, rows.good, rows.total)
        self.rows_written += len(rows) - rewritten

    def _write_counts(
        self,
        resolver: SeriesResolver,
        dense: Int64Array,
        series: Int64Array,
        minute: Int64Array,
        good: Int64Array,
        total: Int64Array,
    ) -> None:
        """One write per source: rows of synthetic-check SLOs under ``synthetic`` (the
        validator let only marked rows reach them), the others under the file's source."""
        synthetic = resolver.validator.synthetic
        if not synthetic.any():
            self.store.write_counts(series, minute, good, total, self.options.source)
            return
        marked = synthetic[resolver.slo_of(dense)]
        for source, rows in ((self.options.source, ~marked), (SYNTHETIC_SOURCE, marked)):
            if rows.any():
                self.store.write_counts(series[rows], minute[rows], good[rows], total[rows], source)

    def _check_sums(self, rows: MinuteRows, resolver: SeriesResolver) -> None:
        """Rows of one series and minute are summed: the sum is held to ``MAX_COUNT`` too (each
        row is, by the validator). Raised inside the file's transaction: nothing is written."""
        over = np.flatnonzero(rows.total > MAX_COUNT)
        if not over.size:
            return
        row = int(over[0])
        slo, values = resolver.series_of(int(rows.series[row]))
        keys = self.slos[slo].segments.keys
        segment = segment_label(tuple(sorted(zip(keys, values, strict=True))))
        at = from_minute(int(rows.minute[row])).strftime("%Y-%m-%dT%H:%MZ")
        message = (
            f"the rows of SLO {self.slos[slo].id!r} {segment} at {at} add up to "
            f"{int(rows.total[row]):,} events, more than {MAX_COUNT_TEXT}, the most one "
            f"series may count in a minute ({over.size:,} such minutes)"
        )
        raise IngestError(message, [Problem(str(self.path), 0, 0, message)])

    def _write_whole(self, resolver: SeriesResolver) -> None:
        rows = aggregate(MinuteRows.concat(self.parts))  # sorted by series, then minute
        self.parts.clear()
        self._check_sums(rows, resolver)
        for at in range(0, len(rows), _WRITE_ROWS):
            part = slice(at, at + _WRITE_ROWS)
            self._write_counts(
                resolver,
                rows.series[part],
                resolver.store_id_of(rows.series[part]),
                rows.minute[part],
                rows.good[part],
                rows.total[part],
            )
        self.rows_written = len(rows)


def _in_store_order(
    rows: MinuteRows, dense: Int64Array, store_ids: Int64Array
) -> tuple[MinuteRows, Int64Array]:
    """``rows`` (series numbered by batch, in that order) renumbered with file-wide ``dense``
    ids and reordered by store id, with the store id of each row: the store then gets its
    rows key-sorted and skips its own sort."""
    lengths = np.bincount(rows.series, minlength=dense.size)
    order = np.argsort(store_ids, kind="stable")
    if bool(np.any(order != np.arange(order.size))):
        lengths_ordered = lengths[order]
        starts = np.cumsum(lengths) - lengths
        new_starts = np.cumsum(lengths_ordered) - lengths_ordered
        shift = np.repeat(starts[order] - new_starts, lengths_ordered)
        rows = rows.take(np.arange(len(rows), dtype=np.int64) + shift)
        lengths, dense, store_ids = lengths_ordered, dense[order], store_ids[order]
    rows.series = np.repeat(dense, lengths)
    return rows, np.repeat(store_ids, lengths)


_EMPTY = np.zeros(0, dtype=np.int64)
_NOTHING = Grouped(np.zeros(0, dtype=np.int32), [], MinuteRows(_EMPTY, _EMPTY, _EMPTY, _EMPTY))


class _Rejects:
    """The rejects CSV of one file: written to ``<path>.partial``, renamed when complete."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".partial")
        self.file: IO[str] | None = None
        self.writer: Any = None

    def write(self, batch: Batch, lines: list[int], reasons: list[str], rows: list[int]) -> None:
        if self.file is None:
            self.file = self.partial.open("w", encoding="utf-8", newline="")
            self.writer = csv.writer(self.file)
            fields = list(batch.header) if batch.fmt == "csv" else ["record"]
            self.writer.writerow(["line", "reason", *fields])
        assert self.writer is not None
        for line, reason, fields in zip(lines, reasons, batch.original_fields(rows), strict=True):
            self.writer.writerow([line, reason, *fields])

    def commit(self) -> Path | None:
        if self.file is None:
            return None
        self.file.close()
        self.partial.replace(self.path)
        return self.path

    def discard(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
            self.partial.unlink(missing_ok=True)


def _prefetched(items: Iterator[_T], depth: int = 1) -> Generator[_T, None, None]:
    """``items`` produced by a worker thread, up to ``depth`` ahead of the consumer."""
    handoff: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(kind: str, value: object) -> None:
        while not stop.is_set():
            try:
                handoff.put((kind, value), timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                offer("item", item)
            offer("end", None)
        except BaseException as exc:  # handed to the consumer, raised there
            offer("error", exc)

    worker = threading.Thread(target=produce, name="errorbudget-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                assert isinstance(value, BaseException)
                raise value
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
