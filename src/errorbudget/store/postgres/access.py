"""How the PostgreSQL store uses its connections: one writer at a time, readers apart.

The same shape as SQLite's ``store/sqlite/access.py``, so a part ports SQL, not structure.

**Connections.** One *writer* connection per store object (autocommit; the store runs its
own transactions), used by one thread at a time under a re-entrant lock, and a small pool
of *read* connections (``psycopg_pool.ConnectionPool``, ``READ_POOL`` connections at most).
A read runs in a ``REPEATABLE READ READ ONLY`` transaction on a pooled connection: one
snapshot for all its queries, never behind a writer. A read by the thread that has a
transaction open goes through the writer, so it sees that transaction's writes.

**One writer at a time, across processes.** The outermost write level is ``BEGIN`` plus
``pg_advisory_xact_lock(WRITE_LOCK)``: writers of every process and replica are serialised,
exactly like SQLite's one writer — the parts keep SQLite's read-modify-write logic (day
rows, audit chain, alert episodes) without row-level races, and a writer never deadlocks
another. The lock is released by the ``COMMIT``/``ROLLBACK`` (also when the process dies:
the server ends its session). A writer waits at most ``lock_timeout`` seconds, in slices of
``WAIT_SLICE`` (each a savepoint with ``SET LOCAL lock_timeout``) between which ``on_wait``
is told, then raises ``StoreBusyError`` naming the holder: every connection carries an
``application_name`` saying which process it is (``holder``), read back from
``pg_stat_activity`` by the waiter.

**Transactions.** Nested levels are savepoints, so a write that fails inside a caller's
transaction undoes only itself. A transaction that called ``mark_changed()`` moves the
store's revision (``store_revision``) just before its ``COMMIT``.

Every psycopg error leaves as ``StoreError`` (``raise … from exc``) with a sentence naming
the store (its URL without password); a lock timeout as ``StoreBusyError``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import psycopg.errors
from psycopg import IsolationLevel
from psycopg_pool import ConnectionPool, PoolTimeout

from errorbudget.errors import StoreBusyError, StoreError
from errorbudget.records import DEFAULT_LOCK_TIMEOUT, LockWaiter, WriterInfo
from errorbudget.store import fencing
from errorbudget.store.fencing import current_fence
from errorbudget.store.postgres import lease_table
from errorbudget.store.postgres.url import StoreUrl
from errorbudget.store.writer_lock import busy_message, holding

Connection = psycopg.Connection[tuple[Any, ...]]

WRITE_LOCK = 0x65625F7772
"""The advisory lock key every writer of a store takes (advisory locks are per database)."""

MIGRATE_LOCK = 0x65625F6D67
"""The advisory lock key of migrations (``schema.upgrade``)."""

WAIT_SLICE = 0.25
"""A waiting writer asks for the lock in slices this long, telling ``on_wait`` between."""

READ_POOL = (1, 4)
"""Read connections: at least, at most (``psycopg_pool.ConnectionPool``)."""

CONNECT_TIMEOUT = 10
"""Seconds to reach the server (libpq waits forever by default); the URL may say otherwise."""

APP_PREFIX = "errorbudget"
APPLICATION_NAME_MAX = 63  # PostgreSQL keeps NAMEDATALEN - 1 bytes


def application_name(holder: WriterInfo | None) -> str:
    """What ``pg_stat_activity`` shows for this process: ``errorbudget <pid> <host> <command>``
    (cut to 63 bytes), read back by a waiting writer (``holder_of``)."""
    info = holder or WriterInfo.current()
    name = f"{APP_PREFIX} {info.pid} {info.host} {info.command}"
    return name.encode()[:APPLICATION_NAME_MAX].decode(errors="ignore")


def connect_options(
    url: StoreUrl, password: str | None, holder: WriterInfo | None
) -> dict[str, Any]:
    """What every connection of a store is opened with, besides its URL (the writer, the
    read pool, the schema's short-lived one): who it is, a connect timeout unless the URL
    sets one (``CONNECT_TIMEOUT``; a server that accepts and never answers would otherwise
    hold ``open_store`` forever), and the password given apart from the URL."""
    options: dict[str, Any] = {"application_name": application_name(holder)}
    if "connect_timeout" not in url.url:
        options["connect_timeout"] = CONNECT_TIMEOUT
    if password is not None:
        options["password"] = password
    return options


def connect_error(url: StoreUrl, doing: str, exc: BaseException) -> tuple[StoreError, bool]:
    """``exc`` (raised while connecting) as a StoreError naming the store by its label, and
    whether the original must be dropped from the chain: libpq quotes the part of a URL it
    cannot parse, which may be the password's, so with a password in the URL its parse
    error (psycopg's ``ProgrammingError`` without a SQLSTATE: raised before any server
    answered) is never repeated."""
    client_side = isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is None
    if url.has_password and client_side:
        return StoreError(
            f"cannot {doing} {url.label}: the URL cannot be parsed (its password and libpq's "
            "message not shown): check its form and parameters"
        ), True
    return StoreError(f"cannot {doing} {url.label}: {_first_line(exc)}"), False


def parse_application_name(name: str, pid: int, since: datetime | None) -> WriterInfo:
    """The writer behind a connection: ours (``application_name``) or any other client."""
    stamp = since or datetime.now(UTC)
    parts = name.split(" ", 3)
    if len(parts) == 4 and parts[0] == APP_PREFIX and parts[1].isdigit():
        return WriterInfo(parts[3], int(parts[1]), parts[2], stamp)
    return WriterInfo(name or "a database client", pid, "the database server", stamp)


class PgAccess:
    """The writer connection and its lock, the read pool, and transactions."""

    def __init__(
        self,
        url: StoreUrl,
        *,
        password: str | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        holder: WriterInfo | None = None,
    ) -> None:
        """Connect (the schema must already be migrated: ``schema.upgrade``)."""
        self.label = url.label
        self.lock_timeout = max(0.0, lock_timeout)
        self.on_wait: LockWaiter | None = None
        self._url = url
        self._password = password
        self._holder = holder
        self._lock = threading.RLock()
        self._revision = 0
        self._changed = False
        self._owner: int | None = None
        self._depth = 0
        self.connection: Connection | None = self._connect("open the store")
        failure: tuple[StoreError, bool, BaseException] | None = None
        try:
            self._readers: ConnectionPool[Connection] | None = ConnectionPool(
                url.url,
                min_size=READ_POOL[0],
                max_size=READ_POOL[1],
                kwargs=self._connect_options(),
                configure=_configure_reader,
                # a pooled connection the server ended (a restart, pg_terminate_backend) is
                # found and replaced when handed out, not by the read that would use it
                check=ConnectionPool.check_connection,
                open=True,
                name=f"errorbudget-read-{os.getpid()}",
                timeout=max(self.lock_timeout, 5.0),
            )
        except (psycopg.Error, PoolTimeout) as exc:
            self.connection.close()
            failure = (*connect_error(url, "open the store", exc), exc)
        if failure is not None:  # raised here, outside the handler: no hidden context
            error, hide, cause = failure
            raise error from (None if hide else cause)

    def _connect_options(self) -> dict[str, Any]:
        return {"autocommit": True, **connect_options(self._url, self._password, self._holder)}

    def _connect(self, doing: str) -> Connection:
        failure: tuple[StoreError, bool, BaseException] | None = None
        try:
            return psycopg.connect(self._url.url, **self._connect_options())
        except psycopg.Error as exc:
            failure = (*connect_error(self._url, doing, exc), exc)
        error, hide, cause = failure
        raise error from (None if hide else cause)

    def close(self) -> None:
        """Close the connections (idempotent)."""
        with self._lock:
            if self.connection is None:
                return
            connection, self.connection = self.connection, None
            readers, self._readers = self._readers, None
            try:
                if readers is not None:
                    readers.close()
            finally:
                connection.close()

    # --- who writes ---------------------------------------------------------------------

    @property
    def holder(self) -> WriterInfo | None:
        """This process, as a waiting writer of another process names it."""
        return self._holder

    @holder.setter
    def holder(self, holder: WriterInfo | None) -> None:
        with self.using("name the writer") as connection:
            self._holder = holder
            connection.execute(
                "SELECT set_config('application_name', %s, false)", (application_name(holder),)
            )

    def holder_of_lock(self, connection: Connection) -> WriterInfo | None:
        """Who holds the write lock now (another session), or None."""
        row = connection.execute(
            "SELECT a.pid, coalesce(a.application_name, ''), a.xact_start"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid = %s AND l.objid = %s AND l.objsubid = 1 LIMIT 1",
            (WRITE_LOCK >> 32, WRITE_LOCK & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return None
        return parse_application_name(str(row[1]), int(row[0]), row[2])

    # --- errors -------------------------------------------------------------------------

    def error(self, doing: str, exc: psycopg.Error) -> StoreError:
        """``exc`` as this package's error, naming the store (a lock timeout: busy)."""
        if isinstance(exc, psycopg.errors.LockNotAvailable):
            return StoreBusyError(
                f"cannot {doing}: another connection holds a lock in the store {self.label}; "
                "try again later"
            )
        return StoreError(f"cannot {doing} in the store {self.label}: {_first_line(exc)}")

    def set_lock_timeout(self, seconds: float) -> None:
        with self._lock:
            self.lock_timeout = max(0.0, seconds)

    # --- the writer ---------------------------------------------------------------------

    @contextmanager
    def using(self, doing: str, deadline: float | None = None) -> Iterator[Connection]:
        """Hold the writer connection's lock (until ``deadline``, a ``time.monotonic()``
        instant, else as long as it takes) and map psycopg errors to StoreError."""
        with holding(self._lock, doing, self.label, self.lock_timeout, deadline):
            if self.connection is None:
                raise StoreError(f"cannot {doing}: the store {self.label} is closed")
            if self.connection.broken and self._depth == 0:
                # the server restarted or ended the session: a new one for the next write
                self.connection.close()
                self.connection = self._connect(f"{doing}: cannot reconnect to the store")
            try:
                yield self.connection
            except psycopg.Error as exc:
                raise self.error(doing, exc) from exc

    @contextmanager
    def writing(self, doing: str) -> Iterator[Connection]:
        """The writer connection inside one transaction level (the outermost one holding
        the store's write lock), for at most ``lock_timeout`` seconds of waiting for it."""
        deadline = time.monotonic() + self.lock_timeout
        with (
            self.using(doing, deadline) as connection,
            self._level(connection, doing, deadline) as current,
        ):
            yield current

    def mark_changed(self) -> None:
        """The open transaction wrote something that can change a status."""
        self._changed = True

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread has a transaction open."""
        return self._depth > 0 and self._owner == threading.get_ident()

    def _begin(self, connection: Connection, doing: str, deadline: float) -> None:
        """``BEGIN`` and the write lock, waiting for another session's until ``deadline`` in
        slices (each reported to ``on_wait``), then StoreBusyError naming the holder.

        READ COMMITTED is named, not left to the database's default: after the lock, each
        statement sees what the previous writer committed (the audit chain reads its last
        entry, ``add_counts`` the counts it adds to); a server defaulting to REPEATABLE READ
        would otherwise give this transaction a snapshot older than the lock."""
        connection.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        timeout_ms = f"{max(1, round(self.lock_timeout * 1000))}ms"
        row = connection.execute(
            "SELECT pg_try_advisory_xact_lock(%s), set_config('lock_timeout', %s, true)",
            (WRITE_LOCK, timeout_ms),
        ).fetchone()
        if row is not None and row[0]:
            return
        began = time.monotonic()
        while True:
            now = time.monotonic()
            found = self.holder_of_lock(connection)
            if now >= deadline - 0.001:
                message = busy_message(self.label, found, now - began)
                raise StoreBusyError(f"cannot {doing}: {message}", holder=found)
            if self.on_wait is not None:
                self.on_wait.waiting(found, now - began)
            wait_ms = max(1, round(min(WAIT_SLICE, deadline - now) * 1000))
            connection.execute("SAVEPOINT errorbudget_lock")
            try:
                connection.execute("SELECT set_config('lock_timeout', %s, true)", (f"{wait_ms}ms",))
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            except psycopg.errors.LockNotAvailable:
                connection.execute("ROLLBACK TO SAVEPOINT errorbudget_lock")
                continue
            connection.execute("RELEASE SAVEPOINT errorbudget_lock")
            connection.execute("SELECT set_config('lock_timeout', %s, true)", (timeout_ms,))
            if self.on_wait is not None:
                self.on_wait.acquired(time.monotonic() - began)
            return

    def _begin_on_a_live_session(
        self, connection: Connection, doing: str, deadline: float
    ) -> Connection:
        """``_begin``, once more on a new session if the writer's was found dead by the
        ``BEGIN`` (the server restarted or ended it since the last write): nothing of this
        transaction was sent yet, so nothing is lost or done twice. The connection the
        transaction runs on is returned."""
        try:
            self._begin(connection, doing, deadline)
            return connection
        except psycopg.OperationalError:
            if not connection.broken:
                raise
        connection.close()
        connection = self._connect(f"{doing}: cannot reconnect to the store")
        self.connection = connection
        self._begin(connection, doing, deadline)
        return connection

    @contextmanager
    def _level(self, connection: Connection, doing: str, deadline: float) -> Iterator[Connection]:
        """One transaction level: BEGIN + the write lock at the outside, a savepoint inside;
        yields the connection it runs on (the outermost level may have had to reconnect)."""
        depth = self._depth
        savepoint = f"errorbudget_{depth}"
        if depth == 0:
            try:
                connection = self._begin_on_a_live_session(connection, doing, deadline)
                fence = current_fence()
                if fence is not None:  # a leader's job: its lease must still be its own
                    fencing.check(lease_table, connection, fence, self.label)
            except BaseException:
                _rollback(connection)
                raise
            self._changed = False
        else:
            connection.execute(f"SAVEPOINT {savepoint}")
        self._owner = threading.get_ident()  # only the lock's holder gets here
        self._depth += 1
        try:
            yield connection
        except BaseException:
            self._depth = depth
            try:
                if depth == 0:
                    _rollback(connection)
                elif not connection.closed:
                    connection.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    connection.execute(f"RELEASE SAVEPOINT {savepoint}")
            finally:
                if depth == 0:
                    self._changed = False
            raise
        self._depth = depth
        if depth:
            connection.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        revision = None
        try:
            if self._changed:
                revision = bump_revision(connection)
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise
        finally:
            self._changed = False
        if revision is not None:
            self._revision = revision  # after the commit: a reader never caches the old data

    def revision(self) -> int:
        """The store's revision as last committed, by this process or another one (read on
        a pooled connection: never waits for a writer)."""
        readers = self._readers
        if readers is None or self.connection is None:
            raise StoreError(f"cannot read the revision: the store {self.label} is closed")
        try:
            with readers.connection() as connection:
                self._revision = read_revision(connection)
        except psycopg.Error as exc:
            raise self.error("read the revision", exc) from exc
        except PoolTimeout as exc:
            raise self._pool_busy("read the revision") from exc
        return self._revision

    # --- readers ------------------------------------------------------------------------

    @contextmanager
    def reading(self, doing: str) -> Iterator[Connection]:
        """One ``REPEATABLE READ READ ONLY`` snapshot for multi-query reads, on a pooled
        connection: never behind a writer. Inside this thread's own transaction, the
        writer connection (the transaction reads its own writes)."""
        if self.in_transaction:
            with self.using(doing) as connection:
                yield connection
            return
        readers = self._readers
        if readers is None or self.connection is None:
            raise StoreError(f"cannot {doing}: the store {self.label} is closed")
        try:
            with readers.connection() as connection, connection.transaction():
                yield connection
        except psycopg.Error as exc:
            raise self.error(doing, exc) from exc
        except PoolTimeout as exc:
            raise self._pool_busy(doing) from exc

    def _pool_busy(self, doing: str) -> StoreBusyError:
        return StoreBusyError(
            f"cannot {doing}: every read connection of the store {self.label} is busy; "
            "try again later"
        )


def _configure_reader(connection: Connection) -> None:
    connection.isolation_level = IsolationLevel.REPEATABLE_READ
    connection.read_only = True


def _rollback(connection: Connection) -> None:
    if not connection.closed and connection.info.transaction_status != _IDLE:
        connection.execute("ROLLBACK")


_IDLE = psycopg.pq.TransactionStatus.IDLE


def read_revision(connection: Connection) -> int:
    row = connection.execute("SELECT revision FROM store_revision").fetchone()
    return int(row[0]) if row is not None else 0


def bump_revision(connection: Connection) -> int:
    """Move the revision on, inside the caller's write transaction; return the new one."""
    row = connection.execute(
        "UPDATE store_revision SET revision = revision + 1 RETURNING revision"
    ).fetchone()
    if row is None:
        raise StoreError("the store has no revision row: it was not migrated")
    return int(row[0])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
