"""Operational endpoints (docs/operations.md "Probes and metrics"):

- ``/healthz`` — liveness: the process answers. Answered on the event loop without
  touching the store or a thread, so it answers even while every worker thread waits and
  a writer holds the store; a Kubernetes ``livenessProbe`` restarts the process only when
  its loop is wedged. Crashed jobs do not fail it: the scheduler restarts them itself.
- ``/readyz`` — readiness: the store can be read, every scheduled job runs and has
  completed a first run, and no scheduled source has failed every run for longer than
  ``server.readiness.source_failure_age``. 503 with the reasons otherwise; the body also
  lists each scheduled source's state (failing or not) whatever the status, and under
  ``leader`` this replica's id, whether it leads (a follower is ready too: it serves),
  its term's token and the replica that leads. Probes send no
  token: without one the reasons and sources (upstream error texts) are shown only where
  ``/metrics`` is open; the status code is the same either way.
- ``/metrics`` — Prometheus text format: budgets (``exporter``), the health of sources
  and jobs (``runtime_metrics``), who leads (``errorbudget_leader{replica}`` 1/0 and
  ``errorbudget_leader_token``) and the sources' own feeds (the Genesys queue families,
  docs/exporter.md). It names every SLO, queue and budget, so it needs a token
  (any role) unless ``server.metrics_auth`` is ``open`` (default: open when
  ``server.anonymous_read`` is true).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from errorbudget.app import App
from errorbudget.durations import format_duration
from errorbudget.errors import StoreError
from errorbudget.exporter import BudgetExposition, registry_for
from errorbudget.leadership import LeaderView
from errorbudget.runtime_metrics import RuntimeCollector, scheduled_health
from errorbudget.scheduler import Job
from errorbudget.web.auth import Identity, identify


def _schedulers(web: FastAPI) -> list[Any]:
    """The server's scheduler and, while this replica leads, its leader's jobs' one."""
    found = [getattr(web.state, "scheduler", None), getattr(web.state, "leader_scheduler", None)]
    return [scheduler for scheduler in found if scheduler is not None]


def _jobs(web: FastAPI) -> Sequence[Job]:
    return [job for scheduler in _schedulers(web) for job in scheduler.jobs]


def leader_view(web: FastAPI) -> LeaderView | None:
    """Who leads, as this replica's election sees it (None: not ``serve``, no election)."""
    leadership: Any = getattr(web.state, "leadership", None)
    view = leadership.view() if leadership is not None else None
    return view if isinstance(view, LeaderView) else None


class LeaderCollector(Collector):
    """``errorbudget_leader{replica}``: 1 while this replica leads, else 0;
    ``errorbudget_leader_token{replica}``: the leader lease's token as this replica last
    saw it (it moves up by one at every change of leader); ``errorbudget_leader_info{replica,
    leader}`` 1: who holds the lease as this replica last saw it (absent while nobody is
    known to lead); ``errorbudget_leader_terms``: the terms this replica began."""

    def __init__(self, web: FastAPI) -> None:
        self.web = web

    def collect(self) -> Iterator[Metric]:
        view = leader_view(self.web)
        if view is None:
            return
        leading = GaugeMetricFamily(
            "errorbudget_leader",
            "1 while this replica leads (runs the collectors, alerts and notifiers), else 0.",
            labels=["replica"],
        )
        leading.add_metric([view.replica], 1.0 if view.leading else 0.0)
        yield leading
        if view.leader_token is not None:
            token = GaugeMetricFamily(
                "errorbudget_leader_token",
                "The leader lease's fencing token as this replica last saw it.",
                labels=["replica"],
            )
            token.add_metric([view.replica], view.leader_token)
            yield token
        if view.leader is not None:
            info = GaugeMetricFamily(
                "errorbudget_leader_info",
                "1, labelled with the replica that holds the leader lease as this replica "
                "last saw it (absent while none is known to lead).",
                labels=["replica", "leader"],
            )
            info.add_metric([view.replica, view.leader], 1.0)
            yield info
        leadership: Any = getattr(self.web.state, "leadership", None)
        terms = CounterMetricFamily(
            "errorbudget_leader_terms", "Terms this replica began as the leader.",
            labels=["replica"],
        )  # fmt: skip
        terms.add_metric([view.replica], int(getattr(leadership, "terms", 0)))
        yield terms


def _sources(web: FastAPI) -> Sequence[object]:
    return list(getattr(web.state, "sources", []))


