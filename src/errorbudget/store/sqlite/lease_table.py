"""The ``leases`` table's SQL on SQLite (schema v10): ``fencing.LeaseSql`` for the shared
``fencing.LeasesPart`` (``leases.py``) and the fence check of every fenced write transaction
(``access.py``). Times are ``time.time()`` of the writing process: the replicas on one
SQLite file run on one machine, so they share that clock (never the app's clock, which may
be simulated)."""

from __future__ import annotations

import sqlite3
import time

from errorbudget.store.fencing import LeaseRow

COLUMNS = "name, holder, token, acquired_at, expires_at"


def database_now(connection: sqlite3.Connection, /) -> float:
    return time.time()


def read_lease(connection: sqlite3.Connection, name: str, /) -> LeaseRow | None:
    found = connection.execute(f"SELECT {COLUMNS} FROM leases WHERE name = ?", (name,)).fetchone()
    if found is None:
        return None
    return (str(found[0]), str(found[1]), int(found[2]), float(found[3]), float(found[4]))


def write_lease(connection: sqlite3.Connection, row: LeaseRow, /) -> None:
    connection.execute(
        f"INSERT INTO leases ({COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
        "SET holder = excluded.holder, token = excluded.token, "
        "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
        row,
    )
