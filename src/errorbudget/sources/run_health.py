"""What a scheduled source's runs did in this process (``/readyz``, ``/metrics``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class RunHealth:
    """What a scheduled source's runs did in this process: ``/readyz`` says when one has
    failed every run for too long, ``/metrics`` counts runs by outcome. (The store keeps
    every run as well — ``Store.source_health`` — across restarts and processes; this is
    what this process saw, even when the store could not record it.)"""

    outcomes: Counter[str] = field(default_factory=Counter)
    """Runs by outcome: ``ok``, ``failed``."""
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    failing_since: datetime | None = None
    """When the first run of the current streak of failed runs started (None: the last
    run succeeded, or none ran yet)."""
    consecutive_failures: int = 0
    last_error: str | None = None
    unrecorded: list[bool] = field(default_factory=list)
    """Whether each run the store could not record yet (busy) succeeded, oldest first."""

    def record(self, *, ok: bool, started_at: datetime, finished_at: datetime,
               error: str | None) -> None:  # fmt: skip
        self.outcomes["ok" if ok else "failed"] += 1
        self.last_run_at = finished_at
        if ok:
            self.last_success_at = finished_at
            self.failing_since = None
            self.consecutive_failures = 0
            self.last_error = None
        else:
            self.failing_since = self.failing_since or started_at
            self.consecutive_failures += 1
            self.last_error = error
