"""Request and response bodies of the JSON API (``/api/v1``), as pydantic models, so the
OpenAPI document at ``/docs`` says what every field is.

Responses mirror the CLI's JSON (``report.status_to_dict``, ``changes.review_to_dict``, …):
the same numbers under the same names on every surface. Request bodies forbid unknown
fields, so a typo is a 422 that names it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from errorbudget.engine.policy import Decision, Risk
from errorbudget.model import ExclusionCategory, ExclusionStatus, Outlook, PolicyState
from errorbudget.records import AnnotationKind, ChangeStatus
from errorbudget.web.api_inputs import (
    ChangeType,
    Comment,
    Description,
    Instant,
    Name,
    Reason,
    SegmentLabels,
    SloIds,
    Title,
)

Count = int | float
"""Event counts are whole numbers, printed as integers (fractions only if a source sends them)."""


class _In(BaseModel):
    """A request body: unknown fields are refused (bounds of each field:
    ``web.api_inputs``)."""

    model_config = ConfigDict(extra="forbid")


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


class TimelineOut(BaseModel):
    slo: str
    segment: dict[str, str]
    budgeting: str
    step: str
    points: list[TimelinePointOut]


# --- exclusions and annotations ----------------------------------------------------------------


class ExclusionIn(_In):
    """A proposal: pending, counted in no budget until an approver approves it. The caller
    is its proposer; there is no approver field (the approver is whoever approves)."""

    slo: Name = Field(description="An SLO id, or '*' for every SLO (of service, if given).")
    start: Instant
    end: Instant
    category: ExclusionCategory
    reason: Reason
    segment: SegmentLabels = Field(default_factory=dict)
    service: Name | None = None


class RevokeIn(_In):
    reason: Comment = ""


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


class AnnotationIn(_In):
    at: Instant | None = Field(default=None, description="Default: now.")
    kind: AnnotationKind
    text: Reason
    service: Name | None = None
    slo: Name | None = None
    segment: SegmentLabels = Field(default_factory=dict)


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


# --- changes and the gate ----------------------------------------------------------------------


class ChangeIn(_In):
    service: Name
    title: Title
    change_type: ChangeType = "feature"
    risk: Risk = "medium"
    slos: SloIds = Field(default_factory=list, description="Empty: every SLO of the service.")
    segment: SegmentLabels = Field(default_factory=dict)
    description: Description = ""


class ReviewIn(_In):
    comment: Comment = ""


class WithdrawIn(_In):
    reason: Comment = ""


class ShipIn(_In):
    at: Instant | None = Field(
        default=None,
        description="When it shipped, to date the record only: within the past 24 hours, "
        "never in the future (422 otherwise). The gate is always judged now. Default: now.",
    )


class ApprovalOut(BaseModel):
    id: int
    change_id: int
    approver: str
    role: str
    decision: Literal["approve", "reject"]
    comment: str
    at: AwareDatetime


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


class GateIn(_In):
    service: Name
    slos: SloIds = Field(default_factory=list)
    segment: SegmentLabels = Field(default_factory=dict)
    change_type: ChangeType = "feature"
    risk: Risk = "medium"


class GateVerdictOut(StatusOut):
    decision: Decision
    reason: str


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


class AuditLogOut(BaseModel):
    entries: list[AuditEntryOut] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next (older) page; null on the last page."
    )
    chain: ChainOut


# --- ingestion and identity --------------------------------------------------------------------


class IngestOut(BaseModel):
    rows_read: int
    rows_written: int = Field(description="Minute rows written after summing (series, minute).")
    rows_rejected: int
    series: int
    seconds: float


class IdentityOut(BaseModel):
    name: str
    role: str
    anonymous: bool
