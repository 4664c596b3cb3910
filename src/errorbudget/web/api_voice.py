"""Voice-agent views of events SLOs and the review queue, with its JSONL export of
regression-test candidates (``services.voice``; docs/voice-dashboard.md)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import Query
from fastapi.responses import Response

from errorbudget.limits import MAX_PAGE
from errorbudget.schema.voice import ReviewCallOut, VoiceReportOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import READ, errors
from errorbudget.web.api_inputs import Name, SloPath
from errorbudget.web.auth import Viewer

routes = router("voice agents")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="At most this many calls.")]
SloFilter = Annotated[Name | None, Query(description="Only calls that failed this SLO.")]
ServiceFilter = Annotated[Name | None, Query(description="Only this service's SLOs.")]


@routes.get(
    "/slos/{slo_id}/voice",
    response_model=VoiceReportOut,
    summary="An events SLO's voice views",
    responses=errors(*READ, 404),
)
def voice_report(app: EB, caller: Viewer, slo_id: SloPath) -> VoiceReportOut:
    """Over the SLO's window at the published evaluation: budget consumed by flow, the flow
    breakdown by intent and route, which pipeline stage consumed the budget, releases with
    the burn before and after each, and raw vs budget-counting failures per exclusion rule.
    Every budget figure is the evaluation's, split by the events' rollups (docs/concepts.md
    "Voice agents")."""
    return VoiceReportOut.of(app.voice.report(slo_id))


@routes.get(
    "/voice/review-queue",
    response_model=list[ReviewCallOut],
    summary="Failed calls ranked by budget impact",
    responses=errors(*READ, 404),
)
def review_queue(
    app: EB,
    caller: Viewer,
    slo: SloFilter = None,
    service: ServiceFilter = None,
    limit: Limit = 100,
) -> list[ReviewCallOut]:
    """Failed calls of events SLOs, highest budget impact first: each failed event spends
    ``1 / allowed bad events`` of its series' budget over the SLO's window, summed over the
    SLOs the call failed; with trace id, audio and transcript links."""
    calls = app.voice.review_queue(slo_id=slo, service=service, limit=limit)
    return [ReviewCallOut.of(c) for c in calls]


@routes.get(
    "/voice/review-queue.jsonl",
    summary="Regression-test candidates as JSONL",
    responses={
        **errors(*READ, 404),
        200: {
            "description": "One JSON object a line: a failed call (trace id, audio and "
            "transcript links, flow, intent, versions, the SLOs it failed, its budget "
            "impact), highest impact first.",
            "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
        },
    },
    response_class=Response,
)
def review_queue_jsonl(
    app: EB,
    caller: Viewer,
    slo: SloFilter = None,
    service: ServiceFilter = None,
    limit: Limit = 100,
) -> Response:
    """The review queue as regression-test candidates, one JSON object a line."""
    calls = app.voice.review_queue(slo_id=slo, service=service, limit=limit)
    body = b"".join(orjson.dumps(ReviewCallOut.of(c).candidate()) + b"\n" for c in calls)
    return Response(
        body,
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="review-queue.jsonl"'},
    )
