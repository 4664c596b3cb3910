"""Voice-agent events into the store (issue #12): the one path every surface takes
(``errorbudget ingest --events``, ``POST /api/v1/events``, OTLP traces).

:meth:`EventIngestService.ingest` takes a parsed event table (``sources.events.model``'s
``EVENT_SCHEMA``) and, in **one transaction**:

1. refuses events without an id, a type or a time, those older than
   ``events.retention`` (their claims would be pruned, so a re-send could not be
   recognised) and those more than ``events.max_future`` after now (a producer's clock or
   time-zone error): ``EventParseError`` naming each, nothing written;
2. claims the events' (id, minute) in the store, dropping those claimed before and the
   repeats within the batch (idempotency: a re-sent batch writes nothing twice);
3. folds the new events by every events SLO (``sources.events.fold``);
4. adds each SLO's minute counts through the counts-write seam (``add_counts``, source
   ``events``: the same series, rollups and statuses as ingested counts), keeps its bad
   and excluded events, and adds its hourly dimension counts and stage sums;
5. caps cardinality: an SLO keeps at most ``events.max_segments`` series (its events of
   a segment beyond that count under the segment whose values are all ``other``), and a
   batch adds at most ``events.max_dimension_values`` values per dimension to the hourly
   rollups (the rest summed under ``other``); how many events overflowed is reported;
6. prunes kept events and claimed ids older than the retention (cheap when nothing is
   due: an index range).

Anything failing rolls all of it back. Called inside a caller's transaction (a file
ingested in chunks), it is a nested level of that transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

import numpy as np
import pyarrow as pa

from errorbudget.clock import Clock
from errorbudget.event_records import KeptBatch, Verdict
from errorbudget.model import SLO, to_minute
from errorbudget.sources.events import (
    MAX_PROBLEMS,
    EventParseError,
    EventProblem,
    EventsIndicator,
    SloFold,
    batch_duplicates,
    fold_events,
)
from errorbudget.store import Store

EVENTS_SOURCE = "events"
"""The counts source events are written under (``add_counts(..., source="events")``)."""

DEFAULT_RETENTION = timedelta(days=30)
DEFAULT_MAX_FUTURE = timedelta(hours=1)
DEFAULT_MAX_SEGMENTS = 1_000
DEFAULT_MAX_DIMENSION_VALUES = 1_000
OTHER = "other"
"""The value a segment or dimension value beyond its cap is counted under."""


@dataclass
class SloEventCounts:
    """What one ingest added to one events SLO."""

    eligible: int = 0
    good: int = 0
    kept: int = 0
    series: int = 0
    overflow: int = 0
    """Events counted under ``other`` (a segment or a dimension value past its cap)."""

    def add(self, other: SloEventCounts) -> None:
        self.eligible += other.eligible
        self.good += other.good
        self.kept += other.kept
        self.series = max(self.series, other.series)
        self.overflow += other.overflow


@dataclass
class EventIngestReport:
    """What an ingest did: ``received`` events (repeats within the batch included),
    ``duplicates`` of them already claimed or repeated, ``written_events`` new ones,
    ``counts_rows`` minute rows written, ``kept`` events kept (summed over SLOs),
    ``pruned`` records of events past the retention, and per SLO its counts."""

    received: int = 0
    duplicates: int = 0
    written_events: int = 0
    counts_rows: int = 0
    kept: int = 0
    pruned: int = 0
    per_slo: dict[str, SloEventCounts] = field(default_factory=dict)

    def add(self, other: EventIngestReport) -> None:
        """Add ``other`` (a later chunk of the same input) to this report."""
        self.received += other.received
        self.duplicates += other.duplicates
        self.written_events += other.written_events
        self.counts_rows += other.counts_rows
        self.kept += other.kept
        self.pruned += other.pruned
        for slo, counts in other.per_slo.items():
            self.per_slo.setdefault(slo, SloEventCounts()).add(counts)


class EventIngestService:
    """Writes parsed events: counts, kept events and rollups (module docstring)."""

    def __init__(
        self,
        store: Store,
        slos: Sequence[SLO],
        clock: Clock,
        *,
        retention: timedelta = DEFAULT_RETENTION,
        max_future: timedelta = DEFAULT_MAX_FUTURE,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        max_dimension_values: int = DEFAULT_MAX_DIMENSION_VALUES,
    ) -> None:
        self.store = store
        self.slos = [slo for slo in slos if isinstance(slo.indicator, EventsIndicator)]
        self.clock = clock
        self.retention = retention
        self.max_future = max_future
        self.max_segments = max_segments
        self.max_dimension_values = max_dimension_values

    def horizon(self) -> int:
        """The first minute whose events are still kept (now − retention)."""
        return to_minute(self.clock() - self.retention)

    def ingest(self, table: pa.Table) -> EventIngestReport:
        """Write the events of ``table`` (module docstring); all or nothing."""
        report = EventIngestReport(received=table.num_rows + batch_duplicates(table))
        report.duplicates = batch_duplicates(table)
        if not table.num_rows:
            return report
        _refuse_incomplete(table)
        millis = table.column("time").cast(pa.int64()).to_numpy()
        minutes = np.floor_divide(millis, 60_000).astype(np.int64)
        horizon = self.horizon()
        self._refuse_out_of_range(table, millis, minutes, horizon)
        with self.store.transaction():
            new = self.store.claim_event_ids(table.column("id"), minutes)
            fresh_count = int(new.sum())
            report.duplicates += table.num_rows - fresh_count
            report.written_events = fresh_count
            if fresh_count:
                fresh = table if fresh_count == table.num_rows else table.filter(pa.array(new))
                self._write(fresh, report)
            report.pruned = self.store.prune_events(horizon)
        return report

    def prune(self) -> int:
        """Forget kept events and claimed ids past the retention; return how many."""
        return self.store.prune_events(self.horizon())

    def _refuse_out_of_range(
        self, table: pa.Table, millis: np.ndarray, minutes: np.ndarray, horizon: int
    ) -> None:
        """Located ``time`` problems for events older than the retention or later than
        now + ``max_future``."""
        expired = minutes < horizon
        latest = int(self.clock().timestamp() * 1000) + int(self.max_future / _MILLISECOND)
        future = millis > latest
        bad = np.flatnonzero(expired | future)
        if not bad.size:
            return
        lines = table.column("line").to_numpy()
        days = self.retention / timedelta(days=1)
        too_old = (
            f"is older than the events retention ({days:g}d before now): it could not be "
            "recognised if sent again; raise events.retention to load older events"
        )
        too_late = (
            f"is more than {_duration_text(self.max_future)} after now (events.max_future): "
            "check the producer's clock and time zone"
        )
        problems = [
            EventProblem(int(lines[row]), "time", too_old if expired[row] else too_late)
            for row in bad[:MAX_PROBLEMS].tolist()
        ]
        raise EventParseError(problems, int(bad.size))

    def _write(self, table: pa.Table, report: EventIngestReport) -> None:
        fold = fold_events(table, self.slos)
        for slo_fold in fold.per_slo:
            overflow = self._cap_segments(slo_fold)
            dimension_rows, dimension_overflow = cap_dimension_values(
                slo_fold.dimension_rows, self.max_dimension_values
            )
            counts = SloEventCounts(
                eligible=slo_fold.eligible,
                good=int(slo_fold.good.sum()),
                kept=int(slo_fold.kept_rows.size),
                overflow=overflow + dimension_overflow,
            )
            if slo_fold.total.size or slo_fold.kept_rows.size:
                ids = np.asarray(self.store.series_ids(slo_fold.slo, slo_fold.segments))
                counts.series = int(np.unique(ids[slo_fold.seg]).size) if slo_fold.seg.size else 0
                if slo_fold.total.size:
                    report.counts_rows += self.store.add_counts(
                        ids[slo_fold.seg],
                        slo_fold.minute,
                        slo_fold.good,
                        slo_fold.total,
                        source=EVENTS_SOURCE,
                    )
                if slo_fold.kept_rows.size:
                    report.kept += self.store.save_kept_events(
                        slo_fold.slo, _kept_batch(table, slo_fold, ids)
                    )
            self.store.add_dimension_counts(slo_fold.slo, dimension_rows)
            self.store.add_stage_sums(slo_fold.slo, slo_fold.stage_rows)
            report.per_slo.setdefault(slo_fold.slo, SloEventCounts()).add(counts)

    def _cap_segments(self, fold: SloFold) -> int:
        """Fold the segments past ``max_segments`` (counting the SLO's stored series) into
        the ``other`` segment, in place; the events moved (minute counts and kept)."""
        if not fold.segments or fold.segments == [()]:
            return 0  # an SLO without segment keys has one series
        stored = {info.segment for info in self.store.list_series(fold.slo)}
        new = [index for index, segment in enumerate(fold.segments) if segment not in stored]
        room = max(self.max_segments - len(stored), 0)
        if len(new) <= room:
            return 0
        keys = [key for key, _ in fold.segments[0]]
        other_key = tuple((key, OTHER) for key in keys)
        moved = np.zeros(len(fold.segments), dtype=np.bool_)
        # the busiest new segments keep their own series
        weight = np.bincount(fold.seg, weights=fold.total, minlength=len(fold.segments))
        ranked = sorted(new, key=lambda index: -weight[index])
        moved[ranked[room:]] = True
        segments = [s for index, s in enumerate(fold.segments) if not moved[index]]
        if other_key not in segments:
            segments.append(other_key)
        position = {segment: index for index, segment in enumerate(segments)}
        remap = np.asarray(
            [position[other_key if moved[i] else s] for i, s in enumerate(fold.segments)],
            dtype=np.int32,
        )
        overflow = int(fold.total[moved[fold.seg]].sum())
        seg = remap[fold.seg]
        pairs, groups = np.unique(np.stack([seg, fold.minute]), axis=1, return_inverse=True)
        groups = groups.reshape(-1)
        fold.good = np.bincount(groups, weights=fold.good, minlength=pairs.shape[1]).astype(
            np.int64
        )
        fold.total = np.bincount(groups, weights=fold.total, minlength=pairs.shape[1]).astype(
            np.int64
        )
        fold.seg = pairs[0].astype(np.int32)
        fold.minute = pairs[1].astype(np.int64)
        fold.kept_seg = remap[fold.kept_seg]
        fold.segments = segments
        return overflow


_MILLISECOND = timedelta(milliseconds=1)


def _duration_text(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def cap_dimension_values(rows: pa.Table, limit: int) -> tuple[pa.Table, int]:
    """Hourly dimension rows with at most ``limit`` values per dimension (``flow`` aside:
    it is every row's key), the values with the fewest events summed under ``other``; and
    how many events were moved there."""
    if rows.num_rows <= limit:
        return rows, 0
    import pyarrow.compute as pc

    events = pc.add(rows.column("eligible"), rows.column("excluded"))
    per_value = (
        pa.table(
            {"dimension": rows.column("dimension"), "value": rows.column("value"), "n": events}
        )
        .group_by(["dimension", "value"], use_threads=False)
        .aggregate([("n", "sum")])
    )
    dimensions = per_value.column("dimension").to_pylist()
    values = per_value.column("value").to_pylist()
    sums = per_value.column("n_sum").to_pylist()
    by_dimension: dict[str, list[tuple[int, str]]] = {}
    for dimension, value, total in zip(dimensions, values, sums, strict=True):
        by_dimension.setdefault(dimension, []).append((-total, value))
    dropped: list[str] = []
    for dimension, found in by_dimension.items():
        if dimension != "flow" and len(found) > limit:
            found.sort()
            dropped += [f"{dimension}\x00{value}" for _, value in found[limit - 1 :]]
    if not dropped:
        return rows, 0
    joined = pc.binary_join_element_wise(rows.column("dimension"), rows.column("value"), "\x00")
    moved = pc.is_in(joined, value_set=pa.array(dropped, pa.string()))
    overflow = int(pc.sum(pc.if_else(moved, events, 0)).as_py() or 0)
    capped = rows.set_column(
        rows.schema.get_field_index("value"),
        "value",
        pc.if_else(moved, OTHER, rows.column("value")),
    )
    sums_of = ["eligible", "bad", "excluded", "excluded_bad"]
    grouped = capped.group_by(["hour", "flow", "dimension", "value"], use_threads=False).aggregate(
        [(name, "sum") for name in sums_of]
    )
    grouped = grouped.rename_columns([name.removesuffix("_sum") for name in grouped.column_names])
    return grouped.select(rows.column_names).cast(rows.schema), overflow


REQUIRED = ("id", "type", "time")
"""What every event must carry to be claimed, folded and kept."""


def _refuse_incomplete(table: pa.Table) -> None:
    """Located problems for events without an id, a type or a time (the parser requires
    them; this guards the store whatever built the table)."""
    lines = table.column("line").to_numpy()
    problems: list[EventProblem] = []
    count = 0
    for name in REQUIRED:
        column = table.column(name)
        if not column.null_count:
            continue
        missing = np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))
        count += int(missing.size)
        problems += [
            EventProblem(int(lines[row]), name, "is required in every event")
            for row in missing[:MAX_PROBLEMS].tolist()
        ]
    if problems:
        problems.sort(key=lambda problem: problem.line)
        raise EventParseError(problems[:MAX_PROBLEMS], count)


def _kept_batch(table: pa.Table, fold: SloFold, series_ids: np.ndarray) -> KeptBatch:
    """``fold``'s kept events: their rows of ``table`` with series, verdict and exclusion."""
    return KeptBatch(
        events=table.take(pa.array(fold.kept_rows)),
        series=series_ids[fold.kept_seg].tolist(),
        verdicts=cast(list[Verdict], fold.kept_verdict),
        exclusions=fold.kept_exclusion,
    )
