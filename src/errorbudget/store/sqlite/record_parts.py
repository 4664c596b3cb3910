"""The alert records, notification outbox and event records of ``SQLiteStore``: the methods
of ``store/record_parts.py`` over this backend's SQL (``alerts.py``, ``outbox.py``,
``events.py``)."""

from __future__ import annotations

from typing import ClassVar

from errorbudget.store import record_parts
from errorbudget.store.sqlite import alerts, events, outbox
from errorbudget.store.sqlite.access import Access


class AlertsPart(record_parts.AlertsPart[Access]):
    """``AlertRecords`` over SQLite."""

    _alert_sql: ClassVar[record_parts.AlertSql] = alerts


class OutboxPart(record_parts.OutboxPart[Access]):
    """``NotificationOutbox`` over SQLite."""

    _outbox_sql: ClassVar[record_parts.OutboxSql] = outbox


class EventsPart(record_parts.EventsPart[Access]):
    """``EventRecords`` over SQLite."""

    _event_sql: ClassVar[record_parts.EventSql] = events
