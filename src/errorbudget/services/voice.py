"""Voice-agent views of events SLOs (docs/voice-dashboard.md): budget consumed by flow, the
flow breakdown, pipeline attribution, the release overlay, raw vs budget-counting failures
and the review queue.

It reads what the events fold kept (the store's ``EventRecords``: kept failed/excluded
events, hourly dimension rollups, stage sums), shipped changes (``ChangeRecords``) and the
published evaluation; it computes no budget itself. Every budget figure is the evaluation's
(``BudgetStatus.budget_consumed``, ``budget_total``, burn rates) split by the rollups'
shares, or the engine's burn over a window (``history.consumed_after``), through the pure
functions of ``engine.voice``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from errorbudget.engine import voice as voice_math
from errorbudget.engine.windows import nominal_length
from errorbudget.event_records import DimensionCount, KeptEvent, StageSum
from errorbudget.history import consumed_after
from errorbudget.model import SLO, BudgetStatus, Minute, SegmentKey, from_minute, segment_key
from errorbudget.sources.events.fields import FIELDS, STAGES, UNKNOWN
from errorbudget.sources.events.indicator import EventsIndicator
from errorbudget.sources.events.model import EventParseError, parse_records
from errorbudget.sources.events.rules import rule_mask

if TYPE_CHECKING:
    from errorbudget.config import LoadedConfig
    from errorbudget.services.evaluations import Evaluation, EvaluationService
    from errorbudget.store import Store

__all__ = [
    "RELEASE_HORIZON",
    "Attribution",
    "BreakdownRow",
    "ExclusionRow",
    "FailedSlo",
    "FlowRow",
    "ReleaseRow",
    "ReviewCall",
    "StageRow",
    "VoiceReport",
    "VoiceService",
    "error_attribution",
    "failing_good_rule",
    "is_latency_slo",
    "latency_attribution",
]

RELEASE_HORIZON = timedelta(hours=6)
"""The burn of a release is compared over this long before and after it."""
RELEASE_DIMENSIONS = ("agent_version", "prompt_version", "model")
"""Dimensions whose values, first seen in a flow, are releases."""
BREAKDOWN_DIMENSIONS = ("intent", "route")
"""The flow breakdown's dimensions (seed 002: "by intent and route")."""
REVIEW_SCAN = 5_000
"""Bad events read per SLO for the review queue."""
LATENCY_FIELDS = frozenset({"latency_ms", "first_audio_ms", *(f"{s}_ms" for s in STAGES)})
"""An SLO whose good rule reads one of these is a latency SLO (attributed by stage timings);
any other by the stage its bad events name (``error_stage``)."""


@dataclass(frozen=True, slots=True)
class FlowRow:
    """One flow over the window: its events (from the rollups) and the part of the SLO's
    consumed budget its bad events account for."""

    flow: str
    eligible: int
    bad: int
    excluded: int
    raw_failures: int
    sli: float | None
    bad_share: float | None
    budget_consumed: float | None
    consumed_ratio: float | None
    target: float | None = None
    """The flow's own series (or group row) in the evaluation, when ``flow`` is a segment
    key of the SLO: its target (a per-flow override), budget remaining and policy state."""
    budget_remaining_ratio: float | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class BreakdownRow:
    dimension: str
    flow: str
    value: str
    eligible: int
    bad: int
    sli: float | None


@dataclass(frozen=True, slots=True)
class StageRow:
    stage: str
    weight: float
    share: float | None
    budget_consumed: float | None
    bad_events: int
    mean_bad_ms: float | None = None
    mean_eligible_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Attribution:
    """Which stage consumed the budget: ``method`` is ``latency`` (stage timings of bad vs
    eligible events) or ``error_stage`` (the stage bad events name)."""

    method: str
    rows: list[StageRow]
    unattributed: int
    note: str | None


@dataclass(frozen=True, slots=True)
class ReleaseRow:
    """A release: a dimension value first seen in a flow, or a shipped change; the SLO's
    burn (budget-counting events of the flow's series, or all) before and after it."""

    kind: str
    flow: str | None
    value: str
    at: datetime
    burn_before: float | None
    burn_after: float | None
    change_id: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ExclusionRow:
    rule: str
    excluded: int
    raw_failures: int | None


