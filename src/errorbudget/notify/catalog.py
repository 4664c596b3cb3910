"""Receiver type → notifier: the one place that knows the implementations, so surfaces and
services name only ``errorbudget.notify`` (the ``surfaces-no-implementations`` contract)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import httpx

from errorbudget.alert_records import Notification
from errorbudget.notification_settings import (
    NotificationSettings,
    ReceiverTarget,
    ReceiverType,
    resolve_receivers,
)
from errorbudget.notify.alertmanager import AlertmanagerNotifier
from errorbudget.notify.base import TEST_ALERTNAME, Notifier
from errorbudget.notify.pagerduty import PagerDutyNotifier
from errorbudget.notify.slack import SlackNotifier
from errorbudget.notify.webhook import WebhookNotifier

NotifierFactory = Callable[[ReceiverTarget, httpx.Client, "str | None"], Notifier]

NOTIFIERS: Mapping[ReceiverType, NotifierFactory] = {
    "alertmanager": AlertmanagerNotifier,
    "slack": SlackNotifier,
    "pagerduty": PagerDutyNotifier,
    "webhook": WebhookNotifier,
}


def build_notifiers(
    targets: Mapping[str, ReceiverTarget],
    client: httpx.Client,
    dashboard_url: str | None = None,
) -> dict[str, Notifier]:
    """One notifier per receiver, all sharing ``client`` (its connection pool)."""
    return {
        name: NOTIFIERS[target.type](target, client, dashboard_url)
        for name, target in targets.items()
    }


def notifiers_from_settings(
    settings: NotificationSettings, environ: Mapping[str, str], client: httpx.Client
) -> dict[str, Notifier]:
    """The configured receivers' notifiers, their secrets read from ``environ`` now
    (ConfigError naming a missing variable)."""
    return build_notifiers(resolve_receivers(settings, environ), client, settings.dashboard_url)


def sample_notification(
    receiver: str, labels: Mapping[str, str], at: datetime, dashboard_url: str | None = None
) -> Notification:
    """The notification ``errorbudget alerts test`` sends: event ``test``, alert name
    ``ErrorBudgetTest``, a dedup key of its own (never folded into a real incident)."""
    shown = {"alertname": TEST_ALERTNAME, "slo": "test", "service": "errorbudget",
             "severity": "notice", **labels}  # fmt: skip
    shown["alertname"] = TEST_ALERTNAME
    stamp = at.strftime("%Y%m%dT%H%M%S")
    link = f"{dashboard_url.rstrip('/')}/" if dashboard_url else None
    return Notification(
        id=0,
        receiver=receiver,
        fingerprint="test",
        event="test",
        dedup_key=f"test-{receiver}-{stamp}",
        payload={
            "event": "test",
            "labels": shown,
            "summary": f"errorbudget test notification to {receiver}",
            "details": {},
            "runbook_url": None,
            "dashboard_url": link,
            "fired_at": at.isoformat(),
            "resolved_at": None,
        },
        created_at=at,
    )
