"""Leader election (``errorbudget.leadership``) in-process, on one store file opened twice
(two replicas): one term at a time, takeover when the leader stops renewing, release on
shutdown, a term ended at once by a fenced write or after ``ttl`` without a renewal."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from direct_sql import direct_sql
from errorbudget.errors import FencedError, StoreError
from errorbudget.leadership import Leadership, holder_is_gone, replica_id
from errorbudget.records import Lease
from errorbudget.store import Store, open_store
from errorbudget.store.fencing import Fence, fenced

TTL = 0.6
RENEW = 0.15


class Terms:
    """Records a replica's terms as the server would start and end its jobs."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int | None]] = []
        self.fence: Fence | None = None

    async def start(self, fence: Fence) -> None:
        self.fence = fence
        self.events.append(("start", fence.token))

    async def end(self) -> None:
        self.events.append(("end", self.fence.token if self.fence else None))
        self.fence = None


def election(store: Any, replica: str, terms: Terms) -> Leadership:
    return Leadership(
        store, replica, ttl=TTL, renew_every=RENEW, start_term=terms.start, end_term=terms.end
    )


async def until(condition: Any, timeout: float = 5.0) -> float:
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - began


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.integration)])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """One store opened twice (two replicas): an SQLite file, or a PostgreSQL database."""
    if request.param == "postgres":
        from postgres_server import fresh_database

        with (
            fresh_database("eb_t_leader") as url,
            open_store(url) as first,
            open_store(url) as second,
        ):
            yield first, second
        return
    with open_store(tmp_path / "eb.db") as first, open_store(tmp_path / "eb.db") as second:
        yield first, second


def test_one_replica_leads_and_the_other_takes_over_when_it_stops_renewing(
    stores: tuple[Store, Store],
) -> None:
    async def scenario() -> None:
        a_terms, b_terms = Terms(), Terms()
        a, b = election(stores[0], "a", a_terms), election(stores[1], "b", b_terms)
        a_stop, b_stop = asyncio.Event(), asyncio.Event()
        a_task = asyncio.create_task(a.run(a_stop))
        await until(lambda: a.leading)
        b_task = asyncio.create_task(b.run(b_stop))
        await asyncio.sleep(3 * RENEW)
        assert a.leading and not b.leading
        assert b.view().leader == "a" and b.view().leader_token == 1
        a_task.cancel()  # a dies: no resignation, no release
        with pytest.raises(asyncio.CancelledError):
            await a_task
        took = await until(lambda: b.leading)
        assert took <= TTL + 2 * RENEW + 0.5
        assert b_terms.events == [("start", 2)]
        view = b.view()
        assert view.leading and view.token == 2 and view.leader == "b"
        b_stop.set()
        await b_task
        assert b_terms.events == [("start", 2), ("end", 2)]
        assert stores[0].current_lease("leader") is None  # released on shutdown

    asyncio.run(scenario())


def test_a_released_lease_is_taken_on_the_next_round_not_after_ttl(
    stores: tuple[Store, Store],
) -> None:
    async def scenario() -> None:
        a_terms, b_terms = Terms(), Terms()
        a = election(stores[0], "a", a_terms)
        b = Leadership(
            stores[1], "b", ttl=30, renew_every=RENEW, start_term=b_terms.start,
            end_term=b_terms.end,
        )  # fmt: skip
        a_stop, b_stop = asyncio.Event(), asyncio.Event()
        a_task = asyncio.create_task(a.run(a_stop))
        await until(lambda: a.leading)
        b_task = asyncio.create_task(b.run(b_stop))
        await asyncio.sleep(2 * RENEW)
        a_stop.set()
        await a_task
        assert a_terms.events == [("start", 1), ("end", 1)]
        assert await until(lambda: b.leading, timeout=2.0) < 1.0
        b_stop.set()
        await b_task

    asyncio.run(scenario())


