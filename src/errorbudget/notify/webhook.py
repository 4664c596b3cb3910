"""A generic webhook: the notification as JSON, signed with HMAC-SHA256.

Headers: ``X-Errorbudget-Timestamp`` (Unix seconds at sending), ``X-Errorbudget-Signature``
(``sha256=`` and the hex HMAC-SHA256, keyed with the receiver's secret, of
``"{timestamp}.{body}"``), ``X-Errorbudget-Dedup-Key`` (fingerprint and episode) and
``Idempotency-Key`` (``eb-<notification id>``: the same on every attempt at one notification,
whichever replica makes it, and different for every other notification).

A receiver verifies with :func:`verify_signature` or its own ten lines (docs/alerting.md):
recompute the HMAC over the timestamp, a dot and the raw body, compare in constant time, and
refuse a timestamp more than ``REPLAY_WINDOW`` away from its clock, so a captured request
cannot be replayed later. Delivery is at least once: a crash (or a failover) between a send
and its stamp sends that notification again, so a receiver drops a repeat by its
``Idempotency-Key``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import httpx
import orjson

from errorbudget.alert_records import Notification
from errorbudget.clock import Clock, utc_now
from errorbudget.notification_settings import ReceiverTarget
from errorbudget.notify.base import Message, post

REPLAY_WINDOW = timedelta(minutes=5)
"""How far a signed timestamp may be from the receiver's clock (either way)."""

TIMESTAMP_HEADER = "X-Errorbudget-Timestamp"
SIGNATURE_HEADER = "X-Errorbudget-Signature"
DEDUP_HEADER = "X-Errorbudget-Dedup-Key"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(notification: Notification) -> str:
    """One notification's key: every attempt at it sends the same one."""
    return f"eb-{notification.id}"


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "timestamp.body">``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify_signature(
    secret: bytes,
    *,
    timestamp: str,
    body: bytes,
    signature_header: str,
    now: float,
    window: timedelta = REPLAY_WINDOW,
) -> bool:
    """Whether a received request is errorbudget's: a well-formed timestamp within
    ``window`` of ``now`` (Unix seconds) and a signature that matches."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > window.total_seconds():
        return False
    return hmac.compare_digest(signature(secret, int(timestamp), body), signature_header)


def webhook_body(message: Message, notification: Notification) -> dict[str, object]:
    return {
        "version": 1,
        "id": notification.id,
        "receiver": notification.receiver,
        "event": message.event,
        "dedup_key": message.dedup_key,
        "fingerprint": notification.fingerprint,
        "labels": message.labels,
        "summary": message.summary,
        "details": dict(message.details),
        "runbook_url": message.runbook_url,
        "dashboard_url": message.dashboard_url,
        "fired_at": message.fired_at.isoformat(),
        "resolved_at": message.resolved_at.isoformat() if message.resolved_at else None,
        "queued_at": notification.created_at.isoformat(),
        "alerts": list(members)
        if isinstance(members := notification.payload.get("alerts"), list)
        else [],
    }


class WebhookNotifier:
    def __init__(
        self,
        target: ReceiverTarget,
        client: httpx.Client,
        dashboard_url: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if target.secret is None:
            raise ValueError(f"receiver {target.name!r} has no signing secret")
        self.target = target
        self.secret = target.secret
        self.client = client
        self.dashboard_url = dashboard_url
        self.clock = clock

    def send(self, notification: Notification) -> None:
        message = Message.of(notification, self.dashboard_url)
        body = orjson.dumps(webhook_body(message, notification), default=str)
        timestamp = int(self.clock().timestamp())
        post(
            self.client,
            self.target.url,
            content=body,
            headers={
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(self.secret, timestamp, body),
                DEDUP_HEADER: notification.dedup_key,
                IDEMPOTENCY_HEADER: idempotency_key(notification),
            },
            timeout=self.target.timeout,
        )
