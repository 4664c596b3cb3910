"""The FastAPI application of the fake Genesys Cloud API (see the package docstring)."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from errorbudget.simulate.clock import SimulatedClock
from errorbudget.simulate.engine import DAY_MS, Simulation
from errorbudget.simulate.genesys_api.access import (
    RateLimiter,
    TokenStore,
    bad_request,
    error_response,
    rate_limited,
    server_error,
)
from errorbudget.simulate.genesys_api.analytics import conversation_aggregates, flow_aggregates
from errorbudget.simulate.genesys_api.directory import flows_page, queue_entity, queues_page
from errorbudget.simulate.genesys_api.faults import FaultInjector, FaultSpec
from errorbudget.simulate.genesys_api.observations import queue_observations
from errorbudget.simulate.genesys_api.queries import NotFoundError, QueryError
from errorbudget.simulate.genesys_api.status_page import summary
from errorbudget.simulate.records import datetime_to_ms
from errorbudget.simulate.scenario import ServiceLevelSettings


class ApiSettings(BaseModel):
    """Credentials, limits and housekeeping of the fake server."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = "errorbudget-sim"
    client_secret: str = "errorbudget-sim-secret"
    token_ttl_seconds: int = Field(default=86_399, gt=0)
    rate_limit_per_minute: int = Field(default=300, gt=0)
    warm_days: int = Field(default=0, ge=0)
    """Days of history to generate in the background at start-up (cache warming)."""


class ServiceLevelUpdate(BaseModel):
    """Body of ``POST /_fake/queues/{queueId}/service-level`` (``ServiceLevel`` fields)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    percentage: float | None = Field(default=None, gt=0.0, le=1.0)
    duration_ms: int | None = Field(default=None, alias="durationMs", ge=1000)


class CalculationUpdate(BaseModel):
    """Body of ``POST /_fake/service-level-calculation``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    include_flow_outs: bool | None = Field(default=None, alias="includeFlowOuts")
    exclude_short_abandons: bool | None = Field(default=None, alias="excludeShortAbandons")


