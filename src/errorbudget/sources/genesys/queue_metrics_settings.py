"""``sources.genesys.queue_metrics``: the Genesys queue families on ``/metrics``
(docs/exporter.md). Present: ``serve`` and ``errorbudget exporter`` poll and expose them;
absent: nothing is polled."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from errorbudget.durations import Duration


class QueueMetricsSettings(BaseModel):
    """How the queue families are polled, and the cardinality guard (docs/exporter.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    observation_interval: Duration = timedelta(seconds=10)
    """How often queue observations (depth, agents) are polled; polls fall on multiples of
    it. Genesys refreshes observations every few seconds: faster polling returns the same
    answer and spends the rate limit."""
    granularity: Duration = timedelta(minutes=1)
    """Aggregate interval of the counters and the wait histogram (``PT1M``): counted once
    each interval has closed, polled just after each boundary."""
    settle: Duration = timedelta(seconds=5)
    """How long after an interval closes its aggregates are first asked for."""
    revision_lookback: Duration = timedelta(minutes=10)
    """Closed intervals asked again on each aggregate poll: a revised interval adds only
    what it gained (never counted twice)."""
    queue_ids: list[str] = Field(default_factory=list)
    """Queues to expose (default: every queue of the org)."""
    max_series_per_family: int = Field(default=5000, ge=1, le=1_000_000)
    """Series of one family beyond this are folded into ``queue_id="other"`` (or dropped)."""
    transient_age: Duration = timedelta(hours=24)
    """A queue missing from ``GET /api/v2/routing/queues`` this long is transient: its
    series are folded into ``other`` (or dropped)."""
    overflow: Literal["aggregate", "drop"] = "aggregate"
    """What happens to series past the guard: summed into ``queue_id="other"``, or dropped."""

    @model_validator(mode="after")
    def _coherent(self) -> QueueMetricsSettings:
        if self.observation_interval < timedelta(seconds=1):
            raise ValueError("observation_interval must be at least 1s")
        minutes = self.granularity.total_seconds() / 60
        if minutes != int(minutes) or minutes < 1 or 60 % int(minutes):
            raise ValueError("granularity is a whole number of minutes that divides 60")
        if self.settle >= self.granularity:
            raise ValueError("settle must be shorter than the granularity")
        if self.revision_lookback < self.granularity:
            raise ValueError("revision_lookback must be at least the granularity")
        return self
