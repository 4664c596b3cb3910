"""The outward schema of every result: one pydantic model per result, and the one place a
result (a dataclass of the engine, a record) becomes data.

The JSON API answers these models (the OpenAPI document at ``/docs`` says what every field
is); the CLI's ``--format json`` prints the same models and its CSV rows are derived from
them, so a field has one name and one rounding on every surface. Each model's ``of`` turns
its result into it; a test fails when a result's field is neither in its model nor listed
as deliberately left out (``tests/unit/test_schema.py``).

Request bodies, which only the HTTP API takes, are in ``web.api_models``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.engine.policy import Decision, Risk
from errorbudget.model import (
    SLO,
    BudgetStatus,
    ConditionResult,
    DataCoverage,
    Exclusion,
    ExclusionStatus,
    Minute,
    Outlook,
    PolicyState,
    from_minute,
    segment_label,
)
from errorbudget.records import Annotation, AnnotationKind, Approval, AuditEntry, ChangeStatus
from errorbudget.wording import data_note

if TYPE_CHECKING:
    from errorbudget.audit import AuditPage, ChainCheck
    from errorbudget.changes import ChangeReview
    from errorbudget.engine.timeline import TimelinePoint
    from errorbudget.errors import Problem
    from errorbudget.gate import GateDecision
    from errorbudget.ingest.report import FileReport, IngestReport

Count = int | float
"""Event counts are whole numbers, printed as integers (fractions only if a source sends them)."""


def _number(value: float | None, digits: int = 6) -> float | None:
    """Rounded; None for no value, NaN and infinity (JSON has neither)."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    return round(value, digits)


def _count(value: float) -> float | int:
    """Event counts are whole numbers: print them as such (``479055``, not ``479055.0``)."""
    return int(value) if float(value).is_integer() else value


def _instant(minute: Minute | None) -> datetime | None:
    return from_minute(minute) if minute is not None else None


# --- status and conditions ---------------------------------------------------------------------


class ConditionOut(BaseModel):
    """One multiwindow burn-rate condition: fires when both burns exceed ``factor``."""

    severity: str = Field(description="page or ticket")
    long_window: str
    short_window: str
    factor: float | None = Field(description="The factor compared against (after adaptation).")
    catalog_factor: float | None
    adapted: bool = Field(description="Whether the factor was adapted to a low target.")
    long_burn_rate: float | None
    short_burn_rate: float | None
    firing: bool

    @classmethod
    def of(cls, condition: ConditionResult) -> ConditionOut:
        return cls(
            severity=condition.severity,
            long_window=condition.long_window,
            short_window=condition.short_window,
            factor=_number(condition.factor),
            catalog_factor=_number(condition.catalog_factor),
            adapted=condition.adapted,
            long_burn_rate=_number(condition.long_burn),
            short_burn_rate=_number(condition.short_burn),
            firing=condition.firing,
        )


class DataOut(BaseModel):
    """How much of the window a series' data covers and how old it is."""

    sufficient: bool = Field(description="Covers at least data.min_coverage of the window.")
    stale: bool = Field(description="Older than data.max_age: the gate never allows on it.")
    covered_minutes: int
    window_minutes: int = Field(description="The window, or a calendar window's elapsed part.")
    min_coverage: float
    first: AwareDatetime | None
    end: AwareDatetime | None = Field(description="End of the newest minute with data.")
    age_seconds: float | None
    broken_minutes: int = Field(
        description="Minutes a source reported broken: left out, never counted as bad."
    )
    max_age_seconds: float | None
    note: str | None = Field(description="What a page shows instead of a number, if anything.")

    @classmethod
    def of(cls, coverage: DataCoverage) -> DataOut:
        return cls(
            sufficient=coverage.sufficient,
            stale=coverage.stale,
            covered_minutes=coverage.covered_minutes,
            window_minutes=coverage.window_minutes,
            min_coverage=coverage.min_coverage,
            first=_instant(coverage.first_minute),
            end=_instant(coverage.end_minute),
            age_seconds=_number(coverage.age_seconds, 1),
            broken_minutes=coverage.broken_minutes,
            max_age_seconds=_number(coverage.max_age_seconds, 1),
            note=data_note(coverage),
        )


