"""``notifications:``: where alerts are sent, how they are routed, and how delivery retries
(docs/alerting.md "Notifications").

- ``receivers``: named targets of four types (``alertmanager``, ``slack``, ``pagerduty``,
  ``webhook``). Secrets never sit in the file: ``url_env``, ``routing_key_env`` and
  ``secret_env`` name environment variables, read once at start by :func:`resolve_receivers`
  (a missing one is an error naming the variable).
- ``routes``: ordered; an alert goes to the receivers of the first route whose ``match``
  labels it carries, and of every later matching route while the matched ones say
  ``continue``. Without ``routes``, :func:`default_receivers` applies: a page goes to every
  PagerDuty receiver, a ticket or notice to every Slack receiver (seed 001), and every alert to
  every Alertmanager and webhook receiver (they route or filter on their side).
- ``retry``: exponential backoff from ``initial`` by ``factor`` up to ``cap`` between attempts,
  given up ``give_up_after`` the notification was queued (:meth:`RetrySettings.next_attempt`).

Plain settings and pure functions; nothing here sends anything (``errorbudget.notify`` does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from errorbudget.durations import Duration
from errorbudget.errors import ConfigError

ReceiverType = Literal["alertmanager", "slack", "pagerduty", "webhook"]

RECEIVER_TYPES: tuple[ReceiverType, ...] = ("alertmanager", "slack", "pagerduty", "webhook")

_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ReceiverSettings(_Settings):
    """One place notifications go. The address is ``url`` (written in the file: fine for a
    local Alertmanager) or ``url_env`` (an environment variable holding it: Slack's webhook
    URL is a secret)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    type: ReceiverType
    url: str | None = Field(default=None, pattern=r"^https?://")
    """Alertmanager's base URL (``/api/v2/alerts`` is added), the Slack incoming webhook,
    the PagerDuty Events API v2 enqueue endpoint, or the webhook's URL."""
    url_env: str | None = Field(default=None, pattern=_ENV_NAME)
    routing_key_env: str | None = Field(default=None, pattern=_ENV_NAME)
    """PagerDuty only (required there): the integration's routing key."""
    secret_env: str | None = Field(default=None, pattern=_ENV_NAME)
    """Webhook only (required there): the HMAC-SHA256 signing secret."""
    timeout: Duration = timedelta(seconds=10)
    """Per request (connect, read, write); a timeout is a retryable failure."""
    firing_hold: Duration = timedelta(days=7)
    """Alertmanager only: a firing alert is sent with ``endsAt`` this long after it fired
    (errorbudget sends once, not every evaluation as Prometheus does, so Alertmanager must not
    resolve it on its own after ``resolve_timeout``); the resolve is sent when it resolves."""

    @model_validator(mode="after")
    def _addressed(self) -> ReceiverSettings:
        if (self.url is None) == (self.url_env is None):
            raise ValueError(f"receiver {self.name!r}: give exactly one of url or url_env")
        if self.type == "pagerduty" and self.routing_key_env is None:
            raise ValueError(f"receiver {self.name!r}: a pagerduty receiver needs routing_key_env")
        if self.type != "pagerduty" and self.routing_key_env is not None:
            raise ValueError(f"receiver {self.name!r}: routing_key_env is for pagerduty only")
        if self.type == "webhook" and self.secret_env is None:
            raise ValueError(f"receiver {self.name!r}: a webhook receiver needs secret_env")
        if self.type != "webhook" and self.secret_env is not None:
            raise ValueError(f"receiver {self.name!r}: secret_env is for webhook only")
        return self


class RouteSettings(_Settings):
    """Alerts whose labels include every ``match`` pair go to ``receivers``; with
    ``continue: true`` later routes are tried too."""

    name: str | None = Field(default=None, max_length=100)
    """Optional, for ``errorbudget alerts test NAME``."""
    match: dict[str, str] = Field(default_factory=dict)
    """Label equalities (``severity``, ``slo``, ``service``, ``alertname``, segment keys);
    empty matches every alert."""
    receivers: list[str] = Field(min_length=1)
    continue_: bool = Field(default=False, alias="continue")

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.match.items())


