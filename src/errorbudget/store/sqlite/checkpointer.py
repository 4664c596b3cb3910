"""Keeping the write-ahead log short, in a thread of its own.

In WAL mode every commit appends the pages it changed to the log; a *checkpoint* copies them
into the database file, after which the next writer starts the log over. Left to itself,
SQLite checkpoints inside the commit that takes the log past ``wal_autocheckpoint`` pages
(``schema.WAL_CHECKPOINT_PAGES``, ~80 MB): that commit holds the write lock while it copies
and syncs, and every other writer waits behind it.

Measured (issue #9): a gate decision appends ~5.4 pages of 8 KiB (the audit entry's table
page and its four index pages), so at 500 decisions/s the log reached the limit every ~4 s
and the decision whose commit crossed it took 45–55 ms on an idle machine (56–125 ms under
load), with every decision queued behind it — the stalls ~6 s apart seen under load. The
server's 5-s checkpoint loop could not prevent them: the log filled faster than that.

So a file store checkpoints soon after its commits, off the write path: each commit kicks
this thread, which waits ``PAUSE`` seconds to gather more commits, then

1. runs a ``PASSIVE`` checkpoint on a connection of its own, which blocks neither readers
   nor the writer and copies nearly everything;
2. copies the rest — what was committed during step 1, a few pages — on the writer
   connection while it holds this process's write lock. Without this step the log is never
   started over under a steady load: the next writer restarts it only when every page in
   it has been copied, and with writes arriving every few milliseconds some always came in
   during the checkpoint (measured: the log still grew to the automatic checkpoint).

The log then holds a fraction of a second of writes, and the automatic checkpoint inside a
commit stays a backstop that a steady load does not reach.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

from errorbudget.errors import StoreError

PAUSE = 0.2
"""Seconds between a commit and the checkpoint that copies it (commits meanwhile join)."""


class Checkpointer:
    """Background ``PASSIVE`` checkpoints of the store file at ``path`` after commits."""

    def __init__(
        self, path: Path, writer: Callable[[], AbstractContextManager[sqlite3.Connection]]
    ) -> None:
        """``writer``: the writer connection, held under this process's write lock."""
        self._path = path
        self._writer = writer
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.checkpoints = 0
        """Checkpoints run so far (tests and benchmarks read it)."""

    def committed(self) -> None:
        """A write transaction committed: checkpoint soon (starts the thread the first time)."""
        if self._thread is None:
            with self._lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="errorbudget-checkpointer", daemon=True
                    )
                    self._thread.start()
        self._kick.set()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        try:
            while True:
                self._kick.wait()
                if self._stop.wait(PAUSE):
                    return
                self._kick.clear()
                try:
                    if connection is None:
                        connection = sqlite3.connect(self._path, timeout=1.0, isolation_level=None)
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    with self._writer() as writer:
                        writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except (sqlite3.Error, StoreError):
                    # Only upkeep: the automatic checkpoint inside a commit remains the
                    # backstop, and the next commit tries again on a fresh connection.
                    if connection is not None:
                        connection.close()
                    connection = None
        finally:
            if connection is not None:
                with contextlib.suppress(sqlite3.Error):
                    connection.close()

    def close(self) -> None:
        """Stop the thread (idempotent); a checkpoint under way finishes first."""
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        self._kick.set()
        if thread is not None:
            thread.join(timeout=10)