class StatusOut(BaseModel):
    """The budget of one series at one instant (the ``status --format json`` object)."""

    slo: str
    service: str
    segment: dict[str, str] = Field(description="Segment labels; {} is the whole SLO.")
    target: float | None
    window: str
    budgeting: str
    at: AwareDatetime
    period_start: AwareDatetime
    period_end: AwareDatetime
    eligible: Count
    good: Count
    bad: Count
    raw_total: Count
    raw_bad: Count
    excluded: Count = Field(description="Removed by exclusions and maintenance windows.")
    out_of_schedule: Count = Field(
        default=0,
        description="Outside the SLO's schedule: in raw_total, not eligible, not excluded.",
    )
    out_of_schedule_bad: Count = Field(default=0, description="Of those, the bad ones.")
    sli: float | None = Field(description="None: no data (never shown as 0 % or 100 %).")
    budget_total: float | None
    budget_consumed: float | None
    budget_remaining: float | None
    budget_remaining_ratio: float | None = Field(description="May be negative (overspent).")
    burn_rates: dict[str, float | None] = Field(description="Keyed 5m 30m 1h 2h 6h 1d 3d.")
    period_burn_rate: float | None
    time_to_exhaustion_seconds: float | None = Field(
        description="Only where exhaustion is forecast (exhaustion_outlook says why not)."
    )
    exhaustion_outlook: Outlook
    forecast_lookback: str
    projected_consumed_ratio: float | None = Field(
        description="Calendar windows: consumed at the period end, same forecast."
    )
    linear_projected_consumed_ratio: float | None = Field(
        description="The seed's linear projection (consumed ÷ elapsed × period)."
    )
    effective_target: float | None = Field(
        description="What the summed budgets amount to (whole rows with per-segment targets)."
    )
    meets_target: bool | None = Field(
        description="SLI ≥ target, exactly; for a whole row, every segment meets its own."
    )
    series: int
    series_missing_target: int
    policy: str = Field(description="The policy preset the state and gate come from.")
    state: PolicyState
    state_label: str = Field(description="The state in the preset's words.")
    advice: str = Field(description="The preset's release policy for this state.")
    data: DataOut | None
    alerts: list[ConditionOut] = Field(description="The conditions firing now.")

    @classmethod
    def of(cls, status: BudgetStatus) -> StatusOut:
        """The ``status --format json`` object (DESIGN.md "Public interfaces")."""
        return cls(
            slo=status.slo,
            service=status.service,
            segment=dict(status.segment),
            target=_number(status.target, 9),
            window=status.window,
            budgeting=status.budgeting,
            at=from_minute(status.at),
            period_start=from_minute(status.period_start),
            period_end=from_minute(status.period_end),
            eligible=_count(status.eligible),
            good=_count(status.good),
            bad=_count(status.bad),
            raw_total=_count(status.raw_total),
            raw_bad=_count(status.raw_bad),
            excluded=_count(status.excluded),
            out_of_schedule=_count(status.out_of_schedule),
            out_of_schedule_bad=_count(status.out_of_schedule_bad),
            sli=_number(status.sli, 9),
            budget_total=_number(status.budget_total),
            budget_consumed=_number(status.budget_consumed),
            budget_remaining=_number(status.budget_remaining),
            budget_remaining_ratio=_number(status.budget_remaining_ratio),
            burn_rates={name: _number(rate) for name, rate in status.burn_rates.items()},
            period_burn_rate=_number(status.period_burn_rate),
            time_to_exhaustion_seconds=_number(status.time_to_exhaustion_seconds, 1),
            exhaustion_outlook=status.outlook,
            forecast_lookback=status.forecast_lookback,
            projected_consumed_ratio=_number(status.projected_consumed_ratio),
            linear_projected_consumed_ratio=_number(status.linear_projected_consumed_ratio),
            effective_target=_number(status.effective_target, 9),
            meets_target=status.meets_target,
            series=status.series,
            series_missing_target=status.series_missing_target,
            policy=status.policy,
            state=status.state,
            state_label=status.state_label,
            advice=status.advice,
            data=DataOut.of(status.coverage) if status.coverage is not None else None,
            alerts=[ConditionOut.of(c) for c in status.alerts],
        )

    def csv_row(self) -> dict[str, Any]:
        """The ``status --format csv`` row (columns: ``STATUS_CSV_COLUMNS``): this model's
        values, flattened."""
        data = self.model_dump(mode="json")
        row = {key: data[key] for key in STATUS_CSV_COLUMNS if key in data}
        row["segment"] = segment_label(tuple(self.segment.items()))
        for name, rate in data["burn_rates"].items():
            row[f"burn_{name}"] = rate
        row["alerts"] = ";".join(
            f"{a.severity}:{a.long_window}/{a.short_window}" for a in self.alerts
        )
        row["data_age_seconds"] = self.data.age_seconds if self.data is not None else None
        row["data_note"] = self.data.note if self.data is not None else None
        return row


