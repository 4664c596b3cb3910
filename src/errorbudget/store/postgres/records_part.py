"""The PostgreSQL store's exclusions, audit log, chain and gate snapshots, source runs and
data issues: the parts shared with SQLite (``store.shared.records_part``) on portable
connections (``portable.py``); tables in sql/30_records.sql and sql/40_changes_audit.sql.
"""

from __future__ import annotations

from errorbudget.store.postgres.access import PgAccess
from errorbudget.store.postgres.portable import PortableAccess
from errorbudget.store.shared import records_part
from errorbudget.store.shared.connection import RecordsAccess


class RecordsPart(records_part.RecordsPart):
    """``ExclusionRecords``, ``AuditLog`` and ``SourceHealthRecords`` over PostgreSQL."""

    _db: PgAccess

    @property
    def _records(self) -> RecordsAccess:
        return PortableAccess(self._db)
