"""Alert, episode, silence and notification records ↔ their table rows, for every backend.

The tables (``alerts``, ``alert_episodes``, ``alert_groups``, ``silences``,
``notifications``) have the same columns on SQLite and PostgreSQL and hold the same values:
timestamps as ISO text in UTC, segments and JSON documents as text, flags as 0/1. This
module turns records into rows and rows into records, and holds the checks both backends
make before they write, so only the SQL differs per backend (``sqlite/alerts.py``,
``sqlite/outbox.py``, ``postgres/alerts_part.py``, ``postgres/outbox_part.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from errorbudget.alert_records import (
    Alert,
    AlertEpisode,
    AlertGroup,
    AlertName,
    AlertState,
    DeliveryStatus,
    NewNotification,
    Notification,
    NotificationEvent,
    Phase,
    Severity,
    Silence,
)
from errorbudget.errors import ConflictError, NotFoundError, StoreError
from errorbudget.model import SegmentKey

ALERT_COLUMNS = (
    "fingerprint, alertname, slo, service, segment, severity, phase, active_since, fired_at, "
    "last_active, resolved_at, episode, inhibited, hold_until, silenced, summary, details, "
    "runbook_url, updated_at, acknowledged_by, acknowledged_at"
)
EPISODE_COLUMNS = (
    "fingerprint, episode, alertname, slo, service, segment, severity, fired_at, resolved_at, "
    "inhibited, silenced"
)
SILENCE_COLUMNS = (
    "id, matchers, author, reason, starts_at, ends_at, created_at, expired_at, expired_by"
)
NOTIFICATION_COLUMNS = (
    "id, receiver, fingerprint, event, dedup_key, payload, created_at, status, attempts, "
    "next_attempt_at, last_error, delivered_at"
)
ACKNOWLEDGEABLE: tuple[Phase, ...] = ("pending", "firing")


def column_count(columns: str) -> int:
    """How many columns a ``*_COLUMNS`` list names (for the placeholders of an insert)."""
    return columns.count(",") + 1


def timestamp(moment: datetime, what: str) -> str:
    """``moment`` as stored: ISO text in UTC (a naive datetime is refused)."""
    if moment.tzinfo is None:
        raise StoreError(f"{what} is a naive datetime: give it a time zone")
    return moment.astimezone(UTC).isoformat()


def when(value: object) -> datetime | None:
    """A stored timestamp (or NULL) as a datetime."""
    return None if value is None else datetime.fromisoformat(str(value))


def segment_text(segment: SegmentKey) -> str:
    return json.dumps([list(pair) for pair in segment], separators=(",", ":"))


def _segment(stored: str) -> SegmentKey:
    return tuple((str(key), str(value)) for key, value in json.loads(stored))


# --- alerts --------------------------------------------------------------------------------


def alert_row(alert: Alert) -> tuple[Any, ...]:
    """The ``alerts`` row of ``alert``, in ``ALERT_COLUMNS`` order."""
    state = alert.state
    try:
        details = orjson.dumps(dict(alert.details), default=str).decode()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"alert {alert.fingerprint}'s details are not JSON: {exc}") from exc
    acknowledged = (
        None if alert.acknowledged_at is None else timestamp(alert.acknowledged_at, "ack time")
    )
    return (
        alert.fingerprint,
        alert.alertname,
        alert.slo,
        alert.service,
        segment_text(alert.segment),
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


def alert_of(row: Sequence[Any]) -> Alert:
    """The alert of an ``alerts`` row read in ``ALERT_COLUMNS`` order."""
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
        acknowledged_at=when(row[20]),
    )


def check_acknowledgeable(found: Sequence[Alert], fingerprint: str) -> None:
    """Raise unless ``found`` (the alert looked up by ``fingerprint``) may be acknowledged."""
    if not found:
        raise NotFoundError(f"no alert {fingerprint}")
    if found[0].state.phase not in ACKNOWLEDGEABLE:
        raise ConflictError(
            f"alert {fingerprint} is {found[0].state.phase}: only a pending or firing alert "
            "can be acknowledged"
        )


def stepped_backwards(minute: int) -> ConflictError:
    """The error of a step to ``minute`` before the alert service's last one."""
    return ConflictError(f"the alerts were already stepped past minute {minute}")


# --- episodes and groups ---------------------------------------------------------------------


def episode_row(episode: AlertEpisode) -> tuple[Any, ...]:
    """The ``alert_episodes`` row of ``episode``, in ``EPISODE_COLUMNS`` order."""
    return (
        episode.fingerprint,
        episode.episode,
        episode.alertname,
        episode.slo,
        episode.service,
        segment_text(episode.segment),
        episode.severity,
        int(episode.fired_at),
        None if episode.resolved_at is None else int(episode.resolved_at),
        int(episode.inhibited),
        int(episode.silenced),
    )


def episode_of(row: Sequence[Any]) -> AlertEpisode:
    """The episode of an ``alert_episodes`` row read in ``EPISODE_COLUMNS`` order."""
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