class FeedsCollector(Collector):
    """The live metrics of the sources' feeds (``sources.plugin.MetricsFeed``: the Genesys
    exporter's health), created after the app: read from ``web.state.metric_feeds`` at each
    scrape; their pre-rendered families are appended by the route (:func:`feeds_exposition`)."""

    def __init__(self, web: FastAPI) -> None:
        self.web = web

    def collect(self) -> Iterator[Metric]:
        for feed in getattr(self.web.state, "metric_feeds", []):
            for collector in feed.collectors():
                yield from collector.collect()


def feeds_exposition(web: FastAPI) -> bytes:
    """The families the feeds rendered at their last poll (the Genesys queue families)."""
    return b"".join(feed.exposition() for feed in getattr(web.state, "metric_feeds", []))


def _since(delta_seconds: float) -> str:
    return format_duration(timedelta(seconds=max(1, int(delta_seconds))))


def source_problems(
    app: App, web: FastAPI, now: datetime
) -> tuple[list[str], list[dict[str, Any]]]:
    """(reasons to be unready, each scheduled source's state) from the runs this process
    made: a source that has failed every run for longer than the configured age."""
    limit = app.loaded.config.server.readiness.source_failure_age
    problems: list[str] = []
    states: list[dict[str, Any]] = []
    for name, health in sorted(scheduled_health(_sources(web)).items()):
        failing = health.failing_since
        states.append(
            {
                "source": name,
                "ok": failing is None,
                "last_run_at": health.last_run_at,
                "last_success_at": health.last_success_at,
                "failing_since": failing,
                "consecutive_failures": health.consecutive_failures,
                "last_error": health.last_error,
            }
        )
        if failing is None or limit is None:
            continue
        age = (now - failing).total_seconds()
        if age > limit.total_seconds():
            runs = health.consecutive_failures
            problems.append(
                f"source {name} has failed every run for {_since(age)} ({runs} run"
                f"{'s' if runs != 1 else ''} since {failing.isoformat(timespec='seconds')}; "
                f"limit {format_duration(limit)}): {health.last_error}"
            )
    return problems, states


def register(web: FastAPI) -> None:
    app: App = web.state.eb
    settings = app.loaded.config.server
    budget = BudgetExposition(app.evaluations)  # first: its evaluation steps the alerts
    registry = registry_for(app.evaluations, app.alerts, budget=False)
    registry.register(RuntimeCollector(app, lambda: _jobs(web), lambda: _sources(web)))
    registry.register(FeedsCollector(web))
    registry.register(LeaderCollector(web))

    @web.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        # async on purpose: answered on the event loop, never queued behind worker threads
        return {"status": "ok"}

    @web.get("/readyz", tags=["ops"], summary="Readiness: store, jobs and sources")
    def readyz(
        request: Request, caller: Annotated[Identity | None, Depends(identify)]
    ) -> JSONResponse:
        problems: list[str] = []
        try:
            app.store.data_bounds([])
        except StoreError as exc:
            problems.append(str(exc))
        for scheduler in _schedulers(request.app):
            problems.extend(scheduler.not_ready())
        failing, sources = source_problems(app, web, app.clock())
        problems.extend(failing)
        body: dict[str, object] = {
            "status": "ready" if not problems else "not ready",
            "problems": problems,
            "sources": sources,
        }
        view = leader_view(request.app)
        if view is not None:  # not a problem either way: a follower serves as well
            body["leader"] = {
                "replica": view.replica,
                "leading": view.leading,
                "token": view.token,
                "since": view.since,
                "leader": view.leader,
                "leader_token": view.leader_token,
            }
        if caller is None and not settings.metrics_open:  # a probe: the status code is all
            hidden = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
            body |= {
                "problems": [f"{hidden}: send an API token (any role) to read them"]
                if problems
                else [],
                "sources": [],
            }
            body.pop("leader", None)
        return JSONResponse(
            jsonable_encoder(body), status_code=200 if not problems else 503,
            headers={"Cache-Control": "no-store"},
        )  # fmt: skip

    async def metrics_reader(caller: Annotated[Identity | None, Depends(identify)]) -> None:
        if caller is None and not settings.metrics_open:
            raise HTTPException(
                status_code=401,
                detail="/metrics needs an API token (any role), or server.metrics_auth: open",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @web.get(
        "/metrics",
        tags=["ops"],
        summary="Prometheus metrics: budgets, burn rates, sources and jobs",
        dependencies=[Depends(metrics_reader)],
    )
    def metrics() -> Response:
        body = budget.render() + generate_latest(registry) + feeds_exposition(web)
        return Response(body, media_type=CONTENT_TYPE_LATEST)
