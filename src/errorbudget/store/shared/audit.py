"""The append-only, chained audit log and the gate snapshots it references.

Every entry is appended to the hash chain (``chain.append``): it carries the hash of the
entry before it and binds the chained rows it wrote (``records``). SQLite triggers refuse an
UPDATE or DELETE of ``audit_log`` and ``gate_snapshots``; the chain detects what gets past
them (dropped triggers, forged rows). Exclusions are in ``exclusions.py``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from errorbudget.errors import StoreError
from errorbudget.records import AuditEntry, AuditQuery, EncodedSnapshot, SavedSnapshot
from errorbudget.store.shared import chain
from errorbudget.store.shared.connection import CHUNK, Connection, inserted_id, marks

Clock = Callable[[], datetime]


def _timestamp(moment: datetime, what: str) -> str:
    if moment.tzinfo is None:
        raise StoreError(f"{what} is a naive datetime: give it a time zone")
    return moment.astimezone(UTC).isoformat()


def _required_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, not {value!r}")
    return value


def audit(
    connection: Connection,
    clock: Clock,
    *,
    actor: str,
    action: str,
    subject: str,
    details: Mapping[str, object],
    records: Iterable[tuple[str, int]] = (),
) -> int:
    """Append one chained entry; return its id. ``records`` are the chained rows (table,
    id) this write created or changed, bound as they are now. Non-JSON values in details
    are stringified."""
    _required_text(actor, "the audit actor")
    _required_text(action, "the audit action")
    try:
        # orjson: a pipeline may ask the gate many times a second.
        encoded = orjson.dumps(
            dict(details),
            default=str,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
        ).decode()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"audit details for {action} cannot be stored as JSON: {exc}") from exc
    return chain.append(
        connection,
        at=_timestamp(clock(), "the audit time"),
        actor=actor,
        action=action,
        subject=subject,
        details=encoded,
        records=records,
    )


def save_snapshot(connection: Connection, clock: Clock, snapshot: EncodedSnapshot) -> SavedSnapshot:
    """Store a gate snapshot once per distinct content; return its id (the existing one
    when the same rows were stored before) and whether it is new."""
    found = connection.execute(
        "SELECT id FROM gate_snapshots WHERE sha256 = ?", (snapshot.sha256,)
    ).fetchone()
    if found is not None:
        return SavedSnapshot(int(found[0]), snapshot.sha256, created=False)
    cursor = connection.execute(
        "INSERT INTO gate_snapshots (sha256, created_at, body) VALUES (?, ?, ?) RETURNING id",
        (snapshot.sha256, _timestamp(clock(), "the snapshot time"), snapshot.body.decode()),
    )
    return SavedSnapshot(inserted_id(cursor), snapshot.sha256, created=True)


def snapshots(
    connection: Connection, ids: Iterable[int], expected: Mapping[int, str]
) -> tuple[dict[int, list[Any]], dict[int, str]]:
    """The stored gate snapshots with these ids (unknown ids are left out), each checked
    on read against its SHA-256 and the SHA-256 a decision recorded for it (``expected``):
    (snapshots, a problem sentence per snapshot that fails)."""
    wanted = sorted(set(ids))
    found: dict[int, list[Any]] = {}
    broken: dict[int, str] = {}
    for start in range(0, len(wanted), CHUNK):  # SQLite's bound-parameter limit
        chunk = wanted[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(
            f"SELECT id, sha256, body FROM gate_snapshots WHERE id IN ({slots})", chunk
        )
        for ident, digest, body in rows:
            if expected.get(int(ident), digest) != digest:
                broken[int(ident)] = (
                    f"gate snapshot {ident} is not the one the decision recorded (SHA-256 "
                    f"{expected[int(ident)][:12]}…): run errorbudget audit verify"
                )
                continue
            if hashlib.sha256(body.encode()).hexdigest() != digest:
                broken[int(ident)] = (
                    f"gate snapshot {ident} does not match its SHA-256 (changed after it was "
                    "stored): run errorbudget audit verify"
                )
                continue
            found[int(ident)] = json.loads(body)
    return found, broken


def audit_log(connection: Connection, query: AuditQuery) -> list[AuditEntry]:
    """Audit entries, newest first, filtered as ``query`` says."""
    if query.limit < 0:
        raise StoreError(f"an audit log limit cannot be negative ({query.limit})")
    conditions: list[str] = []
    parameters: list[object] = []
    for column, value in (("action", query.action), ("subject", query.subject),
                          ("actor", query.actor)):  # fmt: skip
        if value is not None:
            conditions.append(f"{column} = ?")
            parameters.append(value)
    if query.action_prefix is not None:
        conditions.append("substr(action, 1, ?) = ?")
        parameters += [len(query.action_prefix), query.action_prefix]
    if query.since is not None:
        conditions.append("at >= ?")
        parameters.append(_timestamp(query.since, "since"))
    if query.until is not None:
        conditions.append("at < ?")
        parameters.append(_timestamp(query.until, "until"))
    if query.before is not None:
        conditions.append("id < ?")
        parameters.append(query.before)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        "SELECT id, at, actor, action, subject, details, records, prev_hash, hash "
        f"FROM audit_log{where} ORDER BY id DESC LIMIT ?",
        (*parameters, query.limit),
    )
    return [
        AuditEntry(
            id=int(ident),
            at=datetime.fromisoformat(at),
            actor=actor,
            action=action,
            subject=subject,
            details=json.loads(details),
            records=[(str(t), int(i), str(d)) for t, i, d in json.loads(records or "[]")],
            prev_hash=prev_hash,
            hash=digest,
        )
        for ident, at, actor, action, subject, details, records, prev_hash, digest in rows
    ]


def check_entries(connection: Connection, ids: Iterable[int]) -> dict[int, str]:
    """Verify audit entries on read: each one's hash, and its links to its neighbours."""
    problems: dict[int, str] = {}
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        slots = marks(len(chunk))
        rows = connection.execute(
            "SELECT id, at, actor, action, subject, details, records, prev_hash, hash "
            f"FROM audit_log WHERE id IN ({slots})",
            chunk,
        )
        for row in rows:
            problem = chain.entry_problem(connection, row)
            if problem is not None:
                problems[int(row[0])] = problem
    return problems
