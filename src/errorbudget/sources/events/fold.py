"""Events → what the store keeps, by the SLI rules (pure: no store, no I/O).

For each events SLO, :func:`fold_events` returns

- minute counts per (segment, minute): ``total`` = eligible events, ``good`` = those that
  pass the good rule (the counts-write seam's rows, source ``events``);
- the kept events: row indices of every considered event that is bad or excluded, with its
  verdict, exclusion name and segment (the review queue and attribution read them);
- hourly rollups by dimension (``dimension_rows``) and, for turn SLIs, stage timing sums
  (``stage_rows``): pipeline attribution and flow breakdowns without rereading events.

Everything is numpy over the table's columns: a dimension is dictionary-encoded once per
fold and shared by every SLO; groups are dense ``bincount`` cells when the key space is
small (the usual case: a batch spans few hours), else ``np.unique``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from errorbudget.model import SLO, SegmentKey
from errorbudget.sources.events.indicator import EventsIndicator
from errorbudget.sources.events.model import DIMENSIONS, EVENT_TYPES, STAGES, UNKNOWN
from errorbudget.sources.events.rules import CompiledSli, SliMasks, compile_sli

Int64Array = npt.NDArray[np.int64]

DIMENSION_SCHEMA = pa.schema(
    [
        ("hour", pa.int64()),
        ("flow", pa.string()),
        ("dimension", pa.string()),
        ("value", pa.string()),
        ("eligible", pa.int64()),
        ("bad", pa.int64()),
        ("excluded", pa.int64()),
        ("excluded_bad", pa.int64()),
    ]
)
"""``dimension_rows``: per UTC hour (its first epoch minute), flow, dimension and value."""

STAGE_SCHEMA = pa.schema(
    [
        ("hour", pa.int64()),
        ("flow", pa.string()),
        ("stage", pa.string()),
        ("eligible_ms", pa.int64()),
        ("eligible_n", pa.int64()),
        ("bad_ms", pa.int64()),
        ("bad_n", pa.int64()),
    ]
)
"""``stage_rows``: per UTC hour, flow and stage, the stage's time summed over eligible
(and over bad) turns that carry that stage's timing."""

ROLLUP_DIMENSIONS: tuple[str, ...] = (*DIMENSIONS[1:], "flow", "error_stage")
"""The ``dimension`` values of ``dimension_rows``: every dimension but flow (the rows' own
key), ``flow`` itself, and ``error_stage`` (failures of turn SLIs only)."""

DENSE_CELLS = 1 << 22
"""Up to this many cells a group-by is a dense ``bincount``; beyond, ``np.unique``."""


@dataclass
class SloFold:
    """One SLO's share of a fold (module docstring)."""

    slo: str
    segments: list[SegmentKey]
    seg: npt.NDArray[np.int32]
    minute: Int64Array
    good: Int64Array
    total: Int64Array
    kept_rows: Int64Array
    kept_verdict: list[str]
    kept_exclusion: list[str | None]
    kept_seg: npt.NDArray[np.int32]
    dimension_rows: pa.Table
    stage_rows: pa.Table

    @property
    def eligible(self) -> int:
        return int(self.total.sum())

    @property
    def bad(self) -> int:
        return int(self.total.sum() - self.good.sum())


@dataclass
class EventFold:
    """:func:`fold_events`' result: one :class:`SloFold` per events SLO, in config order."""

    per_slo: list[SloFold] = field(default_factory=list)

    def by_slo(self) -> dict[str, SloFold]:
        return {fold.slo: fold for fold in self.per_slo}


@dataclass
class _Codes:
    """A string column dictionary-encoded: ``codes[row]`` indexes ``values``."""

    codes: npt.NDArray[np.int32]
    values: pa.Array

    @property
    def size(self) -> int:
        return max(len(self.values), 1)


class _Batch:
    """The table's shared arrays, computed once per fold."""

    def __init__(self, table: pa.Table) -> None:
        self.table = table
        self.rows = table.num_rows
        codes = pc.index_in(table.column("type"), pa.array(EVENT_TYPES))
        self.type_codes = np.asarray(pc.fill_null(codes, -1).to_numpy(), dtype=np.int8)
        millis = table.column("time").cast(pa.int64()).to_numpy()
        self.minute: Int64Array = np.floor_divide(millis, 60_000).astype(np.int64)
        hour = self.minute - np.mod(self.minute, 60)
        self.first_hour = int(hour.min()) if self.rows else 0
        self.hour_index: Int64Array = (hour - self.first_hour) // 60
        self.hours = int(self.hour_index.max()) + 1 if self.rows else 1
        self._codes: dict[str, _Codes] = {}

    def codes(self, name: str) -> _Codes:
        found = self._codes.get(name)
        if found is None:
            column = pc.fill_null(self.table.column(name), UNKNOWN).combine_chunks()
            encoded = pc.dictionary_encode(column)
            indices = np.asarray(encoded.indices.to_numpy(), dtype=np.int32)
            found = self._codes[name] = _Codes(indices, encoded.dictionary)
        return found

    def of_type(self, event: str) -> npt.NDArray[np.bool_]:
        code = EVENT_TYPES.index(event)
        return np.asarray(self.type_codes == code, dtype=np.bool_)


