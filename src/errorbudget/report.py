"""Turning results into plain data (JSON/CSV) and short human strings, for every surface."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from errorbudget.model import (
    BudgetStatus,
    ConditionResult,
    DataCoverage,
    Exclusion,
    Outlook,
    from_minute,
    segment_label,
)

if TYPE_CHECKING:
    from errorbudget.changes import ChangeReview
    from errorbudget.gate import GateDecision
    from errorbudget.records import Annotation, Approval, Change


def _number(value: float | None, digits: int = 6) -> float | None:
    if value is None or math.isnan(value):
        return None
    if math.isinf(value):
        return None
    return round(value, digits)


def iso(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the way the HTTP API's models print times."""
    text = moment.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"


def _count(value: float) -> float | int:
    """Event counts are whole numbers: print them as such (``479055``, not ``479055.0``)."""
    return int(value) if float(value).is_integer() else value


def condition_to_dict(condition: ConditionResult) -> dict[str, Any]:
    return {
        "severity": condition.severity,
        "long_window": condition.long_window,
        "short_window": condition.short_window,
        "factor": _number(condition.factor),
        "catalog_factor": _number(condition.catalog_factor),
        "adapted": condition.adapted,
        "long_burn_rate": _number(condition.long_burn),
        "short_burn_rate": _number(condition.short_burn),
        "firing": condition.firing,
    }


def coverage_to_dict(coverage: DataCoverage | None) -> dict[str, Any] | None:
    if coverage is None:
        return None
    return {
        "sufficient": coverage.sufficient,
        "stale": coverage.stale,
        "covered_minutes": coverage.covered_minutes,
        "window_minutes": coverage.window_minutes,
        "min_coverage": coverage.min_coverage,
        "first": iso(from_minute(coverage.first_minute))
        if coverage.first_minute is not None
        else None,
        "end": iso(from_minute(coverage.end_minute)) if coverage.end_minute is not None else None,
        "age_seconds": _number(coverage.age_seconds, 1),
        "broken_minutes": coverage.broken_minutes,
        "max_age_seconds": _number(coverage.max_age_seconds, 1),
        "note": data_note(coverage),
    }


def status_to_dict(status: BudgetStatus) -> dict[str, Any]:
    """The ``status --format json`` object (DESIGN.md "Public interfaces")."""
    return {
        "slo": status.slo,
        "service": status.service,
        "segment": dict(status.segment),
        "target": _number(status.target, 9),
        "window": status.window,
        "budgeting": status.budgeting,
        "at": iso(from_minute(status.at)),
        "period_start": iso(from_minute(status.period_start)),
        "period_end": iso(from_minute(status.period_end)),
        "eligible": _count(status.eligible),
        "good": _count(status.good),
        "bad": _count(status.bad),
        "raw_total": _count(status.raw_total),
        "raw_bad": _count(status.raw_bad),
        "excluded": _count(status.excluded),
        "out_of_schedule": _count(status.out_of_schedule),
        "out_of_schedule_bad": _count(status.out_of_schedule_bad),
        "sli": _number(status.sli, 9),
        "budget_total": _number(status.budget_total),
        "budget_consumed": _number(status.budget_consumed),
        "budget_remaining": _number(status.budget_remaining),
        "budget_remaining_ratio": _number(status.budget_remaining_ratio),
        "burn_rates": {name: _number(rate) for name, rate in status.burn_rates.items()},
        "period_burn_rate": _number(status.period_burn_rate),
        "time_to_exhaustion_seconds": _number(status.time_to_exhaustion_seconds, 1),
        "exhaustion_outlook": status.outlook,
        "forecast_lookback": status.forecast_lookback,
        "projected_consumed_ratio": _number(status.projected_consumed_ratio),
        "linear_projected_consumed_ratio": _number(status.linear_projected_consumed_ratio),
        "effective_target": _number(status.effective_target, 9),
        "meets_target": status.meets_target,
        "series": status.series,
        "series_missing_target": status.series_missing_target,
        "policy": status.policy,
        "state": status.state,
        "state_label": status.state_label,
        "advice": status.advice,
        "data": coverage_to_dict(status.coverage),
        "alerts": [condition_to_dict(c) for c in status.alerts],
    }


