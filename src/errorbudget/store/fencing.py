"""Leases and fencing, the logic both backends share (their SQL is theirs).

**A lease** (``Leases`` in ``protocols.py``, table ``leases``) is one row per name: its
holder, its token and when it expires, as seconds since the epoch of the database's clock
(PostgreSQL's ``clock_timestamp()``, SQLite's process clock ``time.time()``). :func:`decide`
says what an ``acquire_lease`` does to the row it read inside the write transaction: take
it (free or expired: the token moves up by one when the holder changes), renew it (ours:
same token) or leave it (another holder's, not expired). :func:`released` says what a
``release_lease`` writes: no holder, expired now, and the token moved on by one, so the
releasing term's leftover writes are refused at once (the token only ever grows; a release
moves it on too).

:class:`LeasesPart` is the ``Leases`` half of a store class, for every backend: each
method opens one level of the backend's access object and runs the backend's lease SQL
(``sqlite/lease_table.py``, ``postgres/lease_table.py``: :class:`LeaseSql`).

**Fencing.** The jobs of ``serve``'s leader run inside :func:`fenced` (a context variable,
so it follows them into their worker threads: ``asyncio.to_thread`` copies the context);
each backend checks :func:`current_fence` when it opens a write transaction (the outermost
level, once it holds the write lock) and :func:`enforce` raises ``FencedError`` — and tells
the fence's ``on_fenced``, so the deposed leader stops its jobs at once — when the lease's
token moved on. Writes and lease changes take the same write lock, so a checked write
commits before the next holder takes the lease, or not at all. Writes made outside a
fenced context (the HTTP API of any replica, the CLI) are not checked.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from errorbudget.errors import FencedError, StoreError
from errorbudget.records import Lease


@dataclass(frozen=True)
class Fence:
    """The lease a job's writes are made for: its name and the token its holder got."""

    name: str
    token: int
    on_fenced: Callable[[], None] | None = None
    """Told (from the writing thread) when a write found the token moved on."""


_current: contextvars.ContextVar[Fence | None] = contextvars.ContextVar(
    "errorbudget_fence", default=None
)


@contextmanager
def fenced(fence: Fence | None) -> Iterator[None]:
    """Check every write transaction opened inside (this task, this thread, and the worker
    threads it starts with ``asyncio.to_thread``) against ``fence``; None checks nothing."""
    reset = _current.set(fence)
    try:
        yield
    finally:
        _current.reset(reset)


def current_fence() -> Fence | None:
    """The fence the caller's writes are checked against, if any."""
    return _current.get()


def enforce(fence: Fence, found: int | None, label: str) -> None:
    """FencedError (after telling ``fence.on_fenced``) unless ``found``, the lease's token
    read inside the write transaction, is the fence's."""
    if found == fence.token:
        return
    if fence.on_fenced is not None:
        fence.on_fenced()
    now = "no holder" if found is None else f"token {found}"
    raise FencedError(
        f"the lease {fence.name!r} of the store {label} moved on (token {fence.token} given, "
        f"{now} now): this replica no longer leads, nothing was written"
    )


LeaseRow = tuple[str, str, int, float, float]
"""A stored lease: name, holder, token, acquired_at and expires_at (epoch seconds)."""


def decide(
    row: LeaseRow | None,
    name: str,
    holder: str,
    now: float,
    ttl: float,
    replacing: str | None = None,
) -> LeaseRow | None:
    """The row an ``acquire_lease(name, holder, ttl, replacing=…)`` at ``now`` writes, given
    the stored ``row`` (None: no row yet), or None when another holder has it and it has
    not expired (unless that holder is ``replacing``, known dead)."""
    if not ttl > 0:
        raise StoreError(f"a lease needs a positive ttl, not {ttl}")
    if not holder:
        raise StoreError("a lease needs a holder")
    if row is None:
        return (name, holder, 1, now, now + ttl)
    _, held_by, token, acquired_at, expires_at = row
    if held_by == holder:
        return (name, holder, token, acquired_at, now + ttl)
    if expires_at > now and held_by != replacing:
        return None
    return (name, holder, token + 1, now, now + ttl)


