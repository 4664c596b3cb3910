"""Alertmanager API v2: ``POST {url}/api/v2/alerts`` with one alert per member of the
notified group (docs/alerting.md "Groups").

The alert carries the notification's labels (``alertname``, ``slo``, ``service``,
``severity`` and the segment's keys) and annotations (``summary``, ``runbook_url``,
``dashboard``, ``description`` with the burn rates, budget and time to exhaustion).
``startsAt`` is when it fired; a resolve sets ``endsAt`` to when it resolved, and so does
a member that resolved while its group still fires (its ``resolved_at``). errorbudget
sends a firing alert once (Prometheus re-sends it every evaluation), so its ``endsAt`` is
``firing_hold`` after it fired, or Alertmanager would resolve it by itself after its
``resolve_timeout``. Alertmanager groups, deduplicates, silences and routes from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import timedelta

import httpx
import orjson

from errorbudget.alert_records import Notification
from errorbudget.notification_settings import ReceiverTarget
from errorbudget.notify.base import (
    Message,
    burn_text,
    duration_text,
    percent_text,
    post,
)

TEST_DURATION = timedelta(minutes=5)
"""How long a test alert stays firing in Alertmanager."""


def description(message: Message) -> str:
    parts = [
        f"burn {rate.long_window}/{rate.short_window}: "
        f"{burn_text(rate.long_burn_rate)} / {burn_text(rate.short_burn_rate)}"
        for rate in message.shown_burn_rates()
    ]
    if message.budget_remaining_ratio is not None:
        parts.append(f"budget remaining {percent_text(message.budget_remaining_ratio)}")
    if message.time_to_exhaustion_seconds is not None:
        parts.append(f"exhausted in {duration_text(message.time_to_exhaustion_seconds)}")
    return "; ".join(parts)


def alertmanager_alert(message: Message, firing_hold: timedelta) -> dict[str, object]:
    """The API v2 ``postableAlert`` for ``message``."""
    annotations = {"summary": message.summary}
    if text := description(message):
        annotations["description"] = text
    if message.runbook_url:
        annotations["runbook_url"] = message.runbook_url
    if message.dashboard_url:
        annotations["dashboard"] = message.dashboard_url
    if message.event == "resolved":
        ends = message.resolved_at or message.fired_at
    elif message.event == "test":
        ends = message.fired_at + TEST_DURATION
    else:
        ends = message.fired_at + firing_hold
    alert: dict[str, object] = {
        "labels": message.labels,
        "annotations": annotations,
        "startsAt": message.fired_at.isoformat(),
        "endsAt": ends.isoformat(),
    }
    if message.dashboard_url:
        alert["generatorURL"] = message.dashboard_url
    return alert


def members(notification: Notification) -> list[Notification]:
    """A group notification as one notification per member alert (each with its own labels,
    segment included, and times), so Alertmanager groups, deduplicates and silences them
    itself; a notification without members (a test) as itself. A member with a
    ``resolved_at`` (one that recovered while its group still fires, or every member of a
    resolve) is posted resolved, ``endsAt`` its ``resolved_at``."""
    listed = notification.payload.get("alerts")
    if not isinstance(listed, list) or not listed:
        return [notification]
    shared = {k: v for k, v in notification.payload.items() if k != "alerts"}
    return [
        replace(
            notification,
            event="resolved" if member.get("resolved_at") else notification.event,
            payload={**shared, **member},
        )
        for member in listed
        if isinstance(member, Mapping)
    ]


class AlertmanagerNotifier:
    def __init__(
        self, target: ReceiverTarget, client: httpx.Client, dashboard_url: str | None = None
    ) -> None:
        self.target = target
        self.client = client
        self.dashboard_url = dashboard_url
        self.endpoint = f"{target.url.rstrip('/')}/api/v2/alerts"

    def send(self, notification: Notification) -> None:
        body = orjson.dumps(
            [
                alertmanager_alert(Message.of(one, self.dashboard_url), self.target.firing_hold)
                for one in members(notification)
            ]
        )
        post(
            self.client,
            self.endpoint,
            content=body,
            headers={},
            timeout=self.target.timeout,
            expect=(200,),
        )
