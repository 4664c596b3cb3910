"""PostgreSQL connections that run the shared records' portable SQL (``store.shared``).

The shared modules write ``?`` placeholders (``store.shared.connection`` says which SQL is
portable); psycopg takes ``%s``. ``PortableConnection`` rewrites each statement once
(cached) and otherwise hands it to psycopg as it is; ``PortableAccess`` gives the store's
transactions (``PgAccess``) such connections, so the shared parts run inside the same
transactions, savepoints and write lock as every other write of the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import psycopg

if TYPE_CHECKING:
    from errorbudget.store.postgres.access import PgAccess


@lru_cache(maxsize=512)
def to_psycopg(sql: str) -> str:
    """``sql`` with psycopg's placeholders: ``?`` → ``%s`` (a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PortableConnection:
    """A psycopg connection seen as ``store.shared.connection.Connection``."""

    __slots__ = ("_connection",)

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        # Always with parameters (even none): psycopg then reads %% as one %.
        return self._connection.execute(to_psycopg(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[Any]:
        cursor = self._connection.cursor()
        cursor.executemany(to_psycopg(sql), [tuple(row) for row in parameters])
        return cursor


class PortableAccess:
    """The store's transactions (``PgAccess``) on portable connections."""

    __slots__ = ("_access",)

    def __init__(self, access: PgAccess) -> None:
        self._access = access

    @contextmanager
    def writing(self, doing: str) -> Iterator[PortableConnection]:
        with self._access.writing(doing) as connection:
            yield PortableConnection(connection)

    @contextmanager
    def reading(self, doing: str) -> Iterator[PortableConnection]:
        with self._access.reading(doing) as connection:
            yield PortableConnection(connection)

    def mark_changed(self) -> None:
        self._access.mark_changed()
