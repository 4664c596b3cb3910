"""Alerts, the notification outbox and event claims on PostgreSQL with two stores on one
database — two ``serve`` replicas, or an ingest beside ``serve`` (issue #13).

The protocol tests (test_store_protocol.py, test_store_events.py) hold one store of each
backend; these hold what only a shared database adds: claims racing each other, ids that
follow commit order, a write of one replica seen by the other. Each store is its own
connections, so two stores here are two database sessions, as two processes would be.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from errorbudget.alert_records import NewNotification, dedup_key
from errorbudget.errors import ConflictError
from errorbudget.store import Store, open_store

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60


@pytest.fixture
def replicas(postgres_url: str) -> Iterator[tuple[Store, Store]]:
    """Two stores on one fresh database."""
    with ExitStack() as stack:
        first = stack.enter_context(open_store(postgres_url, clock=lambda: T0))
        second = stack.enter_context(open_store(postgres_url, clock=lambda: T0))
        yield first, second


def _race(*claims: Callable[[], None]) -> None:
    """Run ``claims`` at once, one thread each; re-raise the first failure."""
    start = threading.Barrier(len(claims))
    failures: list[BaseException] = []

    def run(claim: Callable[[], None]) -> None:
        start.wait()
        try:
            claim()
        except BaseException as exc:  # reported to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(claim,)) for claim in claims]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if failures:
        raise failures[0]


def test_two_stores_claiming_overlapping_ids_at_once_win_each_event_exactly_once(
    replicas: tuple[Store, Store],
) -> None:
    # 600 events over 4 minutes; each store claims 450 of them (300 in common) in batches
    # of 15, in its own order, so both hit the same minutes at the same time, each claim
    # reads the chunks the other just wrote, and busy minutes get compacted under the race
    events = [(f"call-{i}", M0 + i % 4) for i in range(600)]
    shares = [events[:450], events[150:]]
    shares[0] = [shares[0][i] for i in np.random.default_rng(7).permutation(450)]
    won: list[Counter[tuple[str, int]]] = [Counter(), Counter()]

    def claimer(store: Store, share: list[tuple[str, int]], tally: Counter[tuple[str, int]]):  # type: ignore[no-untyped-def]
        def claim() -> None:
            for start in range(0, len(share), 15):
                batch = share[start : start + 15]
                new = store.claim_event_ids([e for e, _ in batch], [m for _, m in batch])
                tally.update(
                    event for event, fresh in zip(batch, new.tolist(), strict=True) if fresh
                )

        return claim

    _race(*(claimer(*each) for each in zip(replicas, shares, won, strict=True)))
    both = won[0] + won[1]
    assert set(both) == set(events)  # every event won ...
    assert max(both.values()) == 1  # ... by exactly one claim
    assert won[0] and won[1]  # and both stores won some: they really raced
    for store in replicas:  # and whoever asks now, nothing is new any more
        assert not store.claim_event_ids([e for e, _ in events], [m for _, m in events]).any()


def _page(receiver: str, episode: int) -> NewNotification:
    return NewNotification(
        receiver=receiver,
        fingerprint="f" * 16,
        event="firing",
        dedup_key=dedup_key("f" * 16, episode),
        payload={"episode": episode},
    )


def test_notification_ids_follow_commit_order_across_stores(
    replicas: tuple[Store, Store],
) -> None:
    leader, other = replicas
    queued_by_other: list[int] = []

    def queue_on_other() -> None:
        [queued] = other.queue_notifications([_page("pager", 2)])
        queued_by_other.append(queued.id)

    with leader.transaction():
        [first] = leader.queue_notifications([_page("pager", 1)])
        writer = threading.Thread(target=queue_on_other)
        writer.start()
        time.sleep(0.3)
        assert writer.is_alive()  # the other store's write waits for the leader's commit
        assert other.next_notification("pager", T0) is None  # nothing committed yet
    writer.join(timeout=30)
    assert queued_by_other and queued_by_other[0] > first.id  # queued later, a larger id
    # each store hands out the same head, in queue order, and sees the other's deliveries
    assert other.next_notification("pager", T0) == first
    leader.mark_delivered(first.id, T0)
    head = other.next_notification("pager", T0)
    assert head is not None and head.id == queued_by_other[0]
    other.mark_delivered(head.id, T0 + timedelta(seconds=1))
    with pytest.raises(ConflictError):  # delivered by the other replica: never twice
        leader.mark_delivered(head.id, T0 + timedelta(seconds=2))
    assert leader.next_notification("pager", T0 + timedelta(seconds=2)) is None


def test_the_alert_minute_moves_forward_whichever_store_steps(
    replicas: tuple[Store, Store],
) -> None:
    leader, other = replicas
    leader.save_alerts([], M0 + 5)
    assert other.alert_minute() == M0 + 5
    with pytest.raises(ConflictError):
        other.save_alerts([], M0 + 4)
    other.save_alerts([], M0 + 6)
    assert leader.alert_minute() == M0 + 6
