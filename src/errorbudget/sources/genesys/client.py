"""``GenesysClient``: an async Genesys Cloud Platform API client that survives the real faults.

Every request goes: concurrency slot → circuit breaker → rate limiter → bearer token →
``httpx`` with per-request timeouts. Outcomes:

==========================  ==============================================================
2xx with JSON               returned
401                         the token is invalidated, one refresh, one retry; then an error
429                         every request pauses for ``Retry-After``; retried
5xx, timeout, transport,    retried with full-jitter backoff (``Retry-After`` honoured);
malformed JSON              counted by the circuit breaker
other 4xx (400, 403, 404)   ``SourceError`` with Genesys's message and ``contextId``
==========================  ==============================================================

A request gives up after ``max_attempts`` tries (429s and failures count), or as many
waits for an open circuit, with a retryable ``SourceError`` (``SourceDataError`` when the
last try got a malformed answer). Every outcome except a 429 is also tallied per minute
and endpoint (:class:`CallTally`), token requests included (endpoint ``oauth_token``: a
login that fails is a failed platform call): that is the ``api_availability`` SLI, as
seen by this collector. A 429 is not tallied: the platform answered, and the pace is
ours (or another client's on the same token), not the platform's availability.
:class:`CallLog` (``client.calls``) keeps the totals and the current failure streak, from
which :meth:`GenesysClient.unreachable` says what is down and what to check. Secrets and
tokens are never in logs, errors or reprs (error text is scrubbed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from errorbudget.errors import SourceDataError, SourceError
from errorbudget.model import to_minute
from errorbudget.sources.genesys.auth import Secret, TokenGrant, TokenProvider
from errorbudget.sources.genesys.regions import find_region
from errorbudget.sources.genesys.resilience import (
    Backoff,
    CallLog,
    CircuitBreaker,
    CircuitOpenError,
    LoopTimer,
    RateLimiter,
    Timer,
    retry_after_seconds,
)
from errorbudget.sources.genesys.responses import (
    CallTally,
    ClientStats,
    Outcome,
    as_mapping,
    error_detail,
    error_hint,
    status_page_verdict,
    token_grant,
)
from errorbudget.sources.genesys.service_levels import ServiceLevelTarget, media_targets
from errorbudget.sources.genesys.settings import GenesysSettings

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

QUEUES_PATH = "/api/v2/routing/queues"
CONVERSATION_AGGREGATES_PATH = "/api/v2/analytics/conversations/aggregates/query"
FLOW_AGGREGATES_PATH = "/api/v2/analytics/flows/aggregates/query"
QUEUE_OBSERVATIONS_PATH = "/api/v2/analytics/queues/observations/query"
STATUS_SUMMARY_PATH = "/api/v2/summary.json"
TOKEN_PATH = "/oauth/token"
STATUS_ENDPOINT = "status_page"
GENESYS_STATUS_PAGE = "https://status.mypurecloud.com"
"""Genesys Cloud's public status page (all regions)."""

QUEUE_PAGE_SIZE = 100
QUEUE_REFRESH_MIN_SECONDS = 60.0
"""An unknown queue id refreshes the name cache at most this often."""


def _utc_now() -> datetime:
    return datetime.now(tz=UTC)


def api_and_login_urls(settings: GenesysSettings) -> tuple[str, str]:
    """(API root, login root) from the region or the explicit URLs."""
    if settings.base_url is not None:
        api = settings.base_url
        host = api.split("://", 1)[1]
        derived = api.replace("://api.", "://login.", 1) if host.startswith("api.") else api
        return api, settings.login_url or derived
    region = find_region(settings.region or "")
    return region.api_url, settings.login_url or region.login_url


@dataclass(frozen=True, slots=True)
class Queue:
    id: str
    name: str
    service_levels: dict[str, ServiceLevelTarget] = field(default_factory=dict)
    """Media type → the queue's service-level target (``mediaSettings``)."""


