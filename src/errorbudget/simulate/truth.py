"""Ground truth: what really happened, per queue × media type × interval (and per flow ×
interval), counted exactly as the fake API counts it (event time, visible before ``as_of``).

Tests compare the counts a collector stored with these. Only intervals with at least one
non-zero count are present (the API leaves empty intervals out too); a missing key is zero.

Mapping to the API (``conversations/aggregates/query``):

==========================  ===================================================
``offered``                 ``nOffered.count``
``answered``                ``tAnswered.count``
``abandoned``               ``tAbandon.count`` (short abandons included)
``short_abandoned``         ``tShortAbandon.count``
``flow_outs``               ``tFlowOut.count``
``over_sla``                ``nOverSla.count`` (answered with wait > SL target)
``answered_within_target``  ``tAnswered.count − nOverSla.count`` = ``oServiceLevel.numerator``
``sl_denominator(...)``     ``oServiceLevel.denominator`` = answered + abandoned
                            [+ flow_outs] [− short_abandoned], by the org setting
``answered_within[N]``      a ``views`` ``rangeBound`` on ``tAnswered`` with ``lt`` = N × 1000
==========================  ===================================================

Flows (``flows/aggregates/query``): ``entries`` = ``nFlow``, ``outcomes`` = ``nFlowOutcome``,
``failed_outcomes`` = ``nFlowOutcomeFailed`` (both count outcomes, not visits: a visit can
have several), ``disconnects`` = ``tFlowDisconnect.count`` (hung up in the IVR), ``exits`` =
``tFlowExit.count`` (to a queue), and per visit that ended in the interval: ``good`` (no
failed outcome, and a successful outcome or a transfer: ``FlowArrays.good``, decided visit by
visit from the simulator's records), ``failed_visits`` (with a failed outcome) and
``hang_ups_without_outcome``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from errorbudget.simulate.aggregate import (
    SL_INPUTS,
    Buckets,
    Event,
    ViewSpec,
    aggregate,
    flow_events,
    queue_events,
)
from errorbudget.simulate.engine import Simulation
from errorbudget.simulate.records import FlowArrays, datetime_to_ms, ms_to_datetime
from errorbudget.simulate.scenario import ServiceLevelSettings

QueueKey = tuple[str, str, datetime]
"""(queue id, media type, interval start UTC)."""
FlowKey = tuple[str, datetime]
"""(flow id, interval start UTC)."""


@dataclass(frozen=True, slots=True)
class QueueCounts:
    offered: int
    answered: int
    abandoned: int
    short_abandoned: int
    flow_outs: int
    over_sla: int
    answered_within: dict[int, int] = field(default_factory=dict)

    @property
    def answered_within_target(self) -> int:
        return self.answered - self.over_sla

    def sl_denominator(self, settings: ServiceLevelSettings) -> int:
        total = self.answered + self.abandoned
        if settings.include_flow_outs:
            total += self.flow_outs
        if settings.exclude_short_abandons:
            total -= self.short_abandoned
        return total


@dataclass(frozen=True, slots=True)
class FlowCounts:
    entries: int
    outcomes: int
    failed_outcomes: int
    disconnects: int
    exits: int
    good: int = 0
    failed_visits: int = 0
    hang_ups_without_outcome: int = 0

    @property
    def ended(self) -> int:
        """Visits that ended in the interval (the IVR completion total)."""
        return self.disconnects + self.exits

    @property
    def successes(self) -> int:
        return self.outcomes - self.failed_outcomes


def _buckets(
    start: datetime, end: datetime, interval: timedelta, as_of: datetime | None
) -> Buckets:
    start_ms, end_ms = datetime_to_ms(start), datetime_to_ms(end)
    step = int(interval.total_seconds() * 1000)
    edges = [*list(range(start_ms, end_ms, step)), end_ms]
    return Buckets(edges, datetime_to_ms(as_of) if as_of else end_ms)


def ground_truth(
    sim: Simulation,
    start: datetime,
    end: datetime,
    interval: timedelta = timedelta(minutes=15),
    as_of: datetime | None = None,
    answered_within: Iterable[int] = (),
) -> dict[QueueKey, QueueCounts]:
    """Queue counts per (queue id, media type, interval start) in ``[start, end)``."""
    buckets = _buckets(start, end, interval, as_of)
    thresholds = sorted(set(answered_within))
    views = [ViewSpec(f"within_{n}", "tAnswered", None, n * 1000) for n in thresholds]
    found: dict[QueueKey, QueueCounts] = {}
    for index, queue in enumerate(sim.scenario.queues):
        batches = (queue_events(a) for a in sim.queue_range(index, buckets.start, buckets.end))
        stats, view_stats = aggregate(batches, ["nOffered", *SL_INPUTS], views, buckets)
        for b in range(buckets.size):
            counts = QueueCounts(
                offered=int(stats["nOffered"].count[b]),
                answered=int(stats["tAnswered"].count[b]),
                abandoned=int(stats["tAbandon"].count[b]),
                short_abandoned=int(stats["tShortAbandon"].count[b]),
                flow_outs=int(stats["tFlowOut"].count[b]),
                over_sla=int(stats["nOverSla"].count[b]),
                answered_within={n: int(view_stats[f"within_{n}"].count[b]) for n in thresholds},
            )
            if counts.offered or counts.answered or counts.abandoned or counts.flow_outs:
                key = (queue.id, queue.media_type, ms_to_datetime(int(buckets.edges[b])))
                found[key] = counts
    return found


def flow_ground_truth(
    sim: Simulation,
    start: datetime,
    end: datetime,
    interval: timedelta = timedelta(minutes=15),
    as_of: datetime | None = None,
) -> dict[FlowKey, FlowCounts]:
    """IVR flow counts per (flow id, interval start) in ``[start, end)``."""
    buckets = _buckets(start, end, interval, as_of)
    metrics = [
        "nFlow",
        "nFlowOutcome",
        "nFlowOutcomeFailed",
        "tFlowDisconnect",
        "tFlowExit",
        "good",
        "failedVisits",
        "hangUpsWithoutOutcome",
    ]
    found: dict[FlowKey, FlowCounts] = {}
    for index, flow in enumerate(sim.scenario.flows):
        batches = (_visit_events(a) for a in sim.flow_range(index, buckets.start, buckets.end))
        stats, _ = aggregate(batches, metrics, [], buckets)
        for b in range(buckets.size):
            counts = FlowCounts(*(int(stats[m].count[b]) for m in metrics))
            if any((counts.entries, counts.outcomes, counts.disconnects, counts.exits)):
                found[(flow.id, ms_to_datetime(int(buckets.edges[b])))] = counts
    return found


def _visit_events(arrays: FlowArrays) -> dict[str, Event]:
    """The API's flow metrics plus the per-visit truth, each at the visit's end."""
    events = flow_events(arrays)
    end = arrays.end_ms
    events["good"] = (end, None, arrays.good)
    events["failedVisits"] = (end, None, arrays.any_failed)
    events["hangUpsWithoutOutcome"] = (end, None, ~arrays.exited & ~arrays.any_outcome)
    return events
