"""``AlertsPart`` of ``PostgresStore``: the methods of ``store/record_parts.py`` (shared with
SQLite) over this backend's SQL, ``alerts_sql.py``."""

from __future__ import annotations

from typing import ClassVar

from errorbudget.store import record_parts
from errorbudget.store.postgres import alerts_sql
from errorbudget.store.postgres.access import PgAccess


class AlertsPart(record_parts.AlertsPart[PgAccess]):
    """``AlertRecords`` over PostgreSQL."""

    _alert_sql: ClassVar[record_parts.AlertSql] = alerts_sql
