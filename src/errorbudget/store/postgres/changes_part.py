"""The PostgreSQL store's changes, approvals, annotations and idempotency keys: the parts
shared with SQLite (``store.shared.changes_part``) on portable connections
(``portable.py``); tables in sql/30_records.sql and sql/40_changes_audit.sql.
"""

from __future__ import annotations

from errorbudget.store.postgres.access import PgAccess
from errorbudget.store.postgres.portable import PortableAccess
from errorbudget.store.shared import changes_part
from errorbudget.store.shared.connection import RecordsAccess


class ChangesPart(changes_part.ChangesPart):
    """``ChangeRecords`` and ``AnnotationRecords`` over PostgreSQL."""

    _db: PgAccess

    @property
    def _records(self) -> RecordsAccess:
        return PortableAccess(self._db)
