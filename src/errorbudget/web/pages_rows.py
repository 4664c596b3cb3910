"""From BudgetStatus (what ``app.evaluations.evaluation`` returns) to the rows and cards
of the pages.

Nothing here evaluates a budget or decides a state: each figure, state, colour and word is
one the engine produced from the SLO's policy preset. Aggregate rows (a whole SLO, a tier,
a group of series) are evaluated by the engine too (``engine.status.evaluate_aggregate``);
the release decisions use the gate's own scope and verdicts (``gate.in_scope``,
``gate.verdicts``) over the statuses the page already has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from errorbudget.alert_records import SEVERITIES, Alert
from errorbudget.gate import in_scope, verdicts
from errorbudget.model import (
    RISKS,
    SLO,
    BudgetStatus,
    ConditionResult,
    DataCoverage,
    PolicyPreset,
    SourceHealth,
    from_minute,
    percent_text,
    segment_label,
)
from errorbudget.web.pages_models import (
    AlertRow,
    BurnKind,
    ConditionCell,
    DataView,
    FiringCondition,
    Gauge,
    SeriesRow,
    ServiceGate,
    SloCard,
    SloRef,
    SourceRow,
)
from errorbudget.wording import data_note, human_duration

KIND: dict[str, BurnKind] = {"page": "fast", "ticket": "slow"}

DIGITAL_MEDIA = frozenset({"chat", "email", "message", "cobrowse", "video", "screenshare"})
"""Genesys media types that make a queue "digital" for the per-tier table."""

TIER_ORDER = ("vip", "standard", "digital")


def slo_ref(slo: SLO, preset: PolicyPreset) -> SloRef:
    overrides = [
        f"{o.name or segment_label(tuple(sorted(o.match.items())))} {percent_text(o.target)}"
        for o in slo.segments.overrides
    ]
    if slo.segments.overrides:
        judged = (
            "the whole SLO is judged on the sum of its segments' budgets, each at its own "
            "target; it meets its target only when every segment meets its own"
        )
    elif slo.segments.keys:
        judged = (
            "the whole SLO is judged on the sum of its segments' budgets; it meets its "
            "target only when every segment does"
        )
    else:
        judged = "one series"
    return SloRef(
        id=slo.id,
        service=slo.service,
        description=slo.description,
        owner=slo.owner,
        window=slo.window.describe(),
        budgeting=slo.budgeting,
        url=f"/slos/{slo.id}",
        target=slo.target,
        target_overrides=overrides,
        judged=judged,
        policy=preset.name,
        policy_description=preset.description,
    )


def data_view(coverage: DataCoverage | None) -> DataView:
    if coverage is None:
        return DataView(
            sufficient=True,
            stale=False,
            covered_minutes=0,
            window_minutes=0,
            age_seconds=None,
            broken_minutes=0,
            note=None,
        )
    return DataView(
        sufficient=coverage.sufficient,
        stale=coverage.stale,
        covered_minutes=coverage.covered_minutes,
        window_minutes=coverage.window_minutes,
        age_seconds=coverage.age_seconds,
        broken_minutes=coverage.broken_minutes,
        note=data_note(coverage),
    )


def source_row(health: SourceHealth, at: datetime) -> SourceRow:
    """A source's health as the page at ``at`` shows it."""
    through = from_minute(health.collected_through) if health.collected_through else None
    age = max(0.0, (at - through).total_seconds()) if through is not None else None
    ok = health.consecutive_failures == 0 and health.last_error is None
    if age is None:
        data = "no data collected yet"
    else:
        data = "data current" if age <= 60 else f"data {human_duration(age)} old"
    if ok:
        summary = f"ok: {data}"
    else:
        since = (
            f" since {health.last_success_at:%b %-d %H:%M} UTC" if health.last_success_at else ""
        )
        runs = health.consecutive_failures
        summary = f"failing: {runs} run{'s' * (runs != 1)} in a row{since}, {data}"
    return SourceRow(
        source=health.source,
        ok=ok,
        last_run_at=health.last_run_at,
        last_success_at=health.last_success_at,
        last_error=health.last_error,
        last_error_at=health.last_error_at,
        consecutive_failures=health.consecutive_failures,
        collected_through=through,
        data_age_seconds=age,
        summary=summary,
    )


def gauge(status: BudgetStatus, preset: PolicyPreset) -> Gauge:
    """The gauge of a row: its budget remaining, coloured and worded by its preset."""
    return Gauge(
        remaining_ratio=status.budget_remaining_ratio,
        band=status.band,
        state=status.state,
        state_label=status.state_label,
        advice=status.advice,
        note=data_note(status.coverage) if status.coverage is not None else None,
        thresholds=[value for value, _ in preset.remaining_thresholds()],
    )


def kind(condition: ConditionResult) -> BurnKind:
    return KIND.get(condition.severity, "slow")


def condition_label(condition: ConditionResult) -> str:
    return f"{kind(condition)} burn {condition.long_window}/{condition.short_window}"


def split_rows(slo: SLO, rows: Sequence[BudgetStatus]) -> tuple[BudgetStatus, list[BudgetStatus]]:
    """The whole-SLO row and the per-segment rows of one SLO's statuses (an SLO without
    segment keys has one row, which is both)."""
    whole = next(r for r in rows if r.segment == ())
    segments = [r for r in rows if r.segment != ()]
    return whole, segments if slo.segments.keys else [whole]


def remaining_key(status: BudgetStatus) -> float:
    """Sort key: least budget remaining first, rows without a figure last."""
    ratio = status.budget_remaining_ratio
    return float("inf") if ratio is None else ratio


