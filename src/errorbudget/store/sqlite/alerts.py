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
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from errorbudget.alert_records import (
    Alert,
    AlertEpisode,
    AlertGroup,
    AlertName,
    AlertState,
    Phase,
    Severity,
    Silence,
)
from errorbudget.errors import ConflictError, NotFoundError, StoreError
from errorbudget.model import Minute, SegmentKey
from errorbudget.store.sqlite.access import Access

_COLUMNS = (
    "fingerprint, alertname, slo, service, segment, severity, phase, active_since, fired_at, "
    "last_active, resolved_at, episode, inhibited, hold_until, silenced, summary, details, "
    "runbook_url, updated_at, acknowledged_by, acknowledged_at"
)
_SILENCE_COLUMNS = (
    "id, matchers, author, reason, starts_at, ends_at, created_at, expired_at, expired_by"
)


def _timestamp(moment: datetime, what: str) -> str:
    if moment.tzinfo is None:
        raise StoreError(f"{what} is a naive datetime: give it a time zone")
    return moment.astimezone(UTC).isoformat()


def _when(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _segment_text(segment: SegmentKey) -> str:
    return json.dumps([list(pair) for pair in segment], separators=(",", ":"))


def _segment(stored: str) -> SegmentKey:
    return tuple((str(key), str(value)) for key, value in json.loads(stored))


def _row(alert: Alert) -> tuple[Any, ...]:
    state = alert.state
    try:
        details = orjson.dumps(dict(alert.details), default=str).decode()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"alert {alert.fingerprint}'s details are not JSON: {exc}") from exc
    acknowledged = (
        None if alert.acknowledged_at is None else _timestamp(alert.acknowledged_at, "ack time")
    )
    return (
        alert.fingerprint,
        alert.alertname,
        alert.slo,
        alert.service,
        _segment_text(alert.segment),
        alert.severity,
        state.phase,
        state.active_since,
        state.fired_at,
        state.last_active,
        state.resolved_at,
        state.episode,
        int(state.inhibited),
        state.hold_until,
        int(alert.silenced),
        alert.summary,
        details,
        alert.runbook_url,
        alert.updated_at,
        alert.acknowledged_by,
        acknowledged,
    )


def _alert(row: Sequence[Any]) -> Alert:
    state = AlertState(
        phase=cast(Phase, row[6]),
        active_since=row[7],
        fired_at=row[8],
        last_active=row[9],
        resolved_at=row[10],
        episode=int(row[11]),
        inhibited=bool(row[12]),
        hold_until=row[13],
    )
    return Alert(
        fingerprint=row[0],
        alertname=cast(AlertName, row[1]),
        slo=row[2],
        service=row[3],
        segment=_segment(row[4]),
        severity=cast(Severity, row[5]),
        state=state,
        silenced=bool(row[14]),
        summary=row[15],
        details=json.loads(row[16]),
        runbook_url=row[17],
        updated_at=int(row[18]),
        acknowledged_by=row[19],
        acknowledged_at=_when(row[20]),
    )


def _silence(row: Sequence[Any]) -> Silence:
    return Silence(
        id=int(row[0]),
        matchers=json.loads(row[1]),
        author=row[2],
        reason=row[3],
        starts_at=datetime.fromisoformat(row[4]),
        ends_at=datetime.fromisoformat(row[5]),
        created_at=datetime.fromisoformat(row[6]),
        expired_at=_when(row[7]),
        expired_by=row[8],
    )


def save_alerts(connection: sqlite3.Connection, alerts: Sequence[Alert], minute: Minute) -> None:
    connection.executemany(
        f"INSERT OR REPLACE INTO alerts ({_COLUMNS}) VALUES ({', '.join('?' * 21)})",
        [_row(alert) for alert in alerts],
    )
    try:
        connection.execute(
            "INSERT INTO alert_progress (id, minute) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET minute = excluded.minute",
            (int(minute),),
        )
    except sqlite3.IntegrityError as exc:
        raise ConflictError(f"the alerts were already stepped past minute {minute}") from exc


_EPISODE_COLUMNS = (
    "fingerprint, episode, alertname, slo, service, segment, severity, fired_at, resolved_at, "
    "inhibited, silenced"
)


def save_alert_episodes(connection: sqlite3.Connection, episodes: Sequence[AlertEpisode]) -> None:
    connection.executemany(
        f"INSERT INTO alert_episodes ({_EPISODE_COLUMNS}) VALUES ({', '.join('?' * 11)}) "
        "ON CONFLICT (fingerprint, episode) DO UPDATE SET resolved_at = excluded.resolved_at",
        [
            (
                e.fingerprint,
                e.episode,
                e.alertname,
                e.slo,
                e.service,
                _segment_text(e.segment),
                e.severity,
                int(e.fired_at),
                None if e.resolved_at is None else int(e.resolved_at),
                int(e.inhibited),
                int(e.silenced),
            )
            for e in episodes
        ],
    )


