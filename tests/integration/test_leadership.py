"""Leader election (``errorbudget.leadership``) in-process, on one store file opened twice
(two replicas): one term at a time, takeover when the leader stops renewing, release on
shutdown, a term ended at once by a fenced write or after ``ttl`` without a renewal."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from direct_sql import direct_sql
from errorbudget.alert_records import NewNotification, Notification
from errorbudget.app import App
from errorbudget.errors import FencedError, StoreBusyError, StoreError
from errorbudget.leadership import Leadership, holder_is_gone, pid_scope, replica_id
from errorbudget.records import Lease
from errorbudget.scheduler import Scheduler
from errorbudget.server import LeaderJobs
from errorbudget.services.deliveries import DeliveryWorker
from errorbudget.store import Store, open_store
from errorbudget.store.fencing import Fence, current_fence, fenced

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
        a_task.cancel()  # a's election cancelled: it still releases (the token moves to 2)
        with pytest.raises(asyncio.CancelledError):
            await a_task
        took = await until(lambda: b.leading)
        assert took <= TTL + 2 * RENEW + 0.5
        assert b_terms.events == [("start", 3)]  # the token only ever grows
        view = b.view()
        assert view.leading and view.token == 3 and view.leader == "b"
        b_stop.set()
        await b_task
        assert b_terms.events == [("start", 3), ("end", 3)]
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
    host, pid, scope, tail = mine.split(":")
    assert host == socket.gethostname() and int(pid) == os.getpid() and len(tail) == 6
    assert scope == pid_scope() != "-"
    assert replica_id() != mine
    assert not holder_is_gone(mine)  # this process
    assert not holder_is_gone(f"{host}:1:{scope}:abcdef")  # pid 1 exists
    assert not holder_is_gone(f"another-host-{host}:999999:{scope}:abcdef")
    assert not holder_is_gone("no colon at all")
    gone = f"{host}:{2**22 + 7}:{scope}:abcdef"  # above the default pid_max: no such process
    assert holder_is_gone(gone)
    # the same host name in another PID namespace (a container) or an earlier boot: its
    # pids are not this namespace's, so its holder is never taken for gone
    boot, namespace = scope.split(".")
    assert not holder_is_gone(f"{host}:{2**22 + 7}:{boot}.{int(namespace) + 1}:abcdef")
    assert not holder_is_gone(f"{host}:{2**22 + 7}:00000000.{namespace}:abcdef")
    assert not holder_is_gone(f"{host}:{2**22 + 7}:-:abcdef")
    assert not holder_is_gone(f"{host}:{2**22 + 7}:abcdef")  # the old shape: no scope


def test_the_lease_of_a_process_of_this_host_that_is_gone_is_taken_at_once(
    stores: tuple[Store, Store],
) -> None:
    """A replica killed and restarted on the same host: its successor need not wait for
    the dead one's lease to expire (a live holder's lease it waits for)."""
    dead = f"{socket.gethostname()}:{2**22 + 11}:{pid_scope()}:abcdef"
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
    alive = f"{socket.gethostname()}:{os.getpid()}:{pid_scope()}:fedcba"  # this process: alive
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


def test_a_replica_that_stepped_down_no_longer_names_itself_or_a_stale_leader(
    tmp_path: Path,
) -> None:
    """Renewals fail (a CLI ingest holds the store): the leader steps down after ttl, and
    its view (/readyz, /metrics, the overview) no longer says it leads."""
    with open_store(tmp_path / "eb.db") as store:
        flaky = Unreachable(store)

        async def scenario() -> None:
            a = election(flaky, "a", Terms())
            stop = asyncio.Event()
            task = asyncio.create_task(a.run(stop))
            await until(lambda: a.leading)
            assert a.view().leader == "a"
            flaky.failing = True
            await until(lambda: not a.leading, timeout=5.0)
            await asyncio.sleep(TTL + 2 * RENEW)  # its lease has expired in the store too
            view = a.view()
            assert (view.leading, view.leader, view.leader_token) == (False, None, None)
            stop.set()
            await task

        asyncio.run(scenario())


def test_a_refusal_of_an_earlier_term_does_not_end_the_current_one(tmp_path: Path) -> None:
    with open_store(tmp_path / "eb.db") as store:

        async def scenario() -> None:
            terms = Terms()
            a = Leadership(
                store, "a", ttl=30, renew_every=RENEW, start_term=terms.start, end_term=terms.end
            )
            stop = asyncio.Event()
            task = asyncio.create_task(a.run(stop))
            await until(lambda: a.leading)
            first = terms.fence
            assert first is not None and first.on_fenced is not None
            direct_sql(store, "UPDATE leases SET token = token + 1")  # a new term of a's
            await until(lambda: ("start", 2) in terms.events)
            # a write of the first term's job, refused late: the second term goes on
            await asyncio.to_thread(first.on_fenced)
            await asyncio.sleep(3 * RENEW)
            assert a.leading and a.view().token == 2
            assert terms.events == [("start", 1), ("end", 1), ("start", 2)]
            second = terms.fence
            assert second is not None and second.on_fenced is not None
            await asyncio.to_thread(second.on_fenced)  # its own refusal ends it
            await until(lambda: not a.leading, timeout=1.0)
            stop.set()
            await task

        asyncio.run(scenario())


def test_renewals_do_not_wait_for_a_full_default_executor(tmp_path: Path) -> None:
    """The jobs' to_thread calls (receivers that hang) fill asyncio's default executor:
    the lease is still renewed, on its own thread, and the leader goes on leading."""
    with open_store(tmp_path / "eb.db") as store:

        async def scenario() -> None:
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(2))
            terms = Terms()
            a = election(store, "a", terms)
            stop = asyncio.Event()
            task = asyncio.create_task(a.run(stop))
            await until(lambda: a.leading)
            hung = [asyncio.create_task(asyncio.to_thread(time.sleep, 4 * TTL)) for _ in range(2)]
            await asyncio.sleep(3 * TTL)
            assert a.leading and terms.events == [("start", 1)]
            stop.set()
            await task
            await asyncio.gather(*hung)

        asyncio.run(scenario())


def test_the_lease_is_released_when_the_jobs_are_slower_to_stop_than_the_server_waits(
    tmp_path: Path,
) -> None:
    """serve's shutdown gives the election less time than the term's jobs take to stop
    (it is cancelled while they stop): the lease is released all the same."""
    with open_store(tmp_path / "eb.db") as store:

        async def scenario() -> None:
            inner = Scheduler()

            async def slow_job(stop: asyncio.Event) -> None:
                await stop.wait()
                await asyncio.sleep(1.0)  # its current chunk

            inner.add("slow", slow_job)

            async def start(fence: Fence) -> None:
                inner.start()

            async def end() -> None:
                await inner.stop(timeout=2.0)

            a = Leadership(store, "a", ttl=15, renew_every=5, start_term=start, end_term=end)
            outer = Scheduler()
            outer.add("leader-election", a.run)
            outer.start()
            await until(lambda: a.leading)
            await outer.stop(timeout=0.3)
            assert store.current_lease("leader") is None
            await inner.stop(timeout=2.0)

        asyncio.run(scenario())


class Slack:
    """A receiver without a dedup key of its own: counts what it is sent."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification.id)


