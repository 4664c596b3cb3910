"""Changes asking to ship and their approvals (schema v2; annotations: ``annotations.py``).

The records here are plain data; the rules (who may approve, what the gate requires) live in
:mod:`errorbudget.changes`. What this module guarantees is that every state change is one
transaction together with its chained audit entry (which binds the rows it wrote,
``store.chain``), that a status moves only from the state the caller saw (``set_status``
names the statuses it may leave, so two approvers racing cannot both win), and that a read
can tell whether a change and its approvals are what the chain recorded
(``integrity_problems``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from errorbudget.errors import ConflictError, IntegrityError, NotFoundError, StoreError
from errorbudget.records import (
    Approval,
    Change,
    ChangeStatus,
    GateVerdict,
    ReviewDecision,
)
from errorbudget.store.shared import chain
from errorbudget.store.shared.audit import audit
from errorbudget.store.shared.connection import Connection, inserted_id, marks

Clock = Callable[[], datetime]


def timestamp(clock: Clock) -> str:
    moment = clock()
    if moment.tzinfo is None:
        raise StoreError("the store clock returned a naive datetime")
    return moment.astimezone(UTC).isoformat()


def required_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, not {value!r}")
    return value


def labels_json(segment: Mapping[str, str] | None, what: str) -> str:
    labels = dict(segment or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise StoreError(f"{what} segment {labels!r}: keys and values must be strings")
    return json.dumps(labels, sort_keys=True)


# --- changes ---------------------------------------------------------------------------------

_CHANGE_NAMES = (
    "id", "service", "slos", "segment", "change_type", "risk", "title", "description",
    "submitted_by", "submitted_at", "status", "status_by", "status_at", "estimated_impact",
    "impact_basis", "decision", "decision_at", "snapshot", "shipped_at",
)  # fmt: skip
_CHANGE_COLUMNS = ", ".join(_CHANGE_NAMES)
_CHANGE_FIELDS = ", ".join(_CHANGE_NAMES[1:])


def _change(row: Sequence[Any]) -> Change:
    f = dict(zip(_CHANGE_NAMES, row, strict=True))
    return Change(
        id=int(f["id"]),
        service=str(f["service"]),
        slos=tuple(str(s) for s in json.loads(f["slos"])),
        segment={str(k): str(v) for k, v in json.loads(f["segment"]).items()},
        change_type=str(f["change_type"]),
        risk=str(f["risk"]),
        title=str(f["title"]),
        description=str(f["description"]),
        submitted_by=str(f["submitted_by"]),
        submitted_at=datetime.fromisoformat(f["submitted_at"]),
        status=cast(ChangeStatus, f["status"]),
        status_by=str(f["status_by"]),
        status_at=datetime.fromisoformat(f["status_at"]),
        estimated_impact=float(f["estimated_impact"]),
        impact_basis=json.loads(f["impact_basis"]),
        decision=cast(GateVerdict, f["decision"]),
        decision_at=datetime.fromisoformat(f["decision_at"]),
        snapshot=json.loads(f["snapshot"]),
        shipped_at=None if f["shipped_at"] is None else datetime.fromisoformat(f["shipped_at"]),
    )


def add_change(
    connection: Connection,
    clock: Clock,
    *,
    service: str,
    slos: Sequence[str],
    segment: Mapping[str, str] | None,
    change_type: str,
    risk: str,
    title: str,
    description: str,
    submitted_by: str,
    estimated_impact: float,
    impact_basis: Mapping[str, object],
    decision: str,
    snapshot: Sequence[Mapping[str, object]],
) -> Change:
    """Store a pending change and audit it as ``change.submit``."""
    for value, what in (
        (service, "the change's service"),
        (change_type, "the change's type"),
        (title, "the change's title"),
        (submitted_by, "the change's author"),
    ):
        required_text(value, what)
    now = timestamp(clock)
    cursor = connection.execute(
        f"INSERT INTO changes ({_CHANGE_FIELDS}) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, NULL) RETURNING id",
        (
            service,
            json.dumps(list(slos)),
            labels_json(segment, "the change's"),
            change_type,
            risk,
            title,
            description,
            submitted_by,
            now,
            submitted_by,
            now,
            float(estimated_impact),
            json.dumps(dict(impact_basis), sort_keys=True, default=str),
            decision,
            now,
            json.dumps(list(snapshot), default=str),
        ),
    )
    change = get_change(connection, inserted_id(cursor))
    audit(
        connection,
        clock,
        actor=submitted_by,
        action="change.submit",
        subject=f"change:{change.id}",
        details={
            "service": service,
            "slos": list(slos),
            "segment": change.segment,
            "change_type": change_type,
            "risk": risk,
            "title": title,
            "estimated_impact": estimated_impact,
            "decision": decision,
        },
        records=[("changes", change.id)],
    )
    return change


def _verified(connection: Connection, change_id: int) -> Change:
    """The change, for a write: a row that fails verification is never written over (the
    new entry would bind the tampered row and hide it)."""
    change = get_change(connection, change_id)
    problems = chain.check_records(connection, "changes", [change_id])
    if problems:
        raise IntegrityError(
            f"{problems[change_id]}: nothing is recorded for it until an admin has looked into "
            "it (errorbudget audit verify)"
        )
    return change


def get_change(connection: Connection, change_id: int) -> Change:
    row = connection.execute(
        f"SELECT {_CHANGE_COLUMNS} FROM changes WHERE id = ?", (change_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"there is no change with id {change_id}")
    return _change(row)


def list_changes(
    connection: Connection,
    *,
    status: Sequence[str] | None,
    service: str | None,
    change_type: str | None,
    limit: int,
) -> list[Change]:
    """Changes, newest first, filtered by status (any of), service and type."""
    conditions: list[str] = []
    parameters: list[object] = []
    if status:
        conditions.append(f"status IN ({marks(len(status))})")
        parameters += list(status)
    if service is not None:
        conditions.append("service = ?")
        parameters.append(service)
    if change_type is not None:
        conditions.append("change_type = ?")
        parameters.append(change_type)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"SELECT {_CHANGE_COLUMNS} FROM changes{where} ORDER BY id DESC LIMIT ?",
        (*parameters, max(limit, 0)),
    )
    return [_change(row) for row in rows]


def set_status(
    connection: Connection,
    clock: Clock,
    change_id: int,
    *,
    status: ChangeStatus,
    allowed_from: Sequence[ChangeStatus],
    actor: str,
    action: str,
    details: Mapping[str, object],
    shipped_at: datetime | None = None,
    records: Sequence[tuple[str, int]] = (),
) -> Change:
    """Move a change to ``status`` if it is in one of ``allowed_from`` (ConflictError
    otherwise), and audit ``action`` (binding the change and ``records``)."""
    required_text(actor, "the actor")
    current = _verified(connection, change_id)
    if current.status not in allowed_from:
        raise ConflictError(
            f"change {change_id} is {current.status} (by {current.status_by}), "
            f"so it cannot become {status}"
        )
    now = timestamp(clock)
    connection.execute(
        "UPDATE changes SET status = ?, status_by = ?, status_at = ?, "
        "shipped_at = coalesce(?, shipped_at) WHERE id = ?",
        (status, actor, now, None if shipped_at is None else shipped_at.isoformat(), change_id),
    )
    audit(
        connection,
        clock,
        actor=actor,
        action=action,
        subject=f"change:{change_id}",
        details={"from": current.status, "to": status, **details},
        records=[("changes", change_id), *records],
    )
    return get_change(connection, change_id)


def set_decision(
    connection: Connection,
    clock: Clock,
    change_id: int,
    *,
    decision: str,
    snapshot: Sequence[Mapping[str, object]],
) -> Change:
    """Replace the change's current gate decision and snapshot (the decision itself is
    audited by the caller as ``gate.decision``, binding the change, in the same
    transaction)."""
    _verified(connection, change_id)
    connection.execute(
        "UPDATE changes SET decision = ?, decision_at = ?, snapshot = ? WHERE id = ?",
        (decision, timestamp(clock), json.dumps(list(snapshot), default=str), change_id),
    )
    return get_change(connection, change_id)


# --- approvals -------------------------------------------------------------------------------


def add_approval(
    connection: Connection,
    clock: Clock,
    change_id: int,
    *,
    approver: str,
    role: str,
    decision: ReviewDecision,
    comment: str,
) -> Approval:
    """Record a review and move the pending change to approved or rejected, with its audit
    entry (``change.approve`` / ``change.reject``); ConflictError unless it is pending."""
    required_text(approver, "the approver")
    status: ChangeStatus = "approved" if decision == "approve" else "rejected"
    current = _verified(connection, change_id)
    if current.status != "pending":
        raise ConflictError(
            f"change {change_id} is {current.status} (by {current.status_by}), "
            f"so it cannot become {status}"
        )
    cursor = connection.execute(
        "INSERT INTO approvals (change_id, approver, role, decision, comment, at) "
        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        (change_id, approver, role, decision, comment, timestamp(clock)),
    )
    approval_id = inserted_id(cursor)
    set_status(
        connection,
        clock,
        change_id,
        status=status,
        allowed_from=("pending",),
        actor=approver,
        action=f"change.{decision}",
        details={"role": role, "comment": comment, "approval_id": approval_id},
        records=[("approvals", approval_id)],
    )
    return next(a for a in list_approvals(connection, change_id) if a.id == approval_id)


def list_approvals(connection: Connection, change_id: int) -> list[Approval]:
    rows = connection.execute(
        "SELECT id, change_id, approver, role, decision, comment, at FROM approvals "
        "WHERE change_id = ? ORDER BY id",
        (change_id,),
    )
    return [
        Approval(int(i), int(c), str(a), str(r), cast(ReviewDecision, d), str(m), _at(at))
        for i, c, a, r, d, m, at in rows
    ]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def integrity_problems(connection: Connection, change_id: int) -> list[str]:
    """What fails verification in a change and its approvals (empty when all are what the
    audit chain recorded): a row changed or inserted outside errorbudget, a broken entry
    around them, or an approval the chain recorded that is gone."""
    problems = chain.check_records(connection, "changes", [change_id])
    found = [problems[change_id]] if change_id in problems else []
    ids = [
        int(i) for (i,) in connection.execute(
            "SELECT id FROM approvals WHERE change_id = ? ORDER BY id", (change_id,)
        )
    ]  # fmt: skip
    checked = chain.check_records(connection, "approvals", ids)
    found += [checked[i] for i in sorted(checked)]
    for approval_id, audit_id in sorted(
        chain.bound_ids(connection, "approvals", f"change:{change_id}").items()
    ):
        if approval_id not in ids:
            found.append(
                f"approval {approval_id} of change {change_id} was recorded by audit entry "
                f"{audit_id} but is missing (deleted outside errorbudget)"
            )
    return found
