"""Mapping rows to series: (SLO, values of that SLO's segment keys) → a store series id.

Two halves, so the per-row work runs on the reader thread and only per-series work waits
for the store:

- ``group_rows`` (reader thread, no store): the SLO index and each segment column's
  dictionary codes are combined into one integer per row (mixed radix; keys an SLO does
  not use count as zero), the distinct combinations — the batch's series — found with a
  lookup table or ``np.unique``, and the rows summed per (series, minute), sorted.
- ``SeriesResolver`` (writer thread): a cache, then ``store.series_ids`` once per SLO
  for the series not seen before in this file.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from errorbudget.ingest.fold import MinuteRows, aggregate
from errorbudget.ingest.validate import Checked, Validator
from errorbudget.model import SegmentKey

Int64Array = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]

_TABLE_MIN = 1 << 16
"""Up to this many combinations (or twice the rows) use a lookup table instead of sorting."""


class CountsStore(Protocol):
    """What ingest needs of the store (``errorbudget.store.Store`` provides it)."""

    def series_ids(
        self, slo: str, segments: Sequence[SegmentKey], create: bool = True
    ) -> list[int]: ...

    def write_counts(
        self,
        series: Int64Array,
        minutes: Int64Array,
        good: Int64Array,
        total: Int64Array,
        source: str = "ingest",
    ) -> int: ...

    def transaction(self) -> AbstractContextManager[Any]: ...


@dataclass
class Grouped:
    """The writable rows of a batch, one per (series, minute), sorted by series then minute.

    ``rows.series`` indexes ``slo`` / ``values``: the batch's own numbering of its series.
    """

    slo: Int32Array
    values: list[tuple[str, ...]]
    """Per series: the values of its SLO's segment keys, in the SLO's key order."""
    rows: MinuteRows


def group_rows(checked: Checked, validator: Validator) -> Grouped:
    """Group the rows that passed the checks by series and sum each (series, minute)."""
    rows = np.flatnonzero(checked.ok)
    if not rows.size:
        empty = np.zeros(0, dtype=np.int64)
        return Grouped(np.zeros(0, np.int32), [], MinuteRows(empty, empty, empty, empty))
    inverse, representative = _combinations(checked, validator, rows)
    slo = checked.slo[representative]
    values = []
    for series_slo, row in zip(slo.tolist(), representative.tolist(), strict=True):
        keys = validator.slos[series_slo].segments.keys
        segments = checked.segments
        values.append(tuple(segments[k].values[segments[k].codes[row]] for k in keys))
    summed = aggregate(
        MinuteRows(inverse, checked.minute[rows], checked.good[rows], checked.total[rows])
    )
    return Grouped(slo, values, summed)


def _combinations(
    checked: Checked, validator: Validator, rows: Int64Array
) -> tuple[Int64Array, Int64Array]:
    """(row → index of its combination, a row index for each distinct combination)."""
    slo = checked.slo[rows]
    combined = slo.astype(np.int64)
    radix = len(validator.slos)
    for at, key in enumerate(validator.segment_columns):
        uses = validator.uses[slo, at]
        if key not in checked.segments or not uses.any():
            continue  # unused here (rows needing an absent column were rejected)
        segment = checked.segments[key]
        width = len(segment.values) + 1
        if radix * width >= 1 << 62:  # renumber densely before the product overflows
            unique, combined = np.unique(combined, return_inverse=True)
            radix = int(unique.size)
        combined = combined * width + np.where(uses, segment.codes[rows] + 1, 0)
        radix *= width
    if radix <= max(_TABLE_MIN, 2 * rows.size):
        present = np.zeros(radix, dtype=bool)
        present[combined] = True
        distinct = np.flatnonzero(present)
        lookup = np.empty(radix, dtype=np.int64)
        lookup[distinct] = np.arange(distinct.size)
        inverse = lookup[combined]
        representative = np.empty(distinct.size, dtype=np.int64)
        representative[inverse] = rows  # any row of each combination will do
    else:
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        representative = rows[first]
    return inverse.astype(np.int64), representative


class SeriesResolver:
    """File-local dense ids for series (0, 1, …) and the store id of each.

    Lives for one file's transaction: series created by a rolled-back file vanish with it.
    """

    def __init__(self, store: CountsStore, validator: Validator) -> None:
        self.store = store
        self.validator = validator
        self.dense: dict[tuple[int, tuple[str, ...]], int] = {}
        self.store_ids: list[int] = []
        self.series: list[tuple[int, tuple[str, ...]]] = []
        """Per dense id: (the SLO's index, the values of its segment keys)."""
        self._store_id_array = np.zeros(0, dtype=np.int64)

    def resolve(self, grouped: Grouped) -> Int64Array:
        """The dense id of each series of ``grouped``, creating new series in the store."""
        dense = np.empty(len(grouped.values), dtype=np.int64)
        new: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        for at, (slo, values) in enumerate(zip(grouped.slo.tolist(), grouped.values, strict=True)):
            known = self.dense.get((slo, values))
            if known is None:
                new.setdefault(slo, []).append((at, values))
            else:
                dense[at] = known
        for slo, wanted in new.items():
            keys = self.validator.slos[slo].segments.keys
            segments = [tuple(sorted(zip(keys, values, strict=True))) for _, values in wanted]
            ids = self.store.series_ids(self.validator.slo_ids[slo], segments, create=True)
            for (at, values), store_id in zip(wanted, ids, strict=True):
                dense[at] = self.dense[(slo, values)] = len(self.store_ids)
                self.store_ids.append(int(store_id))
                self.series.append((slo, values))
        return dense

    def series_of(self, dense: int) -> tuple[int, tuple[str, ...]]:
        """(SLO index, segment values) of a dense id, for messages."""
        return self.series[dense]

    def slo_of(self, dense: Int64Array) -> Int64Array:
        """The SLO index of each dense id."""
        slos = np.fromiter((slo for slo, _ in self.series), dtype=np.int64, count=len(self.series))
        found: Int64Array = slos[dense]
        return found

    def store_id_of(self, dense: Int64Array) -> Int64Array:
        if self._store_id_array.size != len(self.store_ids):
            self._store_id_array = np.asarray(self.store_ids, dtype=np.int64)
        return self._store_id_array[dense]