def series_row(
    status: BudgetStatus,
    label: str | None = None,
    members: Sequence[BudgetStatus] = (),
) -> SeriesRow:
    """A table row for one status; an aggregate also names its member with the least
    budget remaining (``members``)."""
    worst = min(members, key=remaining_key) if members else None
    return SeriesRow(
        label=label or segment_label(status.segment),
        segment=dict(status.segment),
        series=status.series,
        target=status.target,
        eligible=status.eligible,
        bad=status.bad,
        sli=status.sli,
        meets_target=status.meets_target,
        series_missing_target=status.series_missing_target,
        budget_remaining_ratio=status.budget_remaining_ratio,
        band=status.band,
        state=status.state,
        state_label=status.state_label,
        burn_1h=status.burn_rates.get("1h"),
        burn_1d=status.burn_rates.get("1d"),
        time_to_exhaustion_seconds=status.time_to_exhaustion_seconds,
        outlook=status.outlook,
        data=data_view(status.coverage),
        firing=[condition_label(c) for c in status.alerts],
        worst_segment=segment_label(worst.segment) if worst is not None else None,
    )


def slo_card(
    slo: SLO, preset: PolicyPreset, whole: BudgetStatus, rows: Sequence[BudgetStatus]
) -> SloCard:
    """The SLO health card: gauge and figures of the whole-SLO row (or of the one series the
    page follows), alert counts over every row of the SLO."""
    everything = [whole, *(r for r in rows if r is not whole)]
    alerts = [c for r in everything for c in r.alerts]
    return SloCard(
        slo=slo_ref(slo, preset),
        gauge=gauge(whole, preset),
        target=whole.target,
        effective_target=whole.effective_target,
        sli=whole.sli,
        meets_target=whole.meets_target,
        series_missing_target=whole.series_missing_target,
        state=whole.state,
        state_label=whole.state_label,
        burn_1h=whole.burn_rates.get("1h"),
        burn_6h=whole.burn_rates.get("6h"),
        burn_1d=whole.burn_rates.get("1d"),
        time_to_exhaustion_seconds=whole.time_to_exhaustion_seconds,
        outlook=whole.outlook,
        forecast_lookback=whole.forecast_lookback,
        projected_consumed_ratio=whole.projected_consumed_ratio,
        linear_projected_consumed_ratio=whole.linear_projected_consumed_ratio,
        calendar=whole.period_end - whole.period_start != whole.at - whole.period_start
        or whole.projected_consumed_ratio is not None,
        data=data_view(whole.coverage),
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


def firing_conditions(
    slo: SLO, preset: PolicyPreset, rows: Sequence[BudgetStatus]
) -> list[FiringCondition]:
    return [
        FiringCondition(
            slo=slo_ref(slo, preset),
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
            state_label=status.state_label,
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
    # a source plugin's indicator may name its media (Genesys does); the page does not
    # import a particular plugin to ask
    named = getattr(slo.indicator, "media", None)
    if isinstance(named, list | tuple | set | frozenset) and named:
        media = {str(m) for m in named}
    if media and media <= DIGITAL_MEDIA:
        return "digital"
    return None


def tier_sort_key(tier: str) -> tuple[int, str]:
    return (TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER), tier)


def service_gate(
    service: str,
    statuses: Sequence[BudgetStatus],
    presets: Mapping[str, PolicyPreset],
    min_segment_share: float,
) -> ServiceGate:
    """The gate's verdicts for an unscoped (non-exempt) change of each risk to ``service``,
    exactly as ``errorbudget gate --service`` decides them now (``gate.in_scope``)."""
    scoped = in_scope(statuses, None, min_segment_share)
    judged = {risk: verdicts(scoped, presets, "change", risk, exempt=False) for risk in RISKS}
    decisions = {risk: decision for risk, (decision, _) in judged.items()}
    decision, medium = judged["medium"]
    blocking = [
        f"{v.status.slo} {segment_label(v.status.segment)}: {v.status.state_label}"
        for v in medium
        if v.binding and v.decision != "allow"
    ]
    below = [
        f"{v.status.slo} {segment_label(v.status.segment)}: {v.status.state_label}"
        for v in medium
        if not v.binding and v.decision != "allow"
    ]
    reason = next(
        (v.reason for v in medium if v.binding and v.decision == decision), "no series in scope"
    )
    return ServiceGate(
        service=service, decisions=decisions, reason=reason, blocking=blocking, below_minimum=below
    )


def alert_row(alert: Alert) -> AlertRow:
    """An alert as the overview and the SLO page list it."""
    state = alert.state
    since = state.fired_at if state.phase in ("firing", "resolved") else state.active_since
    return AlertRow(
        fingerprint=alert.fingerprint,
        alertname=alert.alertname,
        slo=alert.slo,
        segment_label=segment_label(alert.segment),
        severity=alert.severity,
        phase=state.phase,
        since=None if since is None else from_minute(since),
        resolved_at=None if state.resolved_at is None else from_minute(state.resolved_at),
        episode=state.episode,
        summary=alert.summary,
        runbook_url=alert.runbook_url,
        acknowledged_by=alert.acknowledged_by,
        silenced=alert.silenced,
        inhibited=state.inhibited,
    )


def alert_rows(alerts: Sequence[Alert]) -> list[AlertRow]:
    """Alerts as rows, highest severity first, then the most recent."""
    order = {severity: rank for rank, severity in enumerate(SEVERITIES)}
    ranked = sorted(alerts, key=lambda a: (order[a.severity], -a.updated_at))
    return [alert_row(alert) for alert in ranked]
