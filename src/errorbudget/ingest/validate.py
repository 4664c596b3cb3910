"""Checking the rows of a batch, vectorised: one boolean mask per kind of problem.

A row is written when it names a configured SLO, has a value for each of that SLO's
segment keys (at most ``MAX_NAME`` characters, no control characters), a time with a zone
(RFC 3339) or in Unix seconds inside the accepted range (``limits``: 2000 to 2100), and
counts with ``0 <= good <= total <= MAX_COUNT`` — on the Arrow fast path (int64 columns)
and the text path alike. The optional ``synthetic`` column (true/false, 1/0; empty: false)
marks synthetic checks: a marked row must name an SLO of synthetic checks
(``source: synthetic``), and such an SLO takes only marked rows. Messages are only built
for the rows that fail, so a clean batch costs a handful of Arrow and numpy passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from errorbudget.indicators import is_synthetic
from errorbudget.ingest.batch import Batch
from errorbudget.ingest.reader import TIMESTAMP
from errorbudget.limits import (
    EARLIEST_MINUTE,
    LATEST_MINUTE,
    MAX_COUNT,
    MAX_COUNT_TEXT,
    MAX_NAME,
    TIME_RANGE_TEXT,
)
from errorbudget.model import SLO
from errorbudget.yamlsource import did_you_mean

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]

_EPOCH = r"^\s*-?[0-9]{1,15}\s*$"
_ZONED = r"[0-9](Z|[+-][0-9]{2}(:?[0-9]{2})?)$"
_COUNT = r"^\s*[0-9]{1,18}\s*$"
_DIGITS = re.compile(r"^\s*[0-9]+\s*$")
_CONTROL = r"[\x00-\x1f\x7f]"
_MILLISECONDS = 10**11
"""Unix seconds past this (year 5138) are probably milliseconds."""
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}([.,]\d+)?)?)?)?$")
_MS_PER_MINUTE = 60_000
SYNTHETIC_COLUMN = "synthetic"
"""The optional column marking a row as synthetic checks."""
_MARKED = ["true", "1"]
_UNMARKED = ["false", "0", ""]


@dataclass
class Segments:
    """One segment column of a batch, dictionary-encoded: ``codes`` index ``values``."""

    codes: Int32Array
    values: list[str]


@dataclass
class Checked:
    """The rows of a batch that can be written, and why the others cannot."""

    ok: BoolArray
    slo: Int32Array
    """Index of the row's SLO in the configured list, -1 when unknown."""
    minute: Int64Array
    good: Int64Array
    total: Int64Array
    segments: dict[str, Segments]
    missing_columns: dict[str, str] = field(default_factory=dict)
    """Segment column absent from the file → the first SLO whose rows needed it."""
    _reasons: list[tuple[BoolArray, Callable[[int], str], bool]] = field(default_factory=list)

    @property
    def bad_count(self) -> int:
        return int(self.ok.size - np.count_nonzero(self.ok))

    def listed(self) -> BoolArray:
        """Bad rows with a problem of their own (not only a column missing from the file,
        which is one problem at line 1 rather than one per row)."""
        listed = np.zeros(self.ok.size, dtype=bool)
        for mask, _, quiet in self._reasons:
            if not quiet:
                listed |= mask
        return listed

    def reasons(self, limit: int | None = None, *, every: bool = False) -> list[tuple[int, str]]:
        """(row, "reason; reason") for the first ``limit`` listed rows (``every``: all bad
        rows and all their reasons, for the rejects file)."""
        rows = np.flatnonzero(~self.ok if every else self.listed())
        if limit is not None:
            rows = rows[:limit]
        found: dict[int, list[str]] = {int(row): [] for row in rows}
        for mask, explain, quiet in self._reasons:
            if quiet and not every:
                continue
            for row in rows[mask[rows]]:
                found[int(row)].append(explain(int(row)))
        return [(row, "; ".join(texts)) for row, texts in found.items()]


