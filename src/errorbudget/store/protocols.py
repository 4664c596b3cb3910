"""What the rest of errorbudget asks of a store, as small protocols.

Each protocol is one concern, so a service names only what it uses (ingest and the sources
need ``CountsWriter``; the evaluation ``CountsReader`` and ``Revisions``; the changes
service ``ChangeRecords`` and ``AuditLog``) and a backend is anything that has the methods
(structural typing: no base class to inherit). ``Store`` is all of them together, which is
what ``open_store`` returns and what the backends' shared tests hold each backend to
(``tests/integration/test_store_protocol.py``, parametrised by backend).

- ``CountsWriter`` / ``CountsReader``: 1-minute good/total counts per series, written
  idempotently per (series, minute, source), read as sums over ranges or minute arrays.
- ``Revisions``: a counter every write transaction that can change a status moves, in the
  same transaction as the write. Whatever is computed from the store is cached under it;
  it replaces SQLite's ``PRAGMA data_version`` (which no other database has), and a
  second server process sees the first one's writes move it.
- ``Transactions``: ``with store.transaction():`` makes writes commit together or not at
  all (nested levels undo only themselves).
- ``ExclusionRecords``, ``AnnotationRecords``, ``SourceHealthRecords``: the records applied
  at evaluation or shown beside it; ``ChangeRecords``: changes and their approvals;
  ``AuditLog``: the chained audit log and the gate snapshots its entries reference.
- ``StoreLifecycle``: naming the store in messages, waiting for its write lock, closing.

- ``AlertRecords``: alerts by fingerprint (their lifecycle state and last signal),
  acknowledgements, silences, and the last minute the alert service stepped;
  ``NotificationOutbox``: notifications queued with the transition they tell of, handed
  out in order per receiver, kept as the delivery log (issue #10).
- ``EventRecords``: voice-agent events (issue #12): the ids claimed (idempotency), the
  events kept because they were bad or excluded, and the hourly dimension and stage
  rollups of events SLOs; their counts go through ``CountsWriter`` like any source's.

- ``Leases``: named leases with an expiry and a fencing token (issue #13): ``serve``
  replicas elect their leader with one (``errorbudget.leadership``), and the leader's
  writes check its token in their transaction, so a deposed leader cannot write.

The records taken and returned are the domain's (``errorbudget.records``,
``errorbudget.model``), never a backend's row types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

import numpy as np
import numpy.typing as npt

from errorbudget.alert_records import (
    Alert,
    AlertEpisode,
    AlertGroup,
    NewNotification,
    Notification,
    Phase,
    Silence,
)
from errorbudget.event_records import DimensionCount, KeptBatch, KeptEvent, StageSum, Verdict
from errorbudget.model import DataIssue, DataIssueKind, Exclusion, Minute, SegmentKey, SourceHealth
from errorbudget.records import (
    Annotation,
    Approval,
    AuditEntry,
    AuditQuery,
    ChainReport,
    Change,
    ChangeStatus,
    EncodedSnapshot,
    FoundIssue,
    Lease,
    LockWaiter,
    ReviewDecision,
    SavedSnapshot,
    SeriesInfo,
    StoredResponse,
)

if TYPE_CHECKING:
    import pyarrow as pa

Clock = Callable[[], datetime]
"""Stamps records (a write may bring its own, e.g. a simulated "now")."""


class Transactions(Protocol):
    """Writes that commit together or not at all."""

    @property
    def in_transaction(self) -> bool:
        """Whether the calling thread has a transaction (or a write) open."""
        ...

    def transaction(self) -> AbstractContextManager[Any]:
        """All writes inside commit together or not at all; nesting is allowed (an inner
        level that fails undoes only itself)."""
        ...


class Revisions(Protocol):
    """The store's revision: the cache key of everything computed from it."""

    def revision(self) -> int:
        """A number that every committed write transaction that can change a status
        (counts, series, exclusions, data issues) has moved, whichever process wrote.
        Never waits for a writer; a write moves it when it commits, so something computed
        from data about to change is never cached under the new revision."""
        ...


