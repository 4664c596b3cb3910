"""``OutboxPart`` of ``PostgresStore``: the methods of ``store/record_parts.py`` (shared with
SQLite) over this backend's SQL, ``outbox_sql.py``."""

from __future__ import annotations

from typing import ClassVar

from errorbudget.store import record_parts
from errorbudget.store.postgres import outbox_sql
from errorbudget.store.postgres.access import PgAccess


class OutboxPart(record_parts.OutboxPart[PgAccess]):
    """``NotificationOutbox`` over PostgreSQL."""

    _outbox_sql: ClassVar[record_parts.OutboxSql] = outbox_sql
