"""Operational endpoints: ``/healthz`` (the process answers), ``/readyz`` (the store answers
and every scheduled job has run once) and ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from errorbudget.app import App
from errorbudget.errors import StoreError
from errorbudget.exporter import registry_for


def register(web: FastAPI) -> None:
    app: App = web.state.eb
    registry = registry_for(app)

    @web.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @web.get("/readyz", tags=["ops"], summary="Readiness: store reachable, jobs started")
    def readyz(request: Request) -> JSONResponse:
        problems: list[str] = []
        try:
            app.store.data_bounds([])
        except StoreError as exc:
            problems.append(str(exc))
        scheduler: Any = getattr(request.app.state, "scheduler", None)
        if scheduler is not None:
            problems.extend(scheduler.not_ready())
        body = {"status": "ready" if not problems else "not ready", "problems": problems}
        return JSONResponse(body, status_code=200 if not problems else 503)

    @web.get("/metrics", tags=["ops"], summary="Prometheus metrics: budgets and burn rates")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