class Validator:
    """Checks batches of one file against the configured SLOs."""

    def __init__(self, slos: Sequence[SLO], columns: Collection[str]) -> None:
        self.slos = list(slos)
        self.slo_ids = [slo.id for slo in self.slos]
        self.position = {slo_id: at for at, slo_id in enumerate(self.slo_ids)}
        self.segment_columns = sorted({key for slo in self.slos for key in slo.segments.keys})
        self.columns = set(columns)
        self.uses = np.zeros((len(self.slos) + 1, len(self.segment_columns)), dtype=bool)
        self.synthetic = np.array([is_synthetic(s.indicator) for s in self.slos] + [False])
        """Per SLO (and a last False for an unknown one): whether it counts synthetic
        checks, whose rows are marked and stored under the source ``synthetic``."""
        for at, slo in enumerate(self.slos):  # the extra last row: unknown SLO, uses nothing
            for key in slo.segments.keys:
                self.uses[at, self.segment_columns.index(key)] = True

    def check(self, batch: Batch) -> Checked:
        table, rows = batch.table, batch.num_rows
        checked = Checked(
            ok=np.ones(rows, dtype=bool),
            slo=np.full(rows, -1, dtype=np.int32),
            minute=np.zeros(rows, dtype=np.int64),
            good=np.zeros(rows, dtype=np.int64),
            total=np.zeros(rows, dtype=np.int64),
            segments={},
        )
        unreadable = np.zeros(rows, dtype=bool)
        if batch.row_errors:
            unreadable[list(batch.row_errors)] = True
            self._fail(checked, unreadable, lambda row: batch.row_errors[row])
        readable = ~unreadable
        self._check_slo(checked, _column(table, "slo"), readable)
        self._check_time(checked, _column(table, "time"), readable)
        good_ok = self._check_count(checked, "good", _column(table, "good"), readable)
        total_ok = self._check_count(checked, "total", _column(table, "total"), readable)
        over = good_ok & total_ok & (checked.good > checked.total)
        self._fail(
            checked,
            over,
            lambda row: f"good {checked.good[row]} is more than total {checked.total[row]}",
        )
        self._check_segments(checked, table, readable)
        self._check_synthetic(checked, table, readable)
        return checked

    def _check_synthetic(self, checked: Checked, table: pa.Table, readable: BoolArray) -> None:
        rows = table.num_rows
        marked = np.zeros(rows, dtype=bool)
        odd = np.zeros(rows, dtype=bool)
        column = None
        if SYNTHETIC_COLUMN in table.column_names:
            column = _column(table, SYNTHETIC_COLUMN)
            if pa.types.is_boolean(column.type):
                marked = column.fill_null(False).to_numpy(zero_copy_only=False)
            else:
                text = pc.utf8_lower(pc.utf8_trim_whitespace(column.cast(pa.string())))
                text = pc.fill_null(text, "")
                marked = pc.is_in(text, pa.array(_MARKED)).to_numpy(zero_copy_only=False)
                unmarked = pc.is_in(text, pa.array(_UNMARKED)).to_numpy(zero_copy_only=False)
                odd = ~marked & ~unmarked

        def explain_odd(row: int) -> str:
            value = column[row].as_py() if column is not None else None
            return f"synthetic {value!r} is neither true nor false"

        self._fail(checked, readable & odd, explain_odd)
        if not marked.any() and not self.synthetic.any():
            return
        wants = self.synthetic[checked.slo]  # -1 (unknown SLO): the last, False
        known = readable & ~odd & (checked.slo >= 0)

        def explain_marked(row: int) -> str:
            slo = self.slos[checked.slo[row]]
            return (
                f"the row is marked synthetic, but SLO {slo.id!r} does not count synthetic "
                f"checks (its indicator is source: {slo.indicator.source}, not synthetic)"
            )

        def explain_unmarked(row: int) -> str:
            slo_id = self.slo_ids[checked.slo[row]]
            return (
                f"SLO {slo_id!r} counts synthetic checks (source: synthetic): mark its rows "
                "with synthetic true"
            )

        self._fail(checked, known & marked & ~wants, explain_marked)
        self._fail(checked, known & ~marked & wants, explain_unmarked)

    @staticmethod
    def _fail(
        checked: Checked, mask: BoolArray, explain: Callable[[int], str], quiet: bool = False
    ) -> None:
        if mask.any():
            checked.ok &= ~mask
            checked._reasons.append((mask, explain, quiet))

    def _check_slo(self, checked: Checked, column: pa.Array, readable: BoolArray) -> None:
        encoded = pc.dictionary_encode(column)
        names = encoded.dictionary.to_pylist()
        lookup = np.array([self.position.get(name, -1) for name in names] + [-1], dtype=np.int32)
        codes = encoded.indices.fill_null(len(names)).to_numpy(zero_copy_only=False)
        checked.slo = lookup[codes]
        text = [*names, None]

        def explain(row: int) -> str:
            name = text[codes[row]]
            if not name:
                return _absent("slo", name)
            return f"unknown SLO {name!r}{did_you_mean(name, self.slo_ids)}"

        self._fail(checked, readable & (checked.slo < 0), explain)

    def _check_time(self, checked: Checked, column: pa.Array, readable: BoolArray) -> None:
        rows = len(column)
        empty = _empty(column)
        if pa.types.is_timestamp(column.type):
            millis = column.cast(pa.int64()).fill_null(0).to_numpy()
            minute = np.floor_divide(millis, _MS_PER_MINUTE)
            bad_text = np.zeros(rows, dtype=bool)
        elif pa.types.is_integer(column.type):
            seconds = column.fill_null(0).to_numpy()
            minute = np.floor_divide(seconds, 60)
            bad_text = np.zeros(rows, dtype=bool)
        else:
            minute, bad_text = _parse_times(column, empty)
        in_range = (minute >= EARLIEST_MINUTE) & (minute < LATEST_MINUTE)
        out_of_range = ~empty & ~bad_text & ~in_range
        checked.minute = minute

        def explain(row: int) -> str:
            value = column[row].as_py()
            if empty[row]:
                return _absent("time", value)
            if out_of_range[row]:
                shown = value.isoformat() if hasattr(value, "isoformat") else value
                hint = ""
                if abs(int(minute[row])) * 60 > _MILLISECONDS:
                    hint = " (Unix times are in seconds, not milliseconds)"
                return f"time {shown!r} is outside the accepted range, {TIME_RANGE_TEXT}{hint}"
            if isinstance(value, str) and _NAIVE.match(value.strip()):
                return f"time {value!r} has no zone or offset (add Z or +hh:mm)"
            return f"time {value!r} is neither RFC 3339 with a zone nor Unix seconds"

        self._fail(checked, readable & (empty | bad_text | out_of_range), explain)

    def _check_count(
        self, checked: Checked, name: str, column: pa.Array, readable: BoolArray
    ) -> BoolArray:
        empty = _empty(column)
        if pa.types.is_integer(column.type):  # Arrow's fast path: int64, no text to check
            values = column.fill_null(0).to_numpy()
            bad = ~empty & ((values < 0) | (values > MAX_COUNT))
        else:
            well_formed = pc.fill_null(pc.match_substring_regex(column, _COUNT), False)
            numbers = pc.if_else(well_formed, pc.utf8_trim_whitespace(column), "0")
            values = numbers.cast(pa.int64()).to_numpy()
            bad = ~empty & (~well_formed.to_numpy(zero_copy_only=False) | (values > MAX_COUNT))
            values = np.where(bad, 0, values)
        setattr(checked, name, values)

        def explain(row: int) -> str:
            value = column[row].as_py()
            if empty[row]:
                return _absent(name, value)
            if (isinstance(value, int) and value >= 0) or _DIGITS.match(str(value)):
                shown = str(value).strip()
                return (
                    f"{name} {shown} is more than {MAX_COUNT_TEXT}, the most one series may "
                    "count in a minute"
                )
            return f"{name} {value!r} is not a non-negative integer"

        failed: BoolArray = readable & (empty | bad)
        self._fail(checked, failed, explain)
        return ~failed & readable

    def _check_segments(self, checked: Checked, table: pa.Table, readable: BoolArray) -> None:
        uses = self.uses[checked.slo]  # row -1 (unknown SLO) is the all-False last row
        for at, key in enumerate(self.segment_columns):
            needed = readable & uses[:, at]
            if key not in self.columns:
                if needed.any():
                    first = self.slo_ids[int(checked.slo[np.argmax(needed)])]
                    checked.missing_columns.setdefault(key, first)
                    self._fail(checked, needed, self._explain_missing(key, checked.slo), True)
                continue
            column = _column(table, key)
            encoded = pc.dictionary_encode(column)
            found = encoded.dictionary.to_pylist()
            # number values in sorted order, not first-seen order: every batch then lists
            # its series in the same order, the order the first batch created them in
            values = sorted(found)
            rank = np.empty(len(found) + 1, dtype=np.int32)
            rank[np.argsort(np.array(found, dtype=object), kind="stable")] = np.arange(len(found))
            rank[-1] = -1  # null
            codes = rank[encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)]
            blank = np.array([not value for value in values] + [True], dtype=bool)
            checked.segments[key] = Segments(codes, values)
            self._fail(
                checked, needed & blank[codes], self._explain_blank(key, column, checked.slo)
            )
            odd = _odd_values(encoded.dictionary, rank)
            if odd.any():
                self._fail(checked, needed & odd[codes], self._explain_odd(key, column))

    @staticmethod
    def _explain_odd(key: str, column: pa.Array) -> Callable[[int], str]:
        def explain(row: int) -> str:
            value = str(column[row].as_py())
            if len(value) > MAX_NAME:
                return (
                    f"{key} value {value[:40]!r}… has {len(value):,} characters; "
                    f"a segment value has at most {MAX_NAME}"
                )
            return f"{key} value {value!r} has a control character; a segment value is text"

        return explain

    def _explain_missing(self, key: str, slo: Int32Array) -> Callable[[int], str]:
        def explain(row: int) -> str:
            return f"no {key!r} column (SLO {self.slo_ids[slo[row]]!r} is segmented by it)"

        return explain

    def _explain_blank(self, key: str, column: pa.Array, slo: Int32Array) -> Callable[[int], str]:
        def explain(row: int) -> str:
            value = column[row].as_py()
            return f"{_absent(key, value)} (SLO {self.slo_ids[slo[row]]!r} is segmented by it)"

        return explain


