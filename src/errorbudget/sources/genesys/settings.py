"""``sources.genesys``: how to reach one Genesys Cloud org, and how often to collect."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from errorbudget.durations import Duration
from errorbudget.sources.genesys.queue_metrics_settings import QueueMetricsSettings
from errorbudget.sources.genesys.regions import find_region


class GenesysSettings(BaseModel):
    """How to reach one Genesys Cloud org, and how often to collect (docs/sources/genesys.md).
    Its ``interval``, ``lookback``, ``max_backfill`` and ``collect_deadline`` are the
    generic pull schedule's (``sources.schedule.PullSchedule``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    region: str | None = None
    """Region domain (``usw2.pure.cloud``) or AWS name (``us-west-2``)."""
    base_url: str | None = None
    """Platform API root instead of the region's ``https://api.<domain>``."""
    login_url: str | None = None
    """OAuth server root; default: the region's, or ``base_url`` with ``api.`` → ``login.``."""
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    interval: Duration = timedelta(seconds=60)
    """How often scheduled collection runs."""
    lookback: Duration = timedelta(hours=1)
    """Each run re-fetches this much before what is stored: open and revised intervals."""
    granularity: Duration = timedelta(minutes=15)
    """Aggregate query granularity; counts land on each interval's start minute."""
    max_query_span: Duration = timedelta(days=1)
    """Longest interval one aggregate query asks for (history is split into such chunks)."""
    max_backfill: Duration = timedelta(days=31)
    """Scheduled runs catch up at most this far back after an outage."""
    requests_per_minute: int = Field(default=300, ge=1, le=100_000)
    request_timeout: Duration = timedelta(seconds=30)
    connect_timeout: Duration = timedelta(seconds=10)
    max_attempts: int = Field(default=8, ge=1, le=50)
    """Tries per request (429, 5xx, timeouts and connection errors are retried)."""
    circuit_failures: int = Field(default=5, ge=1, le=1000)
    """Consecutive 5xx or transport failures that open the circuit breaker."""
    circuit_reset: Duration = timedelta(seconds=30)
    """How long the circuit stays open before one probe request is let through."""
    queue_cache_ttl: Duration = timedelta(minutes=15)
    status_page_url: str | None = None
    """Statuspage ``summary.json`` polled each run for ``api_availability``; default: none."""
    collect_deadline: Duration = timedelta(minutes=3)
    """Longest one collection run (``collect --once``/``--from``, each scheduled run) may
    take; a run that reaches it stops, keeps what it stored and is recorded as failed."""
    queue_metrics: QueueMetricsSettings | None = None
    """The Genesys queue families on ``/metrics`` (docs/exporter.md); absent: not polled."""

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return find_region(value).domain

    @field_validator("base_url", "login_url", "status_page_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value is not None else None

    @field_validator("granularity")
    @classmethod
    def _granularity_divides_hour(cls, value: timedelta) -> timedelta:
        minutes = value.total_seconds() / 60
        if minutes != int(minutes) or 60 % int(minutes):
            raise ValueError("granularity is a whole number of minutes that divides 60")
        return value

    @model_validator(mode="after")
    def _where(self) -> GenesysSettings:
        if (self.region is None) == (self.base_url is None):
            raise ValueError("give exactly one of region and base_url")
        if self.max_query_span < self.granularity:
            raise ValueError("max_query_span must be at least the granularity")
        if self.max_query_span % self.granularity:
            raise ValueError("max_query_span must be a whole number of granularity intervals")
        return self

    def __repr__(self) -> str:  # the secret is a SecretStr; the id is not secret
        return f"GenesysSettings(region={self.region!r}, base_url={self.base_url!r})"
