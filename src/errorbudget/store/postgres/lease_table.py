"""The ``leases`` table's reads both the leases part (``leases_part.py``) and the fence check
of every fenced write transaction (``access.py``) need, and the database's clock."""

from __future__ import annotations

from typing import Any

import psycopg

from errorbudget.store import fencing
from errorbudget.store.fencing import Fence, LeaseRow

Connection = psycopg.Connection[tuple[Any, ...]]
"""As ``access.Connection`` (which imports this module)."""

COLUMNS = "name, holder, token, acquired_at, expires_at"


def database_now(connection: Connection) -> float:
    """The database server's clock now (``clock_timestamp()``, not the transaction's start:
    a writer may have waited for the write lock), in seconds since the epoch."""
    row = connection.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
    assert row is not None
    return float(row[0])


def read_lease(connection: Connection, name: str) -> LeaseRow | None:
    found = connection.execute(f"SELECT {COLUMNS} FROM leases WHERE name = %s", (name,)).fetchone()
    if found is None:
        return None
    return (str(found[0]), str(found[1]), int(found[2]), float(found[3]), float(found[4]))


def check(connection: Connection, fence: Fence, label: str) -> None:
    """``fencing.enforce`` with the lease's token as stored (inside the write transaction,
    which holds the store's write lock: no lease changes until it ends)."""
    row = read_lease(connection, fence.name)
    fencing.enforce(fence, None if row is None else row[2], label)
