"""How the store uses its SQLite connections: one writer at a time, readers apart.

**Connections.** A file store is in WAL mode and has one *writer* connection plus *read*
connections (``connections.ReaderPool``). Writes go through the writer, one at a time: a
re-entrant lock serialises this process's writers, SQLite's write lock the processes.
Reads use a read connection of their own, so they never wait for a writer — of this
process or of another one (a CLI ``ingest`` holds the write lock for its whole file); they
see the last committed state. A read by the thread that has a transaction open goes
through the writer, so it sees that transaction's writes. An in-memory store has the one
connection for everything.

**Waiting for the write lock.** A writer waits at most ``lock_timeout`` seconds (default
30 s; ``errorbudget serve`` uses ``server.store_lock_timeout``, 2 s) for this process's lock
and SQLite's, then raises ``StoreBusyError`` naming who holds the store when that writer
announced itself (``locking``): the HTTP API answers 503 with ``Retry-After``, the CLI
exits 4. SQLite's busy handler waits in slices of ``BUSY_SLICE`` seconds, between which
``on_wait`` (a ``LockWaiter``) is told (the CLI shows who it waits for). A writer opened
with a ``holder`` (the CLI's long writers) announces itself while its transaction holds
the lock.

**Transactions.** The writer runs in autocommit mode and the store runs its own
transactions: the outermost level is one ``BEGIN IMMEDIATE … COMMIT`` (or ``ROLLBACK`` on
an exception), nested levels are savepoints, so a write that fails inside a caller's
transaction undoes only itself and the caller decides about the rest.

**Fencing.** A transaction opened by a job of ``serve``'s leader (inside
``fencing.fenced``) checks, right after ``BEGIN IMMEDIATE``, that the leader's lease still has
the token it was given (``fencing.check``): a deposed leader writes nothing.

**The revision and the log.** A transaction that wrote something a status depends on
moves the store's revision (``schema.bump_revision``) just before its ``COMMIT``; a commit
then asks the ``Checkpointer`` to copy the write-ahead log into the file soon, in its own
thread, so no commit has to checkpoint while it holds the write lock.

Every sqlite3 error leaves as ``StoreError`` (``raise … from exc``) with a sentence that
names the store file; a lock held by another writer as ``StoreBusyError``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from errorbudget.errors import StoreBusyError, StoreError
from errorbudget.records import DEFAULT_LOCK_TIMEOUT, LockWaiter, WriterInfo
from errorbudget.store import fencing
from errorbudget.store.counts.pending import PendingCounts
from errorbudget.store.fencing import current_fence
from errorbudget.store.sqlite import lease_table, locking, schema
from errorbudget.store.sqlite.checkpointer import Checkpointer
from errorbudget.store.sqlite.connections import ReaderPool
from errorbudget.store.sqlite.counts import SQLiteCountsTables
from errorbudget.store.writer_lock import busy_message, holder_sentence, holding

MEMORY = ":memory:"
BUSY_SLICE = 0.25
"""SQLite's busy handler waits this long per attempt; between attempts the writer checks
its deadline and reports progress (``on_wait``)."""


def open_writer(path: str | Path, lock_timeout: float) -> Access:
    """The store file at ``path`` (``":memory:"``: in RAM), configured and migrated."""
    in_memory = str(path) == MEMORY
    label = "in memory" if in_memory else str(path)
    if not in_memory and not Path(path).parent.is_dir():
        raise StoreError(
            f"cannot open the store {label}: directory {Path(path).parent} does not exist"
        )
    try:
        connection = sqlite3.connect(
            MEMORY if in_memory else Path(path),
            isolation_level=None,
            check_same_thread=False,
            cached_statements=128,
        )
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the store {label}: {exc}") from exc
    try:
        schema.configure(connection, is_file=not in_memory, busy_timeout=lock_timeout)
        schema.migrate(connection, label)
        _set_busy_timeout(connection, lock_timeout)
    except sqlite3.Error as exc:
        connection.close()
        if locking.is_busy(exc):
            found = None if in_memory else locking.current_holder(path)
            raise StoreBusyError(
                f"cannot open the store: {busy_message(label, found, lock_timeout)}",
                holder=found,
            ) from exc
        raise StoreError(f"cannot open the store {label}: {exc}") from exc
    except BaseException:
        connection.close()
        raise
    return Access(connection, label, None if in_memory else Path(path), lock_timeout)


class Access:
    """The writer connection and its lock, the read connections, and transactions."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        label: str,
        path: Path | None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        self.connection: sqlite3.Connection | None = connection
        """The writer connection (None once closed)."""
        self.label = label
        self.path = path
        self.lock_timeout = lock_timeout
        self.holder: WriterInfo | None = None
        """This process, announced while its transactions hold the write lock."""
        self.on_wait: LockWaiter | None = None
        self._lock = threading.RLock()
        self._readers = (
            ReaderPool(path, label, busy_timeout=max(lock_timeout, 1.0)) if path else None
        )
        self.pending = PendingCounts()
        """Counts the open transaction's writes kept back (``pending.py``)."""
        self._checkpointer = Checkpointer(path, self._checkpoint_writer) if path else None
        self._kept = schema.user_version(connection) >= schema.REVISION_SCHEMA
        """Whether the file keeps the revision (always, once migrated; an older errorbudget
        emulated in a test may run without it, then it is counted in this process)."""
        self._revision = schema.read_revision(connection) if self._kept else 0
        """The revision this process last committed or read (``revision()``)."""
        self._changed = False  # the open transaction made a write that can change a status
        self._owner: int | None = None  # the thread of the open transaction, if any
        self._depth = 0
        self._announced: WriterInfo | None = None

    def close(self) -> None:
        """Close the connections (idempotent); the WAL is checkpointed by SQLite."""
        if self._checkpointer is not None:
            # First, outside the lock: a checkpoint under way may be waiting for it.
            self._checkpointer.close()
        with self._lock:
            if self.connection is None:
                return
            connection, self.connection = self.connection, None
            if self._readers is not None:
                self._readers.close()
            try:
                connection.execute("PRAGMA optimize")
            except sqlite3.Error:
                pass  # only a statistics refresh: closing matters more
            finally:
                connection.close()

    def set_lock_timeout(self, seconds: float) -> None:
        with self.using("set the lock timeout") as connection:
            self.lock_timeout = max(0.0, seconds)
            _set_busy_timeout(connection, self.lock_timeout)

    # --- errors ----------------------------------------------------------------------------

    def error(self, doing: str, exc: sqlite3.Error) -> StoreError:
        """``exc`` as this package's error, naming the store (and who holds it, if busy)."""
        if locking.is_busy(exc):
            found = locking.current_holder(self.path) if self.path else None
            who = holder_sentence(self.label, found)
            return StoreBusyError(f"cannot {doing}: {who}; try again later", holder=found)
        return StoreError(f"cannot {doing} in the store {self.label}: {exc}")

    # --- the writer ------------------------------------------------------------------------

    @contextmanager
    def using(self, doing: str, deadline: float | None = None) -> Iterator[sqlite3.Connection]:
        """Hold the writer connection's lock (until ``deadline``, a ``time.monotonic()``
        instant, else as long as it takes) and map sqlite3 errors to StoreError."""
        with holding(self._lock, doing, self.label, self.lock_timeout, deadline):
            if self.connection is None:
                raise StoreError(f"cannot {doing}: the store {self.label} is closed")
            try:
                yield self.connection
            except sqlite3.Error as exc:
                raise self.error(doing, exc) from exc

    @contextmanager
    def writing(self, doing: str, *, counts: bool = False) -> Iterator[sqlite3.Connection]:
        """The writer connection inside one transaction level, for at most
        ``lock_timeout`` seconds of waiting for the locks. ``counts``: a counts write that
        may add to what the transaction keeps back (anything else writes that first)."""
        deadline = time.monotonic() + self.lock_timeout
        with (
            self.using(doing, deadline) as connection,
            self._level(connection, doing, deadline, counts=counts),
        ):
            yield connection

    def _checkpoint_writer(self) -> AbstractContextManager[sqlite3.Connection]:
        return self.using("checkpoint the write-ahead log")

    def mark_changed(self) -> None:
        """The open transaction wrote something that can change a status."""
        self._changed = True

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread has a transaction open."""
        return self._depth > 0 and self._owner == threading.get_ident()

    def _begin(self, connection: sqlite3.Connection, doing: str, deadline: float) -> None:
        """``BEGIN IMMEDIATE``, waiting for another connection's write lock until
        ``deadline`` in slices (reporting each to ``on_wait``), then StoreBusyError."""
        began = time.monotonic()
        waited = False
        try:
            while True:
                try:
                    connection.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError as exc:
                    if not locking.is_busy(exc):
                        raise
                    now = time.monotonic()
                    found = locking.current_holder(self.path) if self.path else None
                    if now >= deadline - 0.001:
                        message = busy_message(self.label, found, now - began)
                        raise StoreBusyError(f"cannot {doing}: {message}", holder=found) from exc
                    waited = True
                    if self.on_wait is not None:
                        self.on_wait.waiting(found, now - began)
                    _set_busy_timeout(connection, deadline - now)  # the last slice ends on time
        finally:
            if waited:
                _set_busy_timeout(connection, self.lock_timeout)
        if waited and self.on_wait is not None:
            self.on_wait.acquired(time.monotonic() - began)

    @contextmanager
    def _level(
        self, connection: sqlite3.Connection, doing: str, deadline: float, *, counts: bool
    ) -> Iterator[None]:
        """One transaction level: BEGIN IMMEDIATE at the outside, a savepoint inside.

        Counts kept back (``pending``) belong to the level that was open when they were
        kept (``pending.level``): written before any other level opens, dropped when their
        level rolls back, handed to the level around theirs when it ends."""
        depth = self._depth
        savepoint = f"errorbudget_{depth}"
        pending = self.pending
        if pending and (not counts or pending.level != depth):
            pending.flush(SQLiteCountsTables(connection))
        if counts:
            pending.level = depth
        if depth == 0:
            self._begin(connection, doing, deadline)
            self._changed = False
            fence = current_fence()
            if fence is not None:
                try:  # a leader's job: its lease must still be its own (store/fencing.py)
                    fencing.check(lease_table, connection, fence, self.label)
                except BaseException:
                    connection.execute("ROLLBACK")
                    self._end()
                    raise
            if self.holder is not None and self.path is not None:
                self._announced = self.holder.at(datetime.now(UTC))
                locking.announce(self.path, self._announced)
        else:
            connection.execute(f"SAVEPOINT {savepoint}")
        self._owner = threading.get_ident()  # only the lock's holder gets here
        self._depth += 1
        try:
            yield
        except BaseException:
            self._depth = depth
            if pending.level > depth or depth == 0:
                pending.clear()  # kept by the level rolled back
            try:
                if connection.in_transaction:  # SQLite may have rolled back already
                    if depth == 0:
                        connection.execute("ROLLBACK")
                    else:
                        connection.execute(f"ROLLBACK TO {savepoint}")
                        connection.execute(f"RELEASE {savepoint}")
            finally:
                if depth == 0:
                    self._end()
            raise
        self._depth = depth
        if depth:
            connection.execute(f"RELEASE {savepoint}")
            pending.level = min(pending.level, depth)
            return
        try:
            pending.flush(SQLiteCountsTables(connection))
            revision = None
            if self._changed:
                revision = schema.bump_revision(connection) if self._kept else self._revision + 1
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            self._end()
            raise
        if revision is not None:
            self._revision = revision  # after the commit: a reader never caches the old data
        self._end()
        if self._checkpointer is not None:
            self._checkpointer.committed()

    def _end(self) -> None:
        self._changed = False
        self.pending.clear()  # written before a commit; dropped with a rollback
        if self._announced is not None and self.path is not None:
            locking.withdraw(self.path, self._announced)
            self._announced = None

    def revision(self) -> int:
        """The store's revision as last committed, by this process or another one: read on
        a read connection, which never waits for a writer. In memory (one connection, this
        process the only writer) the one this process committed last."""
        if self._readers is None or not self._kept:
            return self._revision
        if self.connection is None:
            raise StoreError(f"cannot read the revision: the store {self.label} is closed")
        try:
            with self._readers.connection() as connection:
                self._revision = schema.read_revision(connection)
        except sqlite3.Error as exc:
            raise self.error("read the revision", exc) from exc
        return self._revision

    # --- readers ---------------------------------------------------------------------------

    @contextmanager
    def reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for multi-query reads (a deferred read transaction), on a
        read connection: never behind a writer. In memory, or inside this thread's own
        transaction, on the writer connection."""
        if self._readers is None or self.in_transaction:
            with self.using(doing) as connection:
                if self._depth or connection.in_transaction:
                    if self.pending:  # the transaction reads its own writes
                        self.pending.flush(SQLiteCountsTables(connection))
                    yield connection
                    return
                connection.execute("BEGIN")
                try:
                    yield connection
                finally:
                    if connection.in_transaction:
                        connection.execute("COMMIT")
            return
        if self.connection is None:
            raise StoreError(f"cannot {doing}: the store {self.label} is closed")
        try:
            with self._readers.connection() as connection:
                connection.execute("BEGIN")
                try:
                    yield connection
                finally:
                    if connection.in_transaction:
                        connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self.error(doing, exc) from exc

    # --- the write-ahead log ---------------------------------------------------------------

    def checkpoint(self) -> None:
        """``wal_checkpoint(PASSIVE)`` on a connection of its own: blocks neither readers nor
        the writer."""
        if self.path is None:
            return
        try:
            with sqlite3.connect(self.path, timeout=1.0) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
            connection.close()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot checkpoint the store {self.label}: {exc}") from exc


def _set_busy_timeout(connection: sqlite3.Connection, lock_timeout: float) -> None:
    """SQLite waits one slice per attempt (the writer loops until its deadline)."""
    slice_ms = round(min(BUSY_SLICE, max(lock_timeout, 0.0)) * 1000)
    connection.execute(f"PRAGMA busy_timeout = {slice_ms:d}")
