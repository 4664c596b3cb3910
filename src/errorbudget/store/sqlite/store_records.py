"""The SQLite store's records: the shared parts (``store.shared``: exclusions, audit log,
chain and snapshots, source runs and data issues; changes, approvals, annotations and
idempotency keys) on the SQLite connections, which run the shared SQL as they are."""

from __future__ import annotations

from errorbudget.store.shared import changes_part, records_part
from errorbudget.store.shared.connection import RecordsAccess
from errorbudget.store.sqlite.access import Access


class RecordsPart(records_part.RecordsPart):
    """``ExclusionRecords``, ``AuditLog`` and ``SourceHealthRecords`` over SQLite."""

    _db: Access

    @property
    def _records(self) -> RecordsAccess:
        return self._db


class ChangesPart(changes_part.ChangesPart):
    """``ChangeRecords`` and ``AnnotationRecords`` over SQLite."""

    _db: Access

    @property
    def _records(self) -> RecordsAccess:
        return self._db
