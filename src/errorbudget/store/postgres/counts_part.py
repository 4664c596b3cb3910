"""The PostgreSQL store's counts (``CountsWriter``, ``CountsReader``): write_counts,
add_counts, sums, minute_arrays, data_bounds, series_bounds; tables in sql/20_counts.sql.
Owned by wt-pg-counts (issue #13): a mixin of ``PostgresStore`` using ``self._db``
(``PgAccess``) and ``self._clock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from errorbudget.store.postgres.access import PgAccess


class CountsPart:
    """Filled by wt-pg-counts (see the module docstring)."""

    _db: PgAccess
    _clock: Callable[[], datetime]
