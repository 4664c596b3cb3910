"""How the Genesys collector writes: counts per chunk, data issues, the call tally.

**Chunks.** A fetched range ``[a, b)`` is written for *every minute* of every series of the
SLO (the interval's counts on its start minute, zeros on the other minutes), source
``genesys``, in one transaction: the store replaces a (series, minute, source) sent again,
so re-fetching an open or revised interval overwrites it, and a group that vanished from a
revised answer is zeroed, not left stale.

**Broken rows** (``checks.py``: a negative count, more answered in time than answered, …)
are not clamped into plausible numbers: their series-minute is written as 0/0 and a data
issue (``inconsistent``, the interval, the series' segment) is recorded in the same
transaction. The range's issues are then *synced*: issues found again stay as they are,
issues no longer found are resolved, so a clean re-fetch resolves what it no longer sees.

**Calls** (``api_availability``) are *added* to what is stored, per minute and endpoint,
and only what was not flushed before: two collector processes whose runs overlap (a cron
``collect --once`` beside ``serve``) add up instead of overwriting each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from errorbudget.limits import MAX_COUNT, MAX_COUNT_TEXT
from errorbudget.model import SLO, Minute, SegmentKey, from_minute
from errorbudget.records import FoundIssue
from errorbudget.sources.counts_sink import CountsSink
from errorbudget.sources.genesys.checks import flow_row_problem, queue_row_problem
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.queries import IntervalCounts
from errorbudget.sources.genesys.responses import CallTally
from errorbudget.sources.genesys.slis import (
    Names,
    SegmentCounts,
    TargetLookup,
    call_counts,
    flow_counts,
    queue_counts,
    row_target,
)
from errorbudget.store import SeriesInfo, Store

Counting = Callable[[SLO, Iterable[IntervalCounts], Names], SegmentCounts]
"""An SLO's counts from some rows (``slis.queue_counts``, ``slis.flow_counts``)."""
Check = Callable[[IntervalCounts], str | None]
"""Why a row cannot be right, or None."""

SOURCE = "genesys"
QUEUE_METRICS = ("voice_sla", "digital_sla", "answered_within")
CHUNK_METRICS = (*QUEUE_METRICS, "ivr_completion")


@dataclass
class Written:
    """What writing one chunk did."""

    rows: int = 0
    issues: int = 0
    """Broken series-intervals found in the chunk (new or seen before)."""
    resolved: int = 0


@dataclass
class Chunk:
    start: Minute
    end: Minute
    """Query end (whole intervals)."""
    write_end: Minute
    """Minutes ``[start, write_end)`` are written."""
    queue_rows: list[IntervalCounts] = field(default_factory=list)
    flow_rows: list[IntervalCounts] = field(default_factory=list)
    target_durations: frozenset[int] = frozenset()
    """The service-level targets (ms) whose ``tAnswered`` views the queue query asked."""


def indicator_of(slo: SLO) -> GenesysIndicator:
    indicator = slo.indicator
    assert isinstance(indicator, GenesysIndicator)
    return indicator


