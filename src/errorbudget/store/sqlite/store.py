"""``Store``: the embedded SQLite store of counts, exclusions and the audit log.

A file store writes through one connection and reads through others, so reads never wait
for a writer, and a writer waits for the write lock at most ``lock_timeout`` seconds
before ``StoreBusyError`` (``access.py`` has the connections, the transactions and the
waiting; ``locking.py`` who holds the lock). ``with store.transaction():`` is one
``BEGIN IMMEDIATE … COMMIT`` (or ``ROLLBACK`` on an exception), so an ingest of a whole
file is all or nothing. Every write method opens a nested level itself; nested levels are
savepoints, so a write that fails inside a caller's transaction undoes only itself and the
caller decides about the rest.

Every sqlite3 error leaves as ``StoreError`` (``raise … from exc``) with a sentence that
names the store file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from errorbudget.model import DataIssue, DataIssueKind, Exclusion, Minute, SegmentKey, SourceHealth
from errorbudget.records import (
    DEFAULT_LOCK_TIMEOUT,
    Annotation,
    Approval,
    AuditEntry,
    AuditQuery,
    ChainReport,
    Change,
    ChangeStatus,
    EncodedSnapshot,
    FoundIssue,
    LockWaiter,
    ReviewDecision,
    SavedSnapshot,
    SeriesInfo,
    StoredResponse,
    WriterInfo,
)
from errorbudget.store.sqlite import annotations as annotation_table
from errorbudget.store.sqlite import audit as audit_table
from errorbudget.store.sqlite import chain, changes, counts, health, reads, schema
from errorbudget.store.sqlite import exclusions as exclusion_table
from errorbudget.store.sqlite import series as series_table
from errorbudget.store.sqlite.access import MEMORY, Access, open_writer

__all__ = ["MEMORY", "SQLiteStore"]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SQLiteStore:
    """Counts per series and minute, exclusions and audit entries in one SQLite file."""

    def __init__(self, access: Access, clock: Callable[[], datetime]) -> None:
        """Use ``Store.open``; this only wraps an already migrated store's connections."""
        self._db = access
        self._clock = clock

    # --- lifecycle -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        clock: Callable[[], datetime] | None = None,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        holder: WriterInfo | None = None,
    ) -> SQLiteStore:
        """Open (creating or migrating) the store at ``path``; ``":memory:"`` for a RAM store.

        ``clock`` stamps audit entries and exclusions (default: the system UTC clock).
        ``lock_timeout``: how long a write waits for the write lock (then StoreBusyError).
        ``holder``: this process, announced while its transactions hold the write lock.
        """
        access = open_writer(path, lock_timeout)
        access.holder = holder
        return cls(access, clock or _utc_now)

    def close(self) -> None:
        """Close the connections (idempotent); the WAL is checkpointed by SQLite."""
        self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self._db.label!r})"

    @property
    def label(self) -> str:
        """The file path, or ``in memory``: how error messages name this store."""
        return self._db.label

    @property
    def path(self) -> Path | None:
        """The store file (None in memory)."""
        return self._db.path

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """The writer connection (tests inspect tables through it)."""
        return self._db.connection

    @property
    def schema_version(self) -> int:
        with self._db.reading("read the schema version") as connection:
            return schema.user_version(connection)

    # --- waiting for the write lock --------------------------------------------------------

    @property
    def lock_timeout(self) -> float:
        """Seconds a write waits for the write lock before StoreBusyError."""
        return self._db.lock_timeout

    def set_lock_timeout(self, seconds: float) -> None:
        """Change how long writes wait for the write lock (``serve``: a short wait, so that
        a request that cannot write soon answers 503 instead of holding a thread)."""
        self._db.set_lock_timeout(seconds)

    @property
    def on_wait(self) -> LockWaiter | None:
        """Told while a write waits for another connection's write lock."""
        return self._db.on_wait

    @on_wait.setter
    def on_wait(self, waiter: LockWaiter | None) -> None:
        self._db.on_wait = waiter

    # --- transactions ------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread has a :meth:`transaction` (or write) open."""
        return self._db.in_transaction

    @contextmanager
    def transaction(self) -> Iterator[SQLiteStore]:
        """All writes inside commit together or not at all; nesting is allowed."""
        with self._db.writing("run a transaction"):
            yield self

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database file without blocking readers or the
        writer (``wal_checkpoint(PASSIVE)``), on a connection of its own: a server runs this
        in the background so that a large automatic checkpoint never stalls a request."""
        self._db.checkpoint()

    def revision(self) -> int:
        """Moved by every committed write transaction that can change a status — counts,
        series, exclusions, data issues — of this process or any other (a row of the store,
        bumped in the write's own transaction, schema v6). Callers cache what they computed
        from the store under it. Never waits for a writer; a write moves it when it commits,
        so a status computed from data about to change is never cached under the new one."""
        return self._db.revision()

    # --- series ----------------------------------------------------------------------------------

    def series_ids(
        self, slo: str, segments: Sequence[SegmentKey], create: bool = True
    ) -> list[int]:
        """Stable ids of ``slo``'s series for ``segments``, in order; bulk.

        Missing series are created unless ``create`` is false (then NotFoundError).
        """
        with self._db.writing("create series") as connection:
            self._db.mark_changed()
            return series_table.series_ids(connection, slo, segments, create)

    def list_series(self, slo: str | None = None) -> list[SeriesInfo]:
        """Every stored series (of one SLO if given), by id."""
        with self._db.reading("list series") as connection:
            return series_table.list_series(connection, slo)

    # --- counts ----------------------------------------------------------------------------------

    def write_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str = "ingest",
    ) -> int:
        """Store 1-minute counts idempotently; return the number of rows written.

        Parallel int64 arrays, (series, minute) unique within a call. A (series, minute,
        source) already stored is replaced, never added; minutes not sent keep their values;
        different sources add up in reads. Raises StoreError (nothing written) when
        good > total, a count is negative, or a series id is unknown.
        """
        # Inside the caller's transaction (an ingest of a file, batch by batch) the hours a
        # batch leaves partial and the day rows are kept back until needed (pending.py).
        keep = self._db.in_transaction
        with self._db.writing("write counts", counts=keep) as connection:
            self._db.mark_changed()
            pending = self._db.pending if keep else None
            return counts.write_counts(connection, series, minutes, good, total, source, pending)

    def add_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str,
    ) -> int:
        """Add 1-minute counts to what ``source`` stored for the same (series, minute),
        instead of replacing them; return the rows written. For counts that several
        processes accumulate (the calls of overlapping collector runs): the read and the
        write are one exclusive transaction. Same arrays and checks as :meth:`write_counts`.
        """
        with self._db.writing("add counts") as connection:
            self._db.mark_changed()
            return counts.add_counts(connection, series, minutes, good, total, source)

    def sums(
        self, series: Sequence[int], intervals: Sequence[tuple[Minute, Minute]]
    ) -> npt.NDArray[np.float64]:
        """Good and total sums over ``[start, end)`` intervals: shape (series, intervals, 2).

        ``[..., 0]`` is good, ``[..., 1]`` total, summed over sources; empty intervals give 0.
        """
        with self._db.reading("read window sums") as connection:
            return reads.sums(connection, series, intervals)

    def minute_arrays(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per-minute good and total, each shaped (series, end - start); zeros where no data."""
        with self._db.reading("read minute counts") as connection:
            return reads.minute_arrays(connection, series, start, end)

    def data_bounds(self, series: Sequence[int] | None = None) -> tuple[Minute, Minute] | None:
        """(first minute with data, last minute with data + 1) of ``series`` (None = all).

        A minute "has data" when some source sent it, even with zero counts.
        """
        with self._db.reading("read data bounds") as connection:
            return reads.data_bounds(connection, series)

    def series_bounds(self, series: Sequence[int]) -> list[tuple[Minute, Minute] | None]:
        """Per series, in order: (first minute with data, last minute with data + 1), or
        None; one read for any number of series (``data_bounds`` of each, in bulk)."""
        with self._db.reading("read series data bounds") as connection:
            return reads.series_bounds(connection, series)

    # --- exclusions and audit --------------------------------------------------------------------

    def propose_exclusion(
        self,
        *,
        slo: str,
        start: Minute,
        end: Minute,
        category: str,
        reason: str,
        proposed_by: str,
        segment: dict[str, str] | None = None,
        service: str | None = None,
    ) -> Exclusion:
        """Record a pending exclusion of ``[start, end)``; audited as ``exclusion.propose``.
        It counts only once approved (:meth:`review_exclusion`); raw counts never change."""
        with self._db.writing("propose an exclusion") as connection:
            return exclusion_table.propose_exclusion(
                connection, self._clock, slo=slo, start=start, end=end, category=category,
                reason=reason, proposed_by=proposed_by, segment=segment, service=service,
            )  # fmt: skip

    def review_exclusion(
        self,
        exclusion_id: int,
        *,
        reviewer: str,
        role: str,
        decision: ReviewDecision,
        comment: str = "",
    ) -> Exclusion:
        """Approve or reject a pending exclusion; audited. PermissionDeniedError for its
        proposer, ConflictError unless pending, IntegrityError when it fails verification."""
        with self._db.writing("review an exclusion") as connection:
            self._db.mark_changed()
            return exclusion_table.review_exclusion(
                connection, self._clock, exclusion_id, reviewer=reviewer, role=role,
                decision=decision, comment=comment,
            )  # fmt: skip

    def list_exclusions(
        self, *, include_revoked: bool = False, statuses: Sequence[str] | None = None
    ) -> list[Exclusion]:
        """Exclusions by id, each verified against the audit chain (``problem``): pending
        and approved ones, every one with ``include_revoked``, or those of ``statuses``.
        Only approved, verified ones count (``Exclusion.counted``)."""
        if statuses is None and not include_revoked:
            statuses = ("pending", "approved")
        with self._db.reading("list exclusions") as connection:
            return exclusion_table.list_exclusions(connection, statuses)

    def get_exclusion(self, exclusion_id: int) -> Exclusion:
        """One exclusion by id, verified; NotFoundError when there is none."""
        with self._db.reading("read an exclusion") as connection:
            return exclusion_table.get_exclusion(connection, exclusion_id)

    def revoke_exclusion(
        self, exclusion_id: int, *, revoked_by: str, reason: str = ""
    ) -> Exclusion:
        """Revoke a pending or approved exclusion (its events count again); audited as
        ``exclusion.revoke``. NotFoundError for an unknown id, ConflictError once rejected
        or revoked."""
        with self._db.writing("revoke an exclusion") as connection:
            self._db.mark_changed()
            return exclusion_table.revoke_exclusion(
                connection, self._clock, exclusion_id, revoked_by=revoked_by, reason=reason
            )

    def audit(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        records: Sequence[tuple[str, int]] = (),
    ) -> int:
        """Append an entry to the chained audit log, binding the chained rows ``records``
        (table, id) as they are now; return its id."""
        with self._db.writing("write the audit log") as connection:
            return audit_table.audit(
                connection, self._clock, actor=actor, action=action, subject=subject,
                details=details, records=records,
            )  # fmt: skip

    def save_snapshot(self, snapshot: EncodedSnapshot) -> SavedSnapshot:
        """Store the budget snapshot behind a gate decision once per distinct content (see
        ``records.encode_snapshot``); the decision's audit entry references it and, when it
        is new, binds it (same transaction)."""
        with self._db.writing("store a gate snapshot") as connection:
            return audit_table.save_snapshot(connection, self._clock, snapshot)

    def snapshots(
        self, ids: Iterable[int], expected: Mapping[int, str] | None = None
    ) -> tuple[dict[int, list[Any]], dict[int, str]]:
        """Stored gate snapshots by id (unknown ids left out), each checked against its
        SHA-256 and the one a decision recorded (``expected``): (snapshots, a problem
        sentence per one that fails)."""
        with self._db.reading("read gate snapshots") as connection:
            return audit_table.snapshots(connection, ids, expected or {})

    def audit_log(self, query: AuditQuery | None = None, **filters: Any) -> list[AuditEntry]:
        """Audit entries, newest first, filtered by ``query`` (or its fields as keywords)."""
        query = query or AuditQuery(**filters)
        with self._db.reading("read the audit log") as connection:
            return audit_table.audit_log(connection, query)

    def check_audit_entries(self, ids: Iterable[int]) -> dict[int, str]:
        """Verify these audit entries on read (hash, and links to their neighbours): a
        problem sentence per entry that fails."""
        with self._db.reading("verify audit entries") as connection:
            return audit_table.check_entries(connection, ids)

    def verify_chain(self, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Walk the whole audit chain and every chained table (``store.chain.verify``)."""
        with self._db.reading("verify the audit chain") as connection:
            return chain.verify(connection, anchor)

    # --- source runs and data issues (schema v4) ---------------------------------------------

    def record_source_run(
        self,
        source: str,
        *,
        started_at: datetime,
        finished_at: datetime,
        ok: bool,
        error: str | None = None,
        collected_through: Minute | None = None,
        calls: int = 0,
        failed_calls: int = 0,
    ) -> int:
        """Record one collection run of ``source``; return its id.

        ``collected_through`` is the exclusive end of what the source had stored after the
        run; ``calls``/``failed_calls`` the requests it sent and those that failed. A
        failed run (``ok=False``) needs its ``error``. Each source keeps its newest
        ``store.health.KEEP_RUNS`` runs (a week at one a minute) and its last successful
        one; older runs are pruned.

        Unlike the other writes this does not move :meth:`revision`: runs happen
        every minute, a run changes no count and no status by itself (its counts and data
        issues bump the version when they are written), and bumping it would throw away
        every cached evaluation once a minute for nothing. Read :meth:`source_health`
        whenever it is shown instead of caching it under the revision.
        """
        with self._db.writing("record a source run") as connection:
            return health.record_source_run(
                connection,
                source,
                started_at=started_at,
                finished_at=finished_at,
                ok=ok,
                error=error,
                collected_through=collected_through,
                calls=calls,
                failed_calls=failed_calls,
            )

    def source_health(self) -> list[SourceHealth]:
        """The latest runs of every source that ever ran, one entry per source, by name."""
        with self._db.reading("read source health") as connection:
            return health.source_health(connection)

    def add_data_issue(
        self,
        *,
        source: str,
        slo: str,
        segment: Mapping[str, str],
        start: Minute,
        end: Minute,
        kind: DataIssueKind,
        detail: str,
    ) -> int:
        """Record that ``[start, end)`` of ``slo`` (the series matching ``segment``; ``{}``
        = all) is wrong or missing at ``source``; return the issue's id. An identical
        unresolved issue is not recorded twice (its id is returned)."""
        with self._db.writing("record a data issue") as connection:
            issue_id, new = health.add_data_issue(
                connection,
                self._clock,
                source=source,
                slo=slo,
                segment=segment,
                start=start,
                end=end,
                kind=kind,
                detail=detail,
            )
            if new:
                self._db.mark_changed()  # a broken range changes statuses
            return issue_id

    def resolve_data_issues(self, *, source: str, slo: str, start: Minute, end: Minute) -> int:
        """Stamp resolved the unresolved issues of ``source``/``slo`` inside ``[start,
        end)`` (a clean re-fetch of that range); return how many."""
        with self._db.writing("resolve data issues") as connection:
            resolved = health.resolve_data_issues(
                connection, self._clock, source=source, slo=slo, start=start, end=end
            )
            if resolved:
                self._db.mark_changed()
            return resolved

    def sync_data_issues(
        self,
        *,
        source: str,
        slo: str,
        start: Minute,
        end: Minute,
        found: Iterable[FoundIssue],
    ) -> tuple[int, int]:
        """``source`` has just fetched ``[start, end)`` of ``slo`` and found exactly
        ``found``: issues found again keep their id, new ones are added, the others are
        resolved (their parts outside the range stay open, narrowed). Returns (new issues,
        issues resolved whole)."""
        with self._db.writing("record data issues") as connection:
            added, resolved = health.sync_data_issues(
                connection, self._clock, source=source, slo=slo, start=start, end=end,
                found=found,
            )  # fmt: skip
            if added or resolved:
                self._db.mark_changed()
            return added, resolved

    def list_data_issues(
        self,
        *,
        start: Minute | None = None,
        end: Minute | None = None,
        include_resolved: bool = False,
        source: str | None = None,
        slo: str | None = None,
    ) -> list[DataIssue]:
        """Data issues overlapping ``[start, end)`` (open bounds: no limit), by id;
        unresolved only unless ``include_resolved``; optionally of one source / SLO."""
        with self._db.reading("list data issues") as connection:
            return health.list_data_issues(
                connection,
                start=start,
                end=end,
                include_resolved=include_resolved,
                source=source,
                slo=slo,
            )

    # --- changes, approvals, annotations (schema v2; rules in errorbudget.changes) -------------

    def add_change(
        self,
        *,
        service: str,
        slos: Sequence[str],
        segment: Mapping[str, str] | None,
        change_type: str,
        risk: str,
        title: str,
        description: str,
        submitted_by: str,
        estimated_impact: float,
        impact_basis: Mapping[str, object],
        decision: str,
        snapshot: Sequence[Mapping[str, object]],
        clock: Callable[[], datetime] | None = None,
    ) -> Change:
        """Store a pending change; audited as ``change.submit``. ``clock`` stamps it (default:
        the store's clock)."""
        with self._db.writing("submit a change") as connection:
            return changes.add_change(
                connection,
                clock or self._clock,
                service=service,
                slos=slos,
                segment=segment,
                change_type=change_type,
                risk=risk,
                title=title,
                description=description,
                submitted_by=submitted_by,
                estimated_impact=estimated_impact,
                impact_basis=impact_basis,
                decision=decision,
                snapshot=snapshot,
            )

    def get_change(self, change_id: int) -> Change:
        """One change by id; NotFoundError when there is none."""
        with self._db.reading("read a change") as connection:
            return changes.get_change(connection, change_id)

    def list_changes(
        self,
        *,
        status: Sequence[str] | None = None,
        service: str | None = None,
        change_type: str | None = None,
        limit: int = 100,
    ) -> list[Change]:
        """Changes, newest first, filtered by status (any of), service and type."""
        with self._db.reading("list changes") as connection:
            return changes.list_changes(
                connection, status=status, service=service, change_type=change_type, limit=limit
            )

    def set_change_status(
        self,
        change_id: int,
        *,
        status: ChangeStatus,
        allowed_from: Sequence[ChangeStatus],
        actor: str,
        action: str,
        details: Mapping[str, object] | None = None,
        shipped_at: datetime | None = None,
        clock: Callable[[], datetime] | None = None,
        records: Sequence[tuple[str, int]] = (),
    ) -> Change:
        """Move a change from one of ``allowed_from`` to ``status`` (ConflictError
        otherwise); audited as ``action``."""
        with self._db.writing("change a change's status") as connection:
            return changes.set_status(
                connection,
                clock or self._clock,
                change_id,
                status=status,
                allowed_from=allowed_from,
                actor=actor,
                action=action,
                details=details or {},
                shipped_at=shipped_at,
                records=records,
            )

    def set_change_decision(
        self,
        change_id: int,
        *,
        decision: str,
        snapshot: Sequence[Mapping[str, object]],
        clock: Callable[[], datetime] | None = None,
    ) -> Change:
        """Replace a change's current gate decision and budget snapshot."""
        with self._db.writing("record a change's decision") as connection:
            return changes.set_decision(
                connection, clock or self._clock, change_id, decision=decision, snapshot=snapshot
            )

    def add_approval(
        self,
        change_id: int,
        *,
        approver: str,
        role: str,
        decision: ReviewDecision,
        comment: str = "",
        clock: Callable[[], datetime] | None = None,
    ) -> Approval:
        """Approve or reject a pending change (ConflictError otherwise); audited as
        ``change.approve`` / ``change.reject``."""
        with self._db.writing("review a change") as connection:
            return changes.add_approval(
                connection,
                clock or self._clock,
                change_id,
                approver=approver,
                role=role,
                decision=decision,
                comment=comment,
            )

    def list_approvals(self, change_id: int) -> list[Approval]:
        """The reviews of one change, oldest first (not verified: see
        :meth:`change_problems`)."""
        with self._db.reading("list approvals") as connection:
            return changes.list_approvals(connection, change_id)

    def change_problems(self, change_id: int) -> list[str]:
        """What fails verification against the audit chain in a change and its approvals;
        empty when they are what the chain recorded."""
        with self._db.reading("verify a change") as connection:
            return changes.integrity_problems(connection, change_id)

    def add_annotation(
        self,
        *,
        at: datetime,
        kind: str,
        text: str,
        created_by: str,
        service: str | None = None,
        slo: str | None = None,
        segment: Mapping[str, str] | None = None,
        change_id: int | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> Annotation:
        """Store a timeline annotation; audited as ``annotation.add``."""
        with self._db.writing("add an annotation") as connection:
            return annotation_table.add_annotation(
                connection,
                clock or self._clock,
                at=at,
                kind=kind,
                text=text,
                created_by=created_by,
                service=service,
                slo=slo,
                segment=segment,
                change_id=change_id,
            )

    def list_annotations(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        slo: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[Annotation]:
        """Annotations in ``[start, end)``, oldest first (the newest ``limit``); a service or
        SLO filter also matches annotations that name none."""
        with self._db.reading("list annotations") as connection:
            return annotation_table.list_annotations(
                connection,
                start=start,
                end=end,
                service=service,
                slo=slo,
                kinds=kinds,
                limit=limit,
            )

    def stored_response(self, actor: str, key: str) -> StoredResponse | None:
        """The stored result of ``actor``'s earlier write with idempotency ``key``, if any."""
        with self._db.reading("read an idempotency key") as connection:
            return annotation_table.stored_response(connection, actor, key)

    def store_response(
        self,
        *,
        actor: str,
        key: str,
        request: str,
        body_sha256: str,
        status_code: int,
        response: Mapping[str, object],
    ) -> None:
        """Keep a write's result under (actor, idempotency key); first one wins."""
        with self._db.writing("store an idempotency key") as connection:
            annotation_table.store_response(
                connection,
                self._clock,
                actor=actor,
                key=key,
                request=request,
                body_sha256=body_sha256,
                status_code=status_code,
                response=response,
            )
