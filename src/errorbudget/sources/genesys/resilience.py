"""Pacing and failure handling for the Genesys Cloud client: rate limiter, backoff, breaker.

- :class:`RateLimiter` spaces request *starts* evenly at ``headroom`` (95 %) of the
  per-token limit (300 requests/min by default), with no burst credit, so any 60-second
  window holds at most the limit even when the server counts in fixed windows: a steady
  backfill never sees a 429. It also follows the ``inin-ratelimit-allowed`` /
  ``-count`` / ``-reset`` response headers: a smaller ``allowed`` lowers the pace, and a
  window that is nearly used up (another client sharing the token) holds every request
  until the window resets. A 429's ``Retry-After`` pauses every request, not only the
  one that got it.
- :class:`Backoff`: exponential backoff with full jitter (delay drawn uniformly from
  ``[0, min(cap, base·2^attempt)]``, AWS Architecture Blog "Exponential Backoff And
  Jitter"); a server's ``Retry-After`` is used as given.
- :class:`CircuitBreaker`: after ``threshold`` consecutive 5xx or transport failures the
  circuit opens for ``reset_seconds``; then one probe request is let through (half-open):
  success closes it, failure opens it again. While it is open no request reaches the
  server.

- :class:`CallLog`: how many calls were made and failed, and — while every call fails —
  since when, how often and how: what the collector says when the API is unreachable.

Time comes from a :class:`Timer` so tests can run these on a virtual clock.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol


class Timer(Protocol):
    """Monotonic seconds and an awaitable sleep."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class LoopTimer:
    """The real clock: ``time.monotonic`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if number >= 0 else None


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` in seconds (Genesys sends delta-seconds), or None when absent."""
    return _number(headers, "retry-after")


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
        allowed = _number(headers, "inin-ratelimit-allowed")
        if allowed is not None and allowed >= 1:
            self.allowed = min(self.configured, int(allowed))
        count = _number(headers, "inin-ratelimit-count")
        reset = _number(headers, "inin-ratelimit-reset")
        if count is None or reset is None or allowed is None:
            return
        # Keep a reserve for requests already on their way: the count lags them.
        if allowed - count <= max(2.0, allowed * 0.02):
            self.pause(min(reset, self.WINDOW))


@dataclass
class Backoff:
    """Exponential backoff with full jitter; ``Retry-After`` wins when the server sends it."""

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random | None = None

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry)."""
        if retry_after is not None:
            return min(retry_after, 10 * self.cap)
        ceiling = min(self.cap, self.base * (2 ** min(attempt, 30)))
        return (self.rng or random).uniform(0.0, ceiling)


class CircuitOpenError(Exception):
    """The circuit is open: no request goes out for ``retry_in`` seconds."""

    def __init__(self, retry_in: float) -> None:
        self.retry_in = retry_in
        super().__init__(f"circuit open for another {retry_in:.1f} s")


CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; one probe at a time when half-open."""

    def __init__(self, threshold: int, reset_seconds: float, timer: Timer | None = None) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.timer = timer or LoopTimer()
        self.state: CircuitState = "closed"
        self.consecutive_failures = 0
        self.opened = 0
        self._open_until = 0.0
        self._probing = False

    def admit(self) -> bool:
        """Let a request through, or raise CircuitOpenError. True when it is the probe."""
        if self.state == "closed":
            return False
        now = self.timer.now()
        if self.state == "open":
            if now < self._open_until:
                raise CircuitOpenError(self._open_until - now)
            self.state = "half_open"
            self._probing = False
        if self._probing:
            raise CircuitOpenError(min(1.0, self.reset_seconds))
        self._probing = True
        return True

    def record_success(self) -> None:
        self.consecutive_failures = 0
        self.state = "closed"
        self._probing = False

    def record_failure(self) -> None:
        self.consecutive_failures += 1
        if self.state == "half_open" or self.consecutive_failures >= self.threshold:
            if self.state != "open":
                self.opened += 1
            self.state = "open"
            self._open_until = self.timer.now() + self.reset_seconds
            self._probing = False

    def release_probe(self) -> None:
        """The probe ended without a verdict (cancelled): let another one through."""
        self._probing = False


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