class RetrySettings(_Settings):
    """Exponential backoff between attempts at one notification (docs/alerting.md)."""

    initial: Duration = timedelta(seconds=1)
    factor: float = Field(default=2.0, ge=1.0, le=10.0)
    cap: Duration = timedelta(minutes=5)
    give_up_after: Duration = timedelta(hours=24)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based): initial × factor^(n−1),
        at most ``cap``."""
        seconds = self.initial.total_seconds()
        cap = self.cap.total_seconds()
        for _ in range(max(attempts, 1) - 1):
            seconds *= self.factor
            if seconds >= cap:
                break
        return timedelta(seconds=min(seconds, cap))

    def next_attempt(
        self, *, queued_at: datetime, attempts: int, failed_at: datetime
    ) -> datetime | None:
        """When to try again after ``attempts`` failed attempts, or None to give up (the next
        attempt would fall after ``queued_at + give_up_after``)."""
        following = failed_at + self.delay(attempts)
        return None if following > queued_at + self.give_up_after else following


class NotificationSettings(_Settings):
    receivers: list[ReceiverSettings] = Field(default_factory=list)
    routes: list[RouteSettings] = Field(default_factory=list)
    """Ordered; empty: the default routing (page → PagerDuty, ticket/notice → Slack,
    everything → Alertmanager and webhook receivers)."""
    dashboard_url: str | None = Field(default=None, pattern=r"^https?://")
    """The dashboard's address, for the links in messages (``/slos/<id>`` is added)."""
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @model_validator(mode="after")
    def _unique_names(self) -> NotificationSettings:
        seen: set[str] = set()
        for receiver in self.receivers:
            if receiver.name in seen:
                raise ValueError(f"duplicate receiver name {receiver.name!r}")
            seen.add(receiver.name)
        return self

    def receiver(self, name: str) -> ReceiverSettings:
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)

    def route(self, labels: Mapping[str, str]) -> list[str]:
        """The receivers an alert with ``labels`` goes to (see :func:`route`)."""
        return route(self.routes, self.receivers, labels)


def default_receivers(
    receivers: Sequence[ReceiverSettings], labels: Mapping[str, str]
) -> list[str]:
    """Routing without ``routes``: page → every PagerDuty receiver, ticket or notice → every
    Slack receiver (seed 001: critical to PagerDuty, warning to Slack); every alert → every
    Alertmanager and webhook receiver."""
    wanted = "pagerduty" if labels.get("severity") == "page" else "slack"
    return [r.name for r in receivers if r.type in (wanted, "alertmanager", "webhook")]


def route(
    routes: Sequence[RouteSettings],
    receivers: Sequence[ReceiverSettings],
    labels: Mapping[str, str],
) -> list[str]:
    """The receivers of the first route matching ``labels``, and of each later matching one
    while the matched routes say ``continue``; each receiver once, in route order. Without
    routes, :func:`default_receivers`."""
    if not routes:
        return default_receivers(receivers, labels)
    chosen: dict[str, None] = {}
    for candidate in routes:
        if not candidate.matches(labels):
            continue
        chosen.update(dict.fromkeys(candidate.receivers))
        if not candidate.continue_:
            break
    return list(chosen)


# --- secrets, read from the environment at start ---------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceiverTarget:
    """A receiver with its secrets read from the environment: what a notifier is built from.
    Secrets are left out of ``repr`` so a log line or traceback never shows them."""

    name: str
    type: ReceiverType
    url: str = field(repr=False)
    timeout: timedelta
    routing_key: str | None = field(default=None, repr=False)
    secret: bytes | None = field(default=None, repr=False)
    firing_hold: timedelta = timedelta(days=7)


def _read(environ: Mapping[str, str], variable: str, receiver: str, what: str) -> str:
    value = environ.get(variable, "")
    if not value:
        raise ConfigError(
            f"receiver {receiver!r}: environment variable {variable} ({what}) is not set"
        )
    return value


def resolve_receivers(
    settings: NotificationSettings, environ: Mapping[str, str]
) -> dict[str, ReceiverTarget]:
    """Every receiver with its URL and secrets read from ``environ``; ConfigError naming the
    first missing variable (never its value)."""
    targets: dict[str, ReceiverTarget] = {}
    for receiver in settings.receivers:
        url = receiver.url
        if receiver.url_env is not None:
            url = _read(environ, receiver.url_env, receiver.name, "its URL")
            if not url.startswith(("http://", "https://")):
                raise ConfigError(
                    f"receiver {receiver.name!r}: environment variable {receiver.url_env} "
                    "does not hold an http(s) URL"
                )
        assert url is not None  # the model holds exactly one of url and url_env
        routing_key = (
            _read(environ, receiver.routing_key_env, receiver.name, "the routing key")
            if receiver.routing_key_env is not None
            else None
        )
        secret = (
            _read(environ, receiver.secret_env, receiver.name, "the signing secret").encode()
            if receiver.secret_env is not None
            else None
        )
        targets[receiver.name] = ReceiverTarget(
            name=receiver.name,
            type=receiver.type,
            url=url,
            timeout=receiver.timeout,
            routing_key=routing_key,
            secret=secret,
            firing_hold=receiver.firing_hold,
        )
    return targets
