"""Leases and fencing (``Leases`` in store/protocols.py), held against every backend
(``store_backends.BACKENDS``, via the ``store`` fixture): take, renew, expiry, the fencing
token, release, and writes fenced inside a leader's context."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from errorbudget.errors import FencedError, StoreError
from errorbudget.store import Store
from errorbudget.store.fencing import Fence, fenced

M0 = int(datetime(2026, 3, 2, 9, 30, tzinfo=UTC).timestamp()) // 60


def test_a_free_lease_is_taken_and_renewed_by_its_holder_with_the_same_token(
    store: Store,
) -> None:
    assert store.current_lease("leader") is None
    first = store.acquire_lease("leader", "a", ttl=30)
    assert first is not None
    assert (first.name, first.holder, first.token) == ("leader", "a", 1)
    assert 29 < (first.expires_at - first.acquired_at).total_seconds() <= 30.5
    assert store.acquire_lease("leader", "b", ttl=30) is None  # held: b waits
    renewed = store.acquire_lease("leader", "a", ttl=30)
    assert renewed is not None
    assert renewed.token == 1 and renewed.acquired_at == first.acquired_at
    assert renewed.expires_at >= first.expires_at
    current = store.current_lease("leader")
    assert current is not None and current.holder == "a" and current.token == 1
    assert store.current_lease("other") is None  # leases are per name


def test_an_expired_lease_passes_to_another_holder_with_the_next_token(store: Store) -> None:
    assert store.acquire_lease("leader", "a", ttl=0.2) is not None
    time.sleep(0.3)
    assert store.current_lease("leader") is None  # expired: nobody leads
    taken = store.acquire_lease("leader", "b", ttl=30)
    assert taken is not None and (taken.holder, taken.token) == ("b", 2)
    assert store.acquire_lease("leader", "a", ttl=30) is None  # a lost it


def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(store: Store) -> None:
    lease = store.acquire_lease("leader", "a", ttl=30)
    assert lease is not None
    assert not store.release_lease("leader", "b", lease.token)  # not b's
    assert not store.release_lease("leader", "a", lease.token + 1)  # not that term
    assert store.acquire_lease("leader", "b", ttl=30) is None
    assert store.release_lease("leader", "a", lease.token)
    assert store.current_lease("leader") is None
    taken = store.acquire_lease("leader", "b", ttl=30)
    # the token only ever grows; a release moves it on too (to 2), the next holder gets 3
    assert taken is not None and taken.token == 3


def test_a_release_fences_the_releasing_terms_writes_at_once(store: Store) -> None:
    lease = store.acquire_lease("leader", "a", ttl=30)
    assert lease is not None
    store.check_fence("leader", lease.token)
    assert store.release_lease("leader", "a", lease.token)
    # nobody has taken the lease yet: the old term's leftover writes are refused all the same
    with pytest.raises(FencedError, match="moved on"):
        store.check_fence("leader", lease.token)
    [series] = store.series_ids("slo", [()])
    with fenced(Fence("leader", lease.token)), pytest.raises(FencedError):
        store.write_counts([series], [M0], [1], [1], source="genesys")
    assert store.minute_arrays([series], M0, M0 + 1)[1].tolist() == [[0]]  # nothing written
    assert not store.release_lease("leader", "a", lease.token)  # released once
    again = store.acquire_lease("leader", "a", ttl=30)  # even its holder gets a new term
    assert again is not None and again.token == lease.token + 2


def test_a_lease_needs_a_positive_ttl_and_a_holder(store: Store) -> None:
    with pytest.raises(StoreError, match="positive ttl"):
        store.acquire_lease("leader", "a", ttl=0)
    with pytest.raises(StoreError, match="holder"):
        store.acquire_lease("leader", "", ttl=5)


def test_check_fence_refuses_a_token_that_moved_on(store: Store) -> None:
    old = store.acquire_lease("leader", "a", ttl=0.1)
    assert old is not None
    store.check_fence("leader", old.token)  # still a's
    time.sleep(0.2)
    new = store.acquire_lease("leader", "b", ttl=30)
    assert new is not None
    with pytest.raises(FencedError, match="moved on"):
        store.check_fence("leader", old.token)
    store.check_fence("leader", new.token)
    with pytest.raises(FencedError):
        store.check_fence("no-such-lease", 1)


def test_writes_in_a_fenced_context_commit_while_the_token_holds_and_never_after(
    store: Store,
) -> None:
    old = store.acquire_lease("leader", "a", ttl=0.1)
    assert old is not None
    told: list[str] = []
    fence = Fence("leader", old.token, on_fenced=lambda: told.append("fenced"))
    [series] = store.series_ids("slo", [()])
    with fenced(fence):
        store.write_counts([series], [M0], [1], [2], source="genesys")
    time.sleep(0.2)
    assert store.acquire_lease("leader", "b", ttl=30) is not None
    with fenced(fence), pytest.raises(FencedError), store.transaction():
        store.write_counts([series], [M0 + 1], [5], [5], source="genesys")
    assert told == ["fenced"]
    good, total = store.minute_arrays([series], M0, M0 + 2)
    assert good.tolist() == [[1, 0]] and total.tolist() == [[2, 0]]  # the fenced one: nothing
    # outside a fenced context (the API of any replica), writes are not checked
    store.write_counts([series], [M0 + 1], [3], [3], source="ingest")
    # and the context is this thread's and its children's, not every thread's
    with fenced(fence):
        done: list[BaseException | None] = []

        def other_thread() -> None:
            try:
                store.write_counts([series], [M0 + 1], [4], [4], source="other")
                done.append(None)
            except BaseException as exc:  # pragma: no cover - the assertion shows it
                done.append(exc)

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert done == [None]
    good, total = store.minute_arrays([series], M0, M0 + 2)
    assert good.tolist() == [[1, 7]] and total.tolist() == [[2, 7]]


def test_a_fenced_write_is_refused_whatever_it_writes_and_undone_whole(store: Store) -> None:
    """Series creation (the store's core) as the write: the check is at the transaction's
    start, for any write, and a refused transaction leaves nothing behind."""
    old = store.acquire_lease("leader", "a", ttl=0.1)
    assert old is not None
    fence = Fence("leader", old.token)
    with fenced(fence):
        store.series_ids("kept", [(("queue", "q1"),)])
    time.sleep(0.2)
    assert store.acquire_lease("leader", "b", ttl=30) is not None
    with fenced(fence), pytest.raises(FencedError, match="no longer leads"):
        store.series_ids("refused", [(("queue", "q1"),)])
    assert [s.slo for s in store.list_series()] == ["kept"]
    assert store.series_ids("refused", [(("queue", "q1"),)])  # unfenced: written


def test_a_lease_is_taken_at_once_from_a_holder_known_dead_and_from_no_other(
    store: Store,
) -> None:
    assert store.acquire_lease("leader", "host:1:aa", ttl=30) is not None
    assert store.acquire_lease("leader", "host:2:bb", ttl=30, replacing="host:3:cc") is None
    taken = store.acquire_lease("leader", "host:2:bb", ttl=30, replacing="host:1:aa")
    assert taken is not None and (taken.holder, taken.token) == ("host:2:bb", 2)
