"""The store's alert records, notification outbox and event records, for every backend.

``AlertsPart``, ``OutboxPart`` and ``EventsPart`` are the ``AlertRecords``,
``NotificationOutbox`` and ``EventRecords`` halves of a store class: each method opens one
read or write level of the backend's access object (``self._db``, the same shape on SQLite
and PostgreSQL: ``reading``, ``writing``, ``mark_changed``) and runs SQL on its connection
(``execute(sql, parameters)`` and rows, the same on sqlite3 and psycopg). The SQL both
backends speak alike is here, written with ``?`` placeholders that the backend's
``PLACEHOLDER`` replaces; what differs (bulk writes, list parameters, upserts of
whole rows, COPY) is a function of the same name in the backend's SQL module
(``sqlite/alerts.py``, ``postgres/alerts_sql.py``, …), typed by the protocols below. A
store class gets these methods by naming its modules (``sqlite/record_parts.py``,
``postgres/alerts_part.py``, …).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from itertools import chain
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
from errorbudget.errors import NotFoundError
from errorbudget.event_records import DimensionCount, KeptBatch, KeptEvent, StageSum, Verdict
from errorbudget.model import Minute
from errorbudget.store import alert_rows as rows_
from errorbudget.store import event_chunks
from errorbudget.store.alert_rows import (
    NOTIFICATION_COLUMNS,
    SILENCE_COLUMNS,
    notification_of,
    silence_of,
    timestamp,
)
from errorbudget.store.event_chunks import rollup_where
from errorbudget.store.segments import series_infos

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


class Dialect(Protocol):
    """A backend's SQL module: its ``PLACEHOLDER`` (``?`` on SQLite, ``%s`` on psycopg)."""

    PLACEHOLDER: str


def sql(dialect: Dialect, text: str) -> str:
    """``text``, written with ``?`` placeholders, in ``dialect``'s."""
    return text.replace("?", dialect.PLACEHOLDER)


# --- alerts ------------------------------------------------------------------------------------


class AlertSql(Dialect, Protocol):
    """What a backend writes its own way for alerts, episodes and groups."""

    def save_alerts(self, connection: Any, alerts: Sequence[Alert], minute: Minute) -> None: ...

    def save_alert_episodes(self, connection: Any, episodes: Sequence[AlertEpisode]) -> None: ...

    def alert_episodes(
        self, connection: Any, slo: str, since: Minute, until: Minute, limit: int
    ) -> list[AlertEpisode]: ...

    def get_alert_groups(
        self, connection: Any, fingerprints: Sequence[str]
    ) -> list[AlertGroup]: ...

    def save_alert_groups(self, connection: Any, groups: Sequence[AlertGroup]) -> None: ...

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


