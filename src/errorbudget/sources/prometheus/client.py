"""``PrometheusClient``: instant and range queries against a Prometheus-compatible HTTP API
(``/api/v1/query``, ``/api/v1/query_range``; Prometheus, Thanos, Mimir, VictoriaMetrics).

Queries are sent as form-encoded POSTs (long queries never hit a URL length limit), with
the settings' headers, ``Authorization`` from the environment, TLS verification and
timeout. Outcomes:

==================================  ======================================================
200 ``status: success``             the series (``results.parse_answer``)
429, 5xx, timeout, transport error  retried with full-jitter backoff (``Retry-After``
                                    honoured) up to ``max_attempts``; 5xx and transport
                                    failures count toward the circuit breaker
400, 422 and other 4xx              ``SourceError`` with Prometheus's ``error`` text and
                                    the query (a query it cannot parse or run)
malformed JSON or shape             ``SourceDataError``
==================================  ======================================================

Backoff and the circuit breaker are the shared ones (``sources.resilience``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from errorbudget.errors import SourceDataError, SourceError
from errorbudget.sources.prometheus.results import STEP_SECONDS, Series, parse_answer
from errorbudget.sources.prometheus.settings import PrometheusSettings
from errorbudget.sources.resilience import (
    Backoff,
    CircuitBreaker,
    CircuitOpenError,
    LoopTimer,
    Timer,
    retry_after_seconds,
)

QUERY_PATH = "/api/v1/query"
RANGE_PATH = "/api/v1/query_range"


@dataclass
class QueryStats:
    """What the client did since it was created."""

    queries: int = 0
    """Queries answered or given up on (one per instant query or range chunk)."""
    requests: int = 0
    """HTTP requests sent (retries included)."""
    retries: int = 0
    failed_requests: int = 0
    """Requests that failed (5xx, 429, timeouts, connection errors, malformed answers)."""
    points: int = 0
    """Samples received."""


class PrometheusClient:
    def __init__(
        self,
        settings: PrometheusSettings,
        *,
        environ: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timer: Timer | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        headers = dict(settings.headers)
        if settings.auth is not None:  # read now: a missing variable stops creation
            headers["Authorization"] = settings.auth.header(environ)
        verify: bool | str = settings.tls.verify
        if settings.tls.verify and settings.tls.ca_file is not None:
            verify = settings.tls.ca_file
        self.timeout = settings.timeout.total_seconds()
        self._http = httpx.AsyncClient(
            base_url=settings.url,
            headers=headers,
            verify=verify,
            timeout=httpx.Timeout(self.timeout),
            transport=transport,
            follow_redirects=False,
        )
        self.timer = timer or LoopTimer()
        self.backoff = backoff or Backoff(base=0.5, cap=10.0)
        self.breaker = CircuitBreaker(
            settings.circuit_failures, settings.circuit_reset.total_seconds(), self.timer
        )
        self.stats = QueryStats()

    def __repr__(self) -> str:  # never the Authorization header
        return f"PrometheusClient(url={self.settings.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def instant(self, query: str, at: int) -> list[Series]:
        """``query`` evaluated at Unix second ``at``."""
        return await self._query(QUERY_PATH, {"query": query, "time": str(at)}, query)

    async def range(self, query: str, start: int, end: int) -> list[Series]:
        """``query`` evaluated every minute from ``start`` to ``end`` (Unix seconds, both
        included)."""
        form = {"query": query, "start": str(start), "end": str(end), "step": str(STEP_SECONDS)}
        return await self._query(RANGE_PATH, form, query)

    async def _query(self, path: str, form: dict[str, str], query: str) -> list[Series]:
        form["timeout"] = f"{self.timeout:g}s"
        where = f"Prometheus {path} {query!r}"
        self.stats.queries += 1
        problem = "no attempt made"
        for attempt in range(self.settings.max_attempts):
            if attempt:
                self.stats.retries += 1
            try:
                probe = self.breaker.admit()
            except CircuitOpenError as exc:
                problem = f"{self.settings.url} is failing: {exc}"
                await self.timer.sleep(exc.retry_in)
                continue
            self.stats.requests += 1
            try:
                response = await self._http.post(path, data=form)
            except httpx.TimeoutException:
                problem = f"{where}: timed out after {self.timeout:g} s"
                self._failed(probe)
                await self.timer.sleep(self.backoff.delay(attempt))
                continue
            except httpx.RequestError as exc:
                problem = f"{where}: connection failed ({type(exc).__name__}: {exc})"
                self._failed(probe)
                await self.timer.sleep(self.backoff.delay(attempt))
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                problem = f"{where}: HTTP {status}{_error_text(response)}"
                self.stats.failed_requests += 1
                if status == 429:
                    self.breaker.record_success()  # up, only busy
                else:
                    self.breaker.record_failure()
                retry_after = retry_after_seconds(response.headers)
                await self.timer.sleep(self.backoff.delay(attempt, retry_after))
                continue
            self.breaker.record_success()
            if status != 200:
                self.stats.failed_requests += 1
                raise SourceError(f"{where}: HTTP {status}{_error_text(response)}", status=status)
            series = self._series(response, where)
            self.stats.points += sum(len(s.samples) for s in series)
            return series
        raise SourceError(
            f"{problem} (gave up after {self.settings.max_attempts} attempt(s))", retryable=True
        )

    def _failed(self, probe: bool) -> None:
        self.stats.failed_requests += 1
        self.breaker.record_failure()
        if probe and self.breaker.state != "open":
            self.breaker.release_probe()

    def _series(self, response: httpx.Response, where: str) -> list[Series]:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self.stats.failed_requests += 1
            raise SourceDataError(f"{where}: the answer is not JSON ({exc})") from exc
        if not isinstance(body, dict) or body.get("status") != "success":
            text = body.get("error") if isinstance(body, dict) else None
            raise SourceError(f"{where}: {text or 'the answer is not a success'}")
        return parse_answer(body.get("data"), where)


def _error_text(response: httpx.Response) -> str:
    """Prometheus's ``errorType: error`` of a failed answer, or a short body excerpt."""
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()[:200]
        return f" ({text})" if text else ""
    if isinstance(body, dict) and body.get("error"):
        kind = body.get("errorType")
        return f" ({kind}: {body['error']})" if kind else f" ({body['error']})"
    return ""