@dataclass(frozen=True, slots=True)
class FailedSlo:
    slo: str
    event_id: str
    type: str
    segment: dict[str, str]
    impact: float | None


@dataclass(frozen=True, slots=True)
class ReviewCall:
    """A failed call (or an event without a call id), ranked by budget impact: the sum over
    the SLOs it failed of ``1 / allowed bad events`` of the failing event's series."""

    key: str
    call_id: str | None
    trace_id: str | None
    time: datetime
    flow: str
    intent: str
    versions: dict[str, str]
    audio_url: str | None
    transcript_url: str | None
    failed: list[FailedSlo]
    impact: float


@dataclass(frozen=True, slots=True)
class VoiceReport:
    slo: str
    service: str
    at: datetime
    start: datetime
    end: datetime
    target: float
    budget_total: float
    budget_consumed: float
    consumed_ratio: float | None
    burn_rates: dict[str, float | None]
    firing: list[str]
    flows: list[FlowRow]
    breakdown: list[BreakdownRow]
    attribution: Attribution
    releases: list[ReleaseRow]
    exclusions: list[ExclusionRow]
    raw_failures: int
    counted_failures: int
    notes: list[str] = field(default_factory=list)


class VoiceService:
    """The voice views over the store's kept events and rollups (``EventRecords``), its
    shipped changes and the published evaluation (``evaluations``)."""

    def __init__(self, loaded: LoadedConfig, store: Store, evaluations: EvaluationService) -> None:
        self.loaded = loaded
        self.store = store
        self.evaluations = evaluations

    # --- one SLO -------------------------------------------------------------------------

    def report(self, slo_id: str) -> VoiceReport:
        """The voice views of ``slo_id`` over its window as of the published evaluation."""
        slo = self.loaded.slo(slo_id)
        evaluation = self.evaluations.evaluation()
        statuses = evaluation.select([slo.id])
        whole = next(s for s in statuses if not s.segment) if statuses else None
        if whole is None:
            raise LookupError(f"SLO {slo.id!r} has no status")  # every configured SLO has one
        start, end = whole.period_start, whole.at
        # the rollups are hourly: only the whole hours inside the evaluated window are read
        hours = (-(-start // 60) * 60, end - end % 60)
        counts = self.store.dimension_counts(slo.id, *hours) if hours[0] < hours[1] else []
        notes = [] if counts else ["no events kept for this SLO in its window"]
        if not isinstance(slo.indicator, EventsIndicator):
            notes = [f"not an events SLO (source {slo.indicator.source}): no events to split"]
        # the flows' own rows: the series of an SLO segmented by flow alone, else its group
        # rows — or, for a flow held by one series (flow and risk tier), that series, whose
        # target is the flow's own override (a group row shows the SLO's configured target)
        by_flow = {
            dict(s.segment)["flow"]: s
            for s in [*statuses, *evaluation.groups.get(slo.id, [])]
            if len(s.segment) == 1 and s.segment[0][0] == "flow"
        }
        series_of: dict[str, list[BudgetStatus]] = {}
        for s in statuses:
            if "flow" in dict(s.segment):
                series_of.setdefault(dict(s.segment)["flow"], []).append(s)
        by_flow.update({flow: only for flow, [*rest, only] in series_of.items() if not rest})
        ratio = _consumed_ratio(whole)
        if ratio is None and whole.budget_total > 0:
            notes.append("insufficient data: the budget consumed is not stated")
        if counts and (hours[0] != start or hours[1] != end):
            rounded = "the breakdown, attribution and exclusions" if by_flow else "every split"
            first, last = from_minute(hours[0]), from_minute(hours[1])
            notes.append(
                f"{rounded} cover the whole hours inside the window "
                f"({first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M} UTC)"
            )
        flows = self._flows(counts, whole, by_flow, ratio)
        exclusions = _exclusions(counts)
        if not exclusions and any(c.excluded for c in counts if c.dimension == "flow"):
            notes.append(
                "excluded events have no per-rule counts: they were ingested before the fold "
                "counted exclusions per rule"
            )
        counted = round(whole.budget_consumed)
        return VoiceReport(
            slo=slo.id,
            service=slo.service,
            at=from_minute(end),
            start=from_minute(start),
            end=from_minute(end),
            target=whole.target,
            budget_total=whole.budget_total,
            budget_consumed=whole.budget_consumed,
            consumed_ratio=ratio,
            burn_rates=dict(whole.burn_rates),
            firing=sorted({c.name for s in statuses for c in s.conditions if c.firing}),
            flows=flows,
            breakdown=_breakdown(counts),
            attribution=self._attribution(slo, whole, counts, hours),
            releases=self._releases(slo, counts, (start, end)),
            exclusions=exclusions,
            raw_failures=counted + sum(c.excluded_bad for c in counts if c.dimension == "flow"),
            counted_failures=counted,
            notes=notes,
        )

    def _flows(
        self,
        counts: Sequence[DimensionCount],
        whole: BudgetStatus,
        by_flow: Mapping[str, BudgetStatus],
        ratio: float | None,
    ) -> list[FlowRow]:
        """Per flow: eligible and bad events from the evaluation's own rows of the flow when
        ``flow`` is a segment key (exact), else from the rollups of the window's whole hours;
        excluded events from the rollups. No budget figure without a consumed ratio
        (insufficient data)."""
        rows = [c for c in counts if c.dimension == "flow"]
        names = sorted({c.flow for c in rows} | set(by_flow))
        index = {name: i for i, name in enumerate(names)}
        sums = voice_math.group_sums(
            [index[c.flow] for c in rows],
            np.array(
                [[c.eligible, c.bad, c.excluded, c.excluded_bad] for c in rows], dtype=np.float64
            ).reshape(-1, 4),
            len(names),
        )
        eligible, bad, excluded, excluded_bad = sums.T
        if by_flow:
            eligible = np.array([by_flow[n].eligible if n in by_flow else 0.0 for n in names])
            bad = np.array([by_flow[n].bad if n in by_flow else 0.0 for n in names])
        bad_share = voice_math.shares(bad) if len(names) else np.zeros(0)
        consumed = voice_math.split(bad, whole.budget_consumed) if len(names) else np.zeros(0)
        if ratio is None:
            consumed = np.full(len(names), np.nan)
        sli = 1.0 - voice_math.ratio(bad, eligible)
        return [
            FlowRow(
                flow=name,
                eligible=round(eligible[i]),
                bad=round(bad[i]),
                excluded=int(excluded[i]),
                raw_failures=round(bad[i] + excluded_bad[i]),
                sli=_num(sli[i]),
                bad_share=_num(bad_share[i]),
                budget_consumed=_num(consumed[i]),
                consumed_ratio=None if ratio is None else _num(bad_share[i] * ratio),
                target=own.target if own is not None else None,
                budget_remaining_ratio=own.budget_remaining_ratio if own is not None else None,
                state=own.state if own is not None else None,
            )
            for i, name in enumerate(names)
            for own in [by_flow.get(name)]
        ]

    def _attribution(
        self,
        slo: SLO,
        whole: BudgetStatus,
        counts: Sequence[DimensionCount],
        hours: tuple[Minute, Minute],
    ) -> Attribution:
        if is_latency_slo(slo):
            sums = self.store.stage_sums(slo.id, *hours)
            return latency_attribution(sums, whole.budget_consumed)
        return error_attribution(counts, whole.budget_consumed)

    def _releases(
        self, slo: SLO, counts: Sequence[DimensionCount], window: tuple[Minute, Minute]
    ) -> list[ReleaseRow]:
        found: list[tuple[str, str | None, str, Minute, int | None]] = []
        for dimension in RELEASE_DIMENSIONS:
            rows = [c for c in counts if c.dimension == dimension and c.eligible]
            keys = sorted({(c.flow, c.value) for c in rows})
            index = {key: i for i, key in enumerate(keys)}
            seen = voice_math.first_seen(
                [index[(c.flow, c.value)] for c in rows], [c.hour for c in rows], len(keys)
            ).tolist()
            # a value is released in a flow only when that flow had eligible events with
            # another (known) value of the dimension before it first appeared
            earliest: dict[str, int] = {}
            for (flow, value), hour in zip(keys, seen, strict=True):
                if value != UNKNOWN:
                    earliest[flow] = min(earliest.get(flow, hour), hour)
            found += [
                (dimension, flow, value, int(hour), None)
                for (flow, value), hour in zip(keys, seen, strict=True)
                if value != UNKNOWN and hour > earliest[flow]
            ]
        for change in self.store.list_changes(status=["shipped"], service=slo.service):
            if change.shipped_at is None or (change.slos and slo.id not in change.slos):
                continue
            minute = int(change.shipped_at.timestamp() // 60)
            if window[0] <= minute < window[1]:
                where = change.segment.get("flow")
                found.append(("change", where, change.title, minute, change.id))
        return self._with_burns(slo, sorted(found, key=lambda r: (r[3], r[0], r[1] or "")))

    def _with_burns(
        self, slo: SLO, found: list[tuple[str, str | None, str, Minute, int | None]]
    ) -> list[ReleaseRow]:
        horizon = int(RELEASE_HORIZON.total_seconds() // 60)
        period = nominal_length(slo.window).total_seconds() / 60
        exclusions = self.store.list_exclusions()
        issues = self.store.list_data_issues()
        eligibility = self.loaded.eligibility(slo)
        by_flow = "flow" in slo.segments.keys
        rows = []
        for kind, flow, value, minute, change_id in found:
            segment = {"flow": flow} if by_flow and flow is not None else {}
            shares = consumed_after(
                self.store,
                slo,
                segment,
                [minute - horizon, minute],
                horizon,
                exclusions,
                eligibility,
                issues,
            )
            before, after = (_num(s * period / horizon) for s in shares.tolist())
            missing = [w for w, b in (("before", before), ("after", after)) if b is None]
            rows.append(
                ReleaseRow(
                    kind=kind,
                    flow=flow,
                    value=value,
                    at=from_minute(minute),
                    burn_before=before,
                    burn_after=after,
                    change_id=change_id,
                    note=f"no eligible events {' or '.join(missing)}" if missing else None,
                )
            )
        return rows

    # --- the review queue ----------------------------------------------------------------

    def review_queue(
        self, *, slo_id: str | None = None, service: str | None = None, limit: int = 100
    ) -> list[ReviewCall]:
        """Failed calls ranked by budget impact, highest first (an event's impact:
        ``1 / allowed bad events`` of its series over the SLO's window, from the published
        evaluation; a call's: the sum over the SLOs it failed). ``slo_id`` keeps the calls
        that failed that SLO (their impact still sums every SLO of its service they failed;
        without ``service``, only that SLO's service is read)."""
        if slo_id is not None:
            owner = self.loaded.slo(slo_id).service  # NotFoundError for an unknown SLO
            service = owner if service is None else service
        evaluation = self.evaluations.evaluation()
        # the ranked calls of the service, memoised per evaluation (its key moves with the
        # minute and the stored data): every SLO page of the service shares one read
        ranked = self.evaluations.memo(
            ("voice.review_queue", service),
            evaluation.key,
            lambda: self._ranked_calls(evaluation, service),
        )
        order = ranked.order
        if slo_id is not None:
            order = [c for c in order if slo_id in ranked.slos[c]]
        return [ranked.call(c) for c in order[:limit]]

    def _ranked_calls(self, evaluation: Evaluation, service: str | None) -> _RankedCalls:
        slos = self.evaluations.select_slos(None, service)
        allowed: dict[tuple[str, SegmentKey], float] = {
            (s.slo, s.segment): s.budget_total for s in evaluation.select(x.id for x in slos)
        }
        failing: list[KeptEvent] = []
        for slo in slos:
            whole = allowed.get((slo.id, ()))
            if whole is None:
                continue
            status = next(s for s in evaluation.statuses if s.slo == slo.id and not s.segment)
            failing += self.store.kept_events(
                slo.id, status.period_start, status.at, verdict="bad", limit=REVIEW_SCAN
            )
        impacts = voice_math.event_impacts(
            [allowed.get((e.slo, segment_key(dict(e.segment))), 0.0) for e in failing]
        )
        keys = [e.call_id or f"event:{e.event_id}" for e in failing]
        names = sorted(set(keys))
        index = {k: i for i, k in enumerate(names)}
        codes = [index[k] for k in keys]
        per_call = voice_math.call_impacts(codes, impacts, len(names))
        members: list[list[int]] = [[] for _ in names]
        for i, code in enumerate(codes):
            members[code].append(i)
        latest = [max(failing[i].minute for i in m) for m in members]
        order = voice_math.rank(per_call, latest).tolist() if names else []
        slos_of = [frozenset(failing[i].slo for i in m) for m in members]
        return _RankedCalls(failing, impacts, names, members, per_call, order, slos_of)


@dataclass(frozen=True, slots=True)
class _RankedCalls:
    """A service's failed calls, ranked (what the review queue filters and cuts)."""

    failing: list[KeptEvent]
    impacts: np.ndarray[Any, np.dtype[np.float64]]
    names: list[str]
    members: list[list[int]]
    per_call: np.ndarray[Any, np.dtype[np.float64]]
    order: list[int]
    slos: list[frozenset[str]]

    def call(self, c: int) -> ReviewCall:
        rows = self.members[c]
        return _review_call(
            self.names[c], [self.failing[i] for i in rows], self.impacts[rows], self.per_call[c]
        )


# --- helpers -------------------------------------------------------------------------------


def is_latency_slo(slo: SLO) -> bool:
    """Whether the SLO's good rule reads a timing field (``LATENCY_FIELDS``)."""
    dumped = slo.indicator.model_dump()
    return bool(_fields(dumped.get("good")) & LATENCY_FIELDS)


def failing_good_rule(slo: SLO, events: Sequence[KeptEvent]) -> list[bool] | None:
    """Per kept event: whether it fails the SLO's good rule (an excluded event that does
    is a raw failure); None when the SLO is not an events SLO or its kept events cannot be
    read back as events."""
    indicator = slo.indicator
    if not isinstance(indicator, EventsIndicator) or not events:
        return None if not isinstance(indicator, EventsIndicator) else []
    records = [
        {
            **{k: v for k, v in e.event.items() if v is not None and k in FIELDS},
            "time": int(e.time.timestamp() * 1000),
        }
        for e in events
    ]
    try:
        table = parse_records(records)
    except EventParseError:
        return None
    return [not passed for passed in rule_mask(table, indicator.good).tolist()]


def _fields(rule: Any) -> set[str]:
    if isinstance(rule, Mapping):
        found: set[str] = set()
        for key, value in rule.items():
            found.add(str(key))
            found |= _fields(value)
        return found
    if isinstance(rule, list | tuple):
        return set().union(*(_fields(r) for r in rule)) if rule else set()
    return set()


def _num(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _consumed_ratio(status: BudgetStatus) -> float | None:
    """The part of the budget consumed; None without a budget or when the evaluation states
    none (too little data: ``budget_remaining_ratio`` is None)."""
    if status.budget_total <= 0 or status.budget_remaining_ratio is None:
        return None
    return status.budget_consumed / status.budget_total


def _exclusions(counts: Sequence[DimensionCount]) -> list[ExclusionRow]:
    """Per exclusion rule, from the fold's ``exclusion`` rollup rows (exact): the events it
    excluded and those of them failing the good rule (raw failures)."""
    per_rule: dict[str, list[int]] = {}
    for c in counts:
        if c.dimension == "exclusion":
            tally = per_rule.setdefault(c.value, [0, 0])
            tally[0] += c.excluded
            tally[1] += c.excluded_bad
    return [ExclusionRow(rule, n, failed) for rule, (n, failed) in sorted(per_rule.items())]


def _breakdown(counts: Sequence[DimensionCount]) -> list[BreakdownRow]:
    totals: dict[tuple[str, str, str], list[int]] = {}
    for c in counts:
        if c.dimension in BREAKDOWN_DIMENSIONS:
            sums = totals.setdefault((c.dimension, c.flow, c.value), [0, 0])
            sums[0] += c.eligible
            sums[1] += c.bad
    keys = sorted(totals)
    eligible = np.array([totals[k][0] for k in keys], dtype=np.float64)
    bad = np.array([totals[k][1] for k in keys], dtype=np.float64)
    sli = 1.0 - voice_math.ratio(bad, eligible)
    return [
        BreakdownRow(d, f, v, int(eligible[i]), int(bad[i]), _num(sli[i]))
        for i, (d, f, v) in enumerate(keys)
    ]


UNATTRIBUTED = "unattributed"
"""The attribution row of the bad events that name no stage (error attribution)."""


def error_attribution(counts: Sequence[DimensionCount], consumed: float) -> Attribution:
    """A stage's part of the budget consumed is its bad events over all bad events (the
    ``unattributed`` row holds those naming no stage), so the rows add up to ``consumed``."""
    rows = [c for c in counts if c.dimension == "error_stage"]
    codes = [STAGES.index(c.value) if c.value in STAGES else -1 for c in rows]
    weights = voice_math.error_stage_weights(codes, [c.bad for c in rows], len(STAGES))
    bad_total = sum(c.bad for c in counts if c.dimension == "flow")
    unattributed = max(0, bad_total - int(weights.sum()))
    note = None if weights.sum() else "no bad event names a stage: nothing to attribute"
    every = np.append(weights, float(unattributed))
    share = voice_math.shares(every)
    parts = voice_math.split(every, consumed)
    stage_rows = [
        StageRow(stage, float(every[i]), _num(share[i]), _num(parts[i]), int(every[i]))
        for i, stage in enumerate([*STAGES, UNATTRIBUTED])
        if stage != UNATTRIBUTED or unattributed
    ]
    return Attribution("error_stage", stage_rows, unattributed, note)


def latency_attribution(sums: Sequence[StageSum], consumed: float) -> Attribution:
    totals = np.zeros((len(STAGES), 4))
    for s in sums:
        if s.stage in STAGES:
            totals[STAGES.index(s.stage)] += (s.bad_n, s.bad_ms, s.eligible_n, s.eligible_ms)
    bad_n, bad_ms, eligible_n, eligible_ms = totals.T
    weights = voice_math.latency_stage_weights(bad_n, bad_ms, eligible_n, eligible_ms)
    mean_bad = voice_math.ratio(bad_ms, bad_n)
    mean_eligible = voice_math.ratio(eligible_ms, eligible_n)
    rows = [
        StageRow(
            r.stage,
            r.weight,
            r.share,
            r.budget_consumed,
            int(bad_n[i]),
            _num(mean_bad[i]),
            _num(mean_eligible[i]),
        )
        for i, r in enumerate(_stage_rows(weights, consumed))
    ]
    note = None
    if not bad_n.sum():
        note = "no bad event timed a stage: nothing to attribute"
    elif not weights.sum():
        note = "no stage was slower in bad events than on average"
    return Attribution("latency", rows, 0, note)


def _stage_rows(weights: np.ndarray[Any, np.dtype[np.float64]], consumed: float) -> list[StageRow]:
    share = voice_math.shares(weights)
    parts = voice_math.split(weights, consumed)
    return [
        StageRow(stage, float(weights[i]), _num(share[i]), _num(parts[i]), int(weights[i]))
        for i, stage in enumerate(STAGES)
    ]


def _review_call(
    key: str,
    events: list[KeptEvent],
    impacts: np.ndarray[Any, np.dtype[np.float64]],
    impact: float,
) -> ReviewCall:
    first = min(events, key=lambda e: e.time)
    link = next((e for e in events if e.audio_url or e.transcript_url), first)
    trace = next((e.trace_id for e in events if e.trace_id), None)
    dims = first.dimensions
    return ReviewCall(
        key=key,
        call_id=first.call_id,
        trace_id=trace,
        time=first.time,
        flow=dims.get("flow", "unknown"),
        intent=dims.get("intent", "unknown"),
        versions={d: dims.get(d, "unknown") for d in RELEASE_DIMENSIONS},
        audio_url=link.audio_url,
        transcript_url=link.transcript_url,
        failed=[
            FailedSlo(e.slo, e.event_id, e.type, dict(e.segment), _num(float(i)))
            for e, i in zip(events, impacts.tolist(), strict=True)
        ],
        impact=float(impact),
    )
