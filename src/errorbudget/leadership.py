"""Leader election among ``errorbudget serve`` replicas on one store (docs/operations.md,
"Replicas and leader election").

Every replica serves the dashboard, the API and ``/metrics``; one of them, the holder of the
store's ``leader`` lease (``Leases`` in store/protocols.py), also runs the *leader's jobs*:
the pull sources, their metrics feeds, the alert evaluator and the notification worker.
:class:`Leadership` is the election, a job every replica schedules: every ``renew_every`` it
takes or renews the lease (``acquire_lease``). On gaining it, it starts a *term*
(``start_term(fence)``: the server starts the leader's jobs, each inside
``fencing.fenced(fence)`` so that every write they make checks the term's token); it ends
the term (``end_term()``: the jobs are stopped) at once when

- the lease turns out to be another replica's (it expired and was taken),
- it could not renew the lease for ``ttl`` since the last renewal began (the store is
  unreachable: by then another replica may hold it), or
- a write of the term was refused by the fence (``FencedError``: another replica holds it).

Writes the jobs make after their term ended are refused by the fence, so a deposed leader
that is merely slow (a long pause, a partition) writes nothing. On shutdown the lease is
released (also when the wait for the jobs to stop is cancelled), so another replica
takes over without waiting for it to expire.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from errorbudget.errors import ErrorBudgetError
from errorbudget.records import Lease
from errorbudget.store.fencing import Fence
from errorbudget.store.protocols import Leases

log = logging.getLogger("errorbudget.leadership")

T = TypeVar("T")

LEADER_LEASE = "leader"
"""The name of the lease ``serve`` replicas elect their leader with."""


def pid_scope() -> str:
    """Where this process's pid means something: the boot (the first 8 characters of
    ``/proc/sys/kernel/random/boot_id``) and the PID namespace (the inode of
    ``/proc/self/ns/pid``), as ``boot.inode``; ``-`` where /proc does not tell (then no
    other process's pid is trusted). Two containers with one hostname have different
    PID namespaces: the same pid names different processes in each."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
        namespace = Path("/proc/self/ns/pid").stat().st_ino
    except OSError:
        return "-"
    return f"{boot}.{namespace}" if boot else "-"


def replica_id() -> str:
    """This replica's name in the lease, the logs and the surfaces:
    ``host:pid:scope:random`` (:func:`pid_scope` says where the pid is valid; the random
    part tells a restarted process from its predecessor)."""
    return f"{socket.gethostname()}:{os.getpid()}:{pid_scope()}:{secrets.token_hex(3)}"


def holder_is_gone(holder: str) -> bool:
    """Whether the lease holder ``holder`` (a :func:`replica_id`) was a process of this host,
    this boot and this PID namespace that no longer exists. False when it cannot tell:
    another host, another boot or PID namespace (a container with the same hostname), a
    process that still exists (a zombie not yet reaped included), an id of another shape."""
    parts = holder.split(":")
    if len(parts) != 4:
        return False
    host, pid_text, scope, _ = parts
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    if scope == "-" or scope != pid_scope():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists, another user's
        return False
    return False


@dataclass(frozen=True)
class LeaderView:
    """What the surfaces (``/readyz``, ``/metrics``, the overview) say about leadership."""

    replica: str
    """This replica."""
    leading: bool
    """Whether this replica runs the leader's jobs now."""
    token: int | None
    """This replica's term (fencing token) while it leads."""
    since: datetime | None
    """When this replica's term began."""
    leader: str | None
    """The holder of the lease as last seen by this replica (None: no replica leads)."""
    leader_token: int | None


class Leadership:
    """The election of one replica (see the module docstring)."""

    def __init__(
        self,
        leases: Leases,
        replica: str,
        *,
        ttl: float,
        renew_every: float,
        start_term: Callable[[Fence], Awaitable[None]],
        end_term: Callable[[], Awaitable[None]],
        name: str = LEADER_LEASE,
    ) -> None:
        self.leases = leases
        self.replica = replica
        self.name = name
        self.ttl = ttl
        self.renew_every = renew_every
        self._start_term = start_term
        self._end_term = end_term
        self.lease: Lease | None = None
        """This replica's lease while it leads."""
        self.seen: Lease | None = None
        """The lease as this replica last read it (its own or another replica's)."""
        self._renewed_at = 0.0  # time.monotonic() when the last successful renewal began
        self._fenced: asyncio.Event | None = None
        self._executor: ThreadPoolExecutor | None = None
        self.terms = 0
        """Terms this replica began (``/metrics``)."""

    @property
    def leading(self) -> bool:
        return self.lease is not None

    def view(self) -> LeaderView:
        lease, seen = self.lease, self.seen
        if (
            lease is None
            and seen is not None
            and (seen.holder == self.replica or seen.expires_at <= datetime.now(UTC))
        ):
            seen = None  # this replica's own lease after it stepped down, or one expired since
        return LeaderView(
            replica=self.replica,
            leading=lease is not None,
            token=None if lease is None else lease.token,
            since=None if lease is None else lease.acquired_at,
            leader=None if seen is None else seen.holder,
            leader_token=None if seen is None else seen.token,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Take or renew the lease every ``renew_every`` until ``stop``; then end the term
        and release the lease."""
        fenced = self._fenced = asyncio.Event()
        # The lease's store calls run on a thread of their own: the jobs' to_thread calls
        # (hung receivers, long reads) filling asyncio's default executor must not delay a
        # renewal until this replica gives up a lease it could have kept.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="errorbudget-lease")
        try:
            while not stop.is_set():
                await self._round()
                if self.lease is not None and fenced.is_set():
                    await self._resign("a write was refused: another replica holds the lease")
                fenced.clear()
                waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(fenced.wait())]
                try:
                    await asyncio.wait(
                        waits, timeout=self._next_wait(), return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    for waiting in waits:
                        waiting.cancel()
        finally:
            lease = self.lease
            try:
                if lease is not None:
                    await self._resign("the server is stopping")
            finally:
                # also when the stop was cancelled (the server gave up waiting for the
                # term's jobs): the other replica then need not wait for the ttl
                if lease is not None:
                    await self._release(lease)
                self._executor.shutdown(wait=False)

    async def _release(self, lease: Lease) -> None:
        """Release ``lease``, waiting for the store at most one ttl (and on, shielded,
        through a cancellation: the release is already on its thread)."""
        releasing = asyncio.ensure_future(
            self._store(self.leases.release_lease, self.name, self.replica, lease.token)
        )
        try:
            await asyncio.wait_for(asyncio.shield(releasing), timeout=self.ttl)
        except (ErrorBudgetError, TimeoutError) as exc:
            log.warning("cannot release the leader lease: %s", exc or "the store did not answer")
        except asyncio.CancelledError:
            log.warning("the leader lease's release was cancelled", extra={"replica": self.replica})
            raise
        else:
            log.info("leader lease released", extra={"replica": self.replica})

    async def _store(self, call: Callable[..., T], *args: object, **kwargs: object) -> T:
        """``call`` on the lease's own thread (see :meth:`run`)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: call(*args, **kwargs))

    def _next_wait(self) -> float:
        if self.lease is None:
            return self.renew_every
        # never sleep past the moment the lease would have to be given up
        left = self.ttl - (time.monotonic() - self._renewed_at)
        return max(0.05, min(self.renew_every, left))

    async def _round(self) -> None:
        began = time.monotonic()
        try:
            lease = await asyncio.wait_for(
                self._store(self.leases.acquire_lease, self.name, self.replica, self.ttl),
                timeout=max(0.1, self.ttl - (began - self._renewed_at))
                if self.lease is not None
                else self.ttl,
            )
        except (ErrorBudgetError, TimeoutError) as exc:
            why = str(exc) or "the store did not answer in time"
            log.warning("cannot renew the leader lease: %s", why, extra={"replica": self.replica})
            if self.lease is not None and time.monotonic() - self._renewed_at >= self.ttl:
                await self._resign(f"the lease could not be renewed for {self.ttl:g} s ({why})")
            if self.lease is None:  # who leads now, if the store still answers reads
                self.seen = await self._current()
            return
        if lease is None:
            seen = self.seen = await self._current()
            if self.lease is not None:
                await self._resign("another replica holds the lease")
                return
            if seen is None or not holder_is_gone(seen.holder):
                return
            # its holder was a process of this host that is gone (a replica killed and
            # restarted): take over now rather than when its lease expires
            try:
                lease = await self._store(
                    self.leases.acquire_lease,
                    self.name, self.replica, self.ttl, replacing=seen.holder,
                )  # fmt: skip
            except ErrorBudgetError as exc:
                log.warning("cannot take the leader lease: %s", exc)
                return
            if lease is None:
                return
            log.info("took the lease of %s, a process of this host that is gone", seen.holder)
        self._renewed_at = began
        self.seen = lease
        if self.lease is not None and self.lease.token == lease.token:
            self.lease = lease
            return
        if self.lease is not None:  # a new term of this replica: the old one ends first
            await self._resign("the lease was taken again with a new token")
        await self._begin(lease)

    async def _current(self) -> Lease | None:
        try:
            return await asyncio.wait_for(
                self._store(self.leases.current_lease, self.name), timeout=self.renew_every
            )
        except (ErrorBudgetError, TimeoutError):
            return None  # unknown: the view names no leader rather than a stale one

    async def _begin(self, lease: Lease) -> None:
        loop = asyncio.get_running_loop()
        fenced = self._fenced
        token = lease.token

        def refused() -> None:  # in the loop: only a refusal of this term's writes ends it
            if fenced is not None and self.lease is not None and self.lease.token == token:
                fenced.set()

        def on_fenced() -> None:  # from a writing thread, maybe long after the term ended
            loop.call_soon_threadsafe(refused)

        self.lease = lease
        self.terms += 1
        log.info(
            "this replica leads now (token %d)",
            lease.token,
            extra={"replica": self.replica, "token": lease.token},
        )
        await self._start_term(Fence(self.name, lease.token, on_fenced))

    async def _resign(self, why: str) -> None:
        lease, self.lease = self.lease, None
        if lease is None:
            return
        if self.seen is not None and self.seen.holder == self.replica:
            self.seen = None  # no longer this replica; the next round reads who leads
        log.warning(
            "this replica no longer leads (token %d): %s; stopping the leader's jobs",
            lease.token,
            why,
            extra={"replica": self.replica, "token": lease.token},
        )
        await self._end_term()