def released(row: LeaseRow | None, holder: str, token: int, now: float) -> LeaseRow | None:
    """The row a ``release_lease(name, holder, token)`` at ``now`` writes, given the stored
    ``row``: no holder, expired, the token moved on (fencing the releasing term's writes at
    once); or None when ``holder`` does not have the lease with ``token``."""
    if row is None or not holder:
        return None
    name, held_by, stored, acquired_at, expires_at = row
    if held_by != holder or stored != token:
        return None
    return (name, "", token + 1, acquired_at, min(expires_at, now))


def lease_of(row: LeaseRow) -> Lease:
    """The ``Lease`` of a stored row."""
    name, holder, token, acquired_at, expires_at = row
    return Lease(
        name=name,
        holder=holder,
        token=int(token),
        acquired_at=datetime.fromtimestamp(float(acquired_at), UTC),
        expires_at=datetime.fromtimestamp(float(expires_at), UTC),
    )


class LeaseSql(Protocol):
    """A backend's lease SQL (a module: ``sqlite/lease_table.py``, ``postgres/lease_table.py``)."""

    def database_now(self, connection: Any, /) -> float:
        """The clock leases are timed by, in seconds since the epoch."""
        ...

    def read_lease(self, connection: Any, name: str, /) -> LeaseRow | None: ...

    def write_lease(self, connection: Any, row: LeaseRow, /) -> None:
        """Insert or replace the lease's row."""
        ...


class LeaseAccess(Protocol):
    """What :class:`LeasesPart` needs of a backend's access object."""

    label: str

    def writing(self, doing: str) -> AbstractContextManager[Any]: ...

    def reading(self, doing: str) -> AbstractContextManager[Any]: ...


LeaseAccessT = TypeVar("LeaseAccessT", bound=LeaseAccess)


def check(sql: LeaseSql, connection: Any, fence: Fence, label: str) -> None:
    """:func:`enforce` with the lease's token as stored (inside the write transaction, which
    holds the store's write lock: the lease cannot change until it ends)."""
    row = sql.read_lease(connection, fence.name)
    enforce(fence, None if row is None else row[2], label)


class LeasesPart(Generic[LeaseAccessT]):
    """``Leases`` over a backend's access object (``_db``) and lease SQL (``_lease_sql``).
    Every lease change is a write transaction, serialised with every other write of every
    process on the store."""

    _db: LeaseAccessT
    _lease_sql: ClassVar[LeaseSql]

    def acquire_lease(
        self, name: str, holder: str, ttl: float, *, replacing: str | None = None
    ) -> Lease | None:
        """Take, renew or leave the lease (:func:`decide`)."""
        sql = self._lease_sql
        with fenced(None), self._db.writing("take the lease") as connection:
            row = sql.read_lease(connection, name)
            written = decide(row, name, holder, sql.database_now(connection), ttl, replacing)
            if written is None:
                return None
            sql.write_lease(connection, written)
            return lease_of(written)

    def release_lease(self, name: str, holder: str, token: int) -> bool:
        """Expire the lease now and move its token on if ``holder`` has it with ``token``
        (:func:`released`); whether it did."""
        sql = self._lease_sql
        with fenced(None), self._db.writing("release the lease") as connection:
            row = sql.read_lease(connection, name)
            written = released(row, holder, token, sql.database_now(connection))
            if written is None:
                return False
            sql.write_lease(connection, written)
            return True

    def current_lease(self, name: str) -> Lease | None:
        """The lease while it has not expired."""
        sql = self._lease_sql
        with self._db.reading("read the lease") as connection:
            row = sql.read_lease(connection, name)
            now = sql.database_now(connection)
        if row is None or row[4] <= now:
            return None
        return lease_of(row)

    def check_fence(self, name: str, token: int) -> None:
        """FencedError unless ``token`` is the lease's token (in the caller's transaction)."""
        with self._db.writing("check the lease's fence") as connection:
            check(self._lease_sql, connection, Fence(name, token), self._db.label)
