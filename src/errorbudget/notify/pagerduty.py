"""PagerDuty Events API v2: ``trigger`` when an alert fires, ``resolve`` when it resolves,
both with ``dedup_key`` = the notification's dedup key (fingerprint and episode), so a
repeated delivery is folded into the same incident and the resolve closes it.

``payload.severity`` is ``critical`` for a page and ``warning`` otherwise; ``links`` point at
the dashboard and the runbook. The endpoint is the receiver's ``url`` (PagerDuty's Events API
v2 enqueue URL, or a regional or proxy one). A test notification triggers and at once resolves
an ``info`` event.
"""

from __future__ import annotations

import httpx
import orjson

from errorbudget.alert_records import Notification
from errorbudget.notification_settings import ReceiverTarget
from errorbudget.notify.alertmanager import description
from errorbudget.notify.base import Message, post

_SUMMARY_LIMIT = 1024  # the Events API's limit on payload.summary


def pagerduty_events(message: Message, routing_key: str) -> list[dict[str, object]]:
    """The event(s) to enqueue for ``message``: one trigger or resolve (a test: both)."""
    if message.event == "resolved":
        return [{"routing_key": routing_key, "event_action": "resolve",
                 "dedup_key": message.dedup_key}]  # fmt: skip
    severity = {"page": "critical"}.get(message.severity, "warning")
    if message.event == "test":
        severity = "info"
    details: dict[str, object] = {"labels": message.labels}
    if text := description(message):
        details["description"] = text
    details.update({k: v for k, v in message.details.items() if k != "conditions"})
    links = [
        {"href": url, "text": text}
        for url, text in ((message.dashboard_url, "Dashboard"), (message.runbook_url, "Runbook"))
        if url
    ]
    trigger: dict[str, object] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": message.dedup_key,
        "payload": {
            "summary": message.summary[:_SUMMARY_LIMIT],
            "source": message.labels.get("service") or "errorbudget",
            "severity": severity,
            "timestamp": message.fired_at.isoformat(),
            "component": message.slo or None,
            "group": message.labels.get("service"),
            "class": message.labels.get("alertname"),
            "custom_details": details,
        },
        "client": "errorbudget",
        "links": links,
    }
    if message.dashboard_url:
        trigger["client_url"] = message.dashboard_url
    if message.event == "test":
        return [trigger, {"routing_key": routing_key, "event_action": "resolve",
                          "dedup_key": message.dedup_key}]  # fmt: skip
    return [trigger]


class PagerDutyNotifier:
    def __init__(
        self, target: ReceiverTarget, client: httpx.Client, dashboard_url: str | None = None
    ) -> None:
        if target.routing_key is None:
            raise ValueError(f"receiver {target.name!r} has no routing key")
        self.target = target
        self.routing_key = target.routing_key
        self.client = client
        self.dashboard_url = dashboard_url

    def send(self, notification: Notification) -> None:
        message = Message.of(notification, self.dashboard_url)
        for event in pagerduty_events(message, self.routing_key):
            post(
                self.client,
                self.target.url,
                content=orjson.dumps(event),
                headers={},
                timeout=self.target.timeout,
                expect=(200, 202),
            )
