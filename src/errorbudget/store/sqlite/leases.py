"""Leases over SQLite (table ``leases``, schema v10 in ``schema.py``): ``LeasesPart`` is the
``Leases`` half of ``SQLiteStore``, the shared ``fencing.LeasesPart`` over this backend's
SQL (``lease_table.py``).

Every lease change is a write transaction (``BEGIN IMMEDIATE``): it is serialised with every
other write of every process on the file, so a write that checked the fence at its start
holds the write lock until it commits, and no other holder can take the lease meanwhile.
"""

from __future__ import annotations

from typing import ClassVar

from errorbudget.store import fencing
from errorbudget.store.sqlite import lease_table
from errorbudget.store.sqlite.access import Access


class LeasesPart(fencing.LeasesPart[Access]):
    """``Leases`` over SQLite."""

    _lease_sql: ClassVar[fencing.LeaseSql] = lease_table
