"""The ``leases`` table's reads both the leases part (``leases.py``) and the fence check of
every fenced write transaction (``access.py``) need."""

from __future__ import annotations

import sqlite3

from errorbudget.store import fencing
from errorbudget.store.fencing import Fence, LeaseRow

COLUMNS = "name, holder, token, acquired_at, expires_at"


def read_lease(connection: sqlite3.Connection, name: str) -> LeaseRow | None:
    found = connection.execute(f"SELECT {COLUMNS} FROM leases WHERE name = ?", (name,)).fetchone()
    if found is None:
        return None
    return (str(found[0]), str(found[1]), int(found[2]), float(found[3]), float(found[4]))


def check(connection: sqlite3.Connection, fence: Fence, label: str) -> None:
    """``fencing.enforce`` with the lease's token as stored (inside the write transaction)."""
    row = read_lease(connection, fence.name)
    fencing.enforce(fence, None if row is None else row[2], label)
