"""Interval aggregates of simulated conversations: the numbers the fake API returns and the
ground truth tests compare with.

A metric is counted in the bucket where its event happened, and only once that event is in
the past of the simulated clock (``visible_until``): the open bucket is partial and grows;
a closed bucket never changes. Event times per metric:

==================  ====================  ===============================================
metric              event                 value (ms)
==================  ====================  ===============================================
nOffered            queue entry           —
tAnswered           answer                wait until answer
tAbandon            abandon               wait until abandon (short abandons included)
tShortAbandon       abandon, wait < short-abandon threshold
tFlowOut            in-queue flow-out     wait until flow-out
tWait, tAcd         answer/abandon/flow-out  time in queue
nOverSla            answer, wait > the queue's SL target (its current one: history moves)
tHandle             end of handling       handle time
oServiceLevel       (from the counts above, with the org's service-level setting)
nFlow               flow entry            —
nFlowOutcome        each flow outcome (success or failure; a visit can have several)
nFlowOutcomeFailed  each failed flow outcome
tFlowOutcome        each flow outcome     time from entry to outcome
tFlow               flow end              time in flow
tFlowDisconnect     flow end (the caller or the flow hung up in the IVR)
tFlowExit           flow end (transfer to a queue)
==================  ====================  ===============================================

Outcome metrics are counted per outcome, the others per visit. A filter on the outcome
dimensions (``flowOutcomeId``, ``flowOutcomeValue``, ``flowOutcome`` = ``id:VALUE``) selects
outcomes for the outcome metrics, and for the visit metrics the visits with at least one
matching outcome (``notExists``: visits without any outcome): :func:`flow_events` takes both
masks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from errorbudget.simulate.records import (
    ABANDONED,
    ANSWERED,
    FAILURE,
    FLOWED_OUT,
    FlowArrays,
    QueueArrays,
)
from errorbudget.simulate.scenario import ServiceLevelSettings

QUEUE_TIMERS = (
    "tAnswered",
    "tAbandon",
    "tShortAbandon",
    "tFlowOut",
    "tWait",
    "tAcd",
    "tHandle",
)
QUEUE_COUNTERS = ("nOffered", "nOverSla")
QUEUE_METRICS = (*QUEUE_COUNTERS, *QUEUE_TIMERS, "oServiceLevel")
FLOW_TIMERS = ("tFlow", "tFlowDisconnect", "tFlowExit", "tFlowOutcome")
FLOW_COUNTERS = ("nFlow", "nFlowOutcome", "nFlowOutcomeFailed")
FLOW_METRICS = (*FLOW_COUNTERS, *FLOW_TIMERS)
SL_PARTS = ("answered", "over_sla", "abandoned", "short", "flow_out")

Event = tuple[np.ndarray, np.ndarray | None, np.ndarray]
"""(event times ms, values ms or None for a counter, row mask)."""


@dataclass(slots=True)
class Stats:
    """Per-bucket statistics of one metric: count, sum, max, min (ms for timers)."""

    count: np.ndarray
    sum: np.ndarray
    max: np.ndarray
    min: np.ndarray

    @classmethod
    def zeros(cls, buckets: int) -> Stats:
        return cls(
            np.zeros(buckets, dtype=np.int64),
            np.zeros(buckets, dtype=np.int64),
            np.full(buckets, np.iinfo(np.int64).min),
            np.full(buckets, np.iinfo(np.int64).max),
        )

    def add(self, other: Stats) -> None:
        self.count += other.count
        self.sum += other.sum
        np.maximum(self.max, other.max, out=self.max)
        np.minimum(self.min, other.min, out=self.min)


class Buckets:
    """Bucket boundaries (ms) and the visibility horizon of the simulated clock."""

    def __init__(self, edges_ms: list[int], visible_until_ms: int) -> None:
        self.edges = np.asarray(edges_ms, dtype=np.int64)
        self.size = len(edges_ms) - 1
        self.start = int(self.edges[0])
        self.end = min(int(self.edges[-1]), visible_until_ms)

    def accumulate(
        self, stats: Stats, times: np.ndarray, values: np.ndarray | None, mask: np.ndarray
    ) -> None:
        keep = mask & (times >= self.start) & (times < self.end)
        if not keep.any():
            return
        index = np.searchsorted(self.edges, times[keep], side="right") - 1
        stats.count += np.bincount(index, minlength=self.size)
        if values is not None:
            picked = values[keep]
            stats.sum += np.bincount(index, weights=picked, minlength=self.size).astype(np.int64)
            np.maximum.at(stats.max, index, picked)
            np.minimum.at(stats.min, index, picked)


def queue_events(arrays: QueueArrays, sl_target_ms: int | None = None) -> dict[str, Event]:
    """Every queue metric's events for a batch of conversations; ``nOverSla`` against
    ``sl_target_ms`` (answered with a longer wait) when given, else the scenario's target."""
    entry, wait = arrays.entry_ms, arrays.wait_ms
    exit_ms = entry + wait
    every = np.ones(len(entry), dtype=bool)
    answered = arrays.outcome == ANSWERED
    abandoned = arrays.outcome == ABANDONED
    over_sla = arrays.over_sla if sl_target_ms is None else answered & (wait > sl_target_ms)
    return {
        "nOffered": (entry, None, every),
        "tAnswered": (exit_ms, wait, answered),
        "tAbandon": (exit_ms, wait, abandoned),
        "tShortAbandon": (exit_ms, wait, arrays.short_abandon),
        "tFlowOut": (exit_ms, wait, arrays.outcome == FLOWED_OUT),
        "tWait": (exit_ms, wait, every),
        "tAcd": (exit_ms, wait, every),
        "nOverSla": (exit_ms, None, over_sla),
        "tHandle": (exit_ms + arrays.handle_ms, arrays.handle_ms, answered),
    }


