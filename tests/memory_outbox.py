"""An in-memory ``NotificationOutbox`` for the delivery worker's tests: the protocol as the
SQLite outbox implements it (oldest pending first per receiver, a head that waits holds the
rest, ConflictError on a notification that is no longer pending, the log newest first)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from errorbudget.alert_records import NewNotification, Notification
from errorbudget.errors import ConflictError, NotFoundError


class MemoryOutbox:
    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self._rows: dict[int, Notification] = {}
        self._lock = threading.Lock()

    def queue_notifications(self, items: Sequence[NewNotification]) -> list[Notification]:
        with self._lock:
            queued = []
            for item in items:
                number = len(self._rows) + 1
                self._rows[number] = Notification(
                    id=number,
                    receiver=item.receiver,
                    fingerprint=item.fingerprint,
                    event=item.event,
                    dedup_key=item.dedup_key,
                    payload=dict(item.payload),
                    created_at=self._clock(),
                )
                queued.append(self._rows[number])
            return queued

    def next_notification(self, receiver: str, now: datetime) -> Notification | None:
        with self._lock:
            pending = [
                n for n in self._rows.values() if n.receiver == receiver and n.status == "pending"
            ]
            if not pending:
                return None
            head = min(pending, key=lambda n: n.id)
            if head.next_attempt_at is not None and head.next_attempt_at > now:
                return None
            return head

    def _pending(self, notification_id: int) -> Notification:
        found = self._rows.get(notification_id)
        if found is None:
            raise NotFoundError(f"no notification {notification_id}")
        if found.status != "pending":
            raise ConflictError(f"notification {notification_id} is already {found.status}")
        return found

    def claim_notification(self, notification_id: int) -> Notification:
        with self._lock:
            return self._pending(notification_id)

    def mark_delivered(self, notification_id: int, at: datetime) -> Notification:
        with self._lock:
            found = self._pending(notification_id)
            self._rows[notification_id] = replace(
                found,
                status="delivered",
                attempts=found.attempts + 1,
                delivered_at=at,
                next_attempt_at=None,
            )
            return self._rows[notification_id]

    def mark_failed_attempt(
        self,
        notification_id: int,
        *,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> Notification:
        with self._lock:
            found = self._pending(notification_id)
            self._rows[notification_id] = replace(
                found,
                status="failed" if next_attempt_at is None else "pending",
                attempts=found.attempts + 1,
                last_error=error,
                next_attempt_at=next_attempt_at,
            )
            return self._rows[notification_id]

    def list_notifications(
        self,
        *,
        receiver: str | None = None,
        fingerprint: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        if limit < 0:  # as the stores (store/record_parts.py)
            raise ValueError(f"a limit of notifications cannot be negative ({limit})")
        with self._lock:
            found = [
                n
                for n in self._rows.values()
                if (receiver is None or n.receiver == receiver)
                and (fingerprint is None or n.fingerprint == fingerprint)
                and (status is None or n.status == status)
            ]
            return sorted(found, key=lambda n: -n.id)[:limit]
