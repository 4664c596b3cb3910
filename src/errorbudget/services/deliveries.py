"""The delivery worker: sends queued notifications to their receivers, at least once, in
order per receiver, with exponential backoff (docs/alerting.md "Delivery").

Per receiver, the worker takes the oldest pending notification that is due
(``NotificationOutbox.next_notification``), sends it with the receiver's notifier, and
stamps it delivered, or records the failed attempt with when to try again
(``RetrySettings.next_attempt``: initial × factor^(n−1), capped) — or gives up (status
``failed``, logged with the reason) after ``give_up_after`` or at once for a permanent
failure (a 4xx other than 408/429). A failing head holds its receiver's later notifications
behind it, so a receiver hears everything in order; each receiver runs in its own task, so
one receiver's failures or timeouts never delay another.

Before it sends, the worker claims the notification (``claim_notification``: a write
transaction, so in ``serve``'s leader it passes the term's fence and the store's write
lock): a deposed leader, or one whose store another process holds locked, sends nothing.
What can still repeat a send: the process ending (or pausing past the leader lease's ttl)
between the claim and the stamp — in practice between the receiver's answer and the stamp.
Delivery is at least once; the receiver drops the repeat by its dedup key where it has one
(docs/operations.md, "Replicas and leader election").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from errorbudget.alert_records import Notification
from errorbudget.clock import Clock
from errorbudget.errors import ConflictError, DeliveryError, ErrorBudgetError
from errorbudget.notification_settings import RetrySettings
from errorbudget.notify import Notifier
from errorbudget.store.protocols import NotificationOutbox

log = logging.getLogger("errorbudget.services.deliveries")

Outcome = Literal["delivered", "retrying", "failed"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One send: which notification, how it went, and the reason when it did not."""

    notification: Notification
    outcome: Outcome
    error: str | None = None


class DeliveryWorker:
    def __init__(
        self,
        outbox: NotificationOutbox,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        retry: RetrySettings | None = None,
    ) -> None:
        self.outbox = outbox
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.retry = retry or RetrySettings()

    def attempt(self, receiver: str) -> Attempt | None:
        """Send ``receiver``'s next due notification once and record how it went (None when
        nothing is due). Blocking: the store and the HTTP call."""
        now = self.clock()
        notification = self.outbox.next_notification(receiver, now)
        if notification is None:
            return None
        # Claimed in a write transaction first: a leader that cannot write now (deposed:
        # FencedError; the store locked by another process: StoreBusyError) sends nothing,
        # rather than sending and then failing to stamp it (and sending it again).
        try:
            notification = self.outbox.claim_notification(notification.id)
        except ConflictError:  # delivered or given up since it was read
            return None
        try:
            self.notifiers[receiver].send(notification)
        except DeliveryError as exc:
            return self._failed(notification, exc)
        except Exception as exc:  # a notifier's defect: recorded, and retried with backoff
            log.exception("notifier %s failed on notification %d", receiver, notification.id)
            failure = DeliveryError(f"the notifier failed ({type(exc).__name__})")
            return self._failed(notification, failure)
        delivered = self.outbox.mark_delivered(notification.id, self.clock())
        log.info(
            "notification %d delivered to %s",
            notification.id,
            receiver,
            extra={"receiver": receiver, "dedup_key": notification.dedup_key},
        )
        return Attempt(delivered, "delivered")

    def _failed(self, notification: Notification, exc: DeliveryError) -> Attempt:
        at = self.clock()
        reason = str(exc)
        following = (
            self.retry.next_attempt(
                queued_at=notification.created_at,
                attempts=notification.attempts + 1,
                failed_at=at,
            )
            if exc.retryable
            else None
        )
        recorded = self.outbox.mark_failed_attempt(
            notification.id, error=reason, at=at, next_attempt_at=following
        )
        extra = {"receiver": notification.receiver, "dedup_key": notification.dedup_key}
        if following is None:
            why = "a permanent failure" if not exc.retryable else "the retry limit"
            log.error(
                "notification %d to %s given up after %d attempt(s) (%s): %s",
                notification.id,
                notification.receiver,
                recorded.attempts,
                why,
                reason,
                extra=extra,
            )
            return Attempt(recorded, "failed", reason)
        log.warning(
            "notification %d to %s failed (attempt %d), next at %s: %s",
            notification.id,
            notification.receiver,
            recorded.attempts,
            following.isoformat(),
            reason,
            extra=extra,
        )
        return Attempt(recorded, "retrying", reason)

    def drain(self, receiver: str) -> list[Attempt]:
        """Send what is due for ``receiver`` until its queue is empty, its head waits for a
        retry, or an attempt fails."""
        attempts: list[Attempt] = []
        while (attempt := self.attempt(receiver)) is not None:
            attempts.append(attempt)
            if attempt.outcome == "retrying":
                break
        return attempts

    def deliver_due(self) -> list[Attempt]:
        """:meth:`drain` every receiver once, in name order (tests and one-shot runs)."""
        return [attempt for name in sorted(self.notifiers) for attempt in self.drain(name)]

    async def run(self, stop: asyncio.Event, every: float = 1.0) -> None:
        """Deliver until ``stop`` is set: one task per receiver, each draining its queue in a
        worker thread and then waiting ``every`` seconds (or for ``stop``). The tasks live
        and die together (a task group): were one to end while the others ran on, a restart
        of the job would have two drain one receiver and send its notifications twice."""
        async with asyncio.TaskGroup() as tasks:
            for name in sorted(self.notifiers):
                tasks.create_task(self._serve(name, stop, every))

    async def _serve(self, receiver: str, stop: asyncio.Event, every: float) -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.drain, receiver)
            except ErrorBudgetError as exc:  # the store: try again next round
                log.warning("deliveries to %s: %s", receiver, exc, extra={"receiver": receiver})
            except Exception:  # a notifier's defect: logged, the receiver tried again later
                log.exception("deliveries to %s failed", receiver, extra={"receiver": receiver})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