def flow_outcomes(arrays: FlowArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every outcome of the visits, main outcomes first then extra ones: (present, outcome
    index into ``FlowSpec.outcomes``, failed, ms from the visit's start)."""
    present = np.concatenate([arrays.reached_main, arrays.has_extra])
    index = np.concatenate([np.zeros(len(arrays), dtype=np.int16), arrays.extra_outcome])
    failed = np.concatenate([arrays.outcome == FAILURE, arrays.extra_failed])
    at = np.concatenate([arrays.outcome_ms, arrays.extra_ms])
    return present, index, failed & present, at


def flow_events(
    arrays: FlowArrays,
    visits: np.ndarray | None = None,
    outcomes: np.ndarray | None = None,
) -> dict[str, Event]:
    """Every flow metric's events; ``visits`` and ``outcomes`` are filter masks (rows of
    the visits, and of :func:`flow_outcomes`)."""
    start, duration = arrays.start_ms, arrays.duration_ms
    end = start + duration
    every = np.ones(len(start), dtype=bool) if visits is None else visits
    present, _, failed, at = flow_outcomes(arrays)
    if outcomes is not None:
        present, failed = present & outcomes, failed & outcomes
    outcome_at = np.concatenate([start, start]) + np.maximum(at, 0)
    exited = arrays.exited
    return {
        "nFlow": (start, None, every),
        "nFlowOutcome": (outcome_at, None, present),
        "nFlowOutcomeFailed": (outcome_at, None, failed),
        "tFlowOutcome": (outcome_at, at, present),
        "tFlow": (end, duration, every),
        "tFlowDisconnect": (end, duration, every & ~exited),
        "tFlowExit": (end, duration, every & exited),
    }


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """A ``views`` entry: ``rangeBound`` on a timer; counts values in ``[gte, lt)`` ms."""

    name: str
    target: str
    gte: float | None
    lt: float | None


def aggregate(
    batches: Iterable[dict[str, Event]],
    metrics: Iterable[str],
    views: Iterable[ViewSpec],
    buckets: Buckets,
) -> tuple[dict[str, Stats], dict[str, Stats]]:
    """Stats per metric and per view over batches of events (see :func:`queue_events`)."""
    metric_names = list(dict.fromkeys(metrics))
    view_list = list(views)
    totals = {name: Stats.zeros(buckets.size) for name in metric_names}
    view_totals = {view.name: Stats.zeros(buckets.size) for view in view_list}
    for events in batches:
        for name in metric_names:
            times, values, mask = events[name]
            buckets.accumulate(totals[name], times, values, mask)
        for view in view_list:
            times, values, mask = events[view.target]
            assert values is not None
            in_range = mask.copy()
            if view.gte is not None:
                in_range &= values >= view.gte
            if view.lt is not None:
                in_range &= values < view.lt
            buckets.accumulate(view_totals[view.name], times, values, in_range)
    return totals, view_totals


def service_level(
    parts: dict[str, np.ndarray], settings: ServiceLevelSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(numerator, denominator) per bucket, Genesys Cloud's formula with the org setting:
    (answered − answered over target) / (answered + abandoned [+ flow-outs]
    [− short abandons])."""
    numerator = parts["answered"] - parts["over_sla"]
    denominator = parts["answered"] + parts["abandoned"]
    if settings.include_flow_outs:
        denominator = denominator + parts["flow_out"]
    if settings.exclude_short_abandons:
        denominator = denominator - parts["short"]
    return numerator, denominator


def sl_parts(totals: dict[str, Stats]) -> dict[str, np.ndarray]:
    return {
        "answered": totals["tAnswered"].count,
        "over_sla": totals["nOverSla"].count,
        "abandoned": totals["tAbandon"].count,
        "short": totals["tShortAbandon"].count,
        "flow_out": totals["tFlowOut"].count,
    }


SL_INPUTS = ("tAnswered", "nOverSla", "tAbandon", "tShortAbandon", "tFlowOut")
"""Metrics ``oServiceLevel`` is computed from."""