STATUS_CSV_COLUMNS = [
    "slo", "service", "segment", "target", "window", "eligible", "good", "bad", "sli",
    "budget_total", "budget_consumed", "budget_remaining_ratio",
    "burn_5m", "burn_30m", "burn_1h", "burn_2h", "burn_6h", "burn_1d", "burn_3d",
    "period_burn_rate", "time_to_exhaustion_seconds", "exhaustion_outlook",
    "projected_consumed_ratio", "linear_projected_consumed_ratio", "meets_target", "policy",
    "state", "state_label", "data_age_seconds", "data_note", "alerts",
]  # fmt: skip


class SeriesConditionsOut(BaseModel):
    """Every burn-rate condition of one series, firing or not."""

    slo: str
    service: str
    segment: dict[str, str]
    at: AwareDatetime
    state: PolicyState
    firing: bool = Field(description="Whether any condition fires.")
    conditions: list[ConditionOut]


class SLOOut(BaseModel):
    id: str
    service: str
    description: str
    owner: str
    target: float
    window: str
    budgeting: str
    segment_keys: list[str]
    policy: str
    config: dict[str, Any] = Field(description="The SLO as configured (defaults filled in).")

    @classmethod
    def of(cls, slo: SLO) -> SLOOut:
        return cls(
            id=slo.id,
            service=slo.service,
            description=slo.description,
            owner=slo.owner,
            target=slo.target,
            window=slo.window.describe(),
            budgeting=slo.budgeting,
            segment_keys=list(slo.segments.keys),
            policy=slo.policy,
            config=slo.model_dump(mode="json"),
        )


# --- timeline ----------------------------------------------------------------------------------


class TimelinePointOut(BaseModel):
    at: AwareDatetime
    sli: float | None = Field(description="SLI over the period to date, as status reports it.")
    burn_rates: dict[str, float | None] = Field(description="Keyed 1h 6h 1d.")
    period_burn_rate: float | None = Field(description="Consumed ratio of the period budget.")
    budget_remaining_ratio: float | None
    eligible: Count = Field(description="Budget-counting events of the period to date.")
    bad: Count
    step_eligible: Count = Field(description="Budget-counting events of the step ending here.")
    step_bad: Count

    @classmethod
    def of(cls, point: TimelinePoint) -> TimelinePointOut:
        # rounded as status rounds: prefix sums differ in the last bits
        return cls(
            at=point.at,
            sli=_number(point.sli, 9),
            burn_rates={name: _number(rate) for name, rate in point.burn_rates.items()},
            period_burn_rate=_number(point.period_burn_rate),
            budget_remaining_ratio=_number(point.budget_remaining_ratio),
            eligible=_count(point.eligible),
            bad=_count(point.bad),
            step_eligible=_count(point.step_eligible),
            step_bad=_count(point.step_bad),
        )


class TimelineOut(BaseModel):
    slo: str
    segment: dict[str, str]
    budgeting: str
    step: str
    points: list[TimelinePointOut]


# --- exclusions and annotations ----------------------------------------------------------------