def test_a_deposed_leader_sends_nothing(stores: tuple[Store, Store]) -> None:
    """A leader paused past its ttl claims before it sends: the fence refuses the claim, so
    only the new leader sends."""
    first, second = stores
    first.queue_notifications([NewNotification("slack", "fp", "firing", "fp-1", {"x": 1})])
    old = first.acquire_lease("leader", "a", 0.3)
    assert old is not None
    time.sleep(0.4)
    new = second.acquire_lease("leader", "b", 60)
    assert new is not None and new.token == old.token + 1
    slack = Slack()
    deposed = DeliveryWorker(first, {"slack": slack}, lambda: datetime.now(UTC))
    with fenced(Fence("leader", old.token)), pytest.raises(FencedError):
        deposed.drain("slack")
    assert slack.sent == []
    leader = DeliveryWorker(second, {"slack": slack}, lambda: datetime.now(UTC))
    with fenced(Fence("leader", new.token)):
        leader.drain("slack")
    assert slack.sent == [1]
    [sent] = second.list_notifications()
    assert (sent.status, sent.attempts) == ("delivered", 1)


def test_a_leader_whose_store_is_locked_sends_nothing(tmp_path: Path) -> None:
    """A CLI ingest holds the write lock: the leader's claims wait and fail (busy) instead
    of a send whose stamp fails, sent again every round."""
    path = tmp_path / "eb.db"
    with open_store(path, lock_timeout=0.2) as store:
        store.queue_notifications([NewNotification("slack", "fp", "firing", "fp-1", {})])
        lease = store.acquire_lease("leader", "a", 60)
        assert lease is not None
        slack = Slack()
        worker = DeliveryWorker(store, {"slack": slack}, lambda: datetime.now(UTC))
        cli = sqlite3.connect(path, isolation_level=None)
        cli.execute("BEGIN IMMEDIATE")
        with fenced(Fence("leader", lease.token)):
            for _ in range(3):
                with pytest.raises(StoreBusyError):
                    worker.drain("slack")
            assert slack.sent == []
            cli.execute("ROLLBACK")
            cli.close()
            worker.drain("slack")
        assert slack.sent == [1]


