"""SQL run on a store's own writer connection, past the store's methods: what someone
holding the database can do, on any backend (the triggers and constraints must refuse it).

``direct_sql(store, statement)`` runs one statement outside any transaction of the store;
``REFUSED`` are the errors the drivers raise when the database refuses it.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from errorbudget.store import Store


def _refused() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # no PostgreSQL backend installed: SQLite only
        return (sqlite3.IntegrityError,)
    return (sqlite3.IntegrityError, psycopg.IntegrityError)


REFUSED = _refused()


def direct_sql(store: Store, statement: str) -> None:
    """Run ``statement`` on the store's writer connection (SQLite: the connection itself;
    PostgreSQL: the writer connection, autocommit, outside the store's transactions)."""
    connection: Any = getattr(store, "_connection", None)
    if connection is None:
        connection = store._db.connection  # type: ignore[attr-defined]  # PostgresStore
    assert connection is not None, f"{store!r} is closed"
    connection.execute(statement)