class CountsWriter(Protocol):
    """Writing 1-minute counts: what ingest and every source write through."""

    def series_ids(
        self, slo: str, segments: Sequence[SegmentKey], create: bool = True
    ) -> list[int]:
        """Stable ids of ``slo``'s series for ``segments``, in order; missing ones are
        created unless ``create`` is false (then NotFoundError)."""
        ...

    def write_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str = "ingest",
    ) -> int:
        """Store counts idempotently (a re-sent (series, minute, source) replaces the
        stored one, minutes not sent keep theirs, sources add up in reads); return the
        rows written. StoreError, nothing written, on a bad row."""
        ...

    def add_counts(
        self,
        series: npt.ArrayLike,
        minutes: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
        source: str,
    ) -> int:
        """Add counts to what ``source`` stored for the same (series, minute), in one
        exclusive transaction; return the rows written."""
        ...

    def transaction(self) -> AbstractContextManager[Any]: ...


class CountsReader(Protocol):
    """Reading counts: sums over ranges for many series at once, minute arrays, bounds."""

    def list_series(self, slo: str | None = None) -> list[SeriesInfo]: ...

    def sums(
        self, series: Sequence[int], intervals: Sequence[tuple[Minute, Minute]]
    ) -> npt.NDArray[np.float64]:
        """Good and total sums over ``[start, end)`` intervals: shape (series, intervals,
        2), summed over sources; empty intervals give 0."""
        ...

    def minute_arrays(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Per-minute good and total, each shaped (series, end - start); zeros where none."""
        ...

    def minute_counts(
        self, series: Sequence[int], start: Minute, end: Minute
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """:meth:`minute_arrays` as the stored integers (int64), for exact judgements on
        many minutes (timeslices) without a float copy to convert back."""
        ...

    def data_bounds(self, series: Sequence[int] | None = None) -> tuple[Minute, Minute] | None:
        """(first minute with data, last minute with data + 1) of ``series`` (None = all)."""
        ...

    def series_bounds(self, series: Sequence[int]) -> list[tuple[Minute, Minute] | None]:
        """``data_bounds`` of each series, in order, in one read."""
        ...


class ExclusionRecords(Protocol):
    """Exclusions as proposals, approved or rejected by a reviewer, revocable."""

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
    ) -> Exclusion: ...

    def review_exclusion(
        self,
        exclusion_id: int,
        *,
        reviewer: str,
        role: str,
        decision: ReviewDecision,
        comment: str = "",
    ) -> Exclusion: ...

    def list_exclusions(
        self, *, include_revoked: bool = False, statuses: Sequence[str] | None = None
    ) -> list[Exclusion]: ...

    def get_exclusion(self, exclusion_id: int) -> Exclusion: ...

    def revoke_exclusion(self, exclusion_id: int, *, revoked_by: str, reason: str) -> Exclusion: ...


class AnnotationRecords(Protocol):
    """Timeline annotations, and the results of writes sent with an idempotency key."""

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
        clock: Clock | None = None,
    ) -> Annotation: ...

    def list_annotations(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        slo: str | None = None,
        kinds: Sequence[str] | None = None,
        limit: int = 1000,
    ) -> list[Annotation]: ...

    def stored_response(self, actor: str, key: str) -> StoredResponse | None: ...

    def store_response(
        self,
        *,
        actor: str,
        key: str,
        request: str,
        body_sha256: str,
        status_code: int,
        response: Mapping[str, object],
    ) -> None: ...


class SourceHealthRecords(Protocol):
    """Each source's collection runs, and the ranges of data it knows to be broken."""

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
    ) -> int: ...

    def source_health(self) -> list[SourceHealth]: ...

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
    ) -> int: ...

    def resolve_data_issues(self, *, source: str, slo: str, start: Minute, end: Minute) -> int: ...

    def sync_data_issues(
        self,
        *,
        source: str,
        slo: str,
        start: Minute,
        end: Minute,
        found: Iterable[FoundIssue],
    ) -> tuple[int, int]: ...

    def list_data_issues(
        self,
        *,
        start: Minute | None = None,
        end: Minute | None = None,
        include_resolved: bool = False,
        source: str | None = None,
        slo: str | None = None,
    ) -> list[DataIssue]: ...


