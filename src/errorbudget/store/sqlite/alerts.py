"""Alerts by fingerprint, their acknowledgements, and silences (schema v8, in ``schema.py``).

- ``alerts``: one row per alert (alert name, SLO, segment, severity), its lifecycle state
  (``AlertState``), the signal it last saw (summary, details, runbook) and whether the
  current episode was silenced when it fired. Replaced as a whole by the alert service in
  the transaction that writes its transitions' audit entries and notifications.
- ``alert_progress``: one row, the last minute the alert service stepped (it never moves
  backwards, so a restart neither repeats nor skips a minute's transitions).
- ``alert_episodes``: one row per firing episode (fired, resolved, inhibited, silenced),
  written with its firing and its resolve: the alert history, read by SLO and time span.
- ``alert_groups``: one row per notification group (``services/alert_groups.py``): its
  last episode, when that episode opened and whether it is open, so a group's state does
  not depend on what the routes chose to send.
- ``silences``: matchers (exact label equalities), author, reason, start, end; expired by
  hand with who did it. Never deleted.

``AlertsPart`` is the ``AlertRecords`` half of ``SQLiteStore``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from errorbudget.alert_records import Alert, AlertEpisode, AlertGroup, Phase, Silence
from errorbudget.errors import NotFoundError
from errorbudget.model import Minute
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import (
    ALERT_COLUMNS,
    EPISODE_COLUMNS,
    SILENCE_COLUMNS,
    alert_of,
    column_count,
    episode_of,
    silence_of,
    timestamp,
)
from errorbudget.store.sqlite.access import Access


def save_alerts(connection: sqlite3.Connection, alerts: Sequence[Alert], minute: Minute) -> None:
    marks = ", ".join("?" * column_count(ALERT_COLUMNS))
    connection.executemany(
        f"INSERT OR REPLACE INTO alerts ({ALERT_COLUMNS}) VALUES ({marks})",
        [rows_.alert_row(alert) for alert in alerts],
    )
    try:
        connection.execute(
            "INSERT INTO alert_progress (id, minute) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET minute = excluded.minute",
            (int(minute),),
        )
    except sqlite3.IntegrityError as exc:
        raise rows_.stepped_backwards(minute) from exc


def save_alert_episodes(connection: sqlite3.Connection, episodes: Sequence[AlertEpisode]) -> None:
    marks = ", ".join("?" * column_count(EPISODE_COLUMNS))
    connection.executemany(
        f"INSERT INTO alert_episodes ({EPISODE_COLUMNS}) VALUES ({marks}) "
        "ON CONFLICT (fingerprint, episode) DO UPDATE SET resolved_at = excluded.resolved_at",
        [rows_.episode_row(episode) for episode in episodes],
    )


def alert_episodes(
    connection: sqlite3.Connection, slo: str, since: Minute, until: Minute, limit: int
) -> list[AlertEpisode]:
    """Episodes of ``slo`` overlapping ``[since, until)``, latest fired first. Three index
    ranges, so the read is bounded by the span, not by the SLO's whole history: fired in
    the span; fired before it and resolved in or after it; fired before it and still firing."""
    rows = connection.execute(
        f"SELECT {EPISODE_COLUMNS} FROM alert_episodes "
        "WHERE slo = :slo AND fired_at >= :since AND fired_at < :until "
        f"UNION SELECT {EPISODE_COLUMNS} FROM alert_episodes "
        "WHERE slo = :slo AND resolved_at > :since AND fired_at < :since "
        f"UNION SELECT {EPISODE_COLUMNS} FROM alert_episodes "
        "WHERE slo = :slo AND resolved_at IS NULL AND fired_at < :since "
        "ORDER BY fired_at DESC, fingerprint LIMIT :limit",
        {"slo": slo, "since": int(since), "until": int(until), "limit": int(limit)},
    )
    return [episode_of(row) for row in rows]


def alert_minute(connection: sqlite3.Connection) -> Minute | None:
    row = connection.execute("SELECT minute FROM alert_progress").fetchone()
    return None if row is None else int(row[0])


def get_alert_groups(
    connection: sqlite3.Connection, fingerprints: Sequence[str]
) -> list[AlertGroup]:
    rows = connection.execute(
        "SELECT fingerprint, episode, opened_at, open FROM alert_groups "
        "WHERE fingerprint IN (SELECT value FROM json_each(?)) ORDER BY fingerprint",
        (json.dumps(list(fingerprints)),),
    )
    return [rows_.group_of(row) for row in rows]


def save_alert_groups(connection: sqlite3.Connection, groups: Sequence[AlertGroup]) -> None:
    connection.executemany(
        "INSERT OR REPLACE INTO alert_groups (fingerprint, episode, opened_at, open) "
        "VALUES (?, ?, ?, ?)",
        [rows_.group_row(group) for group in groups],
    )


def group_receivers(connection: sqlite3.Connection, fingerprint: str, dedup_key: str) -> list[str]:
    rows = connection.execute(
        "SELECT receiver FROM notifications WHERE fingerprint = ? AND dedup_key = ? "
        "GROUP BY receiver ORDER BY min(id)",
        (fingerprint, dedup_key),
    )
    return [str(row[0]) for row in rows]


def get_alerts(connection: sqlite3.Connection, fingerprints: Sequence[str]) -> list[Alert]:
    rows = connection.execute(
        f"SELECT {ALERT_COLUMNS} FROM alerts "
        "WHERE fingerprint IN (SELECT value FROM json_each(?)) ORDER BY fingerprint",
        (json.dumps(list(fingerprints)),),
    )
    return [alert_of(row) for row in rows]


def list_alerts(
    connection: sqlite3.Connection,
    *,
    phases: Sequence[Phase] | None,
    slo: str | None,
    severity: str | None,
    limit: int | None,
) -> list[Alert]:
    where: list[str] = []
    values: list[object] = []
    if phases is not None:
        where.append("phase IN (SELECT value FROM json_each(?))")
        values.append(json.dumps(list(phases)))
    for column, value in rows_.equal_filters(slo=slo, severity=severity):
        where.append(f"{column} = ?")
        values.append(value)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = connection.execute(
        f"SELECT {ALERT_COLUMNS} FROM alerts {clause}ORDER BY updated_at DESC, fingerprint LIMIT ?",
        (*values, -1 if limit is None else int(limit)),  # SQLite: LIMIT -1 is none
    )
    return [alert_of(row) for row in rows]


def acknowledge_alert(
    connection: sqlite3.Connection, fingerprint: str, *, actor: str, at: datetime
) -> Alert:
    rows_.check_acknowledgeable(get_alerts(connection, [fingerprint]), fingerprint)
    connection.execute(
        "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE fingerprint = ?",
        (actor, timestamp(at, "the acknowledgement time"), fingerprint),
    )
    return get_alerts(connection, [fingerprint])[0]


def add_silence(
    connection: sqlite3.Connection,
    *,
    matchers: Mapping[str, str],
    author: str,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    created_at: datetime,
) -> Silence:
    row = rows_.silence_row(
        matchers=matchers,
        author=author,
        reason=reason,
        starts_at=starts_at,
        ends_at=ends_at,
        created_at=created_at,
    )
    cursor = connection.execute(
        "INSERT INTO silences (matchers, author, reason, starts_at, ends_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        row,
    )
    return get_silence(connection, int(cursor.lastrowid or 0))


def get_silence(connection: sqlite3.Connection, silence_id: int) -> Silence:
    row = connection.execute(
        f"SELECT {SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no silence {silence_id}")
    return silence_of(row)


def list_silences(
    connection: sqlite3.Connection, *, include_expired: bool, at: datetime | None, limit: int
) -> list[Silence]:
    unexpired = "" if include_expired else "WHERE expired_at IS NULL "
    rows = connection.execute(f"SELECT {SILENCE_COLUMNS} FROM silences {unexpired}ORDER BY id DESC")
    return rows_.listed_silences(rows, include_expired=include_expired, at=at, limit=limit)


def expire_silence(
    connection: sqlite3.Connection, silence_id: int, *, actor: str, at: datetime
) -> Silence:
    rows_.check_expirable(get_silence(connection, silence_id), at)
    connection.execute(
        "UPDATE silences SET expired_at = ?, expired_by = ? WHERE id = ?",
        (timestamp(at, "the expiry time"), actor, silence_id),
    )
    return get_silence(connection, silence_id)


class AlertsPart:
    """``AlertRecords`` over SQLite."""

    _db: Access
    _clock: Callable[[], datetime]

    def save_alerts(self, alerts: Sequence[Alert], minute: Minute) -> None:
        """Insert or replace these alerts and record ``minute`` as the last one stepped."""
        with self._db.writing("save alerts") as connection:
            save_alerts(connection, alerts, minute)

    def save_alert_episodes(self, episodes: Sequence[AlertEpisode]) -> None:
        """Insert these firing episodes, or record the resolve of those already kept."""
        with self._db.writing("save alert episodes") as connection:
            save_alert_episodes(connection, episodes)

    def alert_episodes(
        self, slo: str, since: Minute, until: Minute, *, limit: int = 1000
    ) -> list[AlertEpisode]:
        """The SLO's firing episodes overlapping ``[since, until)``, latest fired first."""
        with self._db.reading("read alert episodes") as connection:
            return alert_episodes(connection, slo, since, until, limit)

    def alert_minute(self) -> Minute | None:
        """The last minute the alert service stepped."""
        with self._db.reading("read the alert progress") as connection:
            return alert_minute(connection)

    def get_alert_groups(self, fingerprints: Sequence[str]) -> list[AlertGroup]:
        """The stored states of these notification groups (unknown ones are left out)."""
        with self._db.reading("read alert groups") as connection:
            return get_alert_groups(connection, fingerprints)

    def save_alert_groups(self, groups: Sequence[AlertGroup]) -> None:
        """Insert or replace these notification groups' states (by fingerprint)."""
        with self._db.writing("save alert groups") as connection:
            save_alert_groups(connection, groups)

    def group_receivers(self, fingerprint: str, dedup_key: str) -> list[str]:
        """The receivers queued a notification of group ``fingerprint`` with ``dedup_key``."""
        with self._db.reading("read a group's receivers") as connection:
            return group_receivers(connection, fingerprint, dedup_key)

    def get_alerts(self, fingerprints: Sequence[str]) -> list[Alert]:
        """The stored alerts with these fingerprints."""
        with self._db.reading("read alerts") as connection:
            return get_alerts(connection, fingerprints)

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
            return list_alerts(connection, phases=phases, slo=slo, severity=severity, limit=limit)

    def acknowledge_alert(self, fingerprint: str, *, actor: str, at: datetime) -> Alert:
        """Mark a pending or firing alert acknowledged."""
        with self._db.writing("acknowledge an alert") as connection:
            return acknowledge_alert(connection, fingerprint, actor=actor, at=at)

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
            return add_silence(
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
            return list_silences(connection, include_expired=include_expired, at=at, limit=limit)

    def expire_silence(self, silence_id: int, *, actor: str, at: datetime) -> Silence:
        """End a silence now."""
        with self._db.writing("expire a silence") as connection:
            return expire_silence(connection, silence_id, actor=actor, at=at)
