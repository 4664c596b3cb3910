"""The PostgreSQL store's leases for leader election, with fencing; tables in
sql/70_leases.sql. Owned by wt-pg-leader (issue #13): a mixin of ``PostgresStore`` using
``self._db`` (``PgAccess``) and ``self._clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.store.postgres.access import PgAccess


class LeasesPart:
    """Filled by wt-pg-leader (see the module docstring)."""

    _db: PgAccess
    _clock: Callable[[], datetime]
