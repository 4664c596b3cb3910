"""Exclusions and annotations, and the caller's identity."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field

from errorbudget.model import Exclusion, ExclusionStatus, from_minute
from errorbudget.records import Annotation, AnnotationKind


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


class IdentityOut(BaseModel):
    name: str
    role: str
    anonymous: bool
