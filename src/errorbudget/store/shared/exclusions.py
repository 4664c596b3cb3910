"""Exclusions: proposals that remove events from budget counting once approved (schema v5).

An exclusion never changes raw counts: it is a separate record (who proposed it, when, why,
who approved it) that the engine applies at evaluation. Its status moves
``pending`` → ``approved`` | ``rejected``, and ``pending`` or ``approved`` → ``revoked``;
only ``approved`` ones count. Every move writes a chained audit entry binding the row in
the same transaction, and every read verifies the rows against the chain: a row that fails
(changed or inserted outside errorbudget) is returned with its ``problem`` and never
counts. Who may approve is the rules layer's (``errorbudget.exclusions``); this module
still refuses a proposer reviewing their own proposal.

Rows from before v5 stay as they were (approved, or revoked) with the name that was typed
as their approver kept as ``legacy_approver``; an approver may confirm one (approve it).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast, get_args

from errorbudget.errors import (
    ConflictError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)
from errorbudget.model import Exclusion, ExclusionCategory, ExclusionStatus, from_minute
from errorbudget.records import ReviewDecision
from errorbudget.store.shared import chain
from errorbudget.store.shared.audit import audit
from errorbudget.store.shared.connection import Connection, inserted_id, marks

Clock = Callable[[], datetime]

CATEGORIES: tuple[str, ...] = get_args(ExclusionCategory)
STATUSES: tuple[str, ...] = get_args(ExclusionStatus)

_NAMES = chain.CHAINED["exclusions"]
_COLUMNS = ", ".join(_NAMES)


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise StoreError("the store clock returned a naive datetime")
    return moment.astimezone(UTC).isoformat()


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise StoreError(f"{what} must be a non-empty string, not {value!r}")
    return value


def _when(value: object) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def _optional(value: object) -> str | None:
    return None if value is None else str(value)


def _exclusion(row: Sequence[Any], problem: str | None) -> Exclusion:
    f = dict(zip(_NAMES, row, strict=True))
    return Exclusion(
        id=int(f["id"]),
        slo=str(f["slo"]),
        start=int(f["start_minute"]),
        end=int(f["end_minute"]),
        category=str(f["category"]),
        reason=str(f["reason"]),
        created_by=str(f["created_by"]),
        created_at=datetime.fromisoformat(str(f["created_at"])),
        approved_by=_optional(f["approved_by"]),
        revoked_at=_when(f["revoked_at"]),
        revoked_by=_optional(f["revoked_by"]),
        segment={str(k): str(v) for k, v in json.loads(str(f["segment"])).items()},
        service=_optional(f["service"]),
        status=cast(ExclusionStatus, f["status"]),
        reviewed_by=_optional(f["reviewed_by"]),
        reviewed_at=_when(f["reviewed_at"]),
        reviewer_role=_optional(f["reviewer_role"]),
        review_comment=str(f["review_comment"] or ""),
        revoke_reason=str(f["revoke_reason"] or ""),
        legacy_approver=_optional(f["legacy_approver"]),
        problem=problem,
    )


def _read(connection: Connection, where: str, parameters: Sequence[object]) -> list[Exclusion]:
    rows = connection.execute(
        f"SELECT {_COLUMNS} FROM exclusions{where} ORDER BY id", parameters
    ).fetchall()
    problems = chain.check_records(connection, "exclusions", [int(row[0]) for row in rows])
    return [_exclusion(row, problems.get(int(row[0]))) for row in rows]


def get_exclusion(connection: Connection, exclusion_id: int) -> Exclusion:
    """One exclusion by id, verified against the chain; NotFoundError when there is none."""
    found = _read(connection, " WHERE id = ?", (exclusion_id,))
    if not found:
        raise NotFoundError(f"there is no exclusion with id {exclusion_id}")
    return found[0]


def list_exclusions(connection: Connection, statuses: Sequence[str] | None) -> list[Exclusion]:
    """Exclusions by id, verified against the chain; only these statuses if given."""
    if statuses is None:
        return _read(connection, "", ())
    unknown = sorted(set(statuses) - set(STATUSES))
    if unknown:
        raise StoreError(f"unknown exclusion status {unknown[0]!r}; use {', '.join(STATUSES)}")
    wanted = sorted(set(statuses))
    return _read(connection, f" WHERE status IN ({marks(len(wanted))})", wanted)


def propose_exclusion(
    connection: Connection,
    clock: Clock,
    *,
    slo: str,
    start: int,
    end: int,
    category: str,
    reason: str,
    proposed_by: str,
    segment: Mapping[str, str] | None,
    service: str | None,
) -> Exclusion:
    """Store a pending exclusion of ``[start, end)`` and audit ``exclusion.propose``."""
    _text(slo, "the exclusion's SLO")
    _text(reason, "the exclusion's reason")
    _text(proposed_by, "the exclusion's proposer")
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
    cursor = connection.execute(
        "INSERT INTO exclusions (slo, service, segment, start_minute, end_minute, category, "
        "reason, created_by, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') "
        "RETURNING id",
        (slo, service, json.dumps(labels, sort_keys=True), start, end, category, reason,
         proposed_by, _timestamp(clock())),
    )  # fmt: skip
    exclusion_id = inserted_id(cursor)
    audit(
        connection,
        clock,
        actor=proposed_by,
        action="exclusion.propose",
        subject=f"exclusion:{exclusion_id}",
        details={
            "slo": slo,
            "service": service,
            "segment": labels,
            "start": from_minute(start).isoformat(),
            "end": from_minute(end).isoformat(),
            "category": category,
            "reason": reason,
        },
        records=[("exclusions", exclusion_id)],
    )
    return get_exclusion(connection, exclusion_id)


def _verified(connection: Connection, exclusion_id: int) -> Exclusion:
    current = get_exclusion(connection, exclusion_id)
    if current.problem is not None:
        raise IntegrityError(
            f"{current.problem}: it cannot be reviewed or revoked until an admin has looked "
            "into it (errorbudget audit verify)"
        )
    return current


def review_exclusion(
    connection: Connection,
    clock: Clock,
    exclusion_id: int,
    *,
    reviewer: str,
    role: str,
    decision: ReviewDecision,
    comment: str,
) -> Exclusion:
    """Approve or reject a pending exclusion (or confirm a legacy approved one), audited as
    ``exclusion.approve`` / ``exclusion.reject``. PermissionDeniedError for its proposer,
    ConflictError in any other status."""
    _text(reviewer, "the reviewer")
    current = _verified(connection, exclusion_id)
    if reviewer == current.created_by:
        verb = "approve" if decision == "approve" else "reject"
        raise PermissionDeniedError(
            f"nobody may {verb} their own exclusion: {reviewer} proposed exclusion "
            f"{exclusion_id}" + (" (revoke it instead)" if decision == "reject" else "")
        )
    legacy_confirmation = (
        decision == "approve" and current.status == "approved" and current.approved_by is None
    )
    if current.status != "pending" and not legacy_confirmation:
        by = current.reviewed_by or current.revoked_by or current.created_by
        raise ConflictError(
            f"exclusion {exclusion_id} is {current.status} (by {by}), so it cannot be "
            f"{'approved' if decision == 'approve' else 'rejected'}"
        )
    status = "approved" if decision == "approve" else "rejected"
    connection.execute(
        "UPDATE exclusions SET status = ?, approved_by = ?, reviewed_by = ?, reviewed_at = ?, "
        "reviewer_role = ?, review_comment = ? WHERE id = ?",
        (status, reviewer if decision == "approve" else None, reviewer, _timestamp(clock()),
         role, comment, exclusion_id),
    )  # fmt: skip
    audit(
        connection,
        clock,
        actor=reviewer,
        action=f"exclusion.{decision}",
        subject=f"exclusion:{exclusion_id}",
        details={
            "from": current.status,
            "to": status,
            "role": role,
            "comment": comment,
            "proposed_by": current.created_by,
            "legacy": current.legacy_approver is not None,
        },
        records=[("exclusions", exclusion_id)],
    )
    return get_exclusion(connection, exclusion_id)


def revoke_exclusion(
    connection: Connection,
    clock: Clock,
    exclusion_id: int,
    *,
    revoked_by: str,
    reason: str,
) -> Exclusion:
    """Revoke a pending or approved exclusion (its events count again) and audit
    ``exclusion.revoke``; ConflictError once rejected or revoked."""
    _text(revoked_by, "the revoker")
    current = _verified(connection, exclusion_id)
    if current.status not in ("pending", "approved"):
        when = f" at {current.revoked_at.isoformat()}" if current.revoked_at else ""
        raise ConflictError(
            f"exclusion {exclusion_id} was already {current.status}{when} by "
            f"{current.revoked_by or current.reviewed_by}"
        )
    connection.execute(
        "UPDATE exclusions SET status = 'revoked', revoked_at = ?, revoked_by = ?, "
        "revoke_reason = ? WHERE id = ?",
        (_timestamp(clock()), revoked_by, reason, exclusion_id),
    )
    audit(
        connection,
        clock,
        actor=revoked_by,
        action="exclusion.revoke",
        subject=f"exclusion:{exclusion_id}",
        details={
            "from": current.status,
            "reason": reason,
            "slo": current.slo,
            "category": current.category,
        },
        records=[("exclusions", exclusion_id)],
    )
    return get_exclusion(connection, exclusion_id)
