"""Who holds the store's write lock, and how a writer that has to wait says so.

SQLite lets one connection write at a time (``BEGIN IMMEDIATE``); a second writer gets
``SQLITE_BUSY`` and, on its own, can only say "database is locked". A long writer — a CLI
``ingest`` holds the lock for its whole file — therefore *announces* itself while it holds
the lock: a small JSON file beside the store (``<store>-writer.json``: pid, host, command,
since), written when its transaction begins and removed when it ends. A writer that waits
reads it to say who it waits for ("the store is being written by ``errorbudget ingest``
(pid 1234) since 17:02:03"). A file left by a process that died (kill -9) names a pid that
no longer runs on this host and is ignored.

The announcement is advisory: it never decides who may write (SQLite's lock does), so a
missing or stale file costs only the name in a message.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
from pathlib import Path

from errorbudget.records import WriterInfo

SQLITE_BUSY = 5
SQLITE_LOCKED = 6


def is_busy(exc: sqlite3.Error) -> bool:
    """Whether ``exc`` means another connection holds a lock (SQLITE_BUSY/LOCKED, any
    extended code), rather than a broken statement or file."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


def holder_path(store_path: str | Path) -> Path:
    """Where the writer holding ``store_path``'s lock announces itself."""
    store = Path(store_path)
    return store.with_name(store.name + "-writer.json")


def announce(store_path: str | Path, info: WriterInfo) -> None:
    """Say that ``info`` holds the write lock (atomically: a reader never sees half a file).
    Best effort: a directory that refuses the file only costs the name in messages."""
    target = holder_path(store_path)
    temporary = target.with_name(f"{target.name}.{info.pid}.tmp")
    with contextlib.suppress(OSError):
        temporary.write_text(info.to_json(), encoding="utf-8")
        temporary.replace(target)


def withdraw(store_path: str | Path, info: WriterInfo) -> None:
    """Remove the announcement if it is still this process's."""
    target = holder_path(store_path)
    with contextlib.suppress(OSError, ValueError, KeyError):
        if WriterInfo.from_json(target.read_text(encoding="utf-8")).pid == info.pid:
            target.unlink()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    return True


def current_holder(store_path: str | Path) -> WriterInfo | None:
    """The announced holder of the write lock, or None (none announced, or it has died)."""
    try:
        info = WriterInfo.from_json(holder_path(store_path).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if info.host == socket.gethostname() and (info.pid == os.getpid() or not _running(info.pid)):
        return None  # ours (a leftover of this process) or dead: not who we wait for
    return info
