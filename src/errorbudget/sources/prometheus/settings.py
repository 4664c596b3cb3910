"""``sources.prometheus``: how to reach a Prometheus-compatible query API (Prometheus, Thanos,
Mimir, VictoriaMetrics), how to authenticate, and how to split history into requests
(docs/sources/prometheus.md). Secrets are never in the config: ``auth`` names the
environment variables that hold them, read when the collector is created."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from errorbudget.durations import Duration
from errorbudget.errors import ConfigError
from errorbudget.sources.schedule import PullSettings

DEFAULT_MAX_POINTS = 11_000
"""Prometheus refuses a ``query_range`` whose answer would hold more than 11,000 points per
series ("exceeded maximum resolution of 11,000 points per timeseries")."""

SECRET_SUSPECTED = "secret_suspected"
"""The error type of a value that likely holds a secret: reported without its input."""

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = {"authorization", "content-type", "content-length", "host"}


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        # likely the secret itself: never echoed (config_errors leaves its input out)
        raise PydanticCustomError(
            SECRET_SUSPECTED,
            "not an environment variable name: give the variable's name, never the secret itself",
        )
    return value


class PrometheusAuth(BaseModel):
    """Bearer token or basic auth, each secret read from an environment variable by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    bearer_token_env: str | None = None
    """The variable holding a bearer token (``Authorization: Bearer …``)."""
    username: str | None = Field(default=None, min_length=1, max_length=200)
    """Basic auth user name (not secret)."""
    password_env: str | None = None
    """The variable holding the basic auth password."""

    @field_validator("bearer_token_env", "password_env")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return _env_name(value)

    @model_validator(mode="after")
    def _one_kind(self) -> PrometheusAuth:
        basic = self.username is not None or self.password_env is not None
        if self.bearer_token_env is not None and basic:
            raise ValueError("give either bearer_token_env or username with password_env")
        if basic and (self.username is None or self.password_env is None):
            raise ValueError("basic auth needs both username and password_env")
        if self.bearer_token_env is None and not basic:
            raise ValueError("give bearer_token_env, or username with password_env")
        return self

    def header(self, environ: Mapping[str, str] | None = None) -> str:
        """The ``Authorization`` header's value; a ConfigError names a missing variable."""
        import base64

        env = os.environ if environ is None else environ
        name = self.bearer_token_env or self.password_env
        assert name is not None
        secret = env.get(name)
        if not secret:
            raise ConfigError(
                f"sources.prometheus.auth: environment variable {name} is not set (or empty)"
            )
        if self.bearer_token_env is not None:
            return f"Bearer {secret}"
        pair = f"{self.username}:{secret}".encode()
        return f"Basic {base64.b64encode(pair).decode('ascii')}"


class PrometheusTLS(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    verify: bool = True
    """Verify the server's certificate (keep true outside a lab)."""
    ca_file: str | None = Field(default=None, min_length=1)
    """A CA bundle (PEM) to verify it with instead of the system's."""


class PrometheusSettings(PullSettings):
    """How to reach a Prometheus-compatible query API, and how to split requests
    (docs/sources/prometheus.md). ``interval``, ``lookback``, ``max_backfill`` and
    ``collect_deadline`` are the generic pull schedule's (``sources.schedule``)."""

    url: str
    """The root under which ``/api/v1/query`` is served: ``http://prometheus:9090``, a
    Thanos querier, ``http://mimir/prometheus``, ``http://vmselect:8481/select/0/prometheus``."""
    auth: PrometheusAuth | None = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=20)
    """Extra request headers (``X-Scope-OrgID`` for a Mimir or Cortex tenant)."""
    tls: PrometheusTLS = Field(default_factory=PrometheusTLS)
    timeout: Duration = timedelta(seconds=30)
    """Longest one request may take (also sent as the query's ``timeout`` parameter)."""
    lookback: Duration = timedelta(minutes=3)
    """Each run re-evaluates this much before what is stored (samples scraped or remote
    written late)."""
    max_points: int = Field(default=DEFAULT_MAX_POINTS, ge=1, le=1_000_000)
    """Most points per series one ``query_range`` may return (11,000: Prometheus's limit)."""
    max_query_span: Duration = timedelta(days=1)
    """Longest range one ``query_range`` asks for (Thanos and Mimir limit query length)."""
    max_instant_minutes: int = Field(default=5, ge=0, le=60)
    """Scheduled runs evaluate up to this many closed minutes with instant queries
    (``/api/v1/query``, one per minute); a longer range uses ``query_range``."""
    max_attempts: int = Field(default=4, ge=1, le=20)
    """Tries per request (5xx, 429, timeouts and connection errors are retried)."""
    circuit_failures: int = Field(default=5, ge=1, le=1000)
    circuit_reset: Duration = timedelta(seconds=30)
    concurrency: int = Field(default=4, ge=1, le=64)
    """Queries in flight at once."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        authority = re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s]*)", value)
        if authority is not None and "@" in authority.group(1):
            # httpx would send it as basic auth, and the URL is in every error message,
            # the run health and repr: never echo it
            raise PydanticCustomError(
                SECRET_SUSPECTED,
                "the url holds user info (user:password@): credentials go in auth, read "
                "from environment variables",
            )
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/")

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name, text in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(
                    f"header {name!r} is set by errorbudget (credentials go in auth, read "
                    "from environment variables)"
                )
            if "\n" in text or "\r" in text:
                raise ValueError(f"header {name!r}: a value holds no line break")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> PrometheusSettings:
        if self.max_query_span < timedelta(minutes=1):
            raise ValueError("max_query_span must be at least 1m")
        if self.timeout <= timedelta(0):
            raise ValueError("timeout must be positive")
        return self

    def __repr__(self) -> str:  # no credentials in here; header values may be tenants
        return f"PrometheusSettings(url={self.url!r})"
