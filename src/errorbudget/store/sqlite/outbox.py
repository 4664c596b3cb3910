"""The notification outbox and delivery log (table ``notifications``, schema v7 in
``schema.py``).

A notification is queued in the transaction of the alert transition it tells of (the
caller's), handed out oldest first per receiver — a head that waits for its next attempt
holds the receiver's later ones behind it, so a receiver hears everything in order — and
stamped delivered, or failed after the last attempt. Rows are never deleted: the table is
the delivery log. These are the SQL of ``OutboxPart`` (``record_parts.py``), the
``NotificationOutbox`` half of ``SQLiteStore``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.errors import NotFoundError
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import NOTIFICATION_COLUMNS, notification_of, timestamp


def get_notification(connection: sqlite3.Connection, notification_id: int) -> Notification:
    row = connection.execute(
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?", (notification_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no notification {notification_id}")
    return notification_of(row)


def queue_notifications(
    connection: sqlite3.Connection, at: datetime, items: Sequence[NewNotification]
) -> list[Notification]:
    created = timestamp(at, "the queueing time")
    queued: list[Notification] = []
    for item in items:
        cursor = connection.execute(
            "INSERT INTO notifications (receiver, fingerprint, event, dedup_key, payload, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (*rows_.notification_row(item), created),
        )
        queued.append(get_notification(connection, int(cursor.lastrowid or 0)))
    return queued


def next_notification(
    connection: sqlite3.Connection, receiver: str, now: datetime
) -> Notification | None:
    row = connection.execute(
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "
        "WHERE receiver = ? AND status = 'pending' ORDER BY id LIMIT 1",
        (receiver,),
    ).fetchone()
    return rows_.due(None if row is None else notification_of(row), now)


def mark_delivered(
    connection: sqlite3.Connection, notification_id: int, at: datetime
) -> Notification:
    attempts, delivered_at = rows_.delivery(get_notification(connection, notification_id), at)
    connection.execute(
        "UPDATE notifications SET status = 'delivered', attempts = ?, delivered_at = ?, "
        "next_attempt_at = NULL WHERE id = ?",
        (attempts, delivered_at, notification_id),
    )
    return get_notification(connection, notification_id)


def mark_failed_attempt(
    connection: sqlite3.Connection,
    notification_id: int,
    *,
    error: str,
    at: datetime,
    next_attempt_at: datetime | None,
) -> Notification:
    found = get_notification(connection, notification_id)
    connection.execute(
        "UPDATE notifications SET status = ?, attempts = ?, last_error = ?, "
        "next_attempt_at = ? WHERE id = ?",
        (
            *rows_.failed_attempt(found, error=error, at=at, next_attempt_at=next_attempt_at),
            notification_id,
        ),
    )
    return get_notification(connection, notification_id)


def list_notifications(
    connection: sqlite3.Connection,
    *,
    receiver: str | None,
    fingerprint: str | None,
    status: str | None,
    limit: int,
) -> list[Notification]:
    filters = rows_.equal_filters(receiver=receiver, fingerprint=fingerprint, status=status)
    clause = " AND ".join(f"{column} = ?" for column, _ in filters)
    rows = connection.execute(
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "
        f"{'WHERE ' + clause + ' ' if filters else ''}ORDER BY id DESC LIMIT ?",
        (*(value for _, value in filters), int(limit)),
    )
    return [notification_of(row) for row in rows]
