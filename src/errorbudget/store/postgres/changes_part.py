"""The PostgreSQL store's changes, approvals, the audit log, its chain and snapshots; tables in
sql/40_changes_audit.sql. Owned by wt-pg-records (issue #13): a mixin of ``PostgresStore``
using ``self._db`` (``PgAccess``) and ``self._clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.store.postgres.access import PgAccess


class ChangesPart:
    """Filled by wt-pg-records (see the module docstring)."""

    _db: PgAccess
    _clock: Callable[[], datetime]
