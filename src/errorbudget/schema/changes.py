"""Changes with their approvals and the gate's answer, gate decisions and past decisions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.engine.policy import Decision, Risk
from errorbudget.model import BudgetStatus
from errorbudget.records import Approval, AuditEntry, ChangeStatus
from errorbudget.schema.status import StatusOut

if TYPE_CHECKING:
    from errorbudget.changes import ChangeReview
    from errorbudget.gate import GateDecision


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
