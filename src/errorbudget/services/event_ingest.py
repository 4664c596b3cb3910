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
5. prunes kept events and claimed ids older than the retention (cheap when nothing is
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


@dataclass
class SloEventCounts:
    """What one ingest added to one events SLO."""

    eligible: int = 0
    good: int = 0
    kept: int = 0
    series: int = 0

    def add(self, other: SloEventCounts) -> None:
        self.eligible += other.eligible
        self.good += other.good
        self.kept += other.kept
        self.series = max(self.series, other.series)


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
    ) -> None:
        self.store = store
        self.slos = [slo for slo in slos if isinstance(slo.indicator, EventsIndicator)]
        self.clock = clock
        self.retention = retention
        self.max_future = max_future

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
            counts = SloEventCounts(
                eligible=slo_fold.eligible,
                good=int(slo_fold.good.sum()),
                kept=int(slo_fold.kept_rows.size),
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
            self.store.add_dimension_counts(slo_fold.slo, slo_fold.dimension_rows)
            self.store.add_stage_sums(slo_fold.slo, slo_fold.stage_rows)
            report.per_slo.setdefault(slo_fold.slo, SloEventCounts()).add(counts)


_MILLISECOND = timedelta(milliseconds=1)


def _duration_text(duration: timedelta) -> str:
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


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
