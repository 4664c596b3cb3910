"""Exclusions and the append-only audit log.

An exclusion never changes raw counts: it is a separate record (who, when, why, approved
by) that the engine applies at evaluation, and revoking one only stamps it revoked. Every
state change here writes an audit entry in the same transaction, and SQLite triggers refuse
any UPDATE or DELETE of ``audit_log`` (DESIGN.md, exclusions).
"""

from __future__ import annotations

import hashlib
import json
import operator
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, get_args

import orjson

from errorbudget.errors import NotFoundError, StoreError
from errorbudget.model import Exclusion, ExclusionCategory, from_minute
from errorbudget.store.types import AuditEntry

Clock = Callable[[], datetime]

CATEGORIES: tuple[str, ...] = get_args(ExclusionCategory)

_EXCLUSION_NAMES = (
    "id", "slo", "start_minute", "end_minute", "category", "reason", "created_by",
    "created_at", "approved_by", "revoked_at", "revoked_by", "segment", "service",
)  # fmt: skip
_EXCLUSION_COLUMNS = ", ".join(_EXCLUSION_NAMES)


def _timestamp(moment: datetime, what: str) -> str:
    if moment.tzinfo is None:
        raise StoreError(f"{what} is a naive datetime: give it a time zone")
    return moment.astimezone(UTC).isoformat()


def _required_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _exclusion(row: tuple[object, ...]) -> Exclusion:
    """An Exclusion from a row of ``_EXCLUSION_COLUMNS``."""
    field = dict(zip(_EXCLUSION_NAMES, row, strict=True))
    revoked_at = _optional(field["revoked_at"])
    return Exclusion(
        id=int(str(field["id"])),
        slo=str(field["slo"]),
        start=int(str(field["start_minute"])),
        end=int(str(field["end_minute"])),
        category=str(field["category"]),
        reason=str(field["reason"]),
        created_by=str(field["created_by"]),
        created_at=datetime.fromisoformat(str(field["created_at"])),
        approved_by=_optional(field["approved_by"]),
        revoked_at=None if revoked_at is None else datetime.fromisoformat(revoked_at),
        revoked_by=_optional(field["revoked_by"]),
        segment={str(k): str(v) for k, v in json.loads(str(field["segment"])).items()},
        service=_optional(field["service"]),
    )


def add_exclusion(
    connection: sqlite3.Connection,
    clock: Clock,
    *,
    slo: str,
    start: int,
    end: int,
    category: str,
    reason: str,
    created_by: str,
    approved_by: str | None,
    segment: Mapping[str, str] | None,
    service: str | None,
    created_at: datetime | None,
) -> Exclusion:
    """Store an exclusion of ``[start, end)`` and audit it as ``exclusion.add``."""
    _required_text(slo, "the exclusion's SLO")
    _required_text(reason, "the exclusion's reason")
    _required_text(created_by, "the exclusion's author")
    if category not in CATEGORIES:
        raise StoreError(
            f"unknown exclusion category {category!r}; use one of {', '.join(CATEGORIES)}"
        )
    try:
        start, end = operator.index(start), operator.index(end)
    except TypeError as exc:
        raise StoreError(f"exclusion start and end must be integer minutes: {exc}") from exc
    if not 0 <= start < end:
        raise StoreError(f"an exclusion needs 0 <= start < end (minutes), got [{start}, {end})")
    labels = dict(segment or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise StoreError(f"exclusion segment {labels!r}: keys and values must be strings")
    created = _timestamp(created_at or clock(), "created_at")
    cursor = connection.execute(
        "INSERT INTO exclusions (slo, service, segment, start_minute, end_minute, category, "
        "reason, created_by, created_at, approved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            slo,
            service,
            json.dumps(labels, sort_keys=True),
            start,
            end,
            category,
            reason,
            created_by,
            created,
            approved_by,
        ),
    )
    exclusion = get_exclusion(connection, int(cursor.lastrowid or 0))
    audit(
        connection,
        clock,
        actor=created_by,
        action="exclusion.add",
        subject=f"exclusion:{exclusion.id}",
        details={
            "slo": slo,
            "service": service,
            "segment": labels,
            "start": from_minute(start).isoformat(),
            "end": from_minute(end).isoformat(),
            "category": category,
            "reason": reason,
            "approved_by": approved_by,
        },
    )
    return exclusion


def list_exclusions(connection: sqlite3.Connection, include_revoked: bool) -> list[Exclusion]:
    where = "" if include_revoked else " WHERE revoked_at IS NULL"
    rows = connection.execute(f"SELECT {_EXCLUSION_COLUMNS} FROM exclusions{where} ORDER BY id")
    return [_exclusion(row) for row in rows]


