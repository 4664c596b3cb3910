"""The records besides changes, on any backend: exclusions, the audit log and gate
snapshots, source runs and data issues (a store class is made of this and the other
parts; the tables are in ``exclusions.py``, ``audit.py``, ``chain.py`` and ``health.py``).
A backend's subclass says how to reach its database (``_records``)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from errorbudget.model import DataIssue, DataIssueKind, Exclusion, Minute, SourceHealth
from errorbudget.records import (
    AuditEntry,
    AuditQuery,
    ChainReport,
    EncodedSnapshot,
    FoundIssue,
    ReviewDecision,
    SavedSnapshot,
)
from errorbudget.store.shared import audit as audit_table
from errorbudget.store.shared import chain, health
from errorbudget.store.shared import exclusions as exclusion_table
from errorbudget.store.shared.connection import RecordsAccess


class RecordsPart:
    """``ExclusionRecords``, ``AuditLog`` and ``SourceHealthRecords`` over a backend's
    ``_records`` (its transactions, running the shared SQL)."""

    _clock: Callable[[], datetime]

    @property
    @abstractmethod
    def _records(self) -> RecordsAccess:
        """The backend's transactions, on connections that run portable SQL (each backend's
        part class gives it: ``sqlite/store_records.py``, ``postgres/records_part.py``…)."""

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
        with self._records.writing("propose an exclusion") as connection:
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
        with self._records.writing("review an exclusion") as connection:
            self._records.mark_changed()
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
        with self._records.reading("list exclusions") as connection:
            return exclusion_table.list_exclusions(connection, statuses)

    def get_exclusion(self, exclusion_id: int) -> Exclusion:
        """One exclusion by id, verified; NotFoundError when there is none."""
        with self._records.reading("read an exclusion") as connection:
            return exclusion_table.get_exclusion(connection, exclusion_id)

    def revoke_exclusion(
        self, exclusion_id: int, *, revoked_by: str, reason: str = ""
    ) -> Exclusion:
        """Revoke a pending or approved exclusion (its events count again); audited as
        ``exclusion.revoke``. NotFoundError for an unknown id, ConflictError once rejected
        or revoked."""
        with self._records.writing("revoke an exclusion") as connection:
            self._records.mark_changed()
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
        with self._records.writing("write the audit log") as connection:
            return audit_table.audit(
                connection, self._clock, actor=actor, action=action, subject=subject,
                details=details, records=records,
            )  # fmt: skip

    def save_snapshot(self, snapshot: EncodedSnapshot) -> SavedSnapshot:
        """Store the budget snapshot behind a gate decision once per distinct content (see
        ``records.encode_snapshot``); the decision's audit entry references it and, when it
        is new, binds it (same transaction)."""
        with self._records.writing("store a gate snapshot") as connection:
            return audit_table.save_snapshot(connection, self._clock, snapshot)

    def snapshots(
        self, ids: Iterable[int], expected: Mapping[int, str] | None = None
    ) -> tuple[dict[int, list[Any]], dict[int, str]]:
        """Stored gate snapshots by id (unknown ids left out), each checked against its
        SHA-256 and the one a decision recorded (``expected``): (snapshots, a problem
        sentence per one that fails)."""
        with self._records.reading("read gate snapshots") as connection:
            return audit_table.snapshots(connection, ids, expected or {})

    def audit_log(self, query: AuditQuery | None = None, **filters: Any) -> list[AuditEntry]:
        """Audit entries, newest first, filtered by ``query`` (or its fields as keywords)."""
        query = query or AuditQuery(**filters)
        with self._records.reading("read the audit log") as connection:
            return audit_table.audit_log(connection, query)

    def check_audit_entries(self, ids: Iterable[int]) -> dict[int, str]:
        """Verify these audit entries on read (hash, and links to their neighbours): a
        problem sentence per entry that fails."""
        with self._records.reading("verify audit entries") as connection:
            return audit_table.check_entries(connection, ids)

    def verify_chain(self, anchor: tuple[int, str] | None = None) -> ChainReport:
        """Walk the whole audit chain and every chained table (``store.chain.verify``)."""
        with self._records.reading("verify the audit chain") as connection:
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
        with self._records.writing("record a source run") as connection:
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
        with self._records.reading("read source health") as connection:
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
        with self._records.writing("record a data issue") as connection:
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
                self._records.mark_changed()  # a broken range changes statuses
            return issue_id

    def resolve_data_issues(self, *, source: str, slo: str, start: Minute, end: Minute) -> int:
        """Stamp resolved the unresolved issues of ``source``/``slo`` inside ``[start,
        end)`` (a clean re-fetch of that range); return how many."""
        with self._records.writing("resolve data issues") as connection:
            resolved = health.resolve_data_issues(
                connection, self._clock, source=source, slo=slo, start=start, end=end
            )
            if resolved:
                self._records.mark_changed()
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
        with self._records.writing("record data issues") as connection:
            added, resolved = health.sync_data_issues(
                connection, self._clock, source=source, slo=slo, start=start, end=end,
                found=found,
            )  # fmt: skip
            if added or resolved:
                self._records.mark_changed()
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
        with self._records.reading("list data issues") as connection:
            return health.list_data_issues(
                connection,
                start=start,
                end=end,
                include_resolved=include_resolved,
                source=source,
                slo=slo,
            )
