"""Simulated clocks: ``SimClock`` runs faster than real time; ``ManualClock`` is set by tests.

Both are callables returning an aware UTC datetime (the same shape as ``App``'s clock), so
the fake API, the simulator's visibility horizon and the collector can share one clock.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class SimulatedClock(Protocol):
    @property
    def start(self) -> datetime: ...

    def now(self) -> datetime: ...

    def __call__(self) -> datetime: ...


class SimClock:
    """Simulated now = ``start`` + real time elapsed since creation × ``speed``."""

    def __init__(self, start: datetime | None = None, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        start = start or datetime.now(tz=UTC)
        if start.tzinfo is None:
            raise ValueError("the clock's start needs a time zone")
        self._start = start.astimezone(UTC)
        self.speed = speed
        self._origin = time.monotonic()

    @property
    def start(self) -> datetime:
        return self._start

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)

    def __call__(self) -> datetime:
        return self.now()

    def real_seconds(self, simulated: timedelta) -> float:
        """How long ``simulated`` takes in real time."""
        return simulated.total_seconds() / self.speed


class ManualClock:
    """A clock that only moves when told (``set``/``advance``); thread-safe."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the clock's start needs a time zone")
        self._start = start.astimezone(UTC)
        self._now = self._start
        self._lock = threading.Lock()
        self.speed = 1.0

    @property
    def start(self) -> datetime:
        return self._start

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def __call__(self) -> datetime:
        return self.now()

    def set(self, moment: datetime) -> None:
        with self._lock:
            self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now
