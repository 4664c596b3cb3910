"""The ``leases`` table's SQL on PostgreSQL (sql/70_leases.sql): ``fencing.LeaseSql`` for the
shared ``fencing.LeasesPart`` (``leases_part.py``) and the fence check of every fenced
write transaction (``access.py``). Times are the database server's clock
(``clock_timestamp()``, not the transaction's start: a writer may have waited for the write
lock), shared by every replica whatever their own clocks say."""

from __future__ import annotations

from typing import Any

from errorbudget.store.fencing import LeaseRow

COLUMNS = "name, holder, token, acquired_at, expires_at"
NOW = "extract(epoch FROM clock_timestamp())::float8"


def database_now(connection: Any, /) -> float:
    row = connection.execute(f"SELECT {NOW}").fetchone()
    return float(row[0])


def read_lease(connection: Any, name: str, /) -> LeaseRow | None:
    found = connection.execute(f"SELECT {COLUMNS} FROM leases WHERE name = %s", (name,)).fetchone()
    if found is None:
        return None
    return (str(found[0]), str(found[1]), int(found[2]), float(found[3]), float(found[4]))


def write_lease(connection: Any, row: LeaseRow, /) -> None:
    connection.execute(
        f"INSERT INTO leases ({COLUMNS}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO "
        "UPDATE SET holder = excluded.holder, token = excluded.token, "
        "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
        row,
    )
