"""The PostgreSQL store's notification outbox and delivery log (table ``notifications`` in
``sql/55_outbox.sql``, the same as SQLite's; ``store/sqlite/outbox.py`` says how it is
used). ``OutboxPart`` is the ``NotificationOutbox`` half of ``PostgresStore``.

Rows and records are mapped, and state changes checked, by ``store/alert_rows.py``, shared
with SQLite; only the SQL is here. A receiver hears its notifications in id order, and ids
follow commit order however many replicas write: every write holds the store's write lock
from its ``BEGIN`` (``access.py``), so no transaction takes an id while another one that
took a smaller id is still open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.errors import NotFoundError
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import NOTIFICATION_COLUMNS, notification_of, timestamp
from errorbudget.store.postgres.access import Connection, PgAccess


def get_notification(connection: Connection, notification_id: int) -> Notification:
    row = connection.execute(
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = %s", (int(notification_id),)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no notification {notification_id}")
    return notification_of(row)


def queue_notifications(
    connection: Connection, at: datetime, items: Sequence[NewNotification]
) -> list[Notification]:
    created = timestamp(at, "the queueing time")
    rows = [(*rows_.notification_row(item), created) for item in items]
    if not rows:
        return []
    queued: list[Notification] = []
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO notifications (receiver, fingerprint, event, dedup_key, payload, "
            f"created_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING {NOTIFICATION_COLUMNS}",
            rows,
            returning=True,
        )
        while True:  # one result per row, in the order of the items
            queued.extend(notification_of(row) for row in cursor.fetchall())
            if not cursor.nextset():
                break
    return queued


def mark_delivered(connection: Connection, notification_id: int, at: datetime) -> Notification:
    attempts, delivered_at = rows_.delivery(get_notification(connection, notification_id), at)
    connection.execute(
        "UPDATE notifications SET status = 'delivered', attempts = %s, delivered_at = %s, "
        "next_attempt_at = NULL WHERE id = %s",
        (attempts, delivered_at, int(notification_id)),
    )
    return get_notification(connection, notification_id)


def mark_failed_attempt(
    connection: Connection,
    notification_id: int,
    *,
    error: str,
    at: datetime,
    next_attempt_at: datetime | None,
) -> Notification:
    found = get_notification(connection, notification_id)
    connection.execute(
        "UPDATE notifications SET status = %s, attempts = %s, last_error = %s, "
        "next_attempt_at = %s WHERE id = %s",
        (
            *rows_.failed_attempt(found, error=error, at=at, next_attempt_at=next_attempt_at),
            int(notification_id),
        ),
    )
    return get_notification(connection, notification_id)


class OutboxPart:
    """``NotificationOutbox`` over PostgreSQL."""

    _db: PgAccess
    _clock: Callable[[], datetime]

    def queue_notifications(self, items: Sequence[NewNotification]) -> list[Notification]:
        """Queue notifications (in the caller's transaction when one is open)."""
        with self._db.writing("queue notifications") as connection:
            return queue_notifications(connection, self._clock(), items)

    def next_notification(self, receiver: str, now: datetime) -> Notification | None:
        """The oldest pending notification of ``receiver`` if it is due at ``now``."""
        with self._db.reading("read the next notification") as connection:
            row = connection.execute(
                f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "
                "WHERE receiver = %s AND status = 'pending' ORDER BY id LIMIT 1",
                (receiver,),
            ).fetchone()
        return rows_.due(None if row is None else notification_of(row), now)

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
        filters = rows_.equal_filters(receiver=receiver, fingerprint=fingerprint, status=status)
        clause = " AND ".join(f"{column} = %s" for column, _ in filters)
        with self._db.reading("list notifications") as connection:
            rows = connection.execute(
                f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "
                f"{'WHERE ' + clause + ' ' if filters else ''}ORDER BY id DESC LIMIT %s",
                (*(value for _, value in filters), int(limit)),
            )
            return [notification_of(row) for row in rows]
