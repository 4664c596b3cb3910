"""The notification outbox and delivery log (table ``notifications``, schema v7 in
``schema.py``).

A notification is queued in the transaction of the alert transition it tells of (the
caller's), handed out oldest first per receiver — a head that waits for its next attempt
holds the receiver's later ones behind it, so a receiver hears everything in order — and
stamped delivered, or failed after the last attempt. Rows are never deleted: the table is
the delivery log. ``OutboxPart`` is the ``NotificationOutbox`` half of ``SQLiteStore``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from errorbudget.alert_records import (
    DeliveryStatus,
    NewNotification,
    Notification,
    NotificationEvent,
)
from errorbudget.errors import ConflictError, NotFoundError, StoreError
from errorbudget.store.sqlite.access import Access

_COLUMNS = (
    "id, receiver, fingerprint, event, dedup_key, payload, created_at, status, attempts, "
    "next_attempt_at, last_error, delivered_at"
)


def _timestamp(moment: datetime, what: str) -> str:
    if moment.tzinfo is None:
        raise StoreError(f"{what} is a naive datetime: give it a time zone")
    return moment.astimezone(UTC).isoformat()


def _when(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _notification(row: Sequence[Any]) -> Notification:
    return Notification(
        id=int(row[0]),
        receiver=row[1],
        fingerprint=row[2],
        event=cast(NotificationEvent, row[3]),
        dedup_key=row[4],
        payload=json.loads(row[5]),
        created_at=datetime.fromisoformat(row[6]),
        status=cast(DeliveryStatus, row[7]),
        attempts=int(row[8]),
        next_attempt_at=_when(row[9]),
        last_error=row[10],
        delivered_at=_when(row[11]),
    )


def get_notification(connection: sqlite3.Connection, notification_id: int) -> Notification:
    row = connection.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", (notification_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no notification {notification_id}")
    return _notification(row)


def queue_notifications(
    connection: sqlite3.Connection, at: datetime, items: Sequence[NewNotification]
) -> list[Notification]:
    created = _timestamp(at, "the queueing time")
    queued: list[Notification] = []
    for item in items:
        try:
            payload = orjson.dumps(dict(item.payload), default=str).decode()
        except (TypeError, ValueError) as exc:
            raise StoreError(f"a notification's payload is not JSON: {exc}") from exc
        cursor = connection.execute(
            "INSERT INTO notifications (receiver, fingerprint, event, dedup_key, payload, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (item.receiver, item.fingerprint, item.event, item.dedup_key, payload, created),
        )
        queued.append(get_notification(connection, int(cursor.lastrowid or 0)))
    return queued


def next_notification(
    connection: sqlite3.Connection, receiver: str, now: datetime
) -> Notification | None:
    row = connection.execute(
        f"SELECT {_COLUMNS} FROM notifications WHERE receiver = ? AND status = 'pending' "
        "ORDER BY id LIMIT 1",
        (receiver,),
    ).fetchone()
    if row is None:
        return None
    head = _notification(row)
    if head.next_attempt_at is not None and head.next_attempt_at > now:
        return None
    return head


def _pending(connection: sqlite3.Connection, notification_id: int) -> Notification:
    found = get_notification(connection, notification_id)
    if found.status != "pending":
        raise ConflictError(f"notification {notification_id} is already {found.status}")
    return found


def mark_delivered(
    connection: sqlite3.Connection, notification_id: int, at: datetime
) -> Notification:
    found = _pending(connection, notification_id)
    connection.execute(
        "UPDATE notifications SET status = 'delivered', attempts = ?, delivered_at = ?, "
        "next_attempt_at = NULL WHERE id = ?",
        (found.attempts + 1, _timestamp(at, "the delivery time"), notification_id),
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
    found = _pending(connection, notification_id)
    _timestamp(at, "the attempt time")
    following = None if next_attempt_at is None else _timestamp(next_attempt_at, "the next attempt")
    connection.execute(
        "UPDATE notifications SET status = ?, attempts = ?, last_error = ?, "
        "next_attempt_at = ? WHERE id = ?",
        (
            "failed" if next_attempt_at is None else "pending",
            found.attempts + 1,
            error,
            following,
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
    where: list[str] = []
    values: list[object] = []
    for column, value in (("receiver", receiver), ("fingerprint", fingerprint), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            values.append(value)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = connection.execute(
        f"SELECT {_COLUMNS} FROM notifications {clause}ORDER BY id DESC LIMIT ?",
        (*values, int(limit)),
    )
    return [_notification(row) for row in rows]


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