class ChangeRecords(Protocol):
    """Changes asking to ship, their gate decisions and their reviews."""

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
        clock: Clock | None = None,
    ) -> Change: ...

    def get_change(self, change_id: int) -> Change: ...

    def list_changes(
        self,
        *,
        status: Sequence[str] | None = None,
        service: str | None = None,
        change_type: str | None = None,
        limit: int = 100,
    ) -> list[Change]: ...

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
        clock: Clock | None = None,
        records: Sequence[tuple[str, int]] = (),
    ) -> Change: ...

    def set_change_decision(
        self,
        change_id: int,
        *,
        decision: str,
        snapshot: Sequence[Mapping[str, object]],
        clock: Clock | None = None,
    ) -> Change: ...

    def add_approval(
        self,
        change_id: int,
        *,
        approver: str,
        role: str,
        decision: ReviewDecision,
        comment: str = "",
        clock: Clock | None = None,
    ) -> Approval: ...

    def list_approvals(self, change_id: int) -> list[Approval]: ...

    def change_problems(self, change_id: int) -> list[str]: ...


class AuditLog(Protocol):
    """The append-only, chained audit log and the gate snapshots it references."""

    def audit(
        self,
        *,
        actor: str,
        action: str,
        subject: str,
        details: Mapping[str, object],
        records: Sequence[tuple[str, int]] = (),
    ) -> int: ...

    def save_snapshot(self, snapshot: EncodedSnapshot) -> SavedSnapshot: ...

    def snapshots(
        self, ids: Iterable[int], expected: Mapping[int, str] | None = None
    ) -> tuple[dict[int, list[Any]], dict[int, str]]: ...

    def audit_log(self, query: AuditQuery | None = None, **filters: Any) -> list[AuditEntry]: ...

    def check_audit_entries(self, ids: Iterable[int]) -> dict[int, str]: ...

    def verify_chain(self, anchor: tuple[int, str] | None = None) -> ChainReport: ...


