"""The connection the shared record modules write through, and the SQL they may use.

``Connection`` is the part of DB-API 2 they need: ``sqlite3.Connection`` is one as it
is; ``store.postgres.portable.PortableConnection`` adapts a psycopg connection.

The portable SQL dialect (what both SQLite ≥ 3.35 and PostgreSQL run alike):

- ``?`` placeholders (and never a ``?`` or ``%`` anywhere else in a statement);
- new ids by ``INSERT … RETURNING id`` (no ``lastrowid``), never an explicit ``NULL`` id;
- lists by ``IN (?, ?, …)`` (``marks``), chunked by ``CHUNK`` (no ``json_each``);
- upserts by ``ON CONFLICT (…) DO …`` (no ``INSERT OR IGNORE``); ``IS NOT ?`` only with a
  value that is never NULL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

CHUNK = 500
"""Most ids bound in one ``IN (…)`` (SQLite's bound-parameter limit is far above)."""


class Cursor(Protocol):
    """The result of one statement."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ..., /) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside the store's open transaction, running portable SQL."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


def marks(count: int) -> str:
    """``?, ?, …`` for an ``IN (…)`` of ``count`` values."""
    return ", ".join("?" * count)


def inserted_id(cursor: Cursor) -> int:
    """The id an ``INSERT … RETURNING id`` created."""
    row = cursor.fetchone()
    return int(row[0])


class RecordsAccess(Protocol):
    """A backend's transactions, as the shared record parts use them (the backend's
    ``Access``: writes serialised, nested levels as savepoints, errors as StoreError)."""

    def writing(self, doing: str) -> AbstractContextManager[Connection]:
        """One transaction level (the outermost takes the store's write lock)."""
        ...

    def reading(self, doing: str) -> AbstractContextManager[Connection]:
        """A consistent snapshot (inside this thread's transaction: that transaction)."""
        ...

    def mark_changed(self) -> None:
        """The open transaction wrote something a status depends on (moves the revision)."""
        ...