class CountWriter:
    """Writes the Genesys SLOs' counts, data issues and call tally into ``store``."""

    def __init__(self, store: Store, slos: Sequence[SLO], granularity: int) -> None:
        self.store = store
        self.sink: CountsSink = store
        """Counts go through the counts-write protocol, the same door as ``ingest``."""
        self.slos = list(slos)
        self.granularity = granularity
        self._flushed: dict[tuple[Minute, str], tuple[int, int]] = {}

    def of(self, metrics: Sequence[str]) -> list[SLO]:
        return [s for s in self.slos if indicator_of(s).metric in metrics]

    # --- chunks ---------------------------------------------------------------------------

    def write_chunk(
        self, chunk: Chunk, names: Names, targets: TargetLookup | None = None
    ) -> Written:
        """One transaction: every Genesys SLO's series over the chunk's minutes (queue
        intervals counted against the service-level target in force then, ``targets``),
        with the chunk's broken rows as 0/0 and its data issues synced."""
        planned = [
            self._screened(
                slo,
                chunk.queue_rows,
                partial(queue_counts, targets=targets),
                partial(_queue_problem, indicator_of(slo), targets),
                names,
                "queue",
            )
            for slo in self.of(QUEUE_METRICS)
        ] + [
            self._screened(slo, chunk.flow_rows, flow_counts, flow_row_problem, names, "flow")
            for slo in self.of(["ivr_completion"])
        ]  # fmt: skip
        written = Written()
        with self.store.transaction():
            for slo, counts, issues in planned:
                written.rows += self.write_slo(slo, counts, chunk.start, chunk.write_end)
                found = [i for i in issues if chunk.start <= i.start < chunk.write_end]
                _, resolved = self.store.sync_data_issues(
                    source=SOURCE, slo=slo.id, start=chunk.start, end=chunk.end, found=found
                )
                written.issues += len(found)
                written.resolved += resolved
        return written

    def _screened(
        self,
        slo: SLO,
        rows: list[IntervalCounts],
        count: Counting,
        problem_of: Check,
        names: Names,
        what: str,
    ) -> tuple[SLO, SegmentCounts, list[FoundIssue]]:
        """The SLO's counts, with the series-minutes of broken rows set to 0/0, and an
        issue for each of them."""
        counts = count(slo, rows, names)
        found: dict[tuple[SegmentKey, Minute], FoundIssue] = {}
        for row in rows:
            problem = problem_of(row)
            if problem is None:
                continue
            # where this SLO puts the row, if anywhere (it may not select that queue)
            for segment, minute in count(slo, [row], names):
                counts[(segment, minute)] = [0, 0]
                detail = (
                    f"Genesys answered counts that cannot be right for {what} "
                    f"{_group_label(row, names)} in the interval starting {_iso(minute)}: "
                    f"{problem}; stored as 0/0 until a re-fetch answers consistent counts"
                )
                previous = found.get((segment, minute))
                if previous is not None:  # several rows of one segment: keep every reason
                    detail = f"{previous.detail} | {problem}"
                found[(segment, minute)] = FoundIssue(
                    dict(segment), minute, minute + self.granularity, "inconsistent", detail
                )
        for (segment, minute), (good, total) in counts.items():
            if max(good, total) <= MAX_COUNT:
                continue
            counts[(segment, minute)] = [0, 0]
            detail = (
                f"Genesys answered counts that add up to {max(good, total):,} events for "
                f"{what} series {dict(segment)} in the interval starting {_iso(minute)}, "
                f"more than {MAX_COUNT_TEXT} in a minute; stored as 0/0 until a re-fetch "
                "answers plausible counts"
            )
            found[(segment, minute)] = FoundIssue(
                dict(segment), minute, minute + self.granularity, "inconsistent", detail
            )
        return slo, counts, list(found.values())

    def known_series(self, slo: SLO) -> list[SeriesInfo]:
        """Stored series of ``slo`` with exactly its current segment keys."""
        keys = set(slo.segments.keys)
        return [s for s in self.store.list_series(slo.id) if {k for k, _ in s.segment} == keys]

    def _known_segments(self, slo: SLO) -> list[SegmentKey]:
        known = [s.segment for s in self.known_series(slo)]
        if not slo.segments.keys and () not in known:
            known.append(())
        return known

    def write_slo(self, slo: SLO, counts: SegmentCounts, start: Minute, end: Minute) -> int:
        """Write ``counts`` of one SLO: every known series gets every minute of ``[start,
        end)`` (zeros where there is no interval start)."""
        inside = {key: v for key, v in counts.items() if start <= key[1] < end}
        segments = {segment for segment, _ in inside}
        segments.update(self._known_segments(slo))
        if not segments:
            return 0
        ordered = sorted(segments)
        ids = self.sink.series_ids(slo.id, ordered)
        position = {segment: i for i, segment in enumerate(ordered)}
        width = end - start
        minutes = np.tile(np.arange(start, end, dtype=np.int64), len(ordered))
        series = np.repeat(np.asarray(ids, dtype=np.int64), width)
        good = np.zeros(len(minutes), dtype=np.int64)
        total = np.zeros(len(minutes), dtype=np.int64)
        for (segment, minute), (g, t) in inside.items():
            at = position[segment] * width + (minute - start)
            good[at], total[at] = g, t
        return self.sink.write_counts(series, minutes, good, total, source=SOURCE)

    # --- high-water marks and gaps ----------------------------------------------------------

    def marks(self) -> dict[str, Minute | None]:
        """Per chunk-collected SLO: the end of what is stored (None: nothing yet)."""
        found: dict[str, Minute | None] = {}
        for slo in self.of(CHUNK_METRICS):
            ids = [s.id for s in self.known_series(slo)]
            bounds = self.store.data_bounds(ids) if ids else None
            found[slo.id] = None if bounds is None else bounds[1]
        return found

    def record_gap(self, slo_id: str, start: Minute, end: Minute, detail: str) -> None:
        """``[start, end)`` of the SLO will not be collected by scheduled runs: one ``gap``
        issue (it replaces the narrower one of a previous run while the gap grows)."""
        self.store.sync_data_issues(
            source=SOURCE, slo=slo_id, start=start, end=end,
            found=[FoundIssue({}, start, end, "gap", detail)],
        )  # fmt: skip

    def record_partial(self, chunk: Chunk, detail: str) -> int:
        """A chunk skipped after malformed answers: one ``partial`` issue per SLO over the
        chunk (it stands for every issue of the range, which could not be checked)."""
        slos = self.of(CHUNK_METRICS)
        with self.store.transaction():
            for slo in slos:
                self.store.sync_data_issues(
                    source=SOURCE, slo=slo.id, start=chunk.start, end=chunk.end,
                    found=[FoundIssue({}, chunk.start, chunk.end, "partial", detail)],
                )  # fmt: skip
        return len(slos)

    # --- the call tally ---------------------------------------------------------------------

    def flush_calls(self, tally: CallTally, now: Minute) -> int:
        """Add the calls tallied since the last flush to the API-availability SLOs; forget
        tallied minutes older than 5 minutes. Returns the rows written."""
        rows = self.write_calls(tally.snapshot(), now)
        tally.forget_before(now - 5)
        return rows

    def write_calls(self, snapshot: dict[tuple[Minute, str], tuple[int, int]], now: Minute) -> int:
        """:meth:`flush_calls` of a tally's ``snapshot`` (taken where the client counts, so
        this may run in a worker thread); the tally forgets old minutes itself. Nothing is
        marked flushed unless the write commits: a failed one is sent again next time."""
        delta: dict[tuple[Minute, str], tuple[int, int]] = {}
        for key, (good, total) in snapshot.items():
            done = self._flushed.get(key, (0, 0))
            if (good, total) != done:
                delta[key] = (good - done[0], total - done[1])
        rows = 0
        slos = self.of(["api_availability"])
        if slos and delta:
            with self.store.transaction():
                for slo in slos:
                    rows += self._add_calls(slo, call_counts(slo, delta))
        self._flushed.update(snapshot)
        for key in [k for k in self._flushed if k[0] < now - 5]:
            del self._flushed[key]
        return rows

    def _add_calls(self, slo: SLO, counts: SegmentCounts) -> int:
        keys = sorted(counts)
        segments = sorted({segment for segment, _ in keys})
        ids = dict(zip(segments, self.sink.series_ids(slo.id, segments), strict=True))
        return self.sink.add_counts(
            np.asarray([ids[s] for s, _ in keys], dtype=np.int64),
            np.asarray([m for _, m in keys], dtype=np.int64),
            np.asarray([counts[k][0] for k in keys], dtype=np.int64),
            np.asarray([counts[k][1] for k in keys], dtype=np.int64),
            source=SOURCE,
        )


def _queue_problem(
    indicator: GenesysIndicator, targets: TargetLookup | None, row: IntervalCounts
) -> str | None:
    """:func:`checks.queue_row_problem` with the target the row is counted against."""
    return queue_row_problem(indicator, row, row_target(indicator, row, targets))


def _group_label(row: IntervalCounts, names: Names) -> str:
    group = row.group
    if "queueId" in group:
        queue = group["queueId"]
        name = names.queues.get(queue)
        label = f"{name} ({queue})" if name else queue
        return f"{label} {group.get('mediaType', '')}".strip()
    flow = group.get("flowId", "?")
    name = group.get("flowName") or names.flows.get(flow)
    return f"{name} ({flow})" if name else flow


def _iso(minute: Minute) -> str:
    return from_minute(minute).strftime("%Y-%m-%dT%H:%MZ")
