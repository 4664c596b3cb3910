"""The voice-agent page of an events SLO (``/slos/{id}/voice``) and its JSON twin
(``/api/v1/pages/slos/{id}/voice``): seed 002's dashboard rows — burn-rate alerts with the
budget consumed by flow, the flow breakdown, pipeline attribution, the release overlay,
raw vs budget-counting failures, the review queue.

The builder computes nothing: the report and the review queue come from ``app.voice``
(``services.voice``), whose budgets are the published evaluation's (docs/voice-dashboard.md).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse

from errorbudget.app import App
from errorbudget.errors import NotFoundError
from errorbudget.schema.voice import ReviewCallOut, VoiceReportOut
from errorbudget.web.api_common import KnownQuery
from errorbudget.web.api_errors import READ, errors
from errorbudget.web.api_inputs import SloPath
from errorbudget.web.pages import (
    DEFAULT_REFRESH_SECONDS,
    JsonReader,
    Reader,
    Refresh,
    problem,
    render,
    sign_in,
)
from errorbudget.web.pages_evaluation import Evaluation
from errorbudget.web.pages_models import SloRef, View

REVIEW_ROWS = 25
"""Failed calls the page lists (the export has more)."""


class VoicePage(View):
    """``/slos/{id}/voice`` and ``/api/v1/pages/slos/{id}/voice``."""

    title: str
    at: datetime
    refresh_seconds: int
    slo: SloRef
    report: VoiceReportOut
    review: list[ReviewCallOut]
    """The calls that failed this SLO, highest budget impact first (summed over every SLO
    each failed)."""
    export_url: str
    """The review queue of this SLO as JSONL regression-test candidates."""


def build_voice(app: App, slo_id: str, refresh_seconds: int) -> VoicePage:
    slo = app.loaded.slo(slo_id)
    evaluation = Evaluation(app)
    report = app.voice.report(slo.id)
    review = app.voice.review_queue(slo_id=slo.id, limit=REVIEW_ROWS)
    return VoicePage(
        title=f"{slo.id} · voice agent",
        at=evaluation.at,
        refresh_seconds=refresh_seconds,
        slo=evaluation.ref(slo),
        report=VoiceReportOut.of(report),
        review=[ReviewCallOut.of(c) for c in review],
        export_url=f"/api/v1/voice/review-queue.jsonl?slo={quote(slo.id)}",
    )


def _app(request: Request) -> App:
    app: App = request.app.state.eb
    return app


def register(web: FastAPI) -> None:
    """Add the voice page and its JSON twin to ``web``."""

    @web.get(
        "/api/v1/pages/slos/{slo_id}/voice",
        response_model=VoicePage,
        tags=["pages"],
        responses=errors(*READ, 404),
        dependencies=[KnownQuery],
    )
    def voice_json(
        request: Request,
        caller: JsonReader,
        slo_id: SloPath,
        refresh: Refresh = DEFAULT_REFRESH_SECONDS,
    ) -> VoicePage:
        """The voice page's data: exactly what ``/slos/{slo_id}/voice`` renders."""
        try:
            return build_voice(_app(request), slo_id, refresh)
        except NotFoundError as exc:
            raise HTTPException(status_code=404, detail=str(exc)) from exc

    @web.get("/slos/{slo_id}/voice", response_class=HTMLResponse, include_in_schema=False)
    def voice_page(
        request: Request,
        caller: Reader,
        slo_id: SloPath,
        refresh: Refresh = DEFAULT_REFRESH_SECONDS,
    ) -> HTMLResponse:
        if caller is None:
            return sign_in(request)
        try:
            page = build_voice(_app(request), slo_id, refresh)
        except NotFoundError as exc:
            return problem(request, 404, "Not found", str(exc), caller)
        return render(request, "voice.html", page, f"/api/v1/pages/slos/{slo_id}/voice", caller)
