"""What every notifier shares: the ``Notifier`` protocol, the message a notification's
payload carries (read once, typed), and one HTTP POST with its failures mapped to
:class:`~errorbudget.errors.DeliveryError`.

A notifier is synchronous (``send`` blocks on one HTTP request): the delivery worker runs it
in a worker thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx

from errorbudget.alert_records import Notification, NotificationEvent
from errorbudget.errors import DeliveryError

USER_AGENT = "errorbudget-notifier/1"

TEST_ALERTNAME = "ErrorBudgetTest"
"""The alert name of the notifications ``errorbudget alerts test`` sends."""


class Notifier(Protocol):
    """Delivers one notification to one receiver, or raises :class:`DeliveryError` (with a
    one-line reason and whether a later attempt may succeed)."""

    def send(self, notification: Notification) -> None: ...


@dataclass(frozen=True, slots=True)
class BurnRate:
    """One burn condition's two windows as an alert tells of them."""

    name: str
    long_window: str
    short_window: str
    long_burn_rate: float | None
    short_burn_rate: float | None
    holds: bool


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _burn_rates(details: Mapping[str, object]) -> list[BurnRate]:
    found = details.get("conditions")
    rates: list[BurnRate] = []
    for item in found if isinstance(found, list) else []:
        if not isinstance(item, Mapping):
            continue
        rates.append(
            BurnRate(
                name=str(item.get("name", "")),
                long_window=str(item.get("long_window", "")),
                short_window=str(item.get("short_window", "")),
                long_burn_rate=_number(item.get("long_burn_rate")),
                short_burn_rate=_number(item.get("short_burn_rate")),
                holds=bool(item.get("holds", False)),
            )
        )
    return rates


@dataclass(frozen=True, slots=True)
class Message:
    """What a notification says, read from its payload (the alert service writes it:
    ``event``, ``labels``, ``summary``, ``details``, ``runbook_url``, ``dashboard_url``,
    ``fired_at``, ``resolved_at``, ``episode``, ``fingerprint``). Missing keys read as
    absent, so an older payload still sends."""

    event: NotificationEvent
    dedup_key: str
    labels: dict[str, str]
    summary: str
    details: Mapping[str, object]
    runbook_url: str | None
    dashboard_url: str | None
    fired_at: datetime
    resolved_at: datetime | None
    burn_rates: list[BurnRate] = field(default_factory=list)

    @classmethod
    def of(cls, notification: Notification, dashboard_url: str | None = None) -> Message:
        """The message of ``notification``; ``dashboard_url`` (the ``notifications``
        setting) links the SLO's page when the payload has no link of its own."""
        payload = notification.payload
        raw_labels = payload.get("labels")
        labels = (
            {str(k): str(v) for k, v in raw_labels.items()}
            if isinstance(raw_labels, Mapping)
            else {}
        )
        raw_details = payload.get("details")
        details: Mapping[str, object] = raw_details if isinstance(raw_details, Mapping) else {}
        link = _text(payload.get("dashboard_url"))
        if link is None and dashboard_url and labels.get("slo"):
            link = f"{dashboard_url.rstrip('/')}/slos/{labels['slo']}"
        summary = _text(payload.get("summary")) or labels.get("alertname", "errorbudget alert")
        return cls(
            event=notification.event,
            dedup_key=notification.dedup_key,
            labels=labels,
            summary=summary,
            details=details,
            runbook_url=_text(payload.get("runbook_url")),
            dashboard_url=link,
            fired_at=_moment(payload.get("fired_at")) or notification.created_at,
            resolved_at=_moment(payload.get("resolved_at")),
            burn_rates=_burn_rates(details),
        )

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "ticket")

    @property
    def slo(self) -> str:
        return self.labels.get("slo", "")

    @property
    def budget_remaining_ratio(self) -> float | None:
        return _number(self.details.get("budget_remaining_ratio"))

    @property
    def time_to_exhaustion_seconds(self) -> float | None:
        return _number(self.details.get("time_to_exhaustion_seconds"))

    def shown_burn_rates(self) -> Sequence[BurnRate]:
        """The conditions that hold, else all of them (a resolve: what they were)."""
        holding = [rate for rate in self.burn_rates if rate.holds]
        return holding or self.burn_rates


def percent_text(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio * 100:.1f} %"


def burn_text(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1f}×"


def duration_text(seconds: float | None) -> str:
    """``3d 4h``, ``2h 5m``, ``12m``; "n/a" when unknown (no exhaustion at this rate)."""
    if seconds is None:
        return "n/a"
    minutes = max(int(seconds // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {mins}m" if hours else f"{mins}m"


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def post(
    client: httpx.Client,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str],
    timeout: timedelta,
    expect: tuple[int, ...] = (200, 201, 202, 204),
) -> httpx.Response:
    """POST ``content`` and return the response; DeliveryError otherwise: retryable for a
    connection failure, a timeout, 408, 429 and 5xx, permanent for any other status. The
    reason never names the URL (a Slack webhook's URL is its secret)."""
    sent = {"content-type": "application/json", "user-agent": USER_AGENT, **headers}
    try:
        response = client.post(url, content=content, headers=sent, timeout=timeout.total_seconds())
    except httpx.TimeoutException as exc:
        raise DeliveryError(
            f"timed out after {timeout.total_seconds():g}s ({type(exc).__name__})"
        ) from exc
    except httpx.TransportError as exc:
        raise DeliveryError(f"cannot reach the receiver ({type(exc).__name__})") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:  # a bad answer body, a bad URL, …
        raise DeliveryError(f"the request failed ({type(exc).__name__})") from exc
    status = response.status_code
    if status in expect:
        return response
    reason = f"HTTP {status}"
    body = _one_line(response.text)
    if body:
        reason += f": {body}"
    retryable = status in (408, 429) or status >= 500
    raise DeliveryError(reason, status=status, retryable=retryable)
