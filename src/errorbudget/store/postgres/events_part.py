"""The PostgreSQL store's voice-agent events; tables in sql/60_events.sql. Owned by wt-pg-
alerts (issue #13): a mixin of ``PostgresStore`` using ``self._db`` (``PgAccess``) and
``self._clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.store.postgres.access import PgAccess


class EventsPart:
    """Filled by wt-pg-alerts (see the module docstring)."""

    _db: PgAccess
    _clock: Callable[[], datetime]