def _group(keys: Int64Array, cells: int) -> tuple[Int64Array, npt.NDArray[np.intp]]:
    """The distinct keys (ascending) and each key's group index."""
    if cells <= DENSE_CELLS:
        present = np.zeros(cells, dtype=np.bool_)
        present[keys] = True
        distinct = np.flatnonzero(present).astype(np.int64)
        position = np.cumsum(present, dtype=np.intp) - 1
        return distinct, position[keys]
    distinct, inverse = np.unique(keys, return_inverse=True)
    return distinct.astype(np.int64), inverse.reshape(-1)


def _sum(
    groups: npt.NDArray[np.intp], count: int, weights: npt.ArrayLike | None = None
) -> Int64Array:
    if weights is None:
        return np.bincount(groups, minlength=count).astype(np.int64)
    summed = np.bincount(groups, weights=weights, minlength=count)
    return np.rint(summed).astype(np.int64)


def fold_events(table: pa.Table, slos: Sequence[SLO]) -> EventFold:
    """Fold an event table (``model.EVENT_SCHEMA``) by every events SLO of ``slos`` (the
    others are skipped)."""
    batch = _Batch(table)
    fold = EventFold()
    for slo in slos:
        if isinstance(slo.indicator, EventsIndicator):
            fold.per_slo.append(_fold_slo(batch, slo, compile_sli(slo.indicator)))
    return fold


