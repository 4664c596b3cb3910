"""Pacing and failure handling for the Genesys Cloud client: rate limiter, backoff, breaker.

- :class:`RateLimiter` spaces request *starts* evenly at ``headroom`` (95 %) of the
  per-token limit (300 requests/min by default), with no burst credit, so any 60-second
  window holds at most the limit even when the server counts in fixed windows: a steady
  backfill never sees a 429. It also follows the ``inin-ratelimit-allowed`` /
  ``-count`` / ``-reset`` response headers: a smaller ``allowed`` lowers the pace, and a
  window that is nearly used up (another client sharing the token) holds every request
  until the window resets. A 429's ``Retry-After`` pauses every request, not only the
  one that got it.
- :class:`Backoff`, :class:`CircuitBreaker`, ``retry_after_seconds`` and the :class:`Timer`
  are shared with other HTTP sources (``errorbudget.sources.resilience``), re-exported here.
- :class:`CallLog`: how many calls were made and failed, and — while every call fails —
  since when, how often and how: what the collector says when the API is unreachable.

Time comes from a :class:`Timer` so tests can run these on a virtual clock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from errorbudget.sources.resilience import (
    Backoff,
    CircuitBreaker,
    CircuitOpenError,
    CircuitState,
    LoopTimer,
    Timer,
    number_header,
    retry_after_seconds,
)

__all__ = [
    "Backoff",
    "CallLog",
    "CircuitBreaker",
    "CircuitOpenError",
    "CircuitState",
    "LoopTimer",
    "RateLimiter",
    "Timer",
    "retry_after_seconds",
]


class RateLimiter:
    """Paces request starts under the per-token limit and follows ``inin-ratelimit-*``."""

    WINDOW = 60.0
    """Genesys counts requests per token per minute."""

    def __init__(
        self, requests_per_minute: int, timer: Timer | None = None, headroom: float = 0.95
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.timer = timer or LoopTimer()
        self.configured = requests_per_minute
        self.allowed = requests_per_minute
        """The limit in force: the configured one, lowered by ``inin-ratelimit-allowed``."""
        self.headroom = headroom
        self._next_start = float("-inf")
        self._blocked_until = float("-inf")
        self._lock = asyncio.Lock()
        self.waited_seconds = 0.0
        self.pauses = 0

    @property
    def spacing(self) -> float:
        """Seconds between two request starts at steady state."""
        return self.WINDOW / max(1.0, self.allowed * self.headroom)

    async def acquire(self) -> None:
        """Wait until the next request may start (FIFO across concurrent callers)."""
        async with self._lock:
            while True:
                now = self.timer.now()
                start = max(now, self._next_start, self._blocked_until)
                if start <= now:
                    break
                self.waited_seconds += start - now
                await self.timer.sleep(start - now)
            self._next_start = now + self.spacing

    def pause(self, seconds: float) -> None:
        """Hold every request for ``seconds`` (a 429's ``Retry-After``)."""
        until = self.timer.now() + seconds
        if until > self._blocked_until:
            self._blocked_until = until
            self.pauses += 1

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow the rate-limit headers of a response (absent headers change nothing)."""
        allowed = number_header(headers, "inin-ratelimit-allowed")
        if allowed is not None and allowed >= 1:
            self.allowed = min(self.configured, int(allowed))
        count = number_header(headers, "inin-ratelimit-count")
        reset = number_header(headers, "inin-ratelimit-reset")
        if count is None or reset is None or allowed is None:
            return
        # Keep a reserve for requests already on their way: the count lags them.
        if allowed - count <= max(2.0, allowed * 0.02):
            self.pause(min(reset, self.WINDOW))


@dataclass
class CallLog:
    """Calls to the API and the login server: totals, and the current failure streak.

    ``calls`` counts every request that got an answer or failed (429s included, status
    page polls not); ``failed`` those that failed (5xx, timeouts, connection errors,
    malformed answers: the bad events of ``api_availability``). A streak starts at the
    first failure after an answer and ends at the next answer (a 429 or a 4xx is an
    answer: the platform is up)."""

    calls: int = 0
    failed: int = 0
    failing_since: datetime | None = None
    streak: int = 0
    """Failed calls since ``failing_since``."""
    streak_kinds: Counter[str] = field(default_factory=Counter)
    """What the failed calls of the streak got: ``HTTP 503``, ``timed out``, …"""
    last_api_problem: str | None = None
    last_login_problem: str | None = None

    def answered(self) -> None:
        self.calls += 1
        self.failing_since = None
        self.streak = 0
        self.streak_kinds.clear()
        self.last_api_problem = self.last_login_problem = None

    def failure(self, at: datetime, kind: str, problem: str, *, login: bool = False) -> None:
        self.calls += 1
        self.failed += 1
        if self.failing_since is None:
            self.failing_since = at
        self.streak += 1
        self.streak_kinds[kind] += 1
        if login:
            self.last_login_problem = problem
        else:
            self.last_api_problem = problem

    @property
    def failing(self) -> bool:
        return self.failing_since is not None