CSV_COLUMNS = [
    "slo", "service", "segment", "target", "window", "eligible", "good", "bad", "sli",
    "budget_total", "budget_consumed", "budget_remaining_ratio",
    "burn_5m", "burn_30m", "burn_1h", "burn_2h", "burn_6h", "burn_1d", "burn_3d",
    "period_burn_rate", "time_to_exhaustion_seconds", "exhaustion_outlook",
    "projected_consumed_ratio", "linear_projected_consumed_ratio", "meets_target", "policy",
    "state", "state_label", "data_age_seconds", "data_note", "alerts",
]  # fmt: skip


def status_to_row(status: BudgetStatus) -> dict[str, Any]:
    data = status_to_dict(status)
    row = {key: data[key] for key in CSV_COLUMNS if key in data}
    row["segment"] = segment_label(status.segment)
    for name, rate in data["burn_rates"].items():
        row[f"burn_{name}"] = rate
    row["alerts"] = ";".join(
        f"{a['severity']}:{a['long_window']}/{a['short_window']}" for a in data["alerts"]
    )
    coverage = data["data"] or {}
    row["data_age_seconds"] = coverage.get("age_seconds")
    row["data_note"] = coverage.get("note")
    return row


# --- human strings ---------------------------------------------------------------------------


def percent(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "no data"
    return f"{value * 100:.{digits}f}%"


def burn(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}"


def count_text(value: int) -> str:
    return f"{value:,}"


def data_note(coverage: DataCoverage) -> str | None:
    """What a page says instead of a number: ``insufficient data (44 of 43,200 minutes)``,
    or ``data stale: newest is 30h 5m old (limit 1h 0m)``; None when the data is fine."""
    if not coverage.sufficient:
        return (
            f"insufficient data ({count_text(coverage.covered_minutes)} of "
            f"{count_text(coverage.window_minutes)} minutes)"
        )
    if coverage.stale and coverage.age_seconds is not None:
        limit = human_duration(coverage.max_age_seconds)
        return f"data stale: newest is {human_duration(coverage.age_seconds)} old (limit {limit})"
    if coverage.broken:
        where = f" in {coverage.broken_series} series" if coverage.broken_series > 1 else ""
        return (
            f"SLI data broken: {count_text(coverage.broken_minutes)} minutes{where} left out "
            "(a source reported them wrong or missing)"
        )
    return None


OUTLOOK_WORDS: dict[Outlook, str] = {
    "spent": "spent",
    "recovers": "spent (back within budget by the period end)",
    "exhausts": "",
    "not_before_period_end": "not before the period ends",
    "not_at_this_rate": "not at this rate",
    "insufficient_data": "insufficient data",
    "no_data": "no data",
}


def exhaustion(seconds: float | None, outlook: Outlook) -> str:
    """Time to exhaustion in words: ``2d 4h``, ``spent``, ``not at this rate``, …"""
    if outlook == "exhausts":
        return human_duration(seconds)
    return OUTLOOK_WORDS[outlook]


def human_duration(seconds: float | None) -> str:
    """``3d 4h``, ``45m``, ``now`` or ``–`` (never at this rate)."""
    if seconds is None:
        return "–"
    if seconds <= 0:
        return "now"
    minutes = int(seconds // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{max(mins, 1)}m"


def exclusion_to_dict(exclusion: Exclusion) -> dict[str, Any]:
    return {
        "id": exclusion.id,
        "slo": exclusion.slo,
        "service": exclusion.service,
        "segment": exclusion.segment,
        "start": from_minute(exclusion.start).isoformat(),
        "end": from_minute(exclusion.end).isoformat(),
        "category": exclusion.category,
        "reason": exclusion.reason,
        "status": exclusion.status,
        "counted": exclusion.counted,
        "created_by": exclusion.created_by,
        "proposed_by": exclusion.created_by,
        "created_at": exclusion.created_at.isoformat(),
        "approved_by": exclusion.approved_by,
        "reviewed_by": exclusion.reviewed_by,
        "reviewed_at": exclusion.reviewed_at.isoformat() if exclusion.reviewed_at else None,
        "reviewer_role": exclusion.reviewer_role,
        "review_comment": exclusion.review_comment,
        "revoked_at": exclusion.revoked_at.isoformat() if exclusion.revoked_at else None,
        "revoked_by": exclusion.revoked_by,
        "revoke_reason": exclusion.revoke_reason,
        "legacy": exclusion.legacy,
        "legacy_approver": exclusion.legacy_approver,
        "problem": exclusion.problem,
    }


def gate_to_dict(
    result: GateDecision,
    status_dict: Callable[[BudgetStatus], dict[str, Any]] = status_to_dict,
) -> dict[str, Any]:
    """The gate decision as data; ``status_dict`` lets a server reuse the rows it has
    already built for the same statuses."""
    return {
        "decision": result.decision,
        "exit_code": result.exit_code,
        "enforcement": result.enforcement,
        "service": result.service,
        "change_type": result.change_type,
        "risk": result.risk,
        "exempt": result.exempt,
        "at": iso(result.at),
        "reasons": result.reasons,
        "audit_id": result.audit_id,
        "snapshot": [
            {**status_dict(v.status), "decision": v.decision, "reason": v.reason}
            for v in result.verdicts
        ],
    }


# --- changes and annotations -------------------------------------------------------------------


def change_to_dict(change: Change) -> dict[str, Any]:
    return {
        "id": change.id,
        "service": change.service,
        "slos": list(change.slos),
        "segment": change.segment,
        "change_type": change.change_type,
        "risk": change.risk,
        "title": change.title,
        "description": change.description,
        "submitted_by": change.submitted_by,
        "submitted_at": change.submitted_at.isoformat(),
        "status": change.status,
        "status_by": change.status_by,
        "status_at": change.status_at.isoformat(),
        "estimated_impact": round(change.estimated_impact, 6),
        "impact_basis": change.impact_basis,
        "decision": change.decision,
        "decision_at": change.decision_at.isoformat(),
        "snapshot": change.snapshot,
        "shipped_at": change.shipped_at.isoformat() if change.shipped_at else None,
    }


def approval_to_dict(approval: Approval) -> dict[str, Any]:
    return {
        "id": approval.id,
        "change_id": approval.change_id,
        "approver": approval.approver,
        "role": approval.role,
        "decision": approval.decision,
        "comment": approval.comment,
        "at": approval.at.isoformat(),
    }


def review_to_dict(judged: ChangeReview) -> dict[str, Any]:
    """A change, its approvals and the gate's answer (API and ``gate --change`` JSON)."""
    return {
        **change_to_dict(judged.change),
        "approvals": [approval_to_dict(a) for a in judged.approvals],
        "current_decision": judged.decision,
        "needs": judged.needs,
        "approved": judged.approved,
        "effective": judged.effective,
        "exit_code": judged.exit_code,
        "enforcement": judged.enforcement,
        "reasons": list(judged.reasons),
        "integrity": list(judged.integrity),
    }


def annotation_to_dict(annotation: Annotation) -> dict[str, Any]:
    return {
        "id": annotation.id,
        "at": annotation.at.isoformat(),
        "kind": annotation.kind,
        "service": annotation.service,
        "slo": annotation.slo,
        "segment": annotation.segment,
        "text": annotation.text,
        "created_by": annotation.created_by,
        "created_at": annotation.created_at.isoformat(),
        "change_id": annotation.change_id,
    }
