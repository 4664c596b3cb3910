"""The counts-write protocol: the one door through which counts enter the store.

``errorbudget ingest`` (files, ``POST /api/v1/counts``) and every source write counts the
same way: series ids for (SLO, segment) pairs, then arrays of (series, minute, good, total)
written idempotently per (series, minute, source) — a re-sent minute replaces the stored
one, so a source may re-fetch an open interval as often as it likes — or, for counts that
accumulate (a tally of calls), added. The SQLite store satisfies it structurally; a test
(``tests/integration/test_source_plugins.py``) holds it to that.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import numpy.typing as npt

from errorbudget.model import SegmentKey


@runtime_checkable
class CountsSink(Protocol):
    """Where a source (and ``ingest``) writes counts."""

    def transaction(self) -> AbstractContextManager[Any]:
        """Writes inside commit together or not at all (nesting allowed)."""

    def series_ids(
        self, slo: str, segments: Sequence[SegmentKey], create: bool = True
    ) -> list[int]:
        """Stable ids of ``slo``'s series for ``segments``, in order (created if missing)."""

    def write_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str = "ingest",
    ) -> int:
        """Replace the counts of each (series, minute) from ``source``; return the rows."""

    def add_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str,
    ) -> int:
        """Add to the counts of each (series, minute) from ``source``; return the rows."""