def test_a_fenced_write_ends_the_term_at_once(stores: tuple[Store, Store]) -> None:
    async def scenario() -> None:
        terms = Terms()
        a = Leadership(
            stores[0], "a", ttl=30, renew_every=30, start_term=terms.start, end_term=terms.end
        )
        stop = asyncio.Event()
        task = asyncio.create_task(a.run(stop))
        await until(lambda: a.leading)
        fence = terms.fence
        assert fence is not None
        # another replica took the lease (as if a's had expired during a long pause)
        direct_sql(stores[1], "UPDATE leases SET holder = 'b', token = token + 1")

        def write() -> None:
            with fenced(fence):
                stores[0].series_ids("slo", [()])

        with pytest.raises(FencedError):
            await asyncio.to_thread(write)
        waited = await until(lambda: not a.leading, timeout=5.0)
        assert waited < 1.0, "ended when the write was refused, not at the next renewal (30 s)"
        assert terms.events == [("start", 1), ("end", 1)]
        stop.set()
        await task
        assert stores[0].list_series() == []

    asyncio.run(scenario())


class Unreachable:
    """A store whose lease calls fail after ``fail_after`` (the database went away)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.failing = False

    def acquire_lease(self, name: str, holder: str, ttl: float, **kw: Any) -> Lease | None:
        if self.failing:
            raise StoreError("cannot take the lease: the server is gone")
        return self.store.acquire_lease(name, holder, ttl, **kw)

    def release_lease(self, name: str, holder: str, token: int) -> bool:
        if self.failing:
            raise StoreError("cannot release the lease: the server is gone")
        return self.store.release_lease(name, holder, token)

    def current_lease(self, name: str) -> Lease | None:
        return self.store.current_lease(name)

    def check_fence(self, name: str, token: int) -> None:
        self.store.check_fence(name, token)


def test_a_leader_that_cannot_renew_ends_its_term_within_ttl(stores: tuple[Store, Store]) -> None:
    async def scenario() -> None:
        terms = Terms()
        flaky = Unreachable(stores[0])
        a = election(flaky, "a", terms)
        stop = asyncio.Event()
        task = asyncio.create_task(a.run(stop))
        await until(lambda: a.leading)
        flaky.failing = True
        failed_at = time.monotonic()
        await until(lambda: not a.leading, timeout=5.0)
        assert time.monotonic() - failed_at <= TTL + 0.2  # before its lease can be taken
        assert terms.events == [("start", 1), ("end", 1)]
        stop.set()
        await task

    asyncio.run(scenario())


def test_replica_ids_and_which_holders_are_known_gone() -> None:
    mine = replica_id()
    host, pid, tail = mine.split(":")
    assert host == socket.gethostname() and int(pid) == os.getpid() and len(tail) == 6
    assert replica_id() != mine
    assert not holder_is_gone(mine)  # this process
    assert not holder_is_gone(f"{host}:1:abcdef")  # pid 1 exists
    assert not holder_is_gone(f"another-host-{host}:999999:abcdef")
    assert not holder_is_gone("no colon at all")
    gone = f"{host}:{2**22 + 7}:abcdef"  # above the default pid_max: no such process
    assert holder_is_gone(gone)


def test_the_lease_of_a_process_of_this_host_that_is_gone_is_taken_at_once(
    stores: tuple[Store, Store],
) -> None:
    """A replica killed and restarted on the same host: its successor need not wait for
    the dead one's lease to expire (a live holder's lease it waits for)."""
    dead = f"{socket.gethostname()}:{2**22 + 11}:abcdef"
    assert stores[0].acquire_lease("leader", dead, ttl=3600) is not None

    async def scenario() -> None:
        terms = Terms()
        b = election(stores[1], "b", terms)
        stop = asyncio.Event()
        task = asyncio.create_task(b.run(stop))
        assert await until(lambda: b.leading, timeout=2.0) < 1.0
        assert terms.events == [("start", 2)]
        stop.set()
        await task

    asyncio.run(scenario())
    alive = f"{socket.gethostname()}:{os.getpid()}:fedcba"  # this process: alive
    assert stores[0].acquire_lease("leader", alive, ttl=3600) is not None

    async def waits() -> None:
        b = election(stores[1], "b", Terms())
        stop = asyncio.Event()
        task = asyncio.create_task(b.run(stop))
        await asyncio.sleep(3 * RENEW)
        assert not b.leading
        stop.set()
        await task

    asyncio.run(waits())
