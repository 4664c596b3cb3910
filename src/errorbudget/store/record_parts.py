"""The store's alert records, notification outbox and event records, for every backend.

``AlertsPart``, ``OutboxPart`` and ``EventsPart`` are the ``AlertRecords``,
``NotificationOutbox`` and ``EventRecords`` halves of a store class: each method opens one
read or write level of the backend's access object (``self._db``, the same shape on SQLite
and PostgreSQL: ``reading``, ``writing``, ``mark_changed``) and runs the backend's SQL
function of the same name on its connection. A backend supplies its SQL as a module
(``sqlite/alerts.py``, ``postgres/alerts_sql.py``, …) typed by the protocols below, and
its store class gets these methods by naming that module (``sqlite/record_parts.py``,
``postgres/alerts_part.py``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

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
from errorbudget.model import Minute

if TYPE_CHECKING:
    import pyarrow as pa


class PartAccess(Protocol):
    """What a part needs of a backend's access object (``sqlite/access.py``,
    ``postgres/access.py``)."""

    def writing(self, doing: str) -> AbstractContextManager[Any]: ...

    def reading(self, doing: str) -> AbstractContextManager[Any]: ...

    def mark_changed(self) -> None: ...


AccessT = TypeVar("AccessT", bound=PartAccess)
"""The backend's access object: a part's ``_db`` has the store class's own type."""


# --- alerts ------------------------------------------------------------------------------------


class AlertSql(Protocol):
    """A backend's SQL of alerts, episodes, groups and silences."""

    def save_alerts(self, connection: Any, alerts: Sequence[Alert], minute: Minute) -> None: ...

    def save_alert_episodes(self, connection: Any, episodes: Sequence[AlertEpisode]) -> None: ...

    def alert_episodes(
        self, connection: Any, slo: str, since: Minute, until: Minute, limit: int
    ) -> list[AlertEpisode]: ...

    def alert_minute(self, connection: Any) -> Minute | None: ...

    def get_alert_groups(
        self, connection: Any, fingerprints: Sequence[str]
    ) -> list[AlertGroup]: ...

    def save_alert_groups(self, connection: Any, groups: Sequence[AlertGroup]) -> None: ...

    def group_receivers(self, connection: Any, fingerprint: str, dedup_key: str) -> list[str]: ...

    def get_alerts(self, connection: Any, fingerprints: Sequence[str]) -> list[Alert]: ...

    def list_alerts(
        self,
        connection: Any,
        *,
        phases: Sequence[Phase] | None,
        slo: str | None,
        severity: str | None,
        limit: int | None,
    ) -> list[Alert]: ...

    def acknowledge_alert(
        self, connection: Any, fingerprint: str, *, actor: str, at: datetime
    ) -> Alert: ...

    def add_silence(
        self,
        connection: Any,
        *,
        matchers: Mapping[str, str],
        author: str,
        reason: str,
        starts_at: datetime,
        ends_at: datetime,
        created_at: datetime,
    ) -> Silence: ...

    def list_silences(
        self, connection: Any, *, include_expired: bool, at: datetime | None, limit: int
    ) -> list[Silence]: ...

    def expire_silence(
        self, connection: Any, silence_id: int, *, actor: str, at: datetime
    ) -> Silence: ...