def _row_by_id(connection: Any, dialect: Dialect, table: str, columns: str, row_id: int) -> Any:
    """The row ``row_id`` of ``table`` (silences, notifications), else NotFoundError."""
    row = connection.execute(
        sql(dialect, f"SELECT {columns} FROM {table} WHERE id = ?"), (int(row_id),)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no {table.removesuffix('s')} {row_id}")
    return row


def get_silence(connection: Any, dialect: Dialect, silence_id: int) -> Silence:
    return silence_of(_row_by_id(connection, dialect, "silences", SILENCE_COLUMNS, silence_id))


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
        check_limit(limit, "alert episodes")
        with self._db.reading("read alert episodes") as connection:
            return self._alert_sql.alert_episodes(connection, slo, since, until, limit)

    def alert_minute(self) -> Minute | None:
        """The last minute the alert service stepped."""
        with self._db.reading("read the alert progress") as connection:
            row = connection.execute("SELECT minute FROM alert_progress").fetchone()
            return None if row is None else int(row[0])

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
            rows = connection.execute(
                sql(
                    self._alert_sql,
                    "SELECT receiver FROM notifications WHERE fingerprint = ? AND dedup_key = ? "
                    "GROUP BY receiver ORDER BY min(id)",
                ),
                (fingerprint, dedup_key),
            )
            return [str(row[0]) for row in rows]

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
        if limit is not None:
            check_limit(limit, "alerts")
        with self._db.reading("list alerts") as connection:
            return self._alert_sql.list_alerts(
                connection, phases=phases, slo=slo, severity=severity, limit=limit
            )

    def acknowledge_alert(self, fingerprint: str, *, actor: str, at: datetime) -> Alert:
        """Mark a pending or firing alert acknowledged."""
        with self._db.writing("acknowledge an alert") as connection:
            found = self._alert_sql.get_alerts(connection, [fingerprint])
            rows_.check_acknowledgeable(found, fingerprint)
            connection.execute(
                sql(
                    self._alert_sql,
                    "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? "
                    "WHERE fingerprint = ?",
                ),
                (actor, timestamp(at, "the acknowledgement time"), fingerprint),
            )
            return self._alert_sql.get_alerts(connection, [fingerprint])[0]

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
        row = rows_.silence_row(
            matchers=matchers,
            author=author,
            reason=reason,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=created_at,
        )
        with self._db.writing("add a silence") as connection:
            [created] = connection.execute(
                sql(
                    self._alert_sql,
                    "INSERT INTO silences (matchers, author, reason, starts_at, ends_at, "
                    f"created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING {SILENCE_COLUMNS}",
                ),
                row,
            ).fetchall()  # all: SQLite finishes an INSERT … RETURNING once its rows are read
            return silence_of(created)

    def list_silences(
        self, *, include_expired: bool = False, at: datetime | None = None, limit: int = 1000
    ) -> list[Silence]:
        """Silences, newest first."""
        check_limit(limit, "silences")
        unexpired = "" if include_expired else "WHERE expired_at IS NULL "
        with self._db.reading("list silences") as connection:
            rows = connection.execute(
                f"SELECT {SILENCE_COLUMNS} FROM silences {unexpired}ORDER BY id DESC"
            )
            return rows_.listed_silences(rows, include_expired=include_expired, at=at, limit=limit)

    def expire_silence(self, silence_id: int, *, actor: str, at: datetime) -> Silence:
        """End a silence now."""
        with self._db.writing("expire a silence") as connection:
            rows_.check_expirable(get_silence(connection, self._alert_sql, silence_id), at)
            connection.execute(
                sql(
                    self._alert_sql,
                    "UPDATE silences SET expired_at = ?, expired_by = ? WHERE id = ?",
                ),
                (timestamp(at, "the expiry time"), actor, int(silence_id)),
            )
            return get_silence(connection, self._alert_sql, silence_id)


# --- the notification outbox -------------------------------------------------------------------


class OutboxSql(Dialect, Protocol):
    """What a backend writes its own way for the notification outbox."""

    def queue_notifications(
        self, connection: Any, at: datetime, items: Sequence[NewNotification]
    ) -> list[Notification]: ...


def get_notification(connection: Any, dialect: Dialect, notification_id: int) -> Notification:
    row = _row_by_id(connection, dialect, "notifications", NOTIFICATION_COLUMNS, notification_id)
    return notification_of(row)


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
            row = connection.execute(
                sql(
                    self._outbox_sql,
                    f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "
                    "WHERE receiver = ? AND status = 'pending' ORDER BY id LIMIT 1",
                ),
                (receiver,),
            ).fetchone()
        return rows_.due(None if row is None else notification_of(row), now)

    def claim_notification(self, notification_id: int) -> Notification:
        """The notification as it is now, read inside a write transaction: the store's
        write lock taken and, in a leader's job, its fence checked (``FencedError`` once
        another replica leads, ``StoreBusyError`` while another process holds the lock).
        ConflictError when it is no longer pending. The delivery worker claims each
        notification so before it sends it: a leader that could not stamp the outcome
        does not send."""
        with self._db.writing("claim a notification") as connection:
            found = get_notification(connection, self._outbox_sql, notification_id)
            rows_.check_pending(found)
            return found

    def mark_delivered(self, notification_id: int, at: datetime) -> Notification:
        """Stamp a pending notification delivered (ConflictError when it is not pending)."""
        dialect = self._outbox_sql
        with self._db.writing("mark a notification delivered") as connection:
            found = get_notification(connection, dialect, notification_id)
            connection.execute(
                sql(
                    dialect,
                    "UPDATE notifications SET status = 'delivered', attempts = ?, "
                    "delivered_at = ?, next_attempt_at = NULL WHERE id = ?",
                ),
                (*rows_.delivery(found, at), int(notification_id)),
            )
            return get_notification(connection, dialect, notification_id)

    def mark_failed_attempt(
        self,
        notification_id: int,
        *,
        error: str,
        at: datetime,
        next_attempt_at: datetime | None,
    ) -> Notification:
        """Record a failed attempt; ``next_attempt_at`` None gives up (``failed``)."""
        dialect = self._outbox_sql
        with self._db.writing("record a failed delivery") as connection:
            found = get_notification(connection, dialect, notification_id)
            changed = rows_.failed_attempt(
                found, error=error, at=at, next_attempt_at=next_attempt_at
            )
            connection.execute(
                sql(
                    dialect,
                    "UPDATE notifications SET status = ?, attempts = ?, last_error = ?, "
                    "next_attempt_at = ? WHERE id = ?",
                ),
                (*changed, int(notification_id)),
            )
            return get_notification(connection, dialect, notification_id)

    def list_notifications(
        self,
        *,
        receiver: str | None = None,
        fingerprint: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Notification]:
        """The delivery log, newest first."""
        check_limit(limit, "notifications")
        filters = rows_.equal_filters(receiver=receiver, fingerprint=fingerprint, status=status)
        where = " AND ".join(f"{column} = ?" for column, _ in filters)
        with self._db.reading("list notifications") as connection:
            rows = connection.execute(
                sql(
                    self._outbox_sql,
                    f"SELECT {NOTIFICATION_COLUMNS} FROM notifications "
                    f"{'WHERE ' + where + ' ' if filters else ''}ORDER BY id DESC LIMIT ?",
                ),
                (*(value for _, value in filters), int(limit)),
            )
            return [notification_of(row) for row in rows]


# --- voice-agent events ------------------------------------------------------------------------


class EventSql(Dialect, Protocol):
    """What a backend does its own way for claimed event ids, kept events and rollups."""

    def claim_event_ids(
        self, connection: Any, ids: Sequence[str] | Any, minutes: npt.ArrayLike
    ) -> npt.NDArray[np.bool_]: ...

    def save_kept_events(self, connection: Any, slo: str, rows: KeptBatch) -> int: ...

    def add_rollup(self, connection: Any, slo: str, rows: pa.Table, stages: bool) -> int: ...

    def lazy_rows(
        self, connection: Any, query: str, parameters: Sequence[Any]
    ) -> AbstractContextManager[Iterable[Any]]: ...


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
        """``slo``'s kept events of ``[start, end)``, newest first: the chunks of the hours
        overlapping it, newest first, read lazily and filtered and ordered in Arrow
        (``event_chunks.select_kept``); only the ``limit`` returned become Python objects."""
        event_chunks.check_verdict(verdict)
        dialect = self._event_sql
        with self._db.reading("read kept events") as connection:
            stored = connection.execute(
                sql(dialect, "SELECT id, slo, segment FROM series WHERE slo = ? ORDER BY id"),
                (slo,),
            ).fetchall()
            series = event_chunks.matching_series(series_infos(stored), segment or {})
            if not series or limit <= 0 or end <= start:
                return []
            query = sql(
                dialect,
                "SELECT hour, events FROM kept_events WHERE slo = ? AND hour >= ? AND hour < ?"
                " ORDER BY hour DESC",
            )
            hours = (slo, event_chunks.first_hour(start), int(end))
            with dialect.lazy_rows(connection, query, hours) as chunks:
                return event_chunks.select_kept(
                    slo,
                    chunks,
                    start,
                    end,
                    verdict=verdict,
                    series=series,
                    by_segment=bool(segment),
                    limit=limit,
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
        where, parameters = rollup_where(slo, start, end, dimension=dimension, flow=flow)
        with self._db.reading("read event dimension counts") as connection:
            rows = connection.execute(
                sql(
                    self._event_sql,
                    "SELECT hour, flow, dimension, value, eligible, bad, excluded, excluded_bad "
                    f"FROM event_dimensions{where} ORDER BY hour, flow, dimension, value",
                ),
                parameters,
            )
            return [DimensionCount(*row) for row in rows]

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[StageSum]:
        """``slo``'s hourly stage sums of the hours starting in ``[start, end)``."""
        where, parameters = rollup_where(slo, start, end, flow=flow)
        with self._db.reading("read event stage sums") as connection:
            rows = connection.execute(
                sql(
                    self._event_sql,
                    "SELECT hour, flow, stage, eligible_ms, eligible_n, bad_ms, bad_n "
                    f"FROM event_stages{where} ORDER BY hour, flow, stage",
                ),
                parameters,
            )
            return [StageSum(*row) for row in rows]

    def prune_events(self, before: Minute) -> int:
        """Forget kept events and claimed ids of minutes before ``before``: claim chunks of
        minutes before it and kept-event chunks of hours that ended by then; return how many
        events' records went (claimed ids plus kept events). The rollups stay, like counts."""
        dialect = self._event_sql
        with self._db.writing("prune events") as connection:
            claimed = connection.execute(
                sql(dialect, "DELETE FROM event_claims WHERE minute < ? RETURNING count"),
                (int(before),),
            ).fetchall()
            kept = connection.execute(
                sql(dialect, "DELETE FROM kept_events WHERE hour <= ? RETURNING count"),
                (int(before) - 60,),
            ).fetchall()
            return sum(int(row[0]) for row in chain(claimed, kept))


def check_limit(limit: int, listing: str) -> None:
    """ValueError for a negative ``limit`` (0: nothing), on both backends alike: SQLite
    reads ``LIMIT -1`` as no limit, PostgreSQL refuses it."""
    if limit < 0:
        raise ValueError(f"a limit of {listing} cannot be negative ({limit})")
