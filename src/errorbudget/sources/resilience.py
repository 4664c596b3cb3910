"""Failure handling every HTTP source may share: backoff, circuit breaker, ``Retry-After``.

- :class:`Backoff`: exponential backoff with full jitter (delay drawn uniformly from
  ``[0, min(cap, base·2^attempt)]``, AWS Architecture Blog "Exponential Backoff And
  Jitter"); a server's ``Retry-After`` is used as given.
- :class:`CircuitBreaker`: after ``threshold`` consecutive 5xx or transport failures the
  circuit opens for ``reset_seconds``; then one probe request is let through (half-open):
  success closes it, failure opens it again. While it is open no request reaches the
  server.

Time comes from a :class:`Timer` so tests can run these on a virtual clock. The Genesys
client adds its rate limiter and call log (``sources.genesys.resilience``); the Prometheus
client uses these as they are.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
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


def number_header(headers: Mapping[str, str], name: str) -> float | None:
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
    return number_header(headers, "retry-after")


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
