"""The notification outbox and delivery log (table ``notifications``, schema v7 in
``schema.py``).

A notification is queued in the transaction of the alert transition it tells of (the
caller's), handed out oldest first per receiver — a head that waits for its next attempt
holds the receiver's later ones behind it, so a receiver hears everything in order — and
stamped delivered, or failed after the last attempt. Rows are never deleted: the table is
the delivery log. ``OutboxPart`` (``store/record_parts.py``) is the ``NotificationOutbox``
half of ``SQLiteStore``; only the queueing is SQLite's own here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import NOTIFICATION_COLUMNS, notification_of, timestamp

PLACEHOLDER = "?"
"""sqlite3's (``record_parts.Dialect``)."""


def queue_notifications(
    connection: sqlite3.Connection, at: datetime, items: Sequence[NewNotification]
) -> list[Notification]:
    created = timestamp(at, "the queueing time")
    queued: list[Notification] = []
    for item in items:
        [row] = connection.execute(
            "INSERT INTO notifications (receiver, fingerprint, event, dedup_key, payload, "
            f"created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {NOTIFICATION_COLUMNS}",
            (*rows_.notification_row(item), created),
        ).fetchall()  # all: SQLite finishes an INSERT … RETURNING once its rows are read
        queued.append(notification_of(row))
    return queued
