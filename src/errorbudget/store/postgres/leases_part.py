"""The PostgreSQL store's leases for leader election, with fencing; table in
sql/70_leases.sql. ``LeasesPart`` is a mixin of ``PostgresStore``: the shared
``fencing.LeasesPart`` over this backend's SQL (``lease_table.py``).

A lease change is a write transaction: it holds the store's write lock (``access.py``), so
it is serialised with every write of every replica, and a write that checked the fence when
it took the lock commits before the next holder can take the lease, or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from errorbudget.store import fencing
from errorbudget.store.postgres import lease_table
from errorbudget.store.postgres.access import PgAccess


class LeasesPart(fencing.LeasesPart[PgAccess]):
    """``Leases`` over PostgreSQL."""

    _clock: Callable[[], datetime]
    _lease_sql: ClassVar[fencing.LeaseSql] = lease_table