class StoreLifecycle(Protocol):
    """Naming the store, waiting for its write lock, maintenance and closing."""

    @property
    def label(self) -> str:
        """How error messages name this store (a file path, ``in memory``, a URL)."""
        ...

    @property
    def schema_version(self) -> int: ...

    @property
    def lock_timeout(self) -> float: ...

    def set_lock_timeout(self, seconds: float) -> None: ...

    @property
    def on_wait(self) -> LockWaiter | None: ...

    @on_wait.setter
    def on_wait(self, waiter: LockWaiter | None) -> None: ...

    def checkpoint(self) -> None:
        """Background upkeep a server runs now and then (SQLite: copy the write-ahead log
        into the file); nothing where a backend needs none."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class AlertRecords(Protocol):
    """Alerts by fingerprint as the alert service keeps them, and silences (issue #10).

    The alert service saves every alert it stepped, together with the minute it stepped,
    in one transaction with the audit entries and notifications of its transitions
    (``services/alerts.py``); a restart reloads them, so nothing is lost or told twice.
    """

    def save_alerts(self, alerts: Sequence[Alert], minute: Minute) -> None:
        """Insert or replace these alerts (by fingerprint) and record ``minute`` as the last
        one stepped (it never moves backwards)."""
        ...

    def alert_minute(self) -> Minute | None:
        """The last minute the alert service stepped (None before the first)."""
        ...

    def save_alert_episodes(self, episodes: Sequence[AlertEpisode]) -> None:
        """Insert these firing episodes (by fingerprint and episode), or, for one already
        kept, record its ``resolved_at``: the alert service writes an episode when it fires
        and again when it resolves, in the transaction of the transition."""
        ...

    def alert_episodes(
        self, slo: str, since: Minute, until: Minute, *, limit: int = 1000
    ) -> list[AlertEpisode]:
        """The SLO's firing episodes overlapping ``[since, until)`` (fired before
        ``until`` and not resolved by ``since``), latest fired first, at most ``limit``.
        A negative ``limit`` is refused (ValueError) on every backend; 0 lists nothing."""
        ...

    def get_alerts(self, fingerprints: Sequence[str]) -> list[Alert]:
        """The stored alerts with these fingerprints (unknown ones are left out)."""
        ...

    def get_alert_groups(self, fingerprints: Sequence[str]) -> list[AlertGroup]:
        """The stored states of the notification groups with these fingerprints (unknown
        ones, never opened, are left out)."""
        ...

    def save_alert_groups(self, groups: Sequence[AlertGroup]) -> None:
        """Insert or replace these notification groups' states (by fingerprint): the alert
        service writes a group when it opens or resolves, in its step's transaction,
        whatever the routes chose (a group is open or closed independently of them)."""
        ...

    def group_receivers(self, fingerprint: str, dedup_key: str) -> list[str]:
        """The receivers a notification of group ``fingerprint`` with ``dedup_key`` was
        queued for, first queued first (the outbox's rows; none: nobody was told)."""
        ...

    def list_alerts(
        self,
        *,
        phases: Sequence[Phase] | None = None,
        slo: str | None = None,
        severity: str | None = None,
        limit: int | None = 1000,
    ) -> list[Alert]:
        """Stored alerts, most recently updated first, filtered by phase (any of), SLO and
        severity; ``limit`` None: all (the alert service steps every pending and firing
        alert; the API's pages are bounded). A negative ``limit`` is refused (ValueError)
        on every backend; 0 lists nothing."""
        ...

    def acknowledge_alert(self, fingerprint: str, *, actor: str, at: datetime) -> Alert:
        """Mark a pending or firing alert acknowledged by ``actor`` (NotFoundError for an
        unknown fingerprint, ConflictError when it is neither pending nor firing)."""
        ...

    def add_silence(
        self,
        *,
        matchers: Mapping[str, str],
        author: str,
        reason: str,
        starts_at: datetime,
        ends_at: datetime,
        created_at: datetime,
    ) -> Silence: ...

    def list_silences(
        self, *, include_expired: bool = False, at: datetime | None = None, limit: int = 1000
    ) -> list[Silence]:
        """Silences, newest first; without ``include_expired`` only those not ended at
        ``at`` (default: every one not expired by hand), at most ``limit``. A negative
        ``limit`` is refused (ValueError) on every backend; 0 lists nothing."""
        ...

    def expire_silence(self, silence_id: int, *, actor: str, at: datetime) -> Silence:
        """End a silence now (NotFoundError for an unknown id, ConflictError when it has
        already ended)."""
        ...


class NotificationOutbox(Protocol):
    """Notifications waiting for, or done with, delivery: queued in the same transaction as
    the alert transition they tell of (so a restart neither loses nor repeats one), handed
    out in ``id`` order per receiver, and kept as the delivery log."""

    def queue_notifications(self, items: Sequence[NewNotification]) -> list[Notification]: ...

    def next_notification(self, receiver: str, now: datetime) -> Notification | None:
        """The oldest pending notification of ``receiver`` if it is due at ``now`` (None
        when none is pending, or the oldest waits for its next attempt: later ones wait
        behind it, so a receiver hears everything in order)."""
        ...

    def claim_notification(self, notification_id: int) -> Notification:
        """The notification read inside a write transaction (the write lock taken, a
        leader's fence checked: FencedError, StoreBusyError), before it is sent;
        ConflictError when it is no longer pending."""
        ...

    def mark_delivered(self, notification_id: int, at: datetime) -> Notification: ...

    def mark_failed_attempt(
        self,
        notification_id: int,
        *,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> Notification:
        """Record a failed attempt; ``next_attempt_at`` None gives up (status ``failed``)."""
        ...

    def list_notifications(
        self,
        *,
        receiver: str | None = None,
        fingerprint: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """The delivery log, newest first, at most ``limit``. A negative ``limit`` is
        refused (ValueError) on every backend (SQLite would read it as no limit,
        PostgreSQL refuses it); 0 lists nothing."""
        ...


class EventRecords(Protocol):
    """Voice-agent events besides their counts (issue #12): claimed ids, kept events, and
    the hourly rollups of events SLOs. The event ingest service writes them all in one
    transaction with the counts (``services/event_ingest.py``); rollups add up, which is
    right only because every event is claimed once."""

    def claim_event_ids(self, ids: Sequence[str], minutes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Record the events (id, minute) not seen before; return a mask over ``ids``: True
        where the event is new (and now claimed), False for one claimed before or repeated
        earlier in ``ids``. Run it inside the caller's transaction, with the writes it
        guards: a rollback forgets the claims."""
        ...

    def save_kept_events(self, slo: str, rows: KeptBatch) -> int:
        """Keep ``slo``'s bad and excluded events; return how many were written."""
        ...

    def add_dimension_counts(self, slo: str, rows: pa.Table) -> int:
        """Add ``rows`` (columns ``event_records.DIMENSION_COLUMNS``) to ``slo``'s hourly
        dimension counts, summing on (hour, flow, dimension, value); return the rows."""
        ...

    def add_stage_sums(self, slo: str, rows: pa.Table) -> int:
        """Add ``rows`` (columns ``event_records.STAGE_COLUMNS``) to ``slo``'s hourly stage
        sums, summing on (hour, flow, stage); return the rows."""
        ...

    def kept_events(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        verdict: Verdict | None = None,
        segment: Mapping[str, str] | None = None,
        limit: int = 500,
    ) -> list[KeptEvent]:
        """``slo``'s kept events of minutes ``[start, end)``, newest first, at most
        ``limit``; only one verdict, or only series whose segment has these pairs."""
        ...

    def dimension_counts(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        dimension: str | None = None,
        flow: str | None = None,
    ) -> list[DimensionCount]:
        """``slo``'s hourly dimension counts of the hours starting in ``[start, end)``, by
        hour, flow, dimension and value."""
        ...

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[StageSum]:
        """``slo``'s hourly stage sums of the hours starting in ``[start, end)``, by hour,
        flow and stage."""
        ...

    def prune_events(self, before: Minute) -> int:
        """Forget the kept events and claimed ids of minutes before ``before`` (counts and
        rollups stay); return how many events' records went."""
        ...


class Leases(Protocol):
    """Named leases: one holder at a time, until it expires unless renewed; the token
    (fencing epoch) moves up by one at every change of holder. Times come from the
    database's clock (PostgreSQL) or the system clock (SQLite), never the app's clock,
    which may be simulated; every holder must use the same ``ttl``."""

    def acquire_lease(
        self, name: str, holder: str, ttl: float, *, replacing: str | None = None
    ) -> Lease | None:
        """Take the lease if it is free or expired (a new token), renew it if ``holder``
        has it (same token, ``expires_at`` moved to now + ``ttl`` seconds); None while
        another holder has it — unless that holder is ``replacing``, which the caller
        knows is dead (a process of this host that is gone): then it is taken at once."""
        ...

    def release_lease(self, name: str, holder: str, token: int) -> bool:
        """Let the lease go at once if ``holder`` still has it with ``token`` (the next
        holder need not wait for it to expire); whether it did."""
        ...

    def current_lease(self, name: str) -> Lease | None:
        """The lease's holder while it has not expired, else None."""
        ...

    def check_fence(self, name: str, token: int) -> None:
        """Inside a write transaction (or as one): ``FencedError`` unless ``token`` is the
        lease's current token. Writes are serialised with lease changes, so a write
        checked this way commits before the next holder takes the lease, or not at all."""
        ...


class Store(
    CountsWriter,
    CountsReader,
    Revisions,
    Transactions,
    ExclusionRecords,
    AnnotationRecords,
    SourceHealthRecords,
    ChangeRecords,
    AuditLog,
    AlertRecords,
    NotificationOutbox,
    EventRecords,
    Leases,
    StoreLifecycle,
    Protocol,
):
    """Everything a store does: what ``open_store`` returns and every backend implements."""
