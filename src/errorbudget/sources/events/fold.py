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

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from errorbudget.model import SLO, SegmentKey
from errorbudget.sources.events.fields import DIMENSIONS, STAGES, UNKNOWN
from errorbudget.sources.events.indicator import EventsIndicator
from errorbudget.sources.events.rules import CompiledSli, EventColumns, SliMasks, compile_sli

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
key), ``flow`` itself, and ``error_stage`` (failures of turn SLIs only). ``dimension_rows``
also holds rows of dimension ``exclusion`` (value = an exclusion rule's name: the events it
excluded and those of them failing the good rule)."""

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
        millis = table.column("time").cast(pa.int64()).to_numpy()
        self.minute: Int64Array = np.floor_divide(millis, 60_000).astype(np.int64)
        hour = self.minute - np.mod(self.minute, 60)
        self.first_hour = int(hour.min()) if self.rows else 0
        self.hour_index: Int64Array = (hour - self.first_hour) // 60
        self.hours = int(self.hour_index.max()) + 1 if self.rows else 1
        self._codes: dict[str, _Codes] = {}
        self.columns = EventColumns(table)
        self._stages: dict[str, tuple[npt.NDArray[np.bool_], Int64Array]] = {}

    def codes(self, name: str) -> _Codes:
        found = self._codes.get(name)
        if found is None:
            column = pc.fill_null(self.table.column(name), UNKNOWN).combine_chunks()
            encoded = pc.dictionary_encode(column)
            indices = np.asarray(encoded.indices.to_numpy(), dtype=np.int32)
            found = self._codes[name] = _Codes(indices, encoded.dictionary)
        return found

    @functools.cached_property
    def profiles(self) -> _Profiles:
        return _Profiles(self)

    def stage(self, stage: str) -> tuple[npt.NDArray[np.bool_], Int64Array]:
        """Where a turn carries ``stage``'s timing, and the timings (0 elsewhere)."""
        found = self._stages.get(stage)
        if found is None:
            column = self.table.column(f"{stage}_ms")
            valid = np.asarray(pc.is_valid(column).to_numpy(zero_copy_only=False), dtype=np.bool_)
            millis = np.asarray(pc.fill_null(column, 0).to_numpy(), dtype=np.int64)
            found = self._stages[stage] = (valid, millis)
        return found


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
    values = np.asarray(weights)
    if values.dtype.kind in "iu":
        return _integer_sum(groups, count, values.astype(np.int64))
    summed = np.bincount(groups, weights=values, minlength=count)
    return np.rint(summed).astype(np.int64)


_LOW_BITS = 26


def _integer_sum(groups: npt.NDArray[np.intp], count: int, values: Int64Array) -> Int64Array:
    """Exact int64 sums per group: ``bincount`` adds in float64, exact only below 2**53, so
    the values are summed as a high and a low 26-bit half (each half's sum stays exact for
    up to 2**27 values a group), then joined as integers."""
    low = np.bitwise_and(values, (1 << _LOW_BITS) - 1)
    high = np.right_shift(values, _LOW_BITS)
    low_sum = np.rint(np.bincount(groups, weights=low, minlength=count)).astype(np.int64)
    high_sum = np.rint(np.bincount(groups, weights=high, minlength=count)).astype(np.int64)
    return np.left_shift(high_sum, _LOW_BITS) + low_sum


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
    masks = sli.masks(batch.table, columns=batch.columns)
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
        dimension_rows=_dimension_rows(
            batch, masks, sli.indicator.event == "turn", sli.exclusion_names
        ),
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


