"""The PostgreSQL store's own SQL of alerts, episodes and notification groups (tables in
``sql/50_alerts.sql``, the same as SQLite's; ``store/sqlite/alerts.py`` says what each
holds): what ``AlertsPart`` (``store/record_parts.py``, via ``alerts_part.py``) does
differently from SQLite. The SQL both speak alike (silences, acknowledgements, the alert
progress read) is in ``record_parts.py``; rows and records are mapped by
``store/alert_rows.py``.

Bulk writes are one ``executemany`` (psycopg pipelines it), lists are ``= ANY(%s)`` arrays,
whole rows are replaced by ``ON CONFLICT … DO UPDATE`` of every column. Every write holds
the store's write lock (``access.py``), so a read-then-write (acknowledge, expire) races
nothing, exactly as on SQLite; a step backwards is refused by a trigger
(``sql/50_alerts.sql``) and mapped to ConflictError as there.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg.errors

from errorbudget.alert_records import Alert, AlertEpisode, AlertGroup, Phase
from errorbudget.model import Minute
from errorbudget.store import alert_rows as rows_
from errorbudget.store.alert_rows import (
    ALERT_COLUMNS,
    EPISODE_COLUMNS,
    alert_of,
    column_count,
    episode_of,
)
from errorbudget.store.postgres.access import Connection

PLACEHOLDER = "%s"
"""psycopg's (``record_parts.Dialect``)."""


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


def get_alert_groups(connection: Connection, fingerprints: Sequence[str]) -> list[AlertGroup]:
    rows = connection.execute(
        "SELECT fingerprint, episode, opened_at, open FROM alert_groups "
        "WHERE fingerprint = ANY(%s) ORDER BY fingerprint",
        (list(fingerprints),),
    )
    return [rows_.group_of(row) for row in rows]


def save_alert_groups(connection: Connection, groups: Sequence[AlertGroup]) -> None:
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO alert_groups (fingerprint, episode, opened_at, open) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (fingerprint) DO UPDATE SET "
            "episode = EXCLUDED.episode, opened_at = EXCLUDED.opened_at, open = EXCLUDED.open",
            [rows_.group_row(group) for group in groups],
        )