def _fold_slo(batch: _Batch, slo: SLO, sli: CompiledSli) -> SloFold:
    masks = sli.masks(batch.table, of_type=batch.of_type(sli.indicator.event))
    considered_rows = np.flatnonzero(masks.considered)
    segments, seg_of_considered = _segments(batch, list(slo.segments.keys), considered_rows)
    seg = np.full(batch.rows, -1, dtype=np.int32)
    seg[considered_rows] = seg_of_considered

    eligible_rows = np.flatnonzero(masks.eligible)
    minute = batch.minute[eligible_rows]
    first_minute = int(minute.min()) if minute.size else 0
    span = int(minute.max()) - first_minute + 1 if minute.size else 1
    keys = seg[eligible_rows].astype(np.int64) * span + (minute - first_minute)
    distinct, groups = _group(keys, max(len(segments), 1) * span)
    total = _sum(groups, distinct.size)
    good = _sum(groups, distinct.size, masks.good[eligible_rows])

    kept = masks.considered & ~masks.good
    kept_rows = np.flatnonzero(kept).astype(np.int64)
    excluded_by = masks.excluded_by[kept_rows]
    names = np.asarray([*sli.exclusion_names, None], dtype=object)
    kept_exclusion = names[excluded_by].tolist()  # −1 → the trailing None
    verdicts = np.where(excluded_by >= 0, "excluded", "bad")

    return SloFold(
        slo=slo.id,
        segments=segments,
        seg=(distinct // span).astype(np.int32),
        minute=distinct % span + first_minute,
        good=good,
        total=total,
        kept_rows=kept_rows,
        kept_verdict=verdicts.tolist(),
        kept_exclusion=kept_exclusion,
        kept_seg=seg[kept_rows],
        dimension_rows=_dimension_rows(batch, masks, sli.indicator.event == "turn"),
        stage_rows=_stage_rows(batch, masks) if sli.indicator.event == "turn" else _empty_stages(),
    )


def _segments(
    batch: _Batch, keys: list[str], rows: npt.NDArray[np.intp]
) -> tuple[list[SegmentKey], npt.NDArray[np.int32]]:
    """The distinct segments of ``rows`` by ``keys`` and each row's segment index."""
    if not keys:
        return [()], np.zeros(rows.size, dtype=np.int32)
    combined = np.zeros(rows.size, dtype=np.int64)
    cells = 1
    for key in keys:
        codes = batch.codes(key)
        if cells * codes.size >= 1 << 62:  # renumber densely before the key overflows
            distinct, combined = np.unique(combined, return_inverse=True)
            combined = combined.astype(np.int64)
            cells = int(distinct.size)
        combined = combined * codes.size + codes.codes[rows]
        cells *= codes.size
    distinct, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
    segments: list[SegmentKey] = []
    for row in rows[first].tolist():
        labels = {key: str(batch.codes(key).values[batch.codes(key).codes[row]]) for key in keys}
        segments.append(tuple(sorted(labels.items())))
    return segments, inverse.reshape(-1).astype(np.int32)


def _classes(masks: SliMasks, rows: npt.NDArray[np.intp]) -> Int64Array:
    """0 eligible good, 1 eligible bad, 2 excluded passing, 3 excluded failing."""
    passes = masks.passes if masks.passes is not None else masks.good
    excluded = masks.excluded_by[rows] >= 0
    return (excluded.astype(np.int64) * 2) + (~passes[rows]).astype(np.int64)


def _dimension_rows(batch: _Batch, masks: SliMasks, with_error_stage: bool) -> pa.Table:
    rows = np.flatnonzero(masks.considered)
    if rows.size == 0:
        return DIMENSION_SCHEMA.empty_table()
    classes = _classes(masks, rows)
    flow = batch.codes("flow")
    base = batch.hour_index[rows] * flow.size + flow.codes[rows]
    parts = []
    for dimension in ROLLUP_DIMENSIONS:
        subset = np.arange(rows.size)
        if dimension == "flow":
            values, codes = flow.values, np.zeros(rows.size, dtype=np.int64)
            size = 1
        elif dimension == "error_stage":
            if not with_error_stage:
                continue
            subset = np.flatnonzero(classes % 2 == 1)  # failures only
            stage = batch.codes("error_stage")
            values, codes, size = stage.values, stage.codes[rows].astype(np.int64), stage.size
        else:
            encoded = batch.codes(dimension)
            values, codes, size = encoded.values, encoded.codes[rows].astype(np.int64), encoded.size
        if subset.size == 0:
            continue
        keys = base[subset] * size + codes[subset]
        cells_distinct, groups = _group(keys, batch.hours * flow.size * size)
        per_class = np.bincount(groups * 4 + classes[subset], minlength=cells_distinct.size * 4)
        per_class = per_class.astype(np.int64).reshape(-1, 4)
        value_code = cells_distinct % size
        flow_code = (cells_distinct // size) % flow.size
        hour = (cells_distinct // size) // flow.size * 60 + batch.first_hour
        flows = flow.values.take(pa.array(flow_code))
        named = flows if dimension == "flow" else values.take(pa.array(value_code))
        parts.append(
            pa.Table.from_arrays(
                [
                    pa.array(hour, pa.int64()),
                    flows.cast(pa.string()),
                    pa.array(np.full(cells_distinct.size, dimension, dtype=object), pa.string()),
                    named.cast(pa.string()),
                    pa.array(per_class[:, 0] + per_class[:, 1]),
                    pa.array(per_class[:, 1]),
                    pa.array(per_class[:, 2] + per_class[:, 3]),
                    pa.array(per_class[:, 3]),
                ],
                schema=DIMENSION_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else DIMENSION_SCHEMA.empty_table()


def _empty_stages() -> pa.Table:
    return STAGE_SCHEMA.empty_table()


def _stage_rows(batch: _Batch, masks: SliMasks) -> pa.Table:
    rows = np.flatnonzero(masks.eligible)
    if rows.size == 0:
        return _empty_stages()
    flow = batch.codes("flow")
    keys = batch.hour_index[rows] * flow.size + flow.codes[rows]
    cells = batch.hours * flow.size
    distinct, groups = _group(keys, cells)
    bad = ~masks.good[rows]
    parts = []
    for stage in STAGES:
        column = batch.table.column(f"{stage}_ms")
        valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=np.bool_)[rows]
        if not valid.any():
            continue
        millis = np.asarray(pc.fill_null(column, 0).to_numpy(), dtype=np.float64)[rows]
        eligible_ms = _sum(groups[valid], distinct.size, millis[valid])
        eligible_n = _sum(groups[valid], distinct.size)
        both = valid & bad
        bad_ms = _sum(groups[both], distinct.size, millis[both])
        bad_n = _sum(groups[both], distinct.size)
        present = eligible_n > 0
        cell = distinct[present]
        flows = flow.values.take(pa.array(cell % flow.size))
        parts.append(
            pa.Table.from_arrays(
                [
                    pa.array(cell // flow.size * 60 + batch.first_hour, pa.int64()),
                    flows.cast(pa.string()),
                    pa.array(np.full(cell.size, stage, dtype=object), pa.string()),
                    pa.array(eligible_ms[present]),
                    pa.array(eligible_n[present]),
                    pa.array(bad_ms[present]),
                    pa.array(bad_n[present]),
                ],
                schema=STAGE_SCHEMA,
            )
        )
    return pa.concat_tables(parts) if parts else _empty_stages()
