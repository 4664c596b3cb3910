"""Clocks: real time, or the simulated time a config's ``clock`` section describes.

``errorbudget demo`` runs its contact center faster than real time and writes that clock into
its config (``clock: {simulated_start, real_start, speed}``), so that every process reading
the config — the demo serving the dashboard, ``errorbudget status`` or ``gate`` in another
terminal — evaluates at the same simulated instant. The instant is derived from the wall
clock, not from a per-process monotonic one, for that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]
"""Anything that returns the current moment as an aware UTC datetime."""


def utc_now() -> datetime:
    return datetime.now(tz=UTC)


class ScaledClock:
    """now = ``simulated_start`` + (wall clock − ``real_start``) × ``speed``.

    ``speed`` 0 holds the clock at ``simulated_start`` (a world evaluated at one instant,
    e.g. ``errorbudget demo --once``). Also a simulator clock (``start``, ``now()``): the fake
    Genesys Cloud API and the collector can share it.
    """

    def __init__(
        self,
        simulated_start: datetime,
        real_start: datetime | None = None,
        speed: float = 0.0,
        wall: Clock = utc_now,
    ) -> None:
        if simulated_start.tzinfo is None or (real_start and real_start.tzinfo is None):
            raise ValueError("a clock's instants need a time zone")
        if speed < 0:
            raise ValueError("a clock's speed cannot be negative")
        if speed > 0 and real_start is None:
            raise ValueError("a running clock (speed > 0) needs its real_start")
        self._simulated_start = simulated_start.astimezone(UTC)
        self.real_start = real_start.astimezone(UTC) if real_start else None
        self.speed = speed
        self._wall = wall

    @property
    def start(self) -> datetime:
        """The simulated instant the clock started at."""
        return self._simulated_start

    def now(self) -> datetime:
        if self.real_start is None or self.speed == 0:
            return self._simulated_start
        elapsed = (self._wall() - self.real_start).total_seconds()
        return self._simulated_start + timedelta(seconds=elapsed * self.speed)

    def __call__(self) -> datetime:
        return self.now()

    def frozen(self) -> ScaledClock:
        """This clock stopped at its current instant."""
        return ScaledClock(self.now())

    def __repr__(self) -> str:
        return (
            f"ScaledClock(simulated_start={self._simulated_start.isoformat()}, "
            f"real_start={self.real_start.isoformat() if self.real_start else None}, "
            f"speed={self.speed:g})"
        )
