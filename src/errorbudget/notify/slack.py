"""Slack incoming webhook, as Block Kit: a header with the state, severity and SLO, the
summary, fields for the burn rates of both windows, the budget remaining and the time to
exhaustion, and buttons to the runbook and the dashboard. A resolve is a shorter message
with the same header shape. ``text`` is the fallback shown in notifications.
"""

from __future__ import annotations

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

_HEADER_LIMIT = 150  # Slack's limit on a header block's text
_EMOJI = {"page": ":rotating_light:", "ticket": ":warning:", "notice": ":information_source:"}


def _field(title: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{title}*\n{value}"}


def slack_message(message: Message) -> dict[str, object]:
    """The webhook's JSON body for ``message``."""
    where = message.slo + "".join(
        f" {key}={value}"
        for key, value in sorted(message.labels.items())
        if key not in ("alertname", "slo", "service", "severity")
    )
    state = {"firing": "FIRING", "resolved": "RESOLVED", "test": "TEST"}[message.event]
    emoji = (
        ":white_check_mark:"
        if message.event == "resolved"
        else _EMOJI.get(message.severity, ":bell:")
    )
    header = f"{emoji} {state} · {message.severity.upper()} · {where}"[:_HEADER_LIMIT]
    blocks: list[dict[str, object]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": message.summary}},
    ]
    if message.event == "resolved":
        resolved = message.resolved_at or message.fired_at
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Fired {message.fired_at:%Y-%m-%d %H:%M} UTC, "
                        f"resolved {resolved:%Y-%m-%d %H:%M} UTC",
                    }
                ],
            }
        )
    else:
        fields = []
        for rate in message.shown_burn_rates()[:4]:
            fields.append(_field(f"Burn rate {rate.long_window}", burn_text(rate.long_burn_rate)))
            fields.append(_field(f"Burn rate {rate.short_window}", burn_text(rate.short_burn_rate)))
        fields.append(_field("Budget remaining", percent_text(message.budget_remaining_ratio)))
        fields.append(
            _field("Time to exhaustion", duration_text(message.time_to_exhaustion_seconds))
        )
        blocks.append({"type": "section", "fields": fields[:10]})  # Slack allows 10 fields
    buttons: list[dict[str, object]] = []
    if message.runbook_url:
        buttons.append(_button("Runbook", message.runbook_url, "runbook"))
    if message.dashboard_url:
        buttons.append(_button("Dashboard", message.dashboard_url, "dashboard"))
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": f"{state} {message.severity} {where}: {message.summary}", "blocks": blocks}


def _button(text: str, url: str, action: str) -> dict[str, object]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "url": url,
        "action_id": action,
    }


class SlackNotifier:
    def __init__(
        self, target: ReceiverTarget, client: httpx.Client, dashboard_url: str | None = None
    ) -> None:
        self.target = target
        self.client = client
        self.dashboard_url = dashboard_url

    def send(self, notification: Notification) -> None:
        message = Message.of(notification, self.dashboard_url)
        post(
            self.client,
            self.target.url,
            content=orjson.dumps(slack_message(message)),
            headers={},
            timeout=self.target.timeout,
            expect=(200,),
        )