class RequestStats:
    """Request counts by status, path and injected fault (``GET /_fake/stats``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.by_status: Counter[str] = Counter()
            self.by_path: defaultdict[str, Counter[str]] = defaultdict(Counter)
            self.faults: Counter[str] = Counter()

    def record(self, path: str, status: int, faults: list[str]) -> None:
        with self._lock:
            self.by_status[str(status)] += 1
            self.by_path[path][str(status)] += 1
            self.faults.update(faults)

    def record_fault(self, fault: str) -> None:
        with self._lock:
            self.faults[fault] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self.by_status.values()),
                "byStatus": dict(self.by_status),
                "byPath": {path: dict(counts) for path, counts in self.by_path.items()},
                "faults": dict(self.faults),
            }


def create_app(
    simulation: Simulation,
    clock: SimulatedClock,
    faults: FaultSpec | None = None,
    settings: ApiSettings | None = None,
) -> FastAPI:
    """A fake Genesys Cloud API serving ``simulation`` as of ``clock``."""
    settings = settings or ApiSettings()
    spec = faults or FaultSpec()
    injector = FaultInjector(spec, simulation.seed)
    incident_random = FaultInjector(FaultSpec(seed=(spec.seed or simulation.seed) + 1), 0)
    tokens = TokenStore()
    limiter = RateLimiter(settings.rate_limit_per_minute)
    stats = RequestStats()
    compute_lock = threading.Lock()
    app = FastAPI(title="Fake Genesys Cloud API (errorbudget)", docs_url=None, redoc_url=None)
    app.state.simulation = simulation
    app.state.clock = clock
    app.state.tokens = tokens
    app.state.stats = stats

    def outage_now() -> bool:
        return injector.in_outage(clock.now(), clock.start)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not.found", 405: "method.not.allowed"}.get(exc.status_code, "bad.request")
        response = error_response(exc.status_code, code, str(exc.detail))
        stats.record(request.url.path, exc.status_code, [])
        return response

    @app.post("/oauth/token")
    async def token(request: Request) -> Response:
        """Client credentials grant (RFC 6749 §4.4): Basic auth + ``grant_type``."""
        response = await _token(request)
        stats.record("/oauth/token", response.status_code, [])
        return response

    async def _token(request: Request) -> Response:
        if outage_now():
            return server_error(503)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        client_id, client_secret = _basic(request.headers.get("authorization", ""))
        client_id = client_id or (form.get("client_id") or [""])[0]
        client_secret = client_secret or (form.get("client_secret") or [""])[0]
        if (form.get("grant_type") or [""])[0] != "client_credentials":
            return _oauth_error(
                400, "unsupported_grant_type", "grant_type must be client_credentials"
            )
        if (client_id, client_secret) != (settings.client_id, settings.client_secret):
            return _oauth_error(401, "invalid_client", "client not found or bad secret")
        lifetime, early = injector.token_lifetime(settings.token_ttl_seconds)
        issued = tokens.issue(client_id, lifetime, early)
        if early:
            stats.record_fault("expire-token-early")
        return JSONResponse(
            {
                "access_token": issued.value,
                "token_type": "bearer",
                "expires_in": settings.token_ttl_seconds,
            }
        )

    async def guarded(request: Request, compute: Callable[[], dict[str, Any]]) -> Response:
        """Outage, auth, rate limit, faults, then ``compute`` (400 on QueryError)."""
        faults_seen: list[str] = []
        response = await _guarded(request, compute, faults_seen)
        stats.record(request.url.path, response.status_code, faults_seen)
        return response

    async def _guarded(
        request: Request, compute: Callable[[], dict[str, Any]], faults_seen: list[str]
    ) -> Response:
        if outage_now():
            faults_seen.append("outage")
            return server_error(503)
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            return error_response(
                401,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            )
        problem = tokens.check(value.strip())
        if problem:
            if problem == "revoked":
                faults_seen.append("revoked-token-used")
            return error_response(401, "bad.credentials", "Invalid login credentials.")
        allowed, headers, reset = limiter.hit(value.strip())
        if not allowed:
            return rate_limited(limiter.limit, reset, headers)
        decision = injector.decide()
        faults_seen.extend(decision.faults)
        if decision.revoke_now:
            tokens.revoke_all()
            faults_seen.append("revoke")
            return error_response(
                401, "bad.credentials", "Invalid login credentials.", headers=headers
            )
        if decision.delay_seconds:
            await asyncio.sleep(decision.delay_seconds)
        if decision.status == 429:
            return rate_limited(limiter.limit, spec.retry_after_seconds, headers)
        if decision.status:
            response = server_error(decision.status)
            response.headers.update(headers)
            return response
        if _incident_error(simulation, clock, incident_random):
            faults_seen.append("incident-5xx")
            return server_error(503)
        try:
            body = await run_in_threadpool(_locked, compute_lock, compute)
        except NotFoundError as exc:
            response = error_response(404, "not.found", str(exc))
            response.headers.update(headers)
            return response
        except QueryError as exc:
            response = bad_request(str(exc))
            response.headers.update(headers)
            return response
        text = json.dumps(body, separators=(",", ":"))
        if decision.malformed:
            text = text[: max(1, len(text) // 2)]
        return Response(text, media_type="application/json", headers=headers)

    async def json_body(request: Request) -> object:
        try:
            return json.loads(await request.body())
        except ValueError:
            return None

    def targets() -> list[tuple[float, int]]:
        return [simulation.service_level_target(i) for i in range(len(simulation.scenario.queues))]

    @app.get("/api/v2/routing/queues")
    async def routing_queues(request: Request) -> Response:
        params = parse_qs(request.url.query)
        return await guarded(request, lambda: queues_page(simulation.scenario, params, targets()))

    @app.get("/api/v2/routing/queues/{queue_id}")
    async def routing_queue(request: Request, queue_id: str) -> Response:
        scenario = simulation.scenario
        found = [i for i, q in enumerate(scenario.queues) if q.id == queue_id]
        if not found:
            return await guarded(request, _raise_not_found)
        queue = scenario.queues[found[0]]
        target = simulation.service_level_target(found[0])
        return await guarded(request, lambda: queue_entity(scenario, queue, target))

    @app.get("/api/v2/flows")
    async def architect_flows(request: Request) -> Response:
        params = parse_qs(request.url.query)
        return await guarded(request, lambda: flows_page(simulation.scenario, params))

    @app.post("/api/v2/analytics/conversations/aggregates/query")
    async def conversations(request: Request) -> Response:
        body = await json_body(request)

        def compute() -> dict[str, Any]:
            answer = conversation_aggregates(simulation, body, clock.now())
            if spec.inconsistencies and injector.corrupt(answer, clock.start):
                stats.record_fault("inconsistent")
            return answer

        return await guarded(request, compute)

    @app.post("/api/v2/analytics/flows/aggregates/query")
    async def flows(request: Request) -> Response:
        body = await json_body(request)
        return await guarded(request, lambda: flow_aggregates(simulation, body, clock.now()))

    @app.post("/api/v2/analytics/queues/observations/query")
    async def observations(request: Request) -> Response:
        body = await json_body(request)
        return await guarded(request, lambda: queue_observations(simulation, body, clock.now()))

    @app.get("/api/v2/summary.json")
    async def status_summary() -> Response:
        stats.record("/api/v2/summary.json", 200, [])
        return JSONResponse(summary(simulation.scenario, clock.now(), outage_now()))

    @app.get("/_fake/stats")
    async def fake_stats() -> Response:
        snapshot = stats.snapshot()
        snapshot["tokensIssued"] = tokens.issued
        snapshot["revocations"] = tokens.revocations
        snapshot["simNow"] = clock.now().isoformat()
        return JSONResponse(snapshot)

    @app.post("/_fake/stats/reset")
    async def fake_stats_reset() -> Response:
        stats.reset()
        return JSONResponse({"reset": True})

    @app.post("/_fake/queues/{queue_id}/service-level")
    async def fake_queue_service_level(request: Request, queue_id: str) -> Response:
        """Change a queue's service-level target, as an admin would: ``{"percentage": 0.8,
        "durationMs": 20000}`` (either). Past intervals follow, as in Genesys Cloud."""
        index = next(
            (i for i, q in enumerate(simulation.scenario.queues) if q.id == queue_id), None
        )
        body = await json_body(request)
        if index is None:
            return error_response(404, "not.found", "The requested queue was not found.")
        try:
            update = ServiceLevelUpdate.model_validate(body)
            percent, seconds = simulation.set_service_level_target(
                index,
                percent=None if update.percentage is None else update.percentage * 100,
                seconds=None if update.duration_ms is None else update.duration_ms // 1000,
            )
        except ValueError as exc:
            return bad_request(str(exc).splitlines()[0])
        return JSONResponse({"percentage": percent / 100, "durationMs": seconds * 1000})

    @app.post("/_fake/service-level-calculation")
    async def fake_service_level_calculation(request: Request) -> Response:
        """Change the org's service-level calculation options (Admin → Contact Center →
        Analytics; no Platform API has them): ``{"includeFlowOuts": true,
        "excludeShortAbandons": false}``. They apply retroactively, as in Genesys Cloud."""
        body = await json_body(request)
        try:
            update = CalculationUpdate.model_validate(body)
        except ValueError as exc:
            return bad_request(str(exc).splitlines()[0])
        current = simulation.service_level_calculation
        settings = ServiceLevelSettings(
            include_flow_outs=current.include_flow_outs
            if update.include_flow_outs is None
            else update.include_flow_outs,
            exclude_short_abandons=current.exclude_short_abandons
            if update.exclude_short_abandons is None
            else update.exclude_short_abandons,
        )
        simulation.set_service_level_calculation(settings)
        return JSONResponse(
            {
                "includeFlowOuts": settings.include_flow_outs,
                "excludeShortAbandons": settings.exclude_short_abandons,
            }
        )

    @app.get("/_fake/clock")
    async def fake_clock() -> Response:
        return JSONResponse(
            {
                "now": clock.now().isoformat(),
                "start": clock.start.isoformat(),
                "speed": getattr(clock, "speed", 1.0),
            }
        )

    if settings.warm_days:
        threading.Thread(
            target=_warm,
            args=(simulation, clock, settings.warm_days, compute_lock),
            name="fake-genesys-warm",
            daemon=True,
        ).start()
    return app


def _locked(lock: threading.Lock, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    with lock:
        return compute()


def _raise_not_found() -> dict[str, Any]:
    raise NotFoundError("The requested queue was not found.")


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(value.strip()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _oauth_error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "description": description, "error_description": description}, status
    )


def _incident_error(simulation: Simulation, clock: SimulatedClock, draws: FaultInjector) -> bool:
    now = clock.now()
    rate = 0.0
    for incident in simulation.scenario.incidents:
        if incident.api_error_rate and incident.active(now):
            rate = max(rate, incident.api_error_rate)
    if rate == 0.0:
        return False
    return draws.uniform() < rate


def _warm(simulation: Simulation, clock: SimulatedClock, days: int, lock: threading.Lock) -> None:
    """Generate the last ``days`` days (and today) ahead of the first backfill."""
    today = datetime_to_ms(clock.now()) // DAY_MS
    for day in range(today, today - days - 1, -1):
        for queue in range(len(simulation.scenario.queues)):
            with lock:
                simulation.queue_day(queue, day)
        for flow in range(len(simulation.scenario.flows)):
            with lock:
                simulation.flow_day(flow, day)
