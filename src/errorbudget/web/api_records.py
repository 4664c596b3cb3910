"""Exclusions (list, propose, approve, reject, revoke) and timeline annotations (list, add)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from errorbudget.exclusions import AnnotationRequest, ExclusionProposal
from errorbudget.limits import MAX_PAGE
from errorbudget.model import ExclusionStatus
from errorbudget.records import AnnotationKind
from errorbudget.schema.records import AnnotationOut, ExclusionOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import READ, WRITE, errors
from errorbudget.web.api_inputs import Instant, Name, RecordId, ServiceQuery
from errorbudget.web.api_models import (
    AnnotationIn,
    ExclusionIn,
    ReviewIn,
    RevokeIn,
)
from errorbudget.web.auth import Approver, Operator, Viewer

routes = router("exclusions and annotations")


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many (the newest).")]


@routes.get(
    "/exclusions",
    response_model=list[ExclusionOut],
    summary="Exclusions",
    responses=errors(*READ),
)
def list_exclusions(
    app: EB,
    caller: Viewer,
    include_revoked: Annotated[
        bool, Query(description="Also rejected and revoked ones (default: pending, approved).")
    ] = False,
    status: Annotated[list[ExclusionStatus], Query(description="Only these statuses.")] = [],  # noqa: B006
    slo: Annotated[Name | None, Query(description="Only this SLO's (and '*' ones).")] = None,
    limit: Limit = 1000,
) -> list[ExclusionOut]:
    """Records that remove events from budget counting once approved (raw counts stay),
    oldest first (the newest ``limit``), each verified against the audit chain
    (``problem``)."""
    found = app.store.list_exclusions(include_revoked=include_revoked, statuses=status or None)
    chosen = [e for e in found if slo is None or e.slo in (slo, "*")]
    return [ExclusionOut.of(e) for e in chosen[-limit:]]


@routes.post(
    "/exclusions",
    response_model=ExclusionOut,
    status_code=201,
    summary="Propose an exclusion",
    responses=errors(*WRITE, 404),
)
def propose_exclusion(app: EB, caller: Operator, body: ExclusionIn) -> ExclusionOut:
    """Propose excluding ``[start, end)`` of an SLO (or every SLO of a service) from budget
    counting; the caller is its proposer. It is ``pending`` and counts in no budget until
    someone else with the approver role approves it. Needs the operator role."""
    exclusion = app.records.propose_exclusion(
        ExclusionProposal(
            slo=body.slo,
            start=body.start,
            end=body.end,
            category=body.category,
            reason=body.reason,
            proposed_by=caller.name,
            segment=body.segment,
            service=body.service,
        )
    )
    return ExclusionOut.of(exclusion)


@routes.post(
    "/exclusions/{exclusion_id}/approve",
    response_model=ExclusionOut,
    summary="Approve an exclusion",
    responses=errors(*WRITE, 403, 404, 409),
)
def approve_exclusion(
    app: EB, caller: Approver, exclusion_id: RecordId, body: ReviewIn | None = None
) -> ExclusionOut:
    """From now on it counts. Needs the approver role; nobody approves their own proposal
    (403). 409 unless pending (or approved before v5 and not yet confirmed)."""
    comment = body.comment if body is not None else ""
    return ExclusionOut.of(
        app.records.review_exclusion(
            exclusion_id,
            decision="approve",
            reviewer=caller.name,
            role=caller.role,
            comment=comment,
        )
    )


@routes.post(
    "/exclusions/{exclusion_id}/reject",
    response_model=ExclusionOut,
    summary="Reject an exclusion",
    responses=errors(*WRITE, 403, 404, 409),
)
def reject_exclusion(
    app: EB, caller: Approver, exclusion_id: RecordId, body: ReviewIn | None = None
) -> ExclusionOut:
    """It never counts. Needs the approver role; not its proposer (who revokes instead)."""
    comment = body.comment if body is not None else ""
    return ExclusionOut.of(
        app.records.review_exclusion(
            exclusion_id, decision="reject", reviewer=caller.name, role=caller.role, comment=comment
        )
    )


@routes.post(
    "/exclusions/{exclusion_id}/revoke",
    response_model=ExclusionOut,
    summary="Revoke an exclusion",
    responses=errors(*WRITE, 404, 409),
)
def revoke_exclusion(
    app: EB, caller: Operator, exclusion_id: RecordId, body: RevokeIn | None = None
) -> ExclusionOut:
    """A pending one is withdrawn; an approved one's events count again. 409 once rejected
    or revoked. Needs the operator role."""
    reason = body.reason if body is not None else ""
    return ExclusionOut.of(
        app.records.revoke_exclusion(exclusion_id, revoked_by=caller.name, reason=reason)
    )


@routes.get(
    "/annotations",
    response_model=list[AnnotationOut],
    summary="Annotations",
    responses=errors(*READ),
)
def list_annotations(
    app: EB,
    caller: Viewer,
    start: Annotated[Instant | None, Query()] = None,
    end: Annotated[Instant | None, Query()] = None,
    service: ServiceQuery = None,
    slo: Annotated[Name | None, Query(description="Also returns ones naming none.")] = None,
    kind: Annotated[
        list[AnnotationKind], Query(max_length=20, description="Only these kinds.")
    ] = [],  # noqa: B006
    limit: Limit = 1000,
) -> list[AnnotationOut]:
    """Deploy, config and model changes, incidents, … in ``[start, end)``, oldest first."""
    found = app.records.annotations(
        start=start, end=end, service=service, slo=slo, kinds=kind or None, limit=limit
    )
    return [AnnotationOut.of(a) for a in found]


@routes.post(
    "/annotations",
    response_model=AnnotationOut,
    status_code=201,
    summary="Add an annotation",
    responses=errors(*WRITE, 404),
)
def add_annotation(app: EB, caller: Operator, body: AnnotationIn) -> AnnotationOut:
    """Mark the timeline; the caller is recorded as its author. Needs the operator role."""
    annotation = app.records.add_annotation(
        AnnotationRequest(
            at=body.at or app.clock(),
            kind=body.kind,
            text=body.text,
            created_by=caller.name,
            service=body.service,
            slo=body.slo,
            segment=body.segment,
        )
    )
    return AnnotationOut.of(annotation)
