"""The PostgreSQL store's alerts, groups, episodes and silences; tables in sql/50_alerts.sql.
Owned by wt-pg-alerts (issue #13): a mixin of ``PostgresStore`` using ``self._db``
(``PgAccess``) and ``self._clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.store.postgres.access import PgAccess


class AlertsPart:
    """Filled by wt-pg-alerts (see the module docstring)."""

    _db: PgAccess
    _clock: Callable[[], datetime]