def alert_episodes(
    connection: sqlite3.Connection, slo: str, since: Minute, until: Minute, limit: int
) -> list[AlertEpisode]:
    """Episodes of ``slo`` overlapping ``[since, until)``, latest fired first. Three index
    ranges, so the read is bounded by the span, not by the SLO's whole history: fired in
    the span; fired before it and resolved in or after it; fired before it and still firing."""
    rows = connection.execute(
        f"SELECT {_EPISODE_COLUMNS} FROM alert_episodes "
        "WHERE slo = :slo AND fired_at >= :since AND fired_at < :until "
        f"UNION SELECT {_EPISODE_COLUMNS} FROM alert_episodes "
        "WHERE slo = :slo AND resolved_at > :since AND fired_at < :since "
        f"UNION SELECT {_EPISODE_COLUMNS} FROM alert_episodes "
        "WHERE slo = :slo AND resolved_at IS NULL AND fired_at < :since "
        "ORDER BY fired_at DESC, fingerprint LIMIT :limit",
        {"slo": slo, "since": int(since), "until": int(until), "limit": int(limit)},
    )
    return [_episode_of(row) for row in rows]


def _episode_of(row: Sequence[Any]) -> AlertEpisode:
    fingerprint, episode, alertname, slo, service, segment, severity = row[:7]
    fired_at, resolved_at, inhibited, silenced = row[7:]
    return AlertEpisode(
        fingerprint=fingerprint,
        episode=int(episode),
        alertname=cast(AlertName, alertname),
        slo=slo,
        service=service,
        segment=_segment(segment),
        severity=cast(Severity, severity),
        fired_at=int(fired_at),
        resolved_at=None if resolved_at is None else int(resolved_at),
        inhibited=bool(inhibited),
        silenced=bool(silenced),
    )


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
    return [
        AlertGroup(
            fingerprint=row[0], episode=int(row[1]), opened_at=int(row[2]), open=bool(row[3])
        )
        for row in rows
    ]


def save_alert_groups(connection: sqlite3.Connection, groups: Sequence[AlertGroup]) -> None:
    connection.executemany(
        "INSERT OR REPLACE INTO alert_groups (fingerprint, episode, opened_at, open) "
        "VALUES (?, ?, ?, ?)",
        [(g.fingerprint, g.episode, int(g.opened_at), int(g.open)) for g in groups],
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
        f"SELECT {_COLUMNS} FROM alerts WHERE fingerprint IN (SELECT value FROM json_each(?)) "
        "ORDER BY fingerprint",
        (json.dumps(list(fingerprints)),),
    )
    return [_alert(row) for row in rows]


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
    if slo is not None:
        where.append("slo = ?")
        values.append(slo)
    if severity is not None:
        where.append("severity = ?")
        values.append(severity)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    rows = connection.execute(
        f"SELECT {_COLUMNS} FROM alerts {clause}ORDER BY updated_at DESC, fingerprint LIMIT ?",
        (*values, -1 if limit is None else int(limit)),  # SQLite: LIMIT -1 is none
    )
    return [_alert(row) for row in rows]


def acknowledge_alert(
    connection: sqlite3.Connection, fingerprint: str, *, actor: str, at: datetime
) -> Alert:
    found = get_alerts(connection, [fingerprint])
    if not found:
        raise NotFoundError(f"no alert {fingerprint}")
    if found[0].state.phase not in ("pending", "firing"):
        raise ConflictError(
            f"alert {fingerprint} is {found[0].state.phase}: only a pending or firing alert "
            "can be acknowledged"
        )
    connection.execute(
        "UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ? WHERE fingerprint = ?",
        (actor, _timestamp(at, "the acknowledgement time"), fingerprint),
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
    if not matchers:
        raise StoreError("a silence needs at least one matcher (it would silence everything)")
    if ends_at <= starts_at:
        raise StoreError("a silence must end after it starts")
    cursor = connection.execute(
        "INSERT INTO silences (matchers, author, reason, starts_at, ends_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (
            json.dumps(dict(sorted(matchers.items())), ensure_ascii=False),
            author,
            reason,
            _timestamp(starts_at, "the silence start"),
            _timestamp(ends_at, "the silence end"),
            _timestamp(created_at, "the silence creation time"),
        ),
    )
    return get_silence(connection, int(cursor.lastrowid or 0))


def get_silence(connection: sqlite3.Connection, silence_id: int) -> Silence:
    row = connection.execute(
        f"SELECT {_SILENCE_COLUMNS} FROM silences WHERE id = ?", (silence_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no silence {silence_id}")
    return _silence(row)


def list_silences(
    connection: sqlite3.Connection, *, include_expired: bool, at: datetime | None, limit: int
) -> list[Silence]:
    unexpired = "" if include_expired else "WHERE expired_at IS NULL "
    rows = connection.execute(
        f"SELECT {_SILENCE_COLUMNS} FROM silences {unexpired}ORDER BY id DESC"
    )
    found: list[Silence] = []
    for row in rows:
        silence = _silence(row)
        if not include_expired and at is not None and silence.ends_at <= at:
            continue
        found.append(silence)
        if len(found) >= limit:
            break
    return found


def expire_silence(
    connection: sqlite3.Connection, silence_id: int, *, actor: str, at: datetime
) -> Silence:
    silence = get_silence(connection, silence_id)
    if silence.expired_at is not None or silence.ends_at <= at:
        raise ConflictError(f"silence {silence_id} has already ended")
    connection.execute(
        "UPDATE silences SET expired_at = ?, expired_by = ? WHERE id = ?",
        (_timestamp(at, "the expiry time"), actor, silence_id),
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
