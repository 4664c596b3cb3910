"""Read connections of a file store: reads that never wait for a writer.

A file store runs in WAL mode, where a reader sees the last committed state while another
connection — of this process or another one, a CLI ``ingest`` holding the write lock for
its whole file — writes. The store therefore writes through one connection (serialised by
a lock, see ``sqlite.py``) and reads through connections of its own, handed out by this
pool: a read checks one out for its snapshot (``BEGIN … COMMIT``) and gives it back.

The pool keeps at most ``keep`` idle connections; a burst beyond that opens more, closed
when they come back, so the number of connections follows the number of concurrent readers
(bounded by the web server's thread pool) and idle memory stays bounded.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from errorbudget.errors import StoreError
from errorbudget.store.sqlite import schema

KEEP_IDLE = 8


class ReaderPool:
    """Read-only connections to the store file at ``path``."""

    def __init__(self, path: Path, label: str, *, busy_timeout: float, keep: int = KEEP_IDLE):
        self._path = path
        self._label = label
        self._busy_timeout = busy_timeout
        self._keep = keep
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    def _open(self) -> sqlite3.Connection:
        try:
            connection = sqlite3.connect(
                self._path,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=128,
                timeout=self._busy_timeout,
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store {self._label} for reading: {exc}") from exc
        try:
            schema.configure_reader(connection, busy_timeout=self._busy_timeout)
        except BaseException:
            connection.close()
            raise
        return connection

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for one read; it goes back to the pool (or is closed) afterwards.
        sqlite3 errors pass through: the store maps them to its own."""
        with self._lock:
            if self._closed:
                raise StoreError(f"the store {self._label} is closed")
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self._open()
        reusable = False
        try:
            yield connection
            reusable = not connection.in_transaction
        finally:
            self._give_back(connection, reusable)

    def _give_back(self, connection: sqlite3.Connection, reusable: bool) -> None:
        with self._lock:
            if reusable and not self._closed and len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        if connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # closing ends it anyway
                connection.execute("ROLLBACK")
        connection.close()

    def close(self) -> None:
        """Close the idle connections; those in use are closed when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()
