"""Rules evaluated over an event table, column-wise (``pyarrow.compute`` into numpy masks).

Null semantics: a null field satisfies no comparison (``eq ne lt le gt ge in not_in`` are
all false on null — ``ne`` too); ``present: false`` is the only way to match a null.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from errorbudget.sources.events.fields import EVENT_TYPES, FIELDS
from errorbudget.sources.events.indicator import Condition, EventsIndicator, Rule

BoolArray = npt.NDArray[np.bool_]

_COMPARE = {
    "eq": pc.equal,
    "ne": pc.not_equal,
    "lt": pc.less,
    "le": pc.less_equal,
    "gt": pc.greater,
    "ge": pc.greater_equal,
}


@dataclass(frozen=True)
class SliMasks:
    """Per row of the table: ``considered`` (the SLI's type and its eligible rule),
    ``excluded_by`` (index of the first matching exclusion rule, −1 for none, int16),
    ``eligible`` (considered and not excluded) and ``good`` (eligible and the good rule)."""

    considered: BoolArray
    excluded_by: npt.NDArray[np.int16]
    eligible: BoolArray
    good: BoolArray
    passes: BoolArray | None = None
    """Considered rows that satisfy the good rule, excluded or not (``excluded & ~passes``
    are the excluded failures: raw failures = bad + those)."""


def _numpy(mask: pa.Array | pa.ChunkedArray) -> BoolArray:
    filled = pc.fill_null(mask, False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.bool_)


class EventColumns:
    """A table's columns as numpy, each converted once on first use and shared by every
    condition of every SLI evaluated over the table (a fold): numbers and booleans as
    (values, valid), strings as dictionary codes (−1 for null) over their distinct values,
    so a string condition is evaluated once per distinct value."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.rows = table.num_rows
        self._valid: dict[str, BoolArray] = {}
        self._values: dict[str, npt.NDArray[Any]] = {}
        self._strings: dict[str, tuple[npt.NDArray[np.int32], pa.Array]] = {}

    def valid(self, field: str) -> BoolArray:
        found = self._valid.get(field)
        if found is None:
            column = self.table.column(field)
            if column.null_count == 0:
                found = np.ones(self.rows, dtype=np.bool_)
            else:
                found = _numpy(pc.is_valid(column))
            self._valid[field] = found
        return found

    def values(self, field: str) -> npt.NDArray[Any]:
        """A number or boolean column with nulls as 0/false (read with :meth:`valid`)."""
        found = self._values.get(field)
        if found is None:
            column = self.table.column(field)
            filler = False if FIELDS[field].kind == "bool" else 0
            filled = pc.fill_null(column, filler) if column.null_count else column
            found = self._values[field] = np.asarray(filled.to_numpy(zero_copy_only=False))
        return found

    def strings(self, field: str) -> tuple[npt.NDArray[np.int32], pa.Array]:
        """Each row's index into the column's distinct values (−1 for null), and those."""
        found = self._strings.get(field)
        if found is None:
            column = self.table.column(field).combine_chunks()
            encoded = pc.dictionary_encode(column)
            codes = encoded.indices
            if codes.null_count:
                codes = pc.fill_null(codes, -1)
            found = (np.asarray(codes.to_numpy(), dtype=np.int32), encoded.dictionary)
            self._strings[field] = found
        return found


def condition_mask(
    table: pa.Table, condition: Condition, columns: EventColumns | None = None
) -> BoolArray:
    """Rows where ``condition`` holds (null never does, except ``present: false``)."""
    columns = EventColumns(table) if columns is None else columns
    field, op, value = condition.field, condition.op, condition.value
    if op == "present":
        valid = columns.valid(field)
        return valid.copy() if value else ~valid
    if FIELDS[field].kind in ("str", "url"):
        codes, distinct = columns.strings(field)
        on_distinct = _numpy(_arrow_test(distinct, op, value, field))
        return np.append(on_distinct, False)[codes]  # code −1 (null) reads the False
    values = columns.values(field)
    if op in ("in", "not_in"):
        assert isinstance(value, tuple)
        found = np.isin(values, np.asarray(value))
        hits = found if op == "in" else ~found
    else:
        hits = _NUMPY_COMPARE[op](values, value)
    return np.asarray(hits & columns.valid(field), dtype=np.bool_)


_NUMPY_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


def _arrow_test(column: pa.Array, op: str, value: object, field: str) -> pa.Array:
    if op in ("in", "not_in"):
        assert isinstance(value, tuple)
        values = pa.array(list(value), type=_value_type(field, value))
        found = pc.is_in(column, value_set=values, skip_nulls=True)
        return pc.invert(found) if op == "not_in" else found
    scalar = pa.scalar(value, type=_value_type(field, (value,)))
    return _COMPARE[op](column, scalar)


def _value_type(field: str, values: tuple[object, ...]) -> pa.DataType:
    """The Arrow type to compare ``values`` in: the column's, except a fractional threshold
    on an integer field (``latency_ms: {le: 1200.5}``), compared as float."""
    kind = FIELDS[field].arrow_type
    if pa.types.is_integer(kind) and any(
        isinstance(v, float) and not float(v).is_integer() for v in values
    ):
        return pa.float64()
    return kind


def rule_mask(table: pa.Table, rule: Rule, columns: EventColumns | None = None) -> BoolArray:
    """Rows where ``rule`` holds."""
    columns = EventColumns(table) if columns is None else columns
    parts = [condition_mask(table, c, columns) for c in rule.conditions]
    parts += [rule_mask(table, r, columns) for r in rule.rules]
    if rule.mode == "any":
        mask = np.zeros(table.num_rows, dtype=np.bool_)
        for part in parts:
            mask |= part
        return mask
    mask = np.ones(table.num_rows, dtype=np.bool_)
    for part in parts:
        mask &= part
    return mask


def type_mask(table: pa.Table, event: str, columns: EventColumns | None = None) -> BoolArray:
    """Rows of type ``event``."""
    assert event in EVENT_TYPES
    columns = EventColumns(table) if columns is None else columns
    codes, distinct = columns.strings("type")
    return np.append(_numpy(pc.equal(distinct, event)), False)[codes]


@dataclass(frozen=True)
class CompiledSli:
    """An events indicator ready to evaluate over tables."""

    indicator: EventsIndicator

    @property
    def exclusion_names(self) -> list[str]:
        return self.indicator.exclusion_names

    def masks(self, table: pa.Table, *, columns: EventColumns | None = None) -> SliMasks:
        """The SLI's masks over ``table``'s rows (``columns``: the table's numpy columns,
        shared by the SLIs of one fold)."""
        indicator = self.indicator
        columns = EventColumns(table) if columns is None else columns
        considered = type_mask(table, indicator.event, columns)
        if indicator.eligible is not None and considered.any():
            considered &= rule_mask(table, indicator.eligible, columns)
        excluded_by = np.full(table.num_rows, -1, dtype=np.int16)
        for index in range(len(indicator.exclude) - 1, -1, -1):  # the first match wins
            matched = rule_mask(table, indicator.exclude[index].when, columns) & considered
            excluded_by[matched] = index
        eligible = considered & (excluded_by < 0)
        if considered.any():
            passes = considered & rule_mask(table, indicator.good, columns)
        else:
            passes = considered.copy()
        return SliMasks(considered, excluded_by, eligible, eligible & passes, passes)


def compile_sli(indicator: EventsIndicator) -> CompiledSli:
    """The indicator compiled for evaluation over event tables."""
    return CompiledSli(indicator)
