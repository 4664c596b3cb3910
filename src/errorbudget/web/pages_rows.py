"""From BudgetStatus (what ``App.status`` returns) to the rows and cards of the pages.

Nothing here evaluates a budget: each figure is one the engine produced. Two places add
figures up, both documented in docs/dashboard.md:

- an aggregate row (a tier, or the series of one segment value) sums its series' budgets
  the way the engine builds a whole-SLO row (``Σ budget``, ``Σ bad``, ``Σ eligible``), and
  shows the burn rates of its worst series rather than inventing a blended one;
- a service's release decision uses the gate's own pure ``verdicts`` over the statuses the
  page already has, instead of a second evaluation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from errorbudget.engine.policy import Risk
from errorbudget.gate import verdicts
from errorbudget.model import (
    SLO,
    BudgetStatus,
    ConditionResult,
    GenesysIndicator,
    PolicyState,
    segment_label,
)
from errorbudget.web.pages_models import (
    Band,
    BurnKind,
    ConditionCell,
    FiringCondition,
    Gauge,
    SeriesRow,
    ServiceGate,
    SloCard,
    SloRef,
)

GREEN_ABOVE = 0.5
"""Budget remaining above this is green (strictly)."""
RED_BELOW = 0.2
"""Budget remaining below this is red (strictly); 20 % and 50 % themselves are amber."""

BAND_LABELS: dict[Band, str] = {
    "green": "healthy",
    "amber": "warning",
    "red": "critical",
    "none": "no data",
}

STATE_ORDER: dict[PolicyState, int] = {
    "no_data": 0,
    "healthy": 1,
    "watch": 2,
    "freeze": 3,
    "exhausted": 4,
}

KIND: dict[str, BurnKind] = {"page": "fast", "ticket": "slow"}

DIGITAL_MEDIA = frozenset({"chat", "email", "message", "cobrowse", "video", "screenshare"})
"""Genesys media types that make a queue "digital" for the per-tier table."""

TIER_ORDER = ("vip", "standard", "digital")

RISKS: tuple[Risk, ...] = ("low", "medium", "high")


def band(remaining_ratio: float | None) -> Band:
    """Green above 50 % remaining, amber from 20 % to 50 % inclusive, red below 20 %."""
    if remaining_ratio is None:
        return "none"
    if remaining_ratio > GREEN_ABOVE:
        return "green"
    if remaining_ratio >= RED_BELOW:
        return "amber"
    return "red"


def gauge(remaining_ratio: float | None) -> Gauge:
    colour = band(remaining_ratio)
    return Gauge(
        remaining_ratio=remaining_ratio,
        band=colour,
        band_label=BAND_LABELS[colour],
        freeze_recommended=colour == "red",
    )


def slo_ref(slo: SLO) -> SloRef:
    return SloRef(
        id=slo.id,
        service=slo.service,
        description=slo.description,
        owner=slo.owner,
        window=slo.window.describe(),
        budgeting=slo.budgeting,
        url=f"/slos/{slo.id}",
    )


def kind(condition: ConditionResult) -> BurnKind:
    return KIND.get(condition.severity, "slow")


def condition_label(condition: ConditionResult) -> str:
    return f"{kind(condition)} burn {condition.long_window}/{condition.short_window}"


def worst_state(states: Iterable[PolicyState]) -> PolicyState:
    return max(states, key=STATE_ORDER.__getitem__, default="no_data")


def split_rows(slo: SLO, rows: Sequence[BudgetStatus]) -> tuple[BudgetStatus, list[BudgetStatus]]:
    """The whole-SLO row and the per-segment rows of one SLO's statuses (an SLO without
    segment keys has one row, which is both)."""
    whole = next(r for r in rows if r.segment == ())
    segments = [r for r in rows if r.segment != ()]
    return whole, segments if slo.segments.keys else [whole]


def series_row(status: BudgetStatus) -> SeriesRow:
    return SeriesRow(
        label=segment_label(status.segment),
        segment=dict(status.segment),
        series=1,
        target=status.target,
        eligible=status.eligible,
        bad=status.bad,
        sli=status.sli,
        budget_remaining_ratio=status.budget_remaining_ratio,
        band=band(status.budget_remaining_ratio),
        state=status.state,
        burn_1h=status.burn_rates.get("1h"),
        burn_1d=status.burn_rates.get("1d"),
        time_to_exhaustion_seconds=status.time_to_exhaustion_seconds,
        firing=[condition_label(c) for c in status.alerts],
    )


def _remaining_key(status: BudgetStatus) -> float:
    ratio = status.budget_remaining_ratio
    return float("inf") if ratio is None else ratio


def aggregate_row(label: str, segment: dict[str, str], rows: Sequence[BudgetStatus]) -> SeriesRow:
    """Several series as one row: budgets summed as for a whole-SLO row; burn rates, time to
    exhaustion and conditions of its worst series (least budget remaining)."""
    if len(rows) == 1:
        update = {
            "label": label,
            "segment": segment,
            "worst_segment": segment_label(rows[0].segment),
        }
        return series_row(rows[0]).model_copy(update=update)
    eligible = sum(r.eligible for r in rows)
    bad = sum(r.bad for r in rows)
    allowed = sum(r.budget_total for r in rows)
    consumed = sum(r.budget_consumed for r in rows)
    remaining = 1.0 - consumed / allowed if allowed > 0 else None
    worst = min(rows, key=_remaining_key)
    exhaustion = [r.time_to_exhaustion_seconds for r in rows]
    known = [t for t in exhaustion if t is not None]
    firing = sorted({condition_label(c) for r in rows for c in r.alerts})
    return SeriesRow(
        label=label,
        segment=segment,
        series=len(rows),
        target=1.0 - allowed / eligible if eligible > 0 else min(r.target for r in rows),
        eligible=eligible,
        bad=bad,
        sli=(eligible - bad) / eligible if eligible > 0 else None,
        budget_remaining_ratio=remaining,
        band=band(remaining),
        state=worst_state(r.state for r in rows),
        burn_1h=worst.burn_rates.get("1h"),
        burn_1d=worst.burn_rates.get("1d"),
        time_to_exhaustion_seconds=min(known) if known else None,
        firing=firing,
        worst_segment=segment_label(worst.segment),
    )


def slo_card(slo: SLO, whole: BudgetStatus, rows: Sequence[BudgetStatus]) -> SloCard:
    """The SLO health card: gauge and figures of the whole-SLO row, alert counts over every
    row of the SLO."""
    everything = [whole, *(r for r in rows if r is not whole)]
    alerts = [c for r in everything for c in r.alerts]
    return SloCard(
        slo=slo_ref(slo),
        gauge=gauge(whole.budget_remaining_ratio),
        target=whole.target,
        sli=whole.sli,
        state=whole.state,
        burn_1h=whole.burn_rates.get("1h"),
        burn_6h=whole.burn_rates.get("6h"),
        burn_1d=whole.burn_rates.get("1d"),
        time_to_exhaustion_seconds=whole.time_to_exhaustion_seconds,
        projected_consumed_ratio=whole.projected_consumed_ratio,
        series=len(rows),
        fast_burns=sum(1 for c in alerts if kind(c) == "fast"),
        slow_burns=sum(1 for c in alerts if kind(c) == "slow"),
    )


def _pressure(condition: ConditionResult) -> float:
    """How far over (or under) its factor a condition's long window burns."""
    if condition.long_burn is None or condition.factor <= 0:
        return -1.0
    return condition.long_burn / condition.factor


