"""The PostgreSQL store's own SQL of the notification outbox and delivery log (table
``notifications`` in ``sql/55_outbox.sql``, the same as SQLite's; ``store/sqlite/outbox.py``
says how it is used): the queueing, one pipelined ``INSERT … RETURNING`` per notification;
the rest of ``OutboxPart`` (``store/record_parts.py``, via ``outbox_part.py``) is SQL both
backends speak alike. A receiver hears its notifications in id order, and ids
follow commit order however many replicas write: every write holds the store's write lock
from its ``BEGIN`` (``access.py``), so no transaction takes an id while another one that
took a smaller id is still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import NOTIFICATION_COLUMNS, notification_of, timestamp
from errorbudget.store.postgres.access import Connection

PLACEHOLDER = "%s"
"""psycopg's (``record_parts.Dialect``)."""


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
