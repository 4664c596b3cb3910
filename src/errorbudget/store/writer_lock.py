"""The store's one writer at a time, as both backends say and wait for it.

Each backend serialises its writers with a lock of the database (SQLite's write lock, a
PostgreSQL advisory lock) and, within a process, one writer connection behind a re-entrant
lock; this module has what they share: holding that process lock until a deadline, and
the sentences naming who holds the store.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from errorbudget.errors import StoreBusyError
from errorbudget.records import WriterInfo


def holder_sentence(label: str, holder: WriterInfo | None) -> str:
    """Who holds the store ``label``: the writer if it is known."""
    if holder is not None:
        return f"the store {label} is being written by {holder.describe()}"
    return f"another connection holds the write lock of the store {label}"


def busy_message(label: str, holder: WriterInfo | None, waited: float) -> str:
    """One sentence: who holds the store and how long this writer waited."""
    who = holder_sentence(label, holder)
    return f"{who}; gave up after waiting {waited:.1f} s: try again when it is done"


@contextmanager
def holding(
    lock: threading.RLock, doing: str, label: str, lock_timeout: float, deadline: float | None
) -> Iterator[None]:
    """Hold this process's writer ``lock`` (until ``deadline``, a ``time.monotonic()``
    instant, else as long as it takes), else StoreBusyError."""
    timeout = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
    if not lock.acquire(timeout=timeout):
        raise StoreBusyError(
            f"cannot {doing}: another write of this process held the store {label} "
            f"for {lock_timeout:.1f} s; try again later"
        )
    try:
        yield
    finally:
        lock.release()
