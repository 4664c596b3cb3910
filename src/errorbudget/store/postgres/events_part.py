"""``EventsPart`` of ``PostgresStore``: the methods of ``store/record_parts.py`` (shared with
SQLite) over this backend's SQL, ``events_sql.py``."""

from __future__ import annotations

from typing import ClassVar

from errorbudget.store import record_parts
from errorbudget.store.postgres import events_sql
from errorbudget.store.postgres.access import PgAccess


class EventsPart(record_parts.EventsPart[PgAccess]):
    """``EventRecords`` over PostgreSQL."""

    _event_sql: ClassVar[record_parts.EventSql] = events_sql
