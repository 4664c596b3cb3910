"""Rules evaluated over an event table, column-wise (``pyarrow.compute`` into numpy masks).

Null semantics: a null field satisfies no comparison (``eq ne lt le gt ge in not_in`` are
all false on null — ``ne`` too); ``present: false`` is the only way to match a null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from errorbudget.sources.events.indicator import Condition, EventsIndicator, Rule
from errorbudget.sources.events.model import EVENT_TYPES, FIELDS

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


def _column(table: pa.Table, field: str) -> pa.ChunkedArray:
    return table.column(field)


def condition_mask(table: pa.Table, condition: Condition) -> BoolArray:
    """Rows where ``condition`` holds (null never does, except ``present: false``)."""
    column = _column(table, condition.field)
    op, value = condition.op, condition.value
    if op == "present":
        return _numpy(pc.is_valid(column) if value else pc.is_null(column))
    if op in ("in", "not_in"):
        assert isinstance(value, tuple)
        values = pa.array(list(value), type=_value_type(condition.field, value))
        found = pc.is_in(column, value_set=values, skip_nulls=True)
        mask = _numpy(found)
        if op == "not_in":
            mask = ~mask & _numpy(pc.is_valid(column))
        return mask
    scalar = pa.scalar(value, type=_value_type(condition.field, (value,)))
    return _numpy(_COMPARE[op](column, scalar))


def _value_type(field: str, values: tuple[object, ...]) -> pa.DataType:
    """The Arrow type to compare ``values`` in: the column's, except a fractional threshold
    on an integer field (``latency_ms: {le: 1200.5}``), compared as float."""
    kind = FIELDS[field].arrow_type
    if pa.types.is_integer(kind) and any(
        isinstance(v, float) and not float(v).is_integer() for v in values
    ):
        return pa.float64()
    return kind


def rule_mask(table: pa.Table, rule: Rule) -> BoolArray:
    """Rows where ``rule`` holds."""
    parts = [condition_mask(table, c) for c in rule.conditions]
    parts += [rule_mask(table, r) for r in rule.rules]
    if rule.mode == "any":
        mask = np.zeros(table.num_rows, dtype=np.bool_)
        for part in parts:
            mask |= part
        return mask
    mask = np.ones(table.num_rows, dtype=np.bool_)
    for part in parts:
        mask &= part
    return mask


def type_mask(table: pa.Table, event: str) -> BoolArray:
    """Rows of type ``event``."""
    assert event in EVENT_TYPES
    return _numpy(pc.equal(table.column("type"), event))


@dataclass(frozen=True)
class CompiledSli:
    """An events indicator ready to evaluate over tables."""

    indicator: EventsIndicator

    @property
    def exclusion_names(self) -> list[str]:
        return self.indicator.exclusion_names

    def masks(self, table: pa.Table, *, of_type: BoolArray | None = None) -> SliMasks:
        """The SLI's masks over ``table``'s rows (``of_type``: the rows of the indicator's
        event type, when the caller has it already)."""
        indicator = self.indicator
        considered = type_mask(table, indicator.event) if of_type is None else of_type.copy()
        if indicator.eligible is not None and considered.any():
            considered &= rule_mask(table, indicator.eligible)
        excluded_by = np.full(table.num_rows, -1, dtype=np.int16)
        for index in range(len(indicator.exclude) - 1, -1, -1):  # the first match wins
            matched = rule_mask(table, indicator.exclude[index].when) & considered
            excluded_by[matched] = index
        eligible = considered & (excluded_by < 0)
        if considered.any():
            passes = considered & rule_mask(table, indicator.good)
        else:
            passes = considered.copy()
        return SliMasks(considered, excluded_by, eligible, eligible & passes, passes)


def compile_sli(indicator: EventsIndicator) -> CompiledSli:
    """The indicator compiled for evaluation over event tables."""
    return CompiledSli(indicator)