class AlertsPart(Generic[AccessT]):
    """``AlertRecords`` over ``_alert_sql``."""

    _db: AccessT
    _alert_sql: ClassVar[AlertSql]

    def save_alerts(self, alerts: Sequence[Alert], minute: Minute) -> None:
        """Insert or replace these alerts and record ``minute`` as the last one stepped."""
        with self._db.writing("save alerts") as connection:
            self._alert_sql.save_alerts(connection, alerts, minute)

    def save_alert_episodes(self, episodes: Sequence[AlertEpisode]) -> None:
        """Insert these firing episodes, or record the resolve of those already kept."""
        with self._db.writing("save alert episodes") as connection:
            self._alert_sql.save_alert_episodes(connection, episodes)

    def alert_episodes(
        self, slo: str, since: Minute, until: Minute, *, limit: int = 1000
    ) -> list[AlertEpisode]:
        """The SLO's firing episodes overlapping ``[since, until)``, latest fired first."""
        with self._db.reading("read alert episodes") as connection:
            return self._alert_sql.alert_episodes(connection, slo, since, until, limit)

    def alert_minute(self) -> Minute | None:
        """The last minute the alert service stepped."""
        with self._db.reading("read the alert progress") as connection:
            return self._alert_sql.alert_minute(connection)

    def get_alert_groups(self, fingerprints: Sequence[str]) -> list[AlertGroup]:
        """The stored states of these notification groups (unknown ones are left out)."""
        with self._db.reading("read alert groups") as connection:
            return self._alert_sql.get_alert_groups(connection, fingerprints)

    def save_alert_groups(self, groups: Sequence[AlertGroup]) -> None:
        """Insert or replace these notification groups' states (by fingerprint)."""
        with self._db.writing("save alert groups") as connection:
            self._alert_sql.save_alert_groups(connection, groups)

    def group_receivers(self, fingerprint: str, dedup_key: str) -> list[str]:
        """The receivers queued a notification of group ``fingerprint`` with ``dedup_key``."""
        with self._db.reading("read a group's receivers") as connection:
            return self._alert_sql.group_receivers(connection, fingerprint, dedup_key)

    def get_alerts(self, fingerprints: Sequence[str]) -> list[Alert]:
        """The stored alerts with these fingerprints."""
        with self._db.reading("read alerts") as connection:
            return self._alert_sql.get_alerts(connection, fingerprints)

    def list_alerts(
        self,
        *,
        phases: Sequence[Phase] | None = None,
        slo: str | None = None,
        severity: str | None = None,
        limit: int | None = 1000,
    ) -> list[Alert]:
        """Stored alerts, most recently updated first (``limit`` None: all of them, for the
        alert service's step, which must see every pending and firing alert)."""
        with self._db.reading("list alerts") as connection:
            return self._alert_sql.list_alerts(
                connection, phases=phases, slo=slo, severity=severity, limit=limit
            )

    def acknowledge_alert(self, fingerprint: str, *, actor: str, at: datetime) -> Alert:
        """Mark a pending or firing alert acknowledged."""
        with self._db.writing("acknowledge an alert") as connection:
            return self._alert_sql.acknowledge_alert(connection, fingerprint, actor=actor, at=at)

    def add_silence(
        self,
        *,
        matchers: Mapping[str, str],
        author: str,
        reason: str,
        starts_at: datetime,
        ends_at: datetime,
        created_at: datetime,
    ) -> Silence:
        """Store a silence."""
        with self._db.writing("add a silence") as connection:
            return self._alert_sql.add_silence(
                connection,
                matchers=matchers,
                author=author,
                reason=reason,
                starts_at=starts_at,
                ends_at=ends_at,
                created_at=created_at,
            )

    def list_silences(
        self, *, include_expired: bool = False, at: datetime | None = None, limit: int = 1000
    ) -> list[Silence]:
        """Silences, newest first."""
        with self._db.reading("list silences") as connection:
            return self._alert_sql.list_silences(
                connection, include_expired=include_expired, at=at, limit=limit
            )

    def expire_silence(self, silence_id: int, *, actor: str, at: datetime) -> Silence:
        """End a silence now."""
        with self._db.writing("expire a silence") as connection:
            return self._alert_sql.expire_silence(connection, silence_id, actor=actor, at=at)


# --- the notification outbox -------------------------------------------------------------------


