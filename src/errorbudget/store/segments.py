"""Series segments in their stored form, for every backend.

A series is one SLO x one segment; the segment is stored as canonical JSON
(``[["key", "value"], ...]`` sorted by key), so the same labels always map to the same
series id, whatever the backend.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

from errorbudget.errors import NotFoundError, StoreError
from errorbudget.model import SegmentKey, segment_label
from errorbudget.record_builders import slot_constructor
from errorbudget.records import SeriesInfo


def canonical_segment(segment: SegmentKey) -> str:
    """The stored form of a segment: JSON ``[["key", "value"], ...]`` sorted by key.

    Pairs are sorted here, so the same labels always map to the same series id.
    """
    pairs = sorted(segment)
    keys = [key for key, _ in pairs]
    for key, value in pairs:
        if not isinstance(key, str) or not isinstance(value, str):
            raise StoreError(f"segment {segment!r}: keys and values must be strings")
    if len(set(keys)) != len(keys):
        raise StoreError(f"segment {segment!r} has a key more than once")
    return json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)


def parse_segment(stored: str) -> SegmentKey:
    """A stored (canonical JSON) segment as a ``SegmentKey``."""
    return tuple((str(key), str(value)) for key, value in json.loads(stored))


def check_slo_id(slo: object) -> None:
    """Raise StoreError unless ``slo`` is a non-empty string (a series' SLO id)."""
    if not isinstance(slo, str) or not slo:
        raise StoreError(f"an SLO id must be a non-empty string, not {slo!r}")


def missing_series(slo: str, missing: Sequence[str]) -> NotFoundError:
    """The error for series of ``slo`` asked for without ``create``: up to 5 segments named."""
    labels = ", ".join(segment_label(parse_segment(stored)) for stored in missing[:5])
    return NotFoundError(f"SLO {slo!r} has no stored series for segment(s) {labels}")


def series_infos(rows: Sequence[Sequence[Any]]) -> list[SeriesInfo]:
    """``(id, slo, stored segment)`` rows as ``SeriesInfo``, in order."""
    if not rows:
        return []
    # every stored segment is canonical JSON: one parse of them all, not one per series
    segments = json.loads("[" + ",".join(str(segment) for _, _, segment in rows) + "]")
    return [
        _build_series_info(int(i), str(s), tuple(map(_pair, pairs)))
        for (i, s, _), pairs in zip(rows, segments, strict=True)
    ]


class SeriesRecords:
    """A store's series rows as records, remembered: a status lists every series each
    time, and a row seen before (same id, SLO and stored segment text) gives back the
    record it gave then (records are immutable); only new rows are parsed. One per store
    object (``StoreBase``), dropped whole past ``limit`` rows."""

    def __init__(self, limit: int = 100_000) -> None:
        self._known: dict[tuple[Any, ...], SeriesInfo] = {}
        self._limit = limit

    def infos(self, rows: Sequence[Sequence[Any]]) -> list[SeriesInfo]:
        """:func:`series_infos` of ``rows``."""
        known = self._known
        if len(known) > self._limit:
            known.clear()
        keys = [tuple(row) for row in rows]
        found: list[SeriesInfo | None] = [known.get(key) for key in keys]
        new = [index for index, info in enumerate(found) if info is None]
        if new:
            for index, info in zip(new, series_infos([rows[i] for i in new]), strict=True):
                known[keys[index]] = found[index] = info
        return cast(list[SeriesInfo], found)


def _pair(pair: list[str]) -> tuple[str, str]:
    key, value = pair
    return (str(key), str(value))


_build_series_info = slot_constructor(SeriesInfo)  # every status lists every series