class ExclusionOut(BaseModel):
    id: int
    slo: str
    service: str | None
    segment: dict[str, str]
    start: AwareDatetime
    end: AwareDatetime
    category: str
    reason: str
    status: ExclusionStatus = Field(description="Only approved (and verified) ones count.")
    counted: bool = Field(description="Whether it removes events from budgets now.")
    created_by: str = Field(description="Who proposed it (the caller who added it).")
    proposed_by: str = Field(description="The same as created_by.")
    created_at: AwareDatetime
    approved_by: str | None = Field(description="The approver who approved it.")
    reviewed_by: str | None = Field(description="Who approved or rejected it.")
    reviewed_at: AwareDatetime | None
    reviewer_role: str | None
    review_comment: str
    revoked_at: AwareDatetime | None
    revoked_by: str | None
    revoke_reason: str
    legacy: bool = Field(
        description="Approved before approvals were verified (schema v5), not confirmed since."
    )
    legacy_approver: str | None = Field(
        description="The name typed as its approver before v5 (not authenticated)."
    )
    problem: str | None = Field(
        description="Why it fails verification against the audit chain (then it never counts)."
    )

    @classmethod
    def of(cls, exclusion: Exclusion) -> ExclusionOut:
        return cls(
            id=exclusion.id,
            slo=exclusion.slo,
            service=exclusion.service,
            segment=exclusion.segment,
            start=from_minute(exclusion.start),
            end=from_minute(exclusion.end),
            category=exclusion.category,
            reason=exclusion.reason,
            status=exclusion.status,
            counted=exclusion.counted,
            created_by=exclusion.created_by,
            proposed_by=exclusion.created_by,
            created_at=exclusion.created_at,
            approved_by=exclusion.approved_by,
            reviewed_by=exclusion.reviewed_by,
            reviewed_at=exclusion.reviewed_at,
            reviewer_role=exclusion.reviewer_role,
            review_comment=exclusion.review_comment,
            revoked_at=exclusion.revoked_at,
            revoked_by=exclusion.revoked_by,
            revoke_reason=exclusion.revoke_reason,
            legacy=exclusion.legacy,
            legacy_approver=exclusion.legacy_approver,
            problem=exclusion.problem,
        )


class AnnotationOut(BaseModel):
    id: int
    at: AwareDatetime
    kind: AnnotationKind
    service: str | None
    slo: str | None
    segment: dict[str, str]
    text: str
    created_by: str
    created_at: AwareDatetime
    change_id: int | None

    @classmethod
    def of(cls, annotation: Annotation) -> AnnotationOut:
        return cls(
            id=annotation.id,
            at=annotation.at,
            kind=annotation.kind,
            service=annotation.service,
            slo=annotation.slo,
            segment=annotation.segment,
            text=annotation.text,
            created_by=annotation.created_by,
            created_at=annotation.created_at,
            change_id=annotation.change_id,
        )


# --- changes and the gate ----------------------------------------------------------------------


class ApprovalOut(BaseModel):
    id: int
    change_id: int
    approver: str
    role: str
    decision: Literal["approve", "reject"]
    comment: str
    at: AwareDatetime

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        return cls(
            id=approval.id,
            change_id=approval.change_id,
            approver=approval.approver,
            role=approval.role,
            decision=approval.decision,
            comment=approval.comment,
            at=approval.at,
        )


