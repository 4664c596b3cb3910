"""The PostgreSQL store's alerts, episodes, notification groups and silences (tables in
``sql/50_alerts.sql``, the same as SQLite's; ``store/sqlite/alerts.py`` says what each
holds). ``AlertsPart`` is the ``AlertRecords`` half of ``PostgresStore``.

Rows and records are mapped, and writes checked, by ``store/alert_rows.py``, shared with
SQLite; only the SQL is here. Bulk writes are one ``executemany`` (psycopg pipelines it),
lists are ``= ANY(%s)`` arrays. Every write holds the store's write lock
(``access.py``), so a read-then-write here (acknowledge, expire) races nothing, exactly as
on SQLite; a step backwards is refused by a trigger and mapped to ConflictError as there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import psycopg.errors

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
from errorbudget.store.postgres.access import Connection, PgAccess


def _replace_all(columns: str, key: str) -> str:
    """``SET column = EXCLUDED.column`` for every column but the key: SQLite's INSERT OR
    REPLACE of a whole row."""
    names = [name.strip() for name in columns.split(",")]
    return ", ".join(f"{name} = EXCLUDED.{name}" for name in names if name != key)


_SAVE_ALERT = (
    f"INSERT INTO alerts ({ALERT_COLUMNS})"
    f" VALUES ({', '.join(['%s'] * column_count(ALERT_COLUMNS))})"
    f" ON CONFLICT (fingerprint) DO UPDATE SET {_replace_all(ALERT_COLUMNS, 'fingerprint')}"
)
_SAVE_EPISODE = (
    f"INSERT INTO alert_episodes ({EPISODE_COLUMNS})"
    f" VALUES ({', '.join(['%s'] * column_count(EPISODE_COLUMNS))})"
    " ON CONFLICT (fingerprint, episode) DO UPDATE SET resolved_at = EXCLUDED.resolved_at"
)
_EPISODES = f"""
SELECT {EPISODE_COLUMNS} FROM alert_episodes
WHERE slo = %(slo)s AND fired_at >= %(since)s AND fired_at < %(until)s
UNION SELECT {EPISODE_COLUMNS} FROM alert_episodes
WHERE slo = %(slo)s AND resolved_at > %(since)s AND fired_at < %(since)s
UNION SELECT {EPISODE_COLUMNS} FROM alert_episodes
WHERE slo = %(slo)s AND resolved_at IS NULL AND fired_at < %(since)s
ORDER BY fired_at DESC, fingerprint LIMIT %(limit)s
"""


def save_alerts(connection: Connection, alerts: Sequence[Alert], minute: Minute) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(_SAVE_ALERT, [rows_.alert_row(alert) for alert in alerts])
    try:
        connection.execute(
            "INSERT INTO alert_progress (id, minute) VALUES (1, %s) "
            "ON CONFLICT (id) DO UPDATE SET minute = EXCLUDED.minute",
            (int(minute),),
        )
    except psycopg.errors.IntegrityError as exc:  # the trigger: never backwards
        raise rows_.stepped_backwards(minute) from exc


def save_alert_episodes(connection: Connection, episodes: Sequence[AlertEpisode]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(_SAVE_EPISODE, [rows_.episode_row(episode) for episode in episodes])


def alert_episodes(
    connection: Connection, slo: str, since: Minute, until: Minute, limit: int
) -> list[AlertEpisode]:
    """Episodes of ``slo`` overlapping ``[since, until)``, latest fired first: three index
    ranges, as on SQLite (``store/sqlite/alerts.py``)."""
    rows = connection.execute(
        _EPISODES, {"slo": slo, "since": int(since), "until": int(until), "limit": int(limit)}
    )
    return [episode_of(row) for row in rows]


def get_alerts(connection: Connection, fingerprints: Sequence[str]) -> list[Alert]:
    rows = connection.execute(
        f"SELECT {ALERT_COLUMNS} FROM alerts WHERE fingerprint = ANY(%s) ORDER BY fingerprint",
        (list(fingerprints),),
    )
    return [alert_of(row) for row in rows]


def list_alerts(
    connection: Connection,
    *,
    phases: Sequence[Phase] | None,
    slo: str | None,
    severity: str | None,
    limit: int | None,
) -> list[Alert]:
    filters = rows_.equal_filters(slo=slo, severity=severity)
    where = [f"{column} = %s" for column, _ in filters]
    values: list[object] = [value for _, value in filters]
    if phases is not None:
        where.append("phase = ANY(%s)")
        values.append(list(phases))
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = connection.execute(
        f"SELECT {ALERT_COLUMNS} FROM alerts {clause}"
        "ORDER BY updated_at DESC, fingerprint LIMIT %s",
        (*values, None if limit is None else int(limit)),  # LIMIT NULL: all of them
    )
    return [alert_of(row) for row in rows]


def acknowledge_alert(
    connection: Connection, fingerprint: str, *, actor: str, at: datetime
) -> Alert:
    rows_.check_acknowledgeable(get_alerts(connection, [fingerprint]), fingerprint)
    connection.execute(
        "UPDATE alerts SET acknowledged_by = %s, acknowledged_at = %s WHERE fingerprint = %s",
        (actor, timestamp(at, "the acknowledgement time"), fingerprint),
    )
    return get_alerts(connection, [fingerprint])[0]


def get_silence(connection: Connection, silence_id: int) -> Silence:
    row = connection.execute(
        f"SELECT {SILENCE_COLUMNS} FROM silences WHERE id = %s", (int(silence_id),)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no silence {silence_id}")
    return silence_of(row)


def expire_silence(connection: Connection, silence_id: int, *, actor: str, at: datetime) -> Silence:
    rows_.check_expirable(get_silence(connection, silence_id), at)
    connection.execute(
        "UPDATE silences SET expired_at = %s, expired_by = %s WHERE id = %s",
        (timestamp(at, "the expiry time"), actor, int(silence_id)),
    )
    return get_silence(connection, silence_id)


class AlertsPart:
    """``AlertRecords`` over PostgreSQL."""

    _db: PgAccess
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
            row = connection.execute("SELECT minute FROM alert_progress").fetchone()
            return None if row is None else int(row[0])

    def get_alert_groups(self, fingerprints: Sequence[str]) -> list[AlertGroup]:
        """The stored states of these notification groups (unknown ones are left out)."""
        with self._db.reading("read alert groups") as connection:
            rows = connection.execute(
                "SELECT fingerprint, episode, opened_at, open FROM alert_groups "
                "WHERE fingerprint = ANY(%s) ORDER BY fingerprint",
                (list(fingerprints),),
            )
            return [rows_.group_of(row) for row in rows]

    def save_alert_groups(self, groups: Sequence[AlertGroup]) -> None:
        """Insert or replace these notification groups' states (by fingerprint)."""
        with self._db.writing("save alert groups") as connection, connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO alert_groups (fingerprint, episode, opened_at, open) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (fingerprint) DO UPDATE SET "
                "episode = EXCLUDED.episode, opened_at = EXCLUDED.opened_at, open = EXCLUDED.open",
                [rows_.group_row(group) for group in groups],
            )

    def group_receivers(self, fingerprint: str, dedup_key: str) -> list[str]:
        """The receivers queued a notification of group ``fingerprint`` with ``dedup_key``."""
        with self._db.reading("read a group's receivers") as connection:
            rows = connection.execute(
                "SELECT receiver FROM notifications WHERE fingerprint = %s AND dedup_key = %s "
                "GROUP BY receiver ORDER BY min(id)",
                (fingerprint, dedup_key),
            )
            return [str(row[0]) for row in rows]

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
        row = rows_.silence_row(
            matchers=matchers,
            author=author,
            reason=reason,
            starts_at=starts_at,
            ends_at=ends_at,
            created_at=created_at,
        )
        with self._db.writing("add a silence") as connection:
            created = connection.execute(
                "INSERT INTO silences (matchers, author, reason, starts_at, ends_at, created_at) "
                f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {SILENCE_COLUMNS}",
                row,
            ).fetchone()
            assert created is not None  # an INSERT … RETURNING returns its row
            return silence_of(created)

    def list_silences(
        self, *, include_expired: bool = False, at: datetime | None = None, limit: int = 1000
    ) -> list[Silence]:
        """Silences, newest first."""
        unexpired = "" if include_expired else "WHERE expired_at IS NULL "
        with self._db.reading("list silences") as connection:
            rows = connection.execute(
                f"SELECT {SILENCE_COLUMNS} FROM silences {unexpired}ORDER BY id DESC"
            )
            return rows_.listed_silences(rows, include_expired=include_expired, at=at, limit=limit)

    def expire_silence(self, silence_id: int, *, actor: str, at: datetime) -> Silence:
        """End a silence now."""
        with self._db.writing("expire a silence") as connection:
            return expire_silence(connection, silence_id, actor=actor, at=at)