def get_exclusion(connection: sqlite3.Connection, exclusion_id: int) -> Exclusion:
    row = connection.execute(
        f"SELECT {_EXCLUSION_COLUMNS} FROM exclusions WHERE id = ?", (exclusion_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"there is no exclusion with id {exclusion_id}")
    return _exclusion(row)


def revoke_exclusion(
    connection: sqlite3.Connection,
    clock: Clock,
    exclusion_id: int,
    *,
    revoked_by: str,
    reason: str,
) -> Exclusion:
    """Stamp an exclusion revoked (its counts count again) and audit ``exclusion.revoke``."""
    _required_text(revoked_by, "the revoker")
    current = get_exclusion(connection, exclusion_id)
    if current.revoked_at is not None:
        raise StoreError(
            f"exclusion {exclusion_id} was already revoked at "
            f"{current.revoked_at.isoformat()} by {current.revoked_by}"
        )
    connection.execute(
        "UPDATE exclusions SET revoked_at = ?, revoked_by = ?, revoke_reason = ? WHERE id = ?",
        (_timestamp(clock(), "revoked_at"), revoked_by, reason, exclusion_id),
    )
    audit(
        connection,
        clock,
        actor=revoked_by,
        action="exclusion.revoke",
        subject=f"exclusion:{exclusion_id}",
        details={"reason": reason, "slo": current.slo, "category": current.category},
    )
    return get_exclusion(connection, exclusion_id)


def audit(
    connection: sqlite3.Connection,
    clock: Clock,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, object],
) -> int:
    """Append one audit entry; return its id. Non-JSON values in details are stringified."""
    _required_text(actor, "the audit actor")
    _required_text(action, "the audit action")
    try:
        # orjson: a gate decision's details hold the snapshot of every series in scope, and
        # a pipeline may ask many times a second.
        encoded = orjson.dumps(
            dict(details),
            default=str,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
        ).decode()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"audit details for {action} cannot be stored as JSON: {exc}") from exc
    cursor = connection.execute(
        "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
        (_timestamp(clock(), "the audit time"), actor, action, subject, encoded),
    )
    return int(cursor.lastrowid or 0)


def save_snapshot(
    connection: sqlite3.Connection, clock: Clock, rows: Sequence[Mapping[str, object]]
) -> int:
    """Store a gate snapshot once per distinct content; return its id (the existing one
    when the same rows were stored before)."""
    try:
        body = orjson.dumps(list(rows), default=str, option=orjson.OPT_SORT_KEYS)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"a gate snapshot cannot be stored as JSON: {exc}") from exc
    digest = hashlib.sha256(body).hexdigest()
    connection.execute(
        "INSERT OR IGNORE INTO gate_snapshots (sha256, created_at, body) VALUES (?, ?, ?)",
        (digest, _timestamp(clock(), "the snapshot time"), body.decode()),
    )
    found = connection.execute("SELECT id FROM gate_snapshots WHERE sha256 = ?", (digest,))
    return int(found.fetchone()[0])


def snapshots(connection: sqlite3.Connection, ids: Iterable[int]) -> dict[int, list[Any]]:
    """The stored gate snapshots with these ids (unknown ids are left out)."""
    wanted = sorted(set(ids))
    found: dict[int, list[Any]] = {}
    for start in range(0, len(wanted), 500):  # SQLite's bound-parameter limit
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        rows = connection.execute(
            f"SELECT id, body FROM gate_snapshots WHERE id IN ({marks})", chunk
        )
        found.update((int(ident), json.loads(body)) for ident, body in rows)
    return found


def audit_log(
    connection: sqlite3.Connection, *, limit: int, action: str | None, subject: str | None
) -> list[AuditEntry]:
    """Audit entries, newest first, optionally only one action and/or one subject."""
    if limit < 0:
        raise StoreError(f"an audit log limit cannot be negative ({limit})")
    conditions: list[str] = []
    parameters: list[object] = []
    if action is not None:
        conditions.append("action = ?")
        parameters.append(action)
    if subject is not None:
        conditions.append("subject = ?")
        parameters.append(subject)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"SELECT id, at, actor, action, subject, details FROM audit_log{where} "
        "ORDER BY id DESC LIMIT ?",
        (*parameters, limit),
    )
    return [
        AuditEntry(
            id=int(ident),
            at=datetime.fromisoformat(at),
            actor=actor_,
            action=action_,
            subject=subject_,
            details=json.loads(details),
        )
        for ident, at, actor_, action_, subject_, details in rows
    ]