class ChangeOut(BaseModel):
    """A change, its approvals, and what the gate says about it now."""

    id: int
    service: str
    slos: list[str]
    segment: dict[str, str]
    change_type: str
    risk: Risk
    title: str
    description: str
    submitted_by: str
    submitted_at: AwareDatetime
    status: ChangeStatus
    status_by: str
    status_at: AwareDatetime
    estimated_impact: float = Field(
        description="Share of the period budget expected to be consumed in the first 24 h."
    )
    impact_basis: dict[str, Any] = Field(description="method (history|default), samples, …")
    decision: Decision = Field(description="The gate decision stored with the change.")
    decision_at: AwareDatetime
    snapshot: list[dict[str, Any]] = Field(description="The budgets behind that decision.")
    shipped_at: AwareDatetime | None
    approvals: list[ApprovalOut]
    current_decision: Decision = Field(description="The gate decision this answer is based on.")
    needs: Literal["nothing", "review", "approver", "blocked"]
    approved: bool = Field(description="Whether what the decision needs is there.")
    effective: Decision = Field(description="The gate's answer for this change.")
    exit_code: int = Field(description="What `errorbudget gate --change` exits with.")
    enforcement: str
    reasons: list[str]
    integrity: list[str] = Field(
        default_factory=list,
        description="What fails verification against the audit chain in the change or its "
        "approvals; when not empty, nothing it records is honoured (effective: blocked).",
    )

    @classmethod
    def of(cls, judged: ChangeReview) -> ChangeOut:
        """A change, its approvals and the gate's answer (API and ``gate --change`` JSON)."""
        change = judged.change
        return cls(
            id=change.id,
            service=change.service,
            slos=list(change.slos),
            segment=change.segment,
            change_type=change.change_type,
            risk=change.risk,
            title=change.title,
            description=change.description,
            submitted_by=change.submitted_by,
            submitted_at=change.submitted_at,
            status=change.status,
            status_by=change.status_by,
            status_at=change.status_at,
            estimated_impact=round(change.estimated_impact, 6),
            impact_basis=change.impact_basis,
            decision=change.decision,
            decision_at=change.decision_at,
            snapshot=change.snapshot,
            shipped_at=change.shipped_at,
            approvals=[ApprovalOut.of(a) for a in judged.approvals],
            current_decision=judged.decision,
            needs=judged.needs,
            approved=judged.approved,
            effective=judged.effective,
            exit_code=judged.exit_code,
            enforcement=judged.enforcement,
            reasons=list(judged.reasons),
            integrity=list(judged.integrity),
        )


class GateVerdictOut(StatusOut):
    decision: Decision
    reason: str


_VERDICT_FIELDS = set(GateVerdictOut.model_fields)


class GateOut(BaseModel):
    decision: Decision
    exit_code: int
    enforcement: str
    service: str
    change_type: str
    risk: Risk
    exempt: bool
    at: AwareDatetime
    reasons: list[str]
    audit_id: int | None
    snapshot: list[GateVerdictOut]

    @classmethod
    def of(
        cls,
        result: GateDecision,
        status_out: Callable[[BudgetStatus], StatusOut] = StatusOut.of,
    ) -> GateOut:
        """The gate decision; ``status_out`` lets a server reuse the models it has already
        built for the same statuses."""
        return cls(
            decision=result.decision,
            exit_code=result.exit_code,
            enforcement=result.enforcement,
            service=result.service,
            change_type=result.change_type,
            risk=result.risk,
            exempt=result.exempt,
            at=result.at.astimezone(UTC),
            reasons=result.reasons,
            audit_id=result.audit_id,
            snapshot=[
                # the status part is validated already: construct, do not validate twice
                GateVerdictOut.model_construct(
                    _VERDICT_FIELDS,
                    **status_out(v.status).__dict__,
                    decision=v.decision,
                    reason=v.reason,
                )
                for v in result.verdicts
            ],
        )


class GateRecordOut(BaseModel):
    """A past gate decision, from the audit log."""

    id: int
    at: AwareDatetime
    actor: str
    service: str
    decision: Decision | None
    change_type: str | None
    risk: str | None
    change_id: int | None
    details: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> GateRecordOut:
        details: dict[str, Any] = entry.details
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            service=entry.subject,
            decision=details.get("decision"),
            change_type=details.get("change_type"),
            risk=details.get("risk"),
            change_id=details.get("change_id"),
            details=details,
        )


# --- the audit log ------------------------------------------------------------------------------


class AuditEntryOut(BaseModel):
    """One entry of the chained audit log."""

    id: int
    at: AwareDatetime
    actor: str
    action: str
    subject: str
    details: dict[str, Any]
    records: list[list[Any]] = Field(
        description="The chained rows this entry wrote: [table, id, SHA-256 of the row]."
    )
    prev_hash: str | None
    hash: str | None
    verified: bool = Field(description="Its hash and its links to its neighbours check out.")
    problem: str | None

    @classmethod
    def of(cls, entry: AuditEntry, problem: str | None = None) -> AuditEntryOut:
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            subject=entry.subject,
            details=entry.details,
            records=[list(r) for r in entry.records],
            prev_hash=entry.prev_hash,
            hash=entry.hash,
            verified=problem is None,
            problem=problem,
        )