def group_row(group: AlertGroup) -> tuple[str, int, int, int]:
    """The ``alert_groups`` row (fingerprint, episode, opened_at, open) of ``group``."""
    return (group.fingerprint, group.episode, int(group.opened_at), int(group.open))


def group_of(row: Sequence[Any]) -> AlertGroup:
    return AlertGroup(
        fingerprint=row[0], episode=int(row[1]), opened_at=int(row[2]), open=bool(row[3])
    )


# --- silences --------------------------------------------------------------------------------


def silence_row(
    *,
    matchers: Mapping[str, str],
    author: str,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    created_at: datetime,
) -> tuple[str, str, str, str, str, str]:
    """The checked ``silences`` row (matchers, author, reason, starts_at, ends_at,
    created_at) of a new silence."""
    if not matchers:
        raise StoreError("a silence needs at least one matcher (it would silence everything)")
    if ends_at <= starts_at:
        raise StoreError("a silence must end after it starts")
    return (
        json.dumps(dict(sorted(matchers.items())), ensure_ascii=False),
        author,
        reason,
        timestamp(starts_at, "the silence start"),
        timestamp(ends_at, "the silence end"),
        timestamp(created_at, "the silence creation time"),
    )


def silence_of(row: Sequence[Any]) -> Silence:
    """The silence of a ``silences`` row read in ``SILENCE_COLUMNS`` order."""
    return Silence(
        id=int(row[0]),
        matchers=json.loads(row[1]),
        author=row[2],
        reason=row[3],
        starts_at=datetime.fromisoformat(row[4]),
        ends_at=datetime.fromisoformat(row[5]),
        created_at=datetime.fromisoformat(row[6]),
        expired_at=when(row[7]),
        expired_by=row[8],
    )


def listed_silences(
    rows: Iterable[Sequence[Any]], *, include_expired: bool, at: datetime | None, limit: int
) -> list[Silence]:
    """The silences to list from ``rows`` (newest first; the expired ones already left out
    by the query unless ``include_expired``): those not ended at ``at``, up to ``limit``."""
    found: list[Silence] = []
    for row in rows:
        if len(found) >= limit:  # before the first row too: a limit of 0 lists nothing
            break
        silence = silence_of(row)
        if not include_expired and at is not None and silence.ends_at <= at:
            continue
        found.append(silence)
    return found


def check_expirable(silence: Silence, at: datetime) -> None:
    """Raise ConflictError when ``silence`` has already ended at ``at``."""
    if silence.expired_at is not None or silence.ends_at <= at:
        raise ConflictError(f"silence {silence.id} has already ended")


# --- notifications ---------------------------------------------------------------------------


def notification_row(item: NewNotification) -> tuple[str, str, str, str, str]:
    """(receiver, fingerprint, event, dedup_key, payload) of a notification to queue."""
    try:
        payload = orjson.dumps(dict(item.payload), default=str).decode()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"a notification's payload is not JSON: {exc}") from exc
    return (item.receiver, item.fingerprint, item.event, item.dedup_key, payload)


def notification_of(row: Sequence[Any]) -> Notification:
    """The notification of a ``notifications`` row read in ``NOTIFICATION_COLUMNS`` order."""
    return Notification(
        id=int(row[0]),
        receiver=row[1],
        fingerprint=row[2],
        event=cast(NotificationEvent, row[3]),
        dedup_key=row[4],
        payload=json.loads(row[5]),
        created_at=datetime.fromisoformat(row[6]),
        status=cast(DeliveryStatus, row[7]),
        attempts=int(row[8]),
        next_attempt_at=when(row[9]),
        last_error=row[10],
        delivered_at=when(row[11]),
    )


def due(head: Notification | None, now: datetime) -> Notification | None:
    """A receiver's oldest pending notification if it may be sent at ``now``: a head that
    waits for its next attempt holds the receiver's later ones behind it."""
    if head is None or (head.next_attempt_at is not None and head.next_attempt_at > now):
        return None
    return head


def check_pending(found: Notification) -> None:
    """Raise ConflictError when ``found`` was already delivered or given up."""
    if found.status != "pending":
        raise ConflictError(f"notification {found.id} is already {found.status}")


def failed_attempt(
    found: Notification, *, error: str, at: datetime, next_attempt_at: datetime | None
) -> tuple[str, int, str, str | None]:
    """(status, attempts, last_error, next_attempt_at) of ``found`` after a failed attempt;
    ``next_attempt_at`` None gives up."""
    check_pending(found)
    timestamp(at, "the attempt time")
    following = None if next_attempt_at is None else timestamp(next_attempt_at, "the next attempt")
    status = "failed" if next_attempt_at is None else "pending"
    return (status, found.attempts + 1, error, following)


def delivery(found: Notification, at: datetime) -> tuple[int, str]:
    """(attempts, delivered_at) of ``found`` delivered at ``at``."""
    check_pending(found)
    return (found.attempts + 1, timestamp(at, "the delivery time"))


def equal_filters(**values: str | None) -> list[tuple[str, str]]:
    """The (column, value) pairs of the filters given (None: not filtered)."""
    return [(column, value) for column, value in values.items() if value is not None]
