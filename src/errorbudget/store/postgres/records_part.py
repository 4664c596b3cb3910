"""The PostgreSQL store's exclusions, annotations, idempotency keys, source runs and health,
data issues; tables in sql/30_records.sql. Owned by wt-pg-records (issue #13): a mixin of
``PostgresStore`` using ``self._db`` (``PgAccess``) and ``self._clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.store.postgres.access import PgAccess


class RecordsPart:
    """Filled by wt-pg-records (see the module docstring)."""

    _db: PgAccess
    _clock: Callable[[], datetime]