class ChainOut(BaseModel):
    """Whether the chain verifies: the listed entries (``scope: listed``), or everything
    (``scope: full``: every entry and every chained row, as ``errorbudget audit verify``)."""

    scope: Literal["listed", "full"]
    verified: bool
    checked_entries: int
    problems: list[str] = Field(description="In chain order: the first is the first broken.")
    head_id: int | None = Field(description="The newest entry (keep it with its hash).")
    head_hash: str | None
    seconds: float | None

    @classmethod
    def of(cls, check: ChainCheck) -> ChainOut:
        return cls(
            scope=check.scope,
            verified=check.verified,
            checked_entries=check.checked_entries,
            problems=check.problems,
            head_id=check.head_id,
            head_hash=check.head_hash,
            seconds=None if check.seconds is None else round(check.seconds, 3),
        )


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
    chain: ChainOut

    @classmethod
    def of(cls, page: AuditPage) -> AuditLogOut:
        """A page as ``GET /api/v1/audit`` and ``audit log --format json`` answer it."""
        return cls(
            entries=[AuditEntryOut.of(e, page.problems.get(e.id)) for e in page.entries],
            next_before=page.next_before,
            chain=ChainOut.of(page.chain),
        )


# --- ingestion and identity --------------------------------------------------------------------


class ProblemOut(BaseModel):
    """One problem of an input file: where it is and what is wrong."""

    file: str
    line: int = Field(description="1-based; 0: unknown.")
    message: str

    @classmethod
    def of(cls, problem: Problem) -> ProblemOut:
        return cls(file=problem.file, line=problem.line, message=problem.message)


class IngestFileOut(BaseModel):
    """One file of an ``errorbudget ingest`` run."""

    path: str
    format: str
    written: bool = Field(description="False: the file was rejected, nothing was written.")
    rows_read: int
    rows_written: int = Field(description="Minute rows written after summing (series, minute).")
    rows_rejected: int
    series: int
    seconds: float
    rows_per_second: int
    rejects_path: str | None
    problem_count: int
    problems: list[ProblemOut] = Field(description="The first 1,000 of problem_count.")

    @classmethod
    def of(cls, file: FileReport) -> IngestFileOut:
        return cls(
            path=str(file.path),
            format=file.format,
            written=file.written,
            rows_read=file.rows_read,
            rows_written=file.rows_written,
            rows_rejected=file.rows_rejected,
            series=file.series,
            seconds=round(file.seconds, 3),
            rows_per_second=round(file.rows_per_second),
            rejects_path=str(file.rejects_path) if file.rejects_path else None,
            problem_count=file.problem_count,
            problems=[ProblemOut.of(p) for p in file.problems],
        )


class IngestRunOut(BaseModel):
    """An ``errorbudget ingest`` run: every file, in the order given, and the totals."""

    files: list[IngestFileOut]
    rows_read: int
    rows_written: int
    rows_rejected: int
    series: int = Field(description="Summed over files (a series in two files counts twice).")
    seconds: float
    rows_per_second: int
    rejected_files: list[str]

    @classmethod
    def of(cls, report: IngestReport) -> IngestRunOut:
        return cls(
            files=[IngestFileOut.of(f) for f in report.files],
            rows_read=report.rows_read,
            rows_written=report.rows_written,
            rows_rejected=report.rows_rejected,
            series=report.series,
            seconds=round(report.seconds, 3),
            rows_per_second=round(report.rows_per_second),
            rejected_files=[str(f.path) for f in report.rejected],
        )


class IngestOut(BaseModel):
    """A body ingested by ``POST /api/v1/ingest`` (one body, no file paths)."""

    rows_read: int
    rows_written: int = Field(description="Minute rows written after summing (series, minute).")
    rows_rejected: int
    series: int
    seconds: float


class IdentityOut(BaseModel):
    name: str
    role: str
    anonymous: bool