class OutboxSql(Protocol):
    """A backend's SQL of the notification outbox."""

    def queue_notifications(
        self, connection: Any, at: datetime, items: Sequence[NewNotification]
    ) -> list[Notification]: ...

    def next_notification(
        self, connection: Any, receiver: str, now: datetime
    ) -> Notification | None: ...

    def mark_delivered(
        self, connection: Any, notification_id: int, at: datetime
    ) -> Notification: ...

    def mark_failed_attempt(
        self,
        connection: Any,
        notification_id: int,
        *,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> Notification: ...

    def list_notifications(
        self,
        connection: Any,
        *,
        receiver: str | None,
        fingerprint: str | None,
        status: str | None,
        limit: int,
    ) -> list[Notification]: ...


class OutboxPart(Generic[AccessT]):
    """``NotificationOutbox`` over ``_outbox_sql``."""

    _db: AccessT
    _clock: Callable[[], datetime]
    _outbox_sql: ClassVar[OutboxSql]

    def queue_notifications(self, items: Sequence[NewNotification]) -> list[Notification]:
        """Queue notifications (in the caller's transaction when one is open)."""
        with self._db.writing("queue notifications") as connection:
            return self._outbox_sql.queue_notifications(connection, self._clock(), items)

    def next_notification(self, receiver: str, now: datetime) -> Notification | None:
        """The oldest pending notification of ``receiver`` if it is due at ``now``."""
        with self._db.reading("read the next notification") as connection:
            return self._outbox_sql.next_notification(connection, receiver, now)

    def mark_delivered(self, notification_id: int, at: datetime) -> Notification:
        """Stamp a pending notification delivered (ConflictError when it is not pending)."""
        with self._db.writing("mark a notification delivered") as connection:
            return self._outbox_sql.mark_delivered(connection, notification_id, at)

    def mark_failed_attempt(
        self,
        notification_id: int,
        *,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> Notification:
        """Record a failed attempt; ``next_attempt_at`` None gives up (``failed``)."""
        with self._db.writing("record a failed delivery") as connection:
            return self._outbox_sql.mark_failed_attempt(
                connection, notification_id, error=error, at=at, next_attempt_at=next_attempt_at
            )

    def list_notifications(
        self,
        *,
        receiver: str | None = None,
        fingerprint: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """The delivery log, newest first."""
        with self._db.reading("list notifications") as connection:
            return self._outbox_sql.list_notifications(
                connection, receiver=receiver, fingerprint=fingerprint, status=status, limit=limit
            )


# --- voice-agent events ------------------------------------------------------------------------


class EventSql(Protocol):
    """A backend's SQL of claimed event ids, kept events and rollups."""

    def claim_event_ids(
        self, connection: Any, ids: Sequence[str] | Any, minutes: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]: ...

    def save_kept_events(self, connection: Any, slo: str, rows: KeptBatch) -> int: ...

    def add_rollup(self, connection: Any, slo: str, rows: pa.Table, stages: bool) -> int: ...

    def kept_events(
        self,
        connection: Any,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        verdict: Verdict | None,
        segment: Mapping[str, str] | None,
        limit: int,
    ) -> list[KeptEvent]: ...

    def dimension_counts(
        self,
        connection: Any,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        dimension: str | None,
        flow: str | None,
    ) -> list[DimensionCount]: ...

    def stage_sums(
        self, connection: Any, slo: str, start: Minute, end: Minute, *, flow: str | None
    ) -> list[StageSum]: ...

    def prune_events(self, connection: Any, before: Minute) -> int: ...


class EventsPart(Generic[AccessT]):
    """``EventRecords`` over ``_event_sql``."""

    _db: AccessT
    _event_sql: ClassVar[EventSql]

    def claim_event_ids(self, ids: Sequence[str], minutes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Claim the events (id, minute) not claimed before; True where one is new."""
        with self._db.writing("claim event ids") as connection:
            return self._event_sql.claim_event_ids(connection, ids, minutes)

    def save_kept_events(self, slo: str, rows: KeptBatch) -> int:
        """Keep ``slo``'s bad and excluded events."""
        with self._db.writing("save kept events") as connection:
            self._db.mark_changed()
            return self._event_sql.save_kept_events(connection, slo, rows)

    def add_dimension_counts(self, slo: str, rows: pa.Table) -> int:
        """Add to ``slo``'s hourly dimension counts."""
        with self._db.writing("add event dimension counts") as connection:
            self._db.mark_changed()
            return self._event_sql.add_rollup(connection, slo, rows, stages=False)

    def add_stage_sums(self, slo: str, rows: pa.Table) -> int:
        """Add to ``slo``'s hourly stage sums."""
        with self._db.writing("add event stage sums") as connection:
            self._db.mark_changed()
            return self._event_sql.add_rollup(connection, slo, rows, stages=True)

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
        """``slo``'s kept events of ``[start, end)``, newest first."""
        with self._db.reading("read kept events") as connection:
            return self._event_sql.kept_events(
                connection, slo, start, end, verdict=verdict, segment=segment, limit=limit
            )

    def dimension_counts(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        dimension: str | None = None,
        flow: str | None = None,
    ) -> list[DimensionCount]:
        """``slo``'s hourly dimension counts of the hours starting in ``[start, end)``."""
        with self._db.reading("read event dimension counts") as connection:
            return self._event_sql.dimension_counts(
                connection, slo, start, end, dimension=dimension, flow=flow
            )

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[StageSum]:
        """``slo``'s hourly stage sums of the hours starting in ``[start, end)``."""
        with self._db.reading("read event stage sums") as connection:
            return self._event_sql.stage_sums(connection, slo, start, end, flow=flow)

    def prune_events(self, before: Minute) -> int:
        """Forget kept events and claimed ids of minutes before ``before``."""
        with self._db.writing("prune events") as connection:
            return self._event_sql.prune_events(connection, before)
