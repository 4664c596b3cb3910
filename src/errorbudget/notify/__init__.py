"""Notifiers: outbound adapters that deliver a queued notification to one receiver
(docs/alerting.md "Notifications").

- :class:`Notifier`: ``send(notification)``, raising :class:`DeliveryError` (retryable or
  not) when the receiver did not take it.
- Four implementations, one module each: ``alertmanager`` (API v2), ``slack`` (incoming
  webhook, Block Kit), ``pagerduty`` (Events API v2), ``webhook`` (JSON signed with
  HMAC-SHA256 and a timestamp). :func:`build_notifiers` maps receiver types to them; no
  other module names an implementation.

The delivery worker (``services/deliveries.py``) decides when to send and what to record;
a notifier only speaks its receiver's protocol.
"""

from errorbudget.errors import DeliveryError
from errorbudget.notify.base import TEST_ALERTNAME, Message, Notifier
from errorbudget.notify.catalog import (
    NOTIFIERS,
    build_notifiers,
    notifiers_from_settings,
    sample_notification,
)

__all__ = [
    "NOTIFIERS",
    "TEST_ALERTNAME",
    "DeliveryError",
    "Message",
    "Notifier",
    "build_notifiers",
    "notifiers_from_settings",
    "sample_notification",
]
