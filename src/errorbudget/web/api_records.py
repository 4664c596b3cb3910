"""Exclusions (list, add, revoke) and timeline annotations (list, add)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from errorbudget.limits import MAX_PAGE
from errorbudget.report import annotation_to_dict, exclusion_to_dict
from errorbudget.store.annotations import AnnotationKind
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import READ, WRITE, errors
from errorbudget.web.api_inputs import Instant, Name, RecordId, ServiceQuery
from errorbudget.web.api_models import (
    AnnotationIn,
    AnnotationOut,
    ExclusionIn,
    ExclusionOut,
    RevokeIn,
)
from errorbudget.web.auth import Operator, Viewer

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
    include_revoked: bool = False,
    slo: Annotated[Name | None, Query(description="Only this SLO's (and '*' ones).")] = None,
    limit: Limit = 1000,
) -> list[dict[str, Any]]:
    """Records that remove events from budget counting (raw counts stay), oldest first
    (the newest ``limit``)."""
    found = app.store.list_exclusions(include_revoked=include_revoked)
    chosen = [e for e in found if slo is None or e.slo in (slo, "*")]
    return [exclusion_to_dict(e) for e in chosen[-limit:]]


@routes.post(
    "/exclusions",
    response_model=ExclusionOut,
    status_code=201,
    summary="Add an exclusion",
    responses=errors(*WRITE, 404),
)
def add_exclusion(app: EB, caller: Operator, body: ExclusionIn) -> dict[str, Any]:
    """Exclude ``[start, end)`` of an SLO (or every SLO of a service) from budget counting;
    the caller is recorded as its author. Needs the operator role."""
    exclusion = app.add_exclusion(
        slo=body.slo,
        start=body.start,
        end=body.end,
        category=body.category,
        reason=body.reason,
        created_by=caller.name,
        approved_by=body.approved_by,
        segment=body.segment,
        service=body.service,
    )
    return exclusion_to_dict(exclusion)


@routes.post(
    "/exclusions/{exclusion_id}/revoke",
    response_model=ExclusionOut,
    summary="Revoke an exclusion",
    responses=errors(*WRITE, 404, 409),
)
def revoke_exclusion(
    app: EB, caller: Operator, exclusion_id: RecordId, body: RevokeIn | None = None
) -> dict[str, Any]:
    """Its events count again. 409 when it was already revoked. Needs the operator role."""
    reason = body.reason if body is not None else ""
    return exclusion_to_dict(
        app.revoke_exclusion(exclusion_id, revoked_by=caller.name, reason=reason)
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
) -> list[dict[str, Any]]:
    """Deploy, config and model changes, incidents, … in ``[start, end)``, oldest first."""
    found = app.annotations(
        start=start, end=end, service=service, slo=slo, kinds=kind or None, limit=limit
    )
    return [annotation_to_dict(a) for a in found]


@routes.post(
    "/annotations",
    response_model=AnnotationOut,
    status_code=201,
    summary="Add an annotation",
    responses=errors(*WRITE, 404),
)
def add_annotation(app: EB, caller: Operator, body: AnnotationIn) -> dict[str, Any]:
    """Mark the timeline; the caller is recorded as its author. Needs the operator role."""
    annotation = app.add_annotation(
        at=body.at or app.clock(),
        kind=body.kind,
        text=body.text,
        created_by=caller.name,
        service=body.service,
        slo=body.slo,
        segment=body.segment,
    )
    return annotation_to_dict(annotation)
