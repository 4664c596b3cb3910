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

``AlertsPart`` (``store/record_parts.py``) is the ``AlertRecords`` half of ``SQLiteStore``:
here is the SQL SQLite speaks its own way (list parameters through ``json_each``, whole-row
``INSERT OR REPLACE``); rows and records are mapped by ``store/alert_rows.py``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

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

PLACEHOLDER = "?"
"""sqlite3's (``record_parts.Dialect``)."""


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
