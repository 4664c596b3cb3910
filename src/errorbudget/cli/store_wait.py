"""Opening the store from a CLI command that writes: say who holds it, and wait visibly.

SQLite lets one writer at a time; a second ``errorbudget ingest`` used to fail after 10 s
with "database is locked". A writing command now announces itself while it holds the lock
(``store.sqlite.locking``), and one that has to wait says for whom and shows it waits — a
spinner on a terminal, one line otherwise::

    the store eb.db is being written by `errorbudget ingest` (pid 1234) since 17:02:03 UTC;
    waiting up to 10m (--wait)… Ctrl-C to stop

It goes on when the lock comes free, or gives up after its wait (``ingest --wait``,
default 10 minutes; other commands 30 s) with that sentence and exit code 4.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.status import Status

from errorbudget.app import App
from errorbudget.durations import format_duration
from errorbudget.errors import StoreBusyError
from errorbudget.records import DEFAULT_LOCK_TIMEOUT, WriterInfo


class WaitNotice:
    """A :class:`~errorbudget.records.LockWaiter` for a terminal (a rich spinner) or a
    log (one line when the wait begins, one when it ends)."""

    def __init__(self, limit: float, hint: str, console: Console | None = None) -> None:
        self.label = ""
        """The store's file, once known (the config names it)."""
        self.limit = limit
        self.hint = hint
        self.console = console or Console(stderr=True)
        self._status: Status | None = None
        self._told = False

    def _text(self, holder: WriterInfo | None, waited: float) -> str:
        store = f"the store {self.label}" if self.label else "the store"
        who = (
            f"{store} is being written by {holder.describe()}"
            if holder is not None
            else f"another process holds the write lock of {store}"
        )
        limit = format_duration(timedelta(seconds=max(1, round(self.limit))))
        so_far = f", {waited:.0f} s so far," if waited >= 1 else ""
        return f"{who}; waiting{so_far} up to {limit}{self.hint}… Ctrl-C to stop"

    def waiting(self, holder: WriterInfo | None, waited: float) -> None:
        text = self._text(holder, waited)
        if self.console.is_terminal:
            if self._status is None:
                self._status = self.console.status(text)
                self._status.start()
            else:
                self._status.update(text)
        elif not self._told:
            self._told = True
            click.echo(f"errorbudget: {text}", err=True)

    def acquired(self, waited: float) -> None:
        self.stop()
        if self._told or waited >= 1:
            click.echo(f"errorbudget: the store is free after {waited:.1f} s; going on", err=True)
        self._told = False

    def stop(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None


@contextmanager
def open_app(
    config_path: Path | None, command: str, wait: timedelta | None = None
) -> Iterator[App]:
    """``App.open`` for a writing command: announced as ``command`` while it holds the
    store's lock, waiting up to ``wait`` (default 30 s) for it with a notice."""
    limit = wait.total_seconds() if wait is not None else DEFAULT_LOCK_TIMEOUT
    hint = " (--wait)" if wait is not None else ""
    notice = WaitNotice(limit, hint)
    try:
        holder = WriterInfo.current(command)
        with App.open(config_path, lock_timeout=limit, holder=holder, on_wait=notice) as app:
            notice.label = app.store.label
            yield app
    except StoreBusyError as exc:
        notice.stop()
        more = ", or pass a longer --wait" if wait is not None else ""
        raise StoreBusyError(f"{exc}{more}", holder=exc.holder) from exc
    finally:
        notice.stop()
