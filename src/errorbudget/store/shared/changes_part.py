"""Changes, approvals, annotations and idempotent responses, on any backend (a store
class is made of this and the other parts; the tables are in ``changes.py`` and
``annotations.py``, the rules in ``errorbudget.changes``). A backend's subclass says how
to reach its database (``_records``)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from errorbudget.records import (
    Annotation,
    Approval,
    Change,
    ChangeStatus,
    ReviewDecision,
    StoredResponse,
)
from errorbudget.store.shared import annotations as annotation_table
from errorbudget.store.shared import changes
from errorbudget.store.shared.connection import RecordsAccess


class ChangesPart:
    """``ChangeRecords`` and ``AnnotationRecords`` over a backend's ``_records`` (its
    transactions, running the shared SQL)."""

    _clock: Callable[[], datetime]

    @property
    @abstractmethod
    def _records(self) -> RecordsAccess:
        """The backend's transactions, on connections that run portable SQL (each backend's
        part class gives it: ``sqlite/store_records.py``, ``postgres/records_part.py``…)."""

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
        with self._records.writing("submit a change") as connection:
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
        with self._records.reading("read a change") as connection:
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
        with self._records.reading("list changes") as connection:
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
        with self._records.writing("change a change's status") as connection:
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
        with self._records.writing("record a change's decision") as connection:
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
        with self._records.writing("review a change") as connection:
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
        with self._records.reading("list approvals") as connection:
            return changes.list_approvals(connection, change_id)

    def change_problems(self, change_id: int) -> list[str]:
        """What fails verification against the audit chain in a change and its approvals;
        empty when they are what the chain recorded."""
        with self._records.reading("verify a change") as connection:
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
        with self._records.writing("add an annotation") as connection:
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
        with self._records.reading("list annotations") as connection:
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
        with self._records.reading("read an idempotency key") as connection:
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
        with self._records.writing("store an idempotency key") as connection:
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