def _absent(name: str, value: object) -> str:
    return f"no {name} value" if value is None else f"{name} is empty"


def _odd_values(dictionary: pa.Array, rank: Int32Array) -> BoolArray:
    """Per sorted value (and a last False for null): longer than ``MAX_NAME`` characters, or
    holding a control character (a label, shown on pages and in metrics, is one line)."""
    long = pc.greater(pc.utf8_length(dictionary), MAX_NAME)
    control = pc.match_substring_regex(dictionary, _CONTROL)
    odd_found = pc.fill_null(pc.or_(long, control), False).to_numpy(zero_copy_only=False)
    odd = np.zeros(len(dictionary) + 1, dtype=bool)
    odd[rank[:-1]] = odd_found
    return odd


def _column(table: pa.Table, name: str) -> pa.Array:
    column = table.column(name)
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _empty(column: pa.Array) -> BoolArray:
    """Null, or an empty / blank string."""
    missing = column.is_null()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        blank = pc.equal(pc.utf8_trim_whitespace(column), "")
        missing = pc.or_(missing, pc.fill_null(blank, False))
    result: BoolArray = missing.to_numpy(zero_copy_only=False)
    return result


def _parse_times(column: pa.Array, empty: BoolArray) -> tuple[Int64Array, BoolArray]:
    """(minute, unparseable) for times as text: RFC 3339 with a zone, or Unix seconds."""
    try:
        millis = column.cast(TIMESTAMP).cast(pa.int64()).fill_null(0).to_numpy()
        return np.floor_divide(millis, _MS_PER_MINUTE), np.zeros(len(column), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass  # some rows are not RFC 3339 with a zone: look at each kind separately
    minute = np.zeros(len(column), dtype=np.int64)
    bad = ~empty
    epoch = pc.fill_null(pc.match_substring_regex(column, _EPOCH), False)
    epoch_rows = np.flatnonzero(epoch.to_numpy(zero_copy_only=False))
    if epoch_rows.size:
        seconds = pc.utf8_trim_whitespace(column.take(epoch_rows)).cast(pa.int64()).to_numpy()
        minute[epoch_rows] = np.floor_divide(seconds, 60)
        bad[epoch_rows] = False
    zoned = pc.fill_null(pc.match_substring_regex(column, _ZONED), False)
    zoned_rows = np.flatnonzero(zoned.to_numpy(zero_copy_only=False) & ~empty)
    if zoned_rows.size:
        millis, parsed = _cast_each(column.take(zoned_rows))
        minute[zoned_rows] = np.floor_divide(millis, _MS_PER_MINUTE)
        bad[zoned_rows] = ~parsed
    return minute, bad


def _cast_each(texts: pa.Array) -> tuple[Int64Array, BoolArray]:
    """Milliseconds of each text, and whether it parsed: Arrow casts all-or-nothing, so
    halve the failing ranges until the bad values are found (few casts when few are bad)."""
    millis = np.zeros(len(texts), dtype=np.int64)
    parsed = np.zeros(len(texts), dtype=bool)
    pending = [(0, len(texts))]
    while pending:
        start, end = pending.pop()
        try:
            values = texts.slice(start, end - start).cast(TIMESTAMP).cast(pa.int64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            if end - start > 1:
                middle = (start + end) // 2
                pending += [(start, middle), (middle, end)]
            continue
        millis[start:end] = values.fill_null(0).to_numpy()
        parsed[start:end] = True
    return millis, parsed