def test_the_leaders_jobs_and_alert_steps_run_inside_the_terms_fence(tmp_path: Path) -> None:
    """``LeaderJobs`` (server.py): every job it schedules, and every alert step, sees the
    term's fence, so each of their writes is checked against the lease."""
    config = tmp_path / "errorbudget.yaml"
    config.write_text(
        "version: 1\nstore: {path: eb.db}\nslos:\n  - id: calls\n    service: cc\n"
        "    target: 0.9\n    window: {type: rolling, length: 1d}\n"
        "    data: {min_coverage: 0}\n",
        encoding="utf-8",
    )
    seen: dict[str, Fence | None] = {}

    class Alerts:
        def on_evaluation(self, evaluation: object) -> None:
            seen["alert step"] = current_fence()

    async def job(stop: asyncio.Event) -> None:
        seen["job"] = current_fence()
        seen["job's thread"] = await asyncio.to_thread(current_fence)
        await stop.wait()

    with App.open(config) as app:
        app.__dict__["alerts"] = Alerts()  # the App's cached AlertService, replaced
        web = SimpleNamespace(state=SimpleNamespace())
        jobs = LeaderJobs(app, web, worker=None, with_sources=False, extra=[("probe", job)])
        fence = Fence("leader", 7)

        async def scenario() -> None:
            await jobs.start(fence)
            await until(lambda: "job's thread" in seen)
            await asyncio.to_thread(app.evaluations.refresh)  # a new "now": alerts step
            await jobs.stop()

        asyncio.run(scenario())
    assert seen == {"job": fence, "job's thread": fence, "alert step": fence}


def test_a_term_whose_jobs_outlive_serves_wait_is_fenced_and_stopped(tmp_path: Path) -> None:
    """serve's shutdown (server.py) cancels the election while ``LeaderJobs.stop`` waits for
    a slow job: the release moves the token on, so the job's later writes are refused at
    once, and serve's own ``term.stop()`` still waits for (or cancels) that job."""
    config = tmp_path / "errorbudget.yaml"
    config.write_text(
        "version: 1\nstore: {path: eb.db}\nslos:\n  - id: calls\n    service: cc\n"
        "    target: 0.9\n    window: {type: rolling, length: 1d}\n"
        "    data: {min_coverage: 0}\n",
        encoding="utf-8",
    )
    after_release: list[str] = []
    released = False

    with App.open(config) as app:

        async def slow_job(stop: asyncio.Event) -> None:
            await stop.wait()
            for _ in range(10):  # its current chunk: writes after the server gave up waiting
                await asyncio.sleep(0.1)
                fence = current_fence()
                assert fence is not None
                try:
                    await asyncio.to_thread(app.store.check_fence, fence.name, fence.token)
                    outcome = "written"
                except FencedError:
                    outcome = "fenced"
                if released:
                    after_release.append(outcome)

        web = SimpleNamespace(state=SimpleNamespace())
        term = LeaderJobs(app, web, worker=None, with_sources=False, extra=[("slow", slow_job)])

        async def scenario() -> None:
            nonlocal released
            a = Leadership(
                app.store, "a", ttl=15, renew_every=5, start_term=term.start, end_term=term.stop
            )
            outer = Scheduler()
            outer.add("leader-election", a.run)
            outer.start()
            # leading, and the term's scheduler has started its job (a moment later)
            await until(
                lambda: (
                    a.leading
                    and term.scheduler is not None
                    and all(scheduled.task is not None for scheduled in term.scheduler.jobs)
                )
            )
            assert term.scheduler is not None
            [job] = [scheduled.task for scheduled in term.scheduler.jobs]
            assert job is not None
            await outer.stop(timeout=0.3)  # serve: the election, cancelled mid-stop
            released = True
            assert app.store.current_lease("leader") is None
            await term.stop()  # serve: the term's jobs, stopped for good
            assert job.done()

        asyncio.run(scenario())
    assert after_release and set(after_release) == {"fenced"}
