"""Request bodies of the JSON API (``/api/v1``), as pydantic models, so the OpenAPI
document at ``/docs`` says what every field takes. They forbid unknown fields, so a typo is a
422 that names it. Responses are the outward schema every surface shares
(``errorbudget.schema``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from errorbudget.engine.policy import Risk
from errorbudget.model import ExclusionCategory
from errorbudget.records import AnnotationKind
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


class _In(BaseModel):
    """A request body: unknown fields are refused (bounds of each field:
    ``web.api_inputs``)."""

    model_config = ConfigDict(extra="forbid")


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


class AnnotationIn(_In):
    at: Instant | None = Field(default=None, description="Default: now.")
    kind: AnnotationKind
    text: Reason
    service: Name | None = None
    slo: Name | None = None
    segment: SegmentLabels = Field(default_factory=dict)


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


class GateIn(_In):
    service: Name
    slos: SloIds = Field(default_factory=list)
    segment: SegmentLabels = Field(default_factory=dict)
    change_type: ChangeType = "feature"
    risk: Risk = "medium"
