"""Leases over SQLite (table ``leases``, schema v10 in ``schema.py``): ``LeasesPart`` is the
``Leases`` half of ``SQLiteStore``; what a take, renewal or fence check decides is shared
with the PostgreSQL backend (``store/fencing.py``).

Every lease change is a write transaction (``BEGIN IMMEDIATE``): it is serialised with every
other write of every process on the file, so a write that checked the fence at its start
holds the write lock until it commits, and no other holder can take the lease meanwhile.
Times are ``time.time()`` of the writing process: the replicas on one SQLite file run on one
machine, so they share that clock (never the app's clock, which may be simulated).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from errorbudget.records import Lease
from errorbudget.store import fencing
from errorbudget.store.fencing import Fence
from errorbudget.store.sqlite.access import Access
from errorbudget.store.sqlite.lease_table import COLUMNS, check, read_lease


class LeasesPart:
    """``Leases`` over SQLite."""

    _db: Access
    _clock: Callable[[], datetime]

    def acquire_lease(
        self, name: str, holder: str, ttl: float, *, replacing: str | None = None
    ) -> Lease | None:
        """Take, renew or leave the lease (``fencing.decide``)."""
        with fencing.fenced(None), self._db.writing("take the lease") as connection:
            row = read_lease(connection, name)
            written = fencing.decide(row, name, holder, time.time(), ttl, replacing)
            if written is None:
                return None
            connection.execute(
                f"INSERT INTO leases ({COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO "
                "UPDATE SET holder = excluded.holder, token = excluded.token, "
                "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
                written,
            )
            return fencing.lease_of(written)

    def release_lease(self, name: str, holder: str, token: int) -> bool:
        """Expire the lease now if ``holder`` has it with ``token``."""
        with fencing.fenced(None), self._db.writing("release the lease") as connection:
            cursor = connection.execute(
                "UPDATE leases SET expires_at = min(expires_at, ?) "
                "WHERE name = ? AND holder = ? AND token = ?",
                (time.time(), name, holder, token),
            )
            return cursor.rowcount > 0

    def current_lease(self, name: str) -> Lease | None:
        """The lease while it has not expired."""
        with self._db.reading("read the lease") as connection:
            row = read_lease(connection, name)
        if row is None or row[4] <= time.time():
            return None
        return fencing.lease_of(row)

    def check_fence(self, name: str, token: int) -> None:
        """FencedError unless ``token`` is the lease's token (in the caller's transaction)."""
        with self._db.writing("check the lease's fence") as connection:
            check(connection, Fence(name, token), self._db.label)
