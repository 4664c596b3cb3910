"""Mapping rows to series: (SLO, values of that SLO's segment keys) → a store series id.

The SLO index and each segment column's dictionary codes are combined into one integer per
row (mixed radix, with the keys an SLO does not use zeroed), the distinct combinations
found with a lookup table or ``np.unique``, and only those — typically a few hundred per
batch — go through Python: a cache, then ``store.series_ids`` once per SLO for new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from errorbudget.ingest.validate import Checked, Validator
from errorbudget.model import SegmentKey

Int64Array = npt.NDArray[np.int64]

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


class SeriesResolver:
    """File-local dense ids for series (0, 1, …) and the store id of each.

    Lives for one file's transaction: series created by a rolled-back file vanish with it.
    """

    def __init__(self, store: CountsStore, validator: Validator) -> None:
        self.store = store
        self.validator = validator
        self.dense: dict[tuple[int, tuple[str, ...]], int] = {}
        self.store_ids: list[int] = []
        self._store_id_array = np.zeros(0, dtype=np.int64)

    def resolve(self, checked: Checked, rows: Int64Array) -> Int64Array:
        """The dense series id of each of ``rows`` (rows that passed the checks)."""
        if not rows.size:
            return np.zeros(0, dtype=np.int64)
        inverse, representative = self._combinations(checked, rows)
        dense = np.empty(representative.size, dtype=np.int64)
        new: dict[int, list[tuple[int, tuple[str, ...]]]] = {}
        for at, row in enumerate(representative.tolist()):
            slo = int(checked.slo[row])
            values = tuple(
                checked.segments[key].values[checked.segments[key].codes[row]]
                for key in self.validator.slos[slo].segments.keys
            )
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
        return dense[inverse]

    def store_id_of(self, dense: Int64Array) -> Int64Array:
        if self._store_id_array.size != len(self.store_ids):
            self._store_id_array = np.asarray(self.store_ids, dtype=np.int64)
        return self._store_id_array[dense]

    def _combinations(self, checked: Checked, rows: Int64Array) -> tuple[Int64Array, Int64Array]:
        """(row → index of its combination, a row index for each distinct combination)."""
        slo = checked.slo[rows]
        combined = slo.astype(np.int64)
        radix = len(self.validator.slos)
        for at, key in enumerate(self.validator.segment_columns):
            if key not in checked.segments:
                continue  # absent from the file: rows needing it were rejected
            segment = checked.segments[key]
            uses = self.validator.uses[slo, at]
            if not uses.any():
                continue
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
            distinct, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
            representative = rows[first]
        return inverse.astype(np.int64), representative
