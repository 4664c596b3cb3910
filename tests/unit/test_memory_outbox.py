"""The in-memory outbox double keeps the ``NotificationOutbox`` contract the worker relies on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from errorbudget.alert_records import NewNotification
from errorbudget.errors import ConflictError, NotFoundError
from errorbudget.store.protocols import NotificationOutbox
from memory_outbox import MemoryOutbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def item(receiver: str, key: str) -> NewNotification:
    return NewNotification(receiver, "fp", "firing", key, {"summary": key})


def test_it_is_an_outbox_and_hands_out_in_order_per_receiver() -> None:
    outbox: NotificationOutbox = MemoryOutbox(lambda: T0)
    first, other, second = outbox.queue_notifications(
        [item("a", "k1"), item("b", "k2"), item("a", "k3")]
    )
    assert [first.id, other.id, second.id] == [1, 2, 3]
    assert outbox.next_notification("a", T0) == first
    assert outbox.next_notification("b", T0) == other
    outbox.mark_delivered(first.id, T0)
    assert outbox.next_notification("a", T0) == second
    assert outbox.next_notification("c", T0) is None


def test_a_waiting_head_holds_the_receivers_later_ones() -> None:
    outbox = MemoryOutbox(lambda: T0)
    head, _ = outbox.queue_notifications([item("a", "k1"), item("a", "k2")])
    later = T0 + timedelta(seconds=30)
    waiting = outbox.mark_failed_attempt(head.id, error="HTTP 503", at=T0, next_attempt_at=later)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 1, "HTTP 503")
    assert outbox.next_notification("a", T0 + timedelta(seconds=29)) is None
    assert outbox.next_notification("a", later) == waiting


def test_giving_up_fails_it_and_the_next_one_comes_up() -> None:
    outbox = MemoryOutbox(lambda: T0)
    head, following = outbox.queue_notifications([item("a", "k1"), item("a", "k2")])
    failed = outbox.mark_failed_attempt(head.id, error="HTTP 400", at=T0, next_attempt_at=None)
    assert failed.status == "failed"
    assert outbox.next_notification("a", T0) == following
    with pytest.raises(ConflictError):
        outbox.mark_delivered(head.id, T0)
    with pytest.raises(NotFoundError):
        outbox.mark_delivered(99, T0)


def test_the_log_is_newest_first_and_filters() -> None:
    outbox = MemoryOutbox(lambda: T0)
    outbox.queue_notifications([item("a", "k1"), item("b", "k2"), item("a", "k3")])
    outbox.mark_delivered(1, T0)
    assert [n.id for n in outbox.list_notifications()] == [3, 2, 1]
    assert [n.id for n in outbox.list_notifications(receiver="a")] == [3, 1]
    assert [n.id for n in outbox.list_notifications(status="delivered")] == [1]
    assert [n.id for n in outbox.list_notifications(limit=1)] == [3]