def condition_cells(rows: Sequence[BudgetStatus]) -> list[ConditionCell]:
    """Each catalog condition over ``rows`` (one SLO): how many series fire it, and its
    worst series (firing first, then the long-window burn closest to the factor)."""
    cells: list[ConditionCell] = []
    if not rows:
        return cells
    for position, template in enumerate(rows[0].conditions):
        found = [(r, r.conditions[position]) for r in rows if len(r.conditions) > position]
        status, worst = max(found, key=lambda pair: (pair[1].firing, _pressure(pair[1])))
        cells.append(
            ConditionCell(
                severity=template.severity,
                kind=kind(template),
                long_window=template.long_window,
                short_window=template.short_window,
                factor=worst.factor,
                firing_series=sum(1 for _, c in found if c.firing),
                worst_segment=segment_label(status.segment)
                if worst.long_burn is not None
                else None,
                worst_long_burn=worst.long_burn,
                worst_short_burn=worst.short_burn,
            )
        )
    return cells


def firing_conditions(slo: SLO, rows: Sequence[BudgetStatus]) -> list[FiringCondition]:
    return [
        FiringCondition(
            slo=slo_ref(slo),
            segment=dict(status.segment),
            segment_label=segment_label(status.segment),
            kind=kind(condition),
            severity=condition.severity,
            long_window=condition.long_window,
            short_window=condition.short_window,
            factor=condition.factor,
            long_burn=condition.long_burn,
            short_burn=condition.short_burn,
            budget_remaining_ratio=status.budget_remaining_ratio,
            state=status.state,
        )
        for status in rows
        for condition in status.alerts
    ]


def firing_order(item: FiringCondition) -> tuple[int, float]:
    """Fast before slow, then by how far the long window burns over its factor."""
    pressure = (item.long_burn or 0.0) / item.factor if item.factor > 0 else 0.0
    return (0 if item.kind == "fast" else 1, -pressure)


def tier_of(slo: SLO, segment: dict[str, str]) -> str | None:
    """The queue tier of a series: its ``tier`` segment label, else the SLO's ``tier``
    label, else ``digital`` for an SLO whose channel is digital (a ``media`` label or a
    Genesys indicator counting only digital media types); None keeps it out of the table."""
    if "tier" in segment:
        return segment["tier"]
    if "tier" in slo.labels:
        return slo.labels["tier"]
    media = {slo.labels["media"]} if "media" in slo.labels else set()
    if isinstance(slo.indicator, GenesysIndicator) and slo.indicator.media:
        media = set(slo.indicator.media)
    if media and media <= DIGITAL_MEDIA:
        return "digital"
    return None


def tier_sort_key(tier: str) -> tuple[int, str]:
    return (TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER), tier)


def service_gate(service: str, statuses: Sequence[BudgetStatus]) -> ServiceGate:
    """The gate's verdicts for a (non-exempt) change of each risk to ``service``, over every
    series of its SLOs, as ``errorbudget gate --service`` would decide them now."""
    judged = {risk: verdicts(statuses, "change", risk, exempt=False) for risk in RISKS}
    decisions = {risk: decision for risk, (decision, _) in judged.items()}
    decision, medium = judged["medium"]
    blocking = [
        f"{v.status.slo} {segment_label(v.status.segment)}: {v.status.state}"
        for v in medium
        if v.decision != "allow"
    ]
    reason = next((v.reason for v in medium if v.decision == decision), "no series in scope")
    return ServiceGate(service=service, decisions=decisions, reason=reason, blocking=blocking)
