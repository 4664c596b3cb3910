"""Genesys metrics → good / total counts per SLO segment and interval (pure).

Service level, as Genesys Cloud computes it (Admin → Contact Center → Analytics, "Service
level calculation"; DESIGN.md "Genesys Cloud: the real API")::

    good  = answered − answered over the SL target         (tAnswered.count − nOverSla.count)
    total = answered + abandoned [+ flow-outs] [− short abandons]

"Over the SL target" is against the queue's target *in force during the interval*: the
``tAnswered`` view of that target (``service_levels``), since Genesys's ``nOverSla`` uses
the current target even for past intervals; ``nOverSla`` only when no target is known.
``include_abandons: false`` drops abandons (and so short abandons) from the total.
``answered_within`` replaces ``good`` by the ``tAnswered`` view ``lt threshold_seconds``.
All these metrics are emitted when the caller leaves the queue (answer, abandon or
flow-out), so within one interval good ≤ total always holds.

IVR completion, per flow and interval, counts **visits** (not outcomes: a visit can reach
several flow outcomes, and ``nFlowOutcome``/``nFlowOutcomeFailed`` count outcomes). A visit
is *good* when none of its outcomes failed and it either reached a successful outcome
(self-service) or was transferred out of the flow (to an agent's queue); it is *bad* when
an outcome failed, whatever happened next (transfer or hang-up), or when it ended with a
hang-up in the flow (``tFlowDisconnect``) before any outcome. Every visit ends once, by
``tFlowDisconnect`` or ``tFlowExit``, counted when it ends, so with the two filtered queries
(:data:`~errorbudget.sources.genesys.queries.FLOW_VISIT_FILTERS`)::

    total = tFlowDisconnect + tFlowExit                             every visit that ended
    bad   = failed.tFlowDisconnect + failed.tFlowExit               with a failed outcome
          + no_outcome.tFlowDisconnect                              hung up before any outcome
    good  = total − bad

The two bad parts are disjoint (a visit without outcomes has no failed one), and all counts
are per visit, at its end: exact per interval, whatever the number of outcomes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from errorbudget.model import SLO, Minute, SegmentKey
from errorbudget.sources.genesys.indicator import GenesysIndicator
from errorbudget.sources.genesys.queries import IntervalCounts, target_view_name, view_name

SegmentCounts = dict[tuple[SegmentKey, Minute], list[int]]
"""(segment, interval start) → [good, total]."""
TargetLookup = Callable[[str, str, Minute], int | None]
"""(queue id, media type, interval start) → the service-level target in force (ms) whose
view the answer holds, or None (count ``nOverSla``)."""
SL_METRICS = ("voice_sla", "digital_sla")
"""Queue metrics whose good count is answered within the queue's own target."""


@dataclass(frozen=True)
class Names:
    """Id → name of the queues and flows, for labels and name-based selection."""

    queues: Mapping[str, str]
    flows: Mapping[str, str]


def queue_good_total(
    indicator: GenesysIndicator, row: IntervalCounts, target_ms: int | None = None
) -> tuple[int, int]:
    """(good, total) of one queue × media type × interval (the service-level formula);
    ``target_ms``: the SL target in force then, whose view ``row`` holds."""
    answered = row.get("tAnswered")
    total = answered
    if indicator.include_abandons:
        total += row.get("tAbandon")
        if indicator.exclude_short_abandons:
            total -= row.get("tShortAbandon")
    if indicator.include_flow_outs:
        total += row.get("tFlowOut")
    if indicator.metric == "answered_within" and indicator.threshold_seconds is not None:
        good = row.get(view_name(indicator.threshold_seconds))
    elif target_ms is not None:
        good = row.get(target_view_name(target_ms))
    else:
        good = answered - row.get("nOverSla")
    total = max(total, 0)
    return max(0, min(good, total)), total


def flow_good_total(row: IntervalCounts) -> tuple[int, int]:
    """(good, total) visits of one flow × interval (see the module docstring)."""
    total = row.get("tFlowDisconnect") + row.get("tFlowExit")
    failed = row.get("failed.tFlowDisconnect") + row.get("failed.tFlowExit")
    bad = failed + row.get("no_outcome.tFlowDisconnect")
    return total - max(0, min(bad, total)), total


def _segment(slo: SLO, labels: Mapping[str, str]) -> SegmentKey:
    return tuple(sorted((key, labels[key]) for key in slo.segments.keys))


def selected_queue_rows(
    slo: SLO, rows: Iterable[IntervalCounts], names: Names
) -> Iterator[tuple[IntervalCounts, str, str, dict[str, str]]]:
    """The rows this queue SLO selects: (row, queue id, media type, segment labels)."""
    indicator = slo.indicator
    assert isinstance(indicator, GenesysIndicator)
    media = set(indicator.media)
    for row in rows:
        queue_id = row.group.get("queueId")
        media_type = row.group.get("mediaType")
        if queue_id is None or media_type not in media:
            continue
        name = names.queues.get(queue_id)
        if not indicator.queues.selects(queue_id, name):
            continue
        label = name or queue_id
        labels = {
            "queue": label,
            "queue_id": queue_id,
            "media_type": media_type,
            **indicator.mapped_labels(label),
        }
        yield row, queue_id, media_type, labels


def row_target(
    indicator: GenesysIndicator, row: IntervalCounts, targets: TargetLookup | None
) -> int | None:
    """The SL target (ms) to count this row against, for the metrics that use one."""
    if targets is None or indicator.metric not in SL_METRICS:
        return None
    return targets(row.group.get("queueId", ""), row.group.get("mediaType", ""), row.start)


def queue_counts(
    slo: SLO, rows: Iterable[IntervalCounts], names: Names, targets: TargetLookup | None = None
) -> SegmentCounts:
    """The queue rows this SLO selects, summed per segment and interval."""
    indicator = slo.indicator
    assert isinstance(indicator, GenesysIndicator)
    found: SegmentCounts = {}
    for row, _, _, labels in selected_queue_rows(slo, rows, names):
        good, total = queue_good_total(indicator, row, row_target(indicator, row, targets))
        cell = found.setdefault((_segment(slo, labels), row.start), [0, 0])
        cell[0] += good
        cell[1] += total
    return found


def flow_counts(slo: SLO, rows: Iterable[IntervalCounts], names: Names) -> SegmentCounts:
    """The flow rows this SLO selects, summed per segment and interval."""
    indicator = slo.indicator
    assert isinstance(indicator, GenesysIndicator)
    found: SegmentCounts = {}
    for row in rows:
        flow_id = row.group.get("flowId")
        if flow_id is None:
            continue
        name = row.group.get("flowName") or names.flows.get(flow_id)
        if not indicator.flows.selects(flow_id, name):
            continue
        label = name or flow_id
        labels = {"flow": label, "flow_id": flow_id, **indicator.mapped_labels(label)}
        good, total = flow_good_total(row)
        cell = found.setdefault((_segment(slo, labels), row.start), [0, 0])
        cell[0] += good
        cell[1] += total
    return found


def call_counts(slo: SLO, tally: Mapping[tuple[Minute, str], tuple[int, int]]) -> SegmentCounts:
    """The collector's own API calls per minute (and endpoint, when that is a segment key)."""
    found: SegmentCounts = {}
    for (minute, endpoint), (good, total) in tally.items():
        cell = found.setdefault((_segment(slo, {"endpoint": endpoint}), minute), [0, 0])
        cell[0] += good
        cell[1] += total
    return found