class GenesysClient:
    """One OAuth client's view of one Genesys Cloud org. Use ``async with``."""

    def __init__(
        self,
        settings: GenesysSettings,
        *,
        clock: Clock = _utc_now,
        timer: Timer | None = None,
        rng: random.Random | None = None,
        max_concurrency: int = 4,
    ) -> None:
        self.settings = settings
        self.api_url, self.login_url = api_and_login_urls(settings)
        self.clock = clock
        self.timer = timer or LoopTimer()
        self.limiter = RateLimiter(settings.requests_per_minute, self.timer)
        self.breaker = CircuitBreaker(
            settings.circuit_failures, settings.circuit_reset.total_seconds(), self.timer
        )
        self.backoff = Backoff(rng=rng)
        self.stats = ClientStats()
        self.tally = CallTally()
        self.calls = CallLog()
        self._secret = Secret(settings.client_secret.get_secret_value())
        self.tokens = TokenProvider(
            settings.client_id, self._secret, self._fetch_token, timer=self.timer
        )
        self._slots = asyncio.Semaphore(max_concurrency)
        timeout = httpx.Timeout(
            settings.request_timeout.total_seconds(),
            connect=settings.connect_timeout.total_seconds(),
        )
        self._http = httpx.AsyncClient(
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": "errorbudget-collector"},
            follow_redirects=False,
            trust_env=False,
        )
        self._queues: dict[str, str] = {}
        self._queue_details: dict[str, Queue] = {}
        self._queues_at: float | None = None
        self._queue_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"GenesysClient(api_url={self.api_url!r}, client_id={self.settings.client_id!r})"

    async def __aenter__(self) -> GenesysClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.tokens.aclose()
        await self._http.aclose()

    # --- the request loop --------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        """Remove the secret and current token from text that may reach a user."""
        secrets = [self._secret.reveal()]
        current = self.tokens.current()
        if current is not None:
            secrets.append(current.reveal())
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def _tally(self, endpoint: str, ok: bool) -> None:
        if endpoint != STATUS_ENDPOINT:  # a status page fetch says nothing about the API
            self.tally.record(to_minute(self.clock()), endpoint, ok)
            if ok:
                self.calls.answered()

    def unreachable(self) -> str | None:
        """While every call has failed since some moment: one sentence saying what failed,
        since when, and what to check. None when the last call was answered."""
        calls = self.calls
        if calls.failing_since is None:
            return None
        kinds = ", ".join(f"{n}× {kind}" for kind, n in calls.streak_kinds.most_common())
        since = calls.failing_since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        where = []
        if calls.last_api_problem is not None:
            where.append(f"API at {self.api_url}: {calls.last_api_problem}")
        if calls.last_login_problem is not None:
            where.append(f"login at {self.login_url}{TOKEN_PATH}: {calls.last_login_problem}")
        status_page = self.settings.status_page_url or GENESYS_STATUS_PAGE
        checks = [
            f"the Genesys Cloud status page ({status_page})",
            "the network from this host to those URLs (proxy, firewall, DNS)",
            "sources.genesys " + ("base_url/login_url" if self.settings.base_url else "region"),
            "the OAuth client credentials (client_id, client_secret)",
        ]
        if not any(k.startswith("HTTP 5") for k in calls.streak_kinds):
            checks[0], checks[1] = checks[1], checks[0]  # nothing answered at all: network first
        return self._scrub(
            f"Genesys Cloud unreachable: every call failed since {since} "
            f"({calls.streak} attempts: {kinds}); "
            + "; ".join(where)
            + ". Check "
            + ", ".join(checks[:-1])
            + " and "
            + checks[-1]
            + "."
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        endpoint: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str | int] | None = None,
        authenticated: bool = True,
    ) -> Any:
        """Send one API request with every safeguard; return the decoded JSON body.

        ``path`` is relative to the API root, or an absolute URL (an external status page).
        """
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
        attempt = waits = 0
        refreshed = malformed = False
        last_problem = "no attempt made"
        guarded = endpoint != STATUS_ENDPOINT  # the breaker guards the API, not a status page
        while True:
            if attempt >= self.settings.max_attempts or waits >= self.settings.max_attempts:
                error = SourceDataError if malformed else SourceError
                raise error(
                    f"Genesys Cloud {method} {path} failed {attempt} times "
                    f"(last: {last_problem}); giving up for now",
                    retryable=True,
                )
            try:
                probe = self.breaker.admit() if guarded else False
            except CircuitOpenError as exc:
                waits += 1  # no request sent: bounded separately from the attempts
                self.stats.circuit_waits += 1
                last_problem = "circuit breaker open after repeated server errors"
                await self.timer.sleep(exc.retry_in)
                continue
            try:
                token = await self.tokens.token() if authenticated else None
                outcome = await self._attempt(method, url, path, endpoint, body, params, token)
            except BaseException:
                if probe:
                    self.breaker.release_probe()
                raise
            if outcome.verdict == "ok":
                return outcome.data
            if outcome.verdict == "unauthorized" and token is not None and not refreshed:
                refreshed = True
                await self.tokens.invalidate(token)
                continue
            if outcome.verdict in ("fatal", "unauthorized"):
                raise SourceError(self._scrub(outcome.problem), status=outcome.status)
            attempt += 1
            self.stats.retries += 1
            last_problem = self._scrub(outcome.problem)
            # a 2xx is retried only when its body was malformed
            malformed = outcome.status is not None and 200 <= outcome.status < 300
            delay = self.backoff.delay(attempt - 1, outcome.retry_after)
            if outcome.status == 429:
                self.limiter.pause(delay)  # everyone waits, not only this request
            else:
                await self.timer.sleep(delay)
            log.debug("genesys: %s %s: %s; retry %d", method, path, last_problem, attempt)

    async def _attempt(
        self,
        method: str,
        url: str,
        path: str,
        endpoint: str,
        body: Mapping[str, Any] | None,
        params: Mapping[str, str | int] | None,
        token: Secret | None,
    ) -> Outcome:
        headers = {"Authorization": f"Bearer {token.reveal()}"} if token is not None else {}
        async with self._slots:
            await self.limiter.acquire()
            self.stats.attempts += 1
            self.stats.by_endpoint[endpoint] += 1
            try:
                response = await self._http.request(
                    method, url, json=body, params=params, headers=headers
                )
            except httpx.TimeoutException:
                self.stats.by_endpoint_status[(endpoint, "timeout")] += 1
                return self._failed(
                    endpoint, f"timed out after {self._timeout_text()}", kind="timed out"
                )
            except httpx.RequestError as exc:  # connection, protocol or decoding failures
                self.stats.by_endpoint_status[(endpoint, "connection")] += 1
                return self._failed(
                    endpoint, f"connection failed ({type(exc).__name__})", kind="connection failed"
                )
        self.stats.by_status[str(response.status_code)] += 1
        self.stats.by_endpoint_status[(endpoint, str(response.status_code))] += 1
        self.limiter.observe(response.headers)
        return self._judge(method, path, endpoint, response)

    def _timeout_text(self) -> str:
        return f"{self.settings.request_timeout.total_seconds():g} s"

    def _failed(
        self, endpoint: str, problem: str, status: int | None = None, *, kind: str
    ) -> Outcome:
        self.stats.failures += 1
        if endpoint != STATUS_ENDPOINT:
            self.breaker.record_failure()
            self.calls.failure(self.clock(), kind, self._scrub(problem))
        self._tally(endpoint, ok=False)
        return Outcome("retry", problem=problem, status=status)

    def _answered_without_tally(self, endpoint: str) -> None:
        """A 429: the platform answered (ends a failure streak) but it is not tallied."""
        if endpoint != STATUS_ENDPOINT:
            self.breaker.record_success()  # the server is up, we are only too fast
            self.calls.answered()

    def _judge(self, method: str, path: str, endpoint: str, response: httpx.Response) -> Outcome:
        status = response.status_code
        where = f"Genesys Cloud {method} {path}"
        if status == 429:
            self.stats.rate_limited += 1
            self._answered_without_tally(endpoint)
            return Outcome(
                "retry",
                problem=f"{where}: HTTP 429 rate limited",
                status=429,
                retry_after=retry_after_seconds(response.headers),
            )
        if status >= 500:
            outcome = self._failed(
                endpoint, f"{where}: HTTP {status}{error_detail(response)}", status,
                kind=f"HTTP {status}",
            )  # fmt: skip
            outcome.retry_after = retry_after_seconds(response.headers)
            return outcome
        if 200 <= status < 300:
            try:
                data = response.json() if response.content else {}
            except (json.JSONDecodeError, UnicodeDecodeError):
                return self._failed(
                    endpoint, f"{where}: malformed JSON in the response", status,
                    kind="malformed answer",
                )  # fmt: skip
            if endpoint != STATUS_ENDPOINT:
                self.breaker.record_success()
            self._tally(endpoint, ok=True)
            return Outcome("ok", data=data, status=status)
        if endpoint != STATUS_ENDPOINT:
            self.breaker.record_success()
        self._tally(endpoint, ok=True)  # the API answered: available, though not for us
        problem = f"{where}: HTTP {status}{error_detail(response)}"
        if status == 401:
            return Outcome("unauthorized", problem=problem + error_hint(401), status=status)
        return Outcome("fatal", problem=problem + error_hint(status), status=status)

    # --- OAuth ------------------------------------------------------------------------------

    async def _fetch_token(self, authorization: str) -> TokenGrant:
        """``POST /oauth/token`` (client credentials); retried like any request."""
        url = self.login_url + TOKEN_PATH
        attempt = 0
        while True:
            self.stats.by_endpoint["oauth_token"] += 1
            problem, retry_after = await self._token_attempt(url, authorization)
            if isinstance(problem, TokenGrant):
                return problem
            attempt += 1
            if attempt >= self.settings.max_attempts:
                raise SourceError(
                    f"cannot get a Genesys Cloud access token: {problem}", retryable=True
                )
            await self.timer.sleep(self.backoff.delay(attempt - 1, retry_after))

    async def _token_attempt(
        self, url: str, authorization: str
    ) -> tuple[TokenGrant | str, float | None]:
        """One token request: the grant, or (problem, Retry-After) to retry after."""
        async with self._slots:
            try:
                response = await self._http.post(
                    url,
                    data={"grant_type": "client_credentials"},
                    headers={"Authorization": authorization},
                )
            except httpx.TimeoutException:
                self.stats.by_endpoint_status[("oauth_token", "timeout")] += 1
                problem = f"the token request timed out after {self._timeout_text()}"
                return self._login_failed(problem, "timed out"), None
            except httpx.RequestError as exc:
                self.stats.by_endpoint_status[("oauth_token", "connection")] += 1
                problem = f"cannot reach {self.login_url} ({type(exc).__name__})"
                return self._login_failed(problem, "connection failed"), None
        status = response.status_code
        self.stats.by_status[f"token {status}"] += 1
        self.stats.by_endpoint_status[("oauth_token", str(status))] += 1
        retry_after = retry_after_seconds(response.headers)
        if status == 429:
            self.stats.rate_limited += 1
            self.calls.answered()
            return "the token request was rate limited (HTTP 429)", retry_after
        if status >= 500:
            problem = f"the token request got HTTP {status}{error_detail(response)}"
            return self._login_failed(problem, f"HTTP {status}"), retry_after
        self._tally("oauth_token", ok=True)
        if status in (400, 401, 403):
            raise SourceError(
                f"Genesys Cloud refused the OAuth client credentials of client "
                f"{self.settings.client_id!r} at {self.login_url} (HTTP {status}"
                f"{error_detail(response)}): check client_id, client_secret and the region",
                status=status,
            )
        if not 200 <= status < 300:
            raise SourceError(f"the token request got HTTP {status}{error_detail(response)}")
        try:
            return token_grant(response, self.login_url), None
        except SourceError as exc:  # a malformed answer: try again
            return str(exc), None

    def _login_failed(self, problem: str, kind: str) -> str:
        """A failed token request: a failed platform call (tallied bad, like any call)."""
        self._tally("oauth_token", ok=False)
        self.calls.failure(self.clock(), kind, problem, login=True)
        return problem

    # --- endpoints --------------------------------------------------------------------------

    async def list_queues(self) -> list[Queue]:
        """Every queue, page by page (``GET /api/v2/routing/queues``)."""
        queues: list[Queue] = []
        page = 1
        while True:
            data = await self.request(
                "GET",
                QUEUES_PATH,
                endpoint="routing_queues",
                params={"pageSize": QUEUE_PAGE_SIZE, "pageNumber": page},
            )
            entities = (data.get("entities") or []) if isinstance(data, dict) else []
            for entity in entities:
                if isinstance(entity, dict) and isinstance(entity.get("id"), str):
                    name = str(entity.get("name") or entity["id"])
                    queues.append(Queue(entity["id"], name, media_targets(entity)))
            page_count = data.get("pageCount") if isinstance(data, dict) else None
            if not entities or not isinstance(page_count, int) or page >= page_count:
                return queues
            page += 1

    async def queue_names(self, *, unknown: set[str] | None = None) -> dict[str, str]:
        """Queue id → name, cached for ``queue_cache_ttl``; refreshed early (at most once a
        minute) when ``unknown`` holds ids the cache does not know."""
        async with self._queue_lock:
            now = self.timer.now()
            age = None if self._queues_at is None else now - self._queues_at
            stale = age is None or age >= self.settings.queue_cache_ttl.total_seconds()
            missing = bool(unknown and not unknown <= self._queues.keys())
            if stale or (missing and age is not None and age >= QUEUE_REFRESH_MIN_SECONDS):
                self._queue_details = {q.id: q for q in await self.list_queues()}
                self._queues = {q.id: q.name for q in self._queue_details.values()}
                self._queues_at = now
            return dict(self._queues)

    async def queue_details(self, *, unknown: set[str] | None = None) -> dict[str, Queue]:
        """Queue id → queue with its service-level targets; cached as :meth:`queue_names`."""
        await self.queue_names(unknown=unknown)
        return dict(self._queue_details)

    async def conversation_aggregates(self, query: Mapping[str, Any]) -> dict[str, Any]:
        return _as_object(
            await self.request(
                "POST", CONVERSATION_AGGREGATES_PATH, endpoint="conversation_aggregates", body=query
            )
        )

    async def flow_aggregates(self, query: Mapping[str, Any]) -> dict[str, Any]:
        return _as_object(
            await self.request("POST", FLOW_AGGREGATES_PATH, endpoint="flow_aggregates", body=query)
        )

    async def queue_observations(self, query: Mapping[str, Any]) -> dict[str, Any]:
        return _as_object(
            await self.request(
                "POST", QUEUE_OBSERVATIONS_PATH, endpoint="queue_observations", body=query
            )
        )

    async def status_summary(self, url: str | None = None) -> dict[str, Any]:
        """The Statuspage ``summary.json`` (unauthenticated): ``url``, else the API's own."""
        return _as_object(
            await self.request(
                "GET", url or STATUS_SUMMARY_PATH, endpoint=STATUS_ENDPOINT, authenticated=False
            )
        )

    async def poll_status_page(self, url: str) -> bool | None:
        """Is the Platform API operational on the status page? Tallied as one
        ``status_page`` event; None (nothing tallied) when the page cannot be read."""
        try:
            page = await self.status_summary(url)
        except SourceError as exc:
            log.warning("genesys: status page unreadable: %s", exc)
            return None
        verdict = status_page_verdict(page)
        self.tally.record(to_minute(self.clock()), STATUS_ENDPOINT, verdict)
        return verdict


def _as_object(data: Any) -> dict[str, Any]:
    """The answer as a JSON object, or SourceDataError (retryable: ask again)."""
    try:
        return as_mapping(data)
    except SourceError as exc:
        raise SourceDataError(str(exc), retryable=True) from exc