class _Profiles:
    """Rows grouped by everything a dimension row is keyed by (hour, flow, every other
    dimension, error stage), once per batch: each SLO then counts its rows per profile in one
    pass, and each dimension's rows are sums over profiles (usually far fewer than rows)."""

    def __init__(self, batch: _Batch) -> None:
        names = ["flow", *ROLLUP_DIMENSIONS[:-2], "error_stage"]
        key = batch.hour_index.copy()
        cells = batch.hours
        for name in names:
            codes = batch.codes(name)
            if cells * codes.size >= 1 << 62:  # renumber densely before the key overflows
                distinct, inverse = np.unique(key, return_inverse=True)
                key, cells = inverse.reshape(-1).astype(np.int64), int(distinct.size)
            key = key * codes.size + codes.codes
            cells *= codes.size
        distinct, self.of_row = _group(key, cells)
        self.count = int(distinct.size)
        first = np.full(self.count, batch.rows, dtype=np.int64)
        np.minimum.at(first, self.of_row, np.arange(batch.rows, dtype=np.int64))
        flow = batch.codes("flow")
        hour_flow = batch.hour_index[first] * flow.size + flow.codes[first]
        self.cells: dict[str, tuple[Int64Array, npt.NDArray[np.intp], pa.Array, pa.Array]] = {}
        for dimension in ROLLUP_DIMENSIONS:
            encoded = batch.codes(dimension)
            value = encoded.codes[first] if dimension != "flow" else np.zeros(self.count, np.int32)
            size = encoded.size if dimension != "flow" else 1
            cell_keys, cell_of_profile = _group(
                hour_flow * size + value, batch.hours * flow.size * size
            )
            flows = flow.values.take(pa.array((cell_keys // size) % flow.size))
            if dimension == "flow":
                named = flows
            else:
                named = encoded.values.take(pa.array(cell_keys % size))
            hour = (cell_keys // size) // flow.size * 60 + batch.first_hour
            self.cells[dimension] = (hour, cell_of_profile, flows, named)


def _dimension_rows(
    batch: _Batch, masks: SliMasks, with_error_stage: bool, exclusion_names: Sequence[str] = ()
) -> pa.Table:
    rows = np.flatnonzero(masks.considered)
    if rows.size == 0:
        return DIMENSION_SCHEMA.empty_table()
    profiles = batch.profiles
    classes = _classes(masks, rows)
    per_profile = np.bincount(
        profiles.of_row[rows] * 4 + classes, minlength=profiles.count * 4
    ).reshape(-1, 4)
    parts = []
    for dimension in ROLLUP_DIMENSIONS:
        if dimension == "error_stage" and not with_error_stage:
            continue
        hour, cell_of_profile, flows, named = profiles.cells[dimension]
        per_cell = np.stack(
            [
                np.bincount(cell_of_profile, weights=per_profile[:, k], minlength=hour.size)
                for k in range(4)
            ],
            axis=1,
        ).astype(np.int64)
        if dimension == "error_stage":  # failures only: bad (eligible) and excluded failing
            per_cell[:, 0] = 0
            per_cell[:, 2] = 0
        present = np.flatnonzero(per_cell.sum(axis=1) > 0)
        if present.size == 0:
            continue
        chosen = per_cell[present]
        taken = pa.array(present)
        parts.append(
            pa.Table.from_arrays(
                [
                    pa.array(hour[present], pa.int64()),
                    flows.take(taken).cast(pa.string()),
                    pa.array(np.full(present.size, dimension, dtype=object), pa.string()),
                    named.take(taken).cast(pa.string()),
                    pa.array(chosen[:, 0] + chosen[:, 1]),
                    pa.array(chosen[:, 1]),
                    pa.array(chosen[:, 2] + chosen[:, 3]),
                    pa.array(chosen[:, 3]),
                ],
                schema=DIMENSION_SCHEMA,
            )
        )
    parts += _exclusion_rows(batch, masks, rows, classes, exclusion_names)
    return pa.concat_tables(parts) if parts else DIMENSION_SCHEMA.empty_table()


def _exclusion_rows(
    batch: _Batch,
    masks: SliMasks,
    rows: npt.NDArray[np.intp],
    classes: Int64Array,
    names: Sequence[str],
) -> list[pa.Table]:
    """Rows of dimension ``exclusion``: per hour, flow and exclusion rule (value = the rule's
    name), the events it excluded (``excluded``) and those of them failing the good rule
    (``excluded_bad``) — exact, whatever the number of kept events."""
    by = masks.excluded_by[rows].astype(np.int64)
    chosen = by >= 0
    if not chosen.any() or not names:
        return []
    picked = rows[chosen]
    rule = by[chosen]
    failing = (classes[chosen] == 3).astype(np.int64)
    flow = batch.codes("flow")
    size = len(names)
    keys = (batch.hour_index[picked] * flow.size + flow.codes[picked]) * size + rule
    cells, inverse = np.unique(keys, return_inverse=True)
    inverse = inverse.reshape(-1)
    excluded = np.bincount(inverse, minlength=cells.size).astype(np.int64)
    excluded_bad = np.bincount(inverse, weights=failing, minlength=cells.size).astype(np.int64)
    hour_flow = cells // size
    zeros = np.zeros(cells.size, dtype=np.int64)
    return [
        pa.Table.from_arrays(
            [
                pa.array(hour_flow // flow.size * 60 + batch.first_hour, pa.int64()),
                flow.values.take(pa.array(hour_flow % flow.size)).cast(pa.string()),
                pa.array(np.full(cells.size, "exclusion", dtype=object), pa.string()),
                pa.array(np.asarray(names, dtype=object)[cells % size], pa.string()),
                pa.array(zeros),
                pa.array(zeros),
                pa.array(excluded),
                pa.array(excluded_bad),
            ],
            schema=DIMENSION_SCHEMA,
        )
    ]


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
    # one bincount per sum: cell × (good, bad) halves; a null timing is 0 ms and not counted
    halves = groups * 2 + (~masks.good[rows])
    size = distinct.size * 2
    parts = []
    for stage in STAGES:
        all_valid, all_millis = batch.stage(stage)
        valid = all_valid[rows]
        if not valid.any():
            continue
        millis = _sum(halves, size, all_millis[rows]).reshape(-1, 2)
        counted = _sum(halves, size, valid).reshape(-1, 2)
        eligible_ms, bad_ms = millis.sum(axis=1), millis[:, 1]
        eligible_n, bad_n = counted.sum(axis=1), counted[:, 1]
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
