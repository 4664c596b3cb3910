"""The notification outbox and delivery log (table ``notifications``, schema v7 in
``schema.py``).

A notification is queued in the transaction of the alert transition it tells of (the
caller's), handed out oldest first per receiver — a head that waits for its next attempt
holds the receiver's later ones behind it, so a receiver hears everything in order — and
stamped delivered, or failed after the last attempt. Rows are never deleted: the table is
the delivery log. ``OutboxPart`` is the ``NotificationOutbox`` half of ``SQLiteStore``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.errors import NotFoundError
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import NOTIFICATION_COLUMNS, notification_of, timestamp
from errorbudget.store.sqlite.access import Access


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


class OutboxPart:
    """``NotificationOutbox`` over SQLite."""

    _db: Access
    _clock: Callable[[], datetime]

    def queue_notifications(self, items: Sequence[NewNotification]) -> list[Notification]:
        """Queue notifications (in the caller's transaction when one is open)."""
        with self._db.writing("queue notifications") as connection:
            return queue_notifications(connection, self._clock(), items)

    def next_notification(self, receiver: str, now: datetime) -> Notification | None:
        """The oldest pending notification of ``receiver`` if it is due at ``now``."""
        with self._db.reading("read the next notification") as connection:
            return next_notification(connection, receiver, now)

    def mark_delivered(self, notification_id: int, at: datetime) -> Notification:
        """Stamp a pending notification delivered (ConflictError when it is not pending)."""
        with self._db.writing("mark a notification delivered") as connection:
            return mark_delivered(connection, notification_id, at)

    def mark_failed_attempt(
        self,
        notification_id: int,
        *,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> Notification:
        """Record a failed attempt; ``next_attempt_at`` None gives up (``failed``)."""
        with self._db.writing("record a failed delivery") as connection:
            return mark_failed_attempt(
                connection, notification_id, error=error, at=at, next_attempt_at=next_attempt_at
            )

    def list_notifications(
        self,
        *,
        receiver: str | None = None,
        fingerprint: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """The delivery log, newest first."""
        with self._db.reading("list notifications") as connection:
            return list_notifications(
                connection, receiver=receiver, fingerprint=fingerprint, status=status, limit=limit
            )
