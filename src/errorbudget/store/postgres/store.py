"""``PostgresStore``: the store protocols on a PostgreSQL database.

``StoreCore`` has the lifecycle, transactions, revision and series; every other protocol is
a part (a mixin in ``*_part.py``, owned by one branch of issue #13). ``with
store.transaction():`` is one ``BEGIN … COMMIT`` holding the store's write lock (an
advisory lock: one writer at a time, across processes, as on SQLite); nested levels are
savepoints (``access.py``). Opening migrates an empty or older schema and refuses a newer
one (``schema.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Self

from errorbudget.model import SegmentKey
from errorbudget.records import DEFAULT_LOCK_TIMEOUT, SeriesInfo, WriterInfo
from errorbudget.store.postgres import schema
from errorbudget.store.postgres.access import Connection, PgAccess
from errorbudget.store.postgres.alerts_part import AlertsPart
from errorbudget.store.postgres.changes_part import ChangesPart
from errorbudget.store.postgres.counts_part import CountsPart
from errorbudget.store.postgres.events_part import EventsPart
from errorbudget.store.postgres.leases_part import LeasesPart
from errorbudget.store.postgres.outbox_part import OutboxPart
from errorbudget.store.postgres.records_part import RecordsPart
from errorbudget.store.postgres.url import StoreUrl
from errorbudget.store.segments import (
    SeriesRecords,
    canonical_segment,
    check_slo_id,
    missing_series,
)
from errorbudget.store.store_base import StoreBase

__all__ = ["PostgresStore", "StoreCore"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class StoreCore(StoreBase[PgAccess]):
    """Lifecycle, transactions, the revision and series of a PostgreSQL store."""

    def __init__(self, access: PgAccess, clock: Callable[[], datetime]) -> None:
        """Use ``open``; this only wraps an already migrated store's connections."""
        self._db = access
        self._clock = clock
        self._series_records = SeriesRecords()

    # --- lifecycle ---------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        url: str,
        *,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        holder: WriterInfo | None = None,
        password: str | None = None,
    ) -> Self:
        """Open the store at ``url`` (``postgresql://user@host:port/database``), creating or
        upgrading its schema (refused when a newer errorbudget wrote it).

        ``clock`` stamps records (default: the system UTC clock); ``lock_timeout`` is how
        long a write waits for the write lock (then StoreBusyError); ``holder`` is this
        process as a waiting writer names it; ``password`` overrides the URL's and libpq's
        (``PGPASSWORD``, ``.pgpass``).
        """
        parsed = StoreUrl.parse(url)
        schema.upgrade(parsed, password)
        access = PgAccess(parsed, password=password, lock_timeout=lock_timeout, holder=holder)
        return cls(access, clock or _utc_now)

    @property
    def schema_version(self) -> int:
        """The Alembic revision the database is at, as a number (``0001`` → 1)."""
        with self._db.reading("read the schema version") as connection:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return int(row[0]) if row is not None else 0

    def checkpoint(self) -> None:
        """Nothing to do: PostgreSQL checkpoints its write-ahead log itself."""

    def revision(self) -> int:
        """Moved by every committed write transaction that can change a status, of this
        process or any other (a row of the store, bumped in the write's own transaction).
        Never waits for a writer."""
        return self._db.revision()

    # --- series ------------------------------------------------------------------------

    def series_ids(
        self, slo: str, segments: Sequence[SegmentKey], create: bool = True
    ) -> list[int]:
        """Stable ids of ``slo``'s series for ``segments``, in order; bulk.

        Missing series are created unless ``create`` is false (then NotFoundError).
        """
        check_slo_id(slo)
        wanted = [canonical_segment(segment) for segment in segments]
        unique = list(dict.fromkeys(wanted))
        with self._db.writing("create series") as connection:
            self._db.mark_changed()
            found = _lookup(connection, slo, unique)
            missing = [segment for segment in unique if segment not in found]
            if missing and not create:
                raise missing_series(slo, missing)
            if missing:
                connection.execute(
                    "INSERT INTO series (slo, segment, created_at)"
                    " SELECT %s, segment, %s FROM unnest(%s::text[]) AS segment",
                    (slo, datetime.now(UTC).isoformat(), missing),
                )
                found.update(_lookup(connection, slo, missing))
        return [found[segment] for segment in wanted]

    def list_series(self, slo: str | None = None) -> list[SeriesInfo]:
        """Every stored series (of one SLO if given), by id."""
        with self._db.reading("list series") as connection:
            if slo is None:
                rows = connection.execute("SELECT id, slo, segment FROM series ORDER BY id")
            else:
                rows = connection.execute(
                    "SELECT id, slo, segment FROM series WHERE slo = %s ORDER BY id", (slo,)
                )
            return self.series_records.infos(rows.fetchall())


def _lookup(connection: Connection, slo: str, segments: list[str]) -> dict[str, int]:
    if not segments:
        return {}
    rows = connection.execute(
        "SELECT segment, id FROM series WHERE slo = %s AND segment = ANY(%s)", (slo, segments)
    )
    return {str(segment): int(series_id) for segment, series_id in rows}


class PostgresStore(
    StoreCore,
    CountsPart,
    RecordsPart,
    ChangesPart,
    AlertsPart,
    OutboxPart,
    EventsPart,
    LeasesPart,
):
    """Counts, records, alerts, events and leases in one PostgreSQL database."""
