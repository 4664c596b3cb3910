"""The PostgreSQL store's leases for leader election, with fencing; table in
sql/70_leases.sql. ``LeasesPart`` is a mixin of ``PostgresStore``; what a take, renewal or
fence check decides is shared with SQLite (``store/fencing.py``), only the SQL is here.

A lease change is a write transaction: it holds the store's write lock (``access.py``), so
it is serialised with every write of every replica, and a write that checked the fence when
it took the lock commits before the next holder can take the lease, or not at all. Times are
the database server's clock (``clock_timestamp()``), shared by every replica whatever their
own clocks say.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.records import Lease
from errorbudget.store import fencing
from errorbudget.store.fencing import Fence
from errorbudget.store.postgres.access import PgAccess
from errorbudget.store.postgres.lease_table import COLUMNS, check, database_now, read_lease


class LeasesPart:
    """``Leases`` over PostgreSQL."""

    _db: PgAccess
    _clock: Callable[[], datetime]

    def acquire_lease(
        self, name: str, holder: str, ttl: float, *, replacing: str | None = None
    ) -> Lease | None:
        """Take, renew or leave the lease (``fencing.decide``)."""
        with fencing.fenced(None), self._db.writing("take the lease") as connection:
            row = read_lease(connection, name)
            written = fencing.decide(row, name, holder, database_now(connection), ttl, replacing)
            if written is None:
                return None
            connection.execute(
                f"INSERT INTO leases ({COLUMNS}) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) "
                "DO UPDATE SET holder = excluded.holder, token = excluded.token, "
                "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
                written,
            )
            return fencing.lease_of(written)

    def release_lease(self, name: str, holder: str, token: int) -> bool:
        """Expire the lease now if ``holder`` has it with ``token``."""
        with fencing.fenced(None), self._db.writing("release the lease") as connection:
            cursor = connection.execute(
                "UPDATE leases SET expires_at = least(expires_at, "
                "extract(epoch FROM clock_timestamp())::float8) "
                "WHERE name = %s AND holder = %s AND token = %s",
                (name, holder, token),
            )
            return cursor.rowcount > 0

    def current_lease(self, name: str) -> Lease | None:
        """The lease while it has not expired (by the database's clock)."""
        with self._db.reading("read the lease") as connection:
            row = read_lease(connection, name)
            now = database_now(connection)
        if row is None or row[4] <= now:
            return None
        return fencing.lease_of(row)

    def check_fence(self, name: str, token: int) -> None:
        """FencedError unless ``token`` is the lease's token (in the caller's transaction)."""
        with self._db.writing("check the lease's fence") as connection:
            check(connection, Fence(name, token), self._db.label)
