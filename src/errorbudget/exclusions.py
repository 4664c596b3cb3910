"""Exclusions as proposals: the rules (surfaces only call; records: ``store/exclusions.py``).

An exclusion changes budgets, and so the gate: an operator who could exclude the whole
window would lift the gate that holds their own change. So an exclusion is *proposed* by
the authenticated caller (the API token's name, or the CLI's local actor), counts in no
budget while ``pending``, and counts once someone else with the ``approver`` role (or
``admin``) approves it. Nobody types an approver's name: the approver is whoever approves.

=========  ============================================  ==========================
status     counts in budgets                             next
=========  ============================================  ==========================
pending    no                                            approved, rejected, revoked
approved   yes                                           revoked
rejected   no                                            —
revoked    no                                            —
=========  ============================================  ==========================

Anyone with the operator role may revoke (revoking only makes budgets stricter); the
proposer withdraws a pending proposal by revoking it. Every move is audited and chained;
an exclusion that fails verification against the chain never counts.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from errorbudget.config import ROLES, Role
from errorbudget.errors import InvalidRequestError, PermissionDeniedError
from errorbudget.limits import LATEST, time_problem
from errorbudget.model import Exclusion, to_minute
from errorbudget.records import ReviewDecision
from errorbudget.yamlsource import did_you_mean

if TYPE_CHECKING:
    from errorbudget.app import App

REVIEWER_ROLES: tuple[Role, ...] = ("approver", "admin")


def propose(
    app: App,
    *,
    slo: str,
    start: datetime,
    end: datetime,
    category: str,
    reason: str,
    proposed_by: str,
    segment: dict[str, str] | None = None,
    service: str | None = None,
) -> Exclusion:
    """Record a pending exclusion for one SLO (``"*"``: every SLO, of ``service`` if given);
    the raw counts stay. Segment keys must be ones the SLO(s) segment by."""
    segment = segment or {}
    if slo != "*":
        keys = set(app.loaded.slo(slo).segments.keys)
    else:
        scoped = app.select_slos(service=service)
        if service is not None and not scoped:
            raise InvalidRequestError(f"no SLO belongs to service {service!r}")
        keys = {key for s in scoped for key in s.segments.keys}
    unknown = sorted(set(segment) - keys)
    if unknown:
        hint = did_you_mean(unknown[0], sorted(keys))
        raise InvalidRequestError(
            f"segment key {unknown[0]!r} is not one the SLO segments by "
            f"({', '.join(sorted(keys)) or 'none'}){hint}"
        )
    for name, moment in (("start", start), ("end", end)):
        if (problem := time_problem(moment)) and moment != LATEST:
            raise InvalidRequestError(f"the exclusion's {name}: {problem}")
    start_minute, end_minute = to_minute(start), to_minute(end)
    if end_minute <= start_minute:
        raise InvalidRequestError("an exclusion must end after it starts")
    return app.store.propose_exclusion(
        slo=slo,
        start=start_minute,
        end=end_minute,
        category=category,
        reason=reason,
        proposed_by=proposed_by,
        segment=segment,
        service=service,
    )


def review(
    app: App,
    exclusion_id: int,
    *,
    reviewer: str,
    role: Role,
    decision: ReviewDecision,
    comment: str = "",
) -> Exclusion:
    """Approve or reject a pending exclusion: someone with the approver (or admin) role who
    did not propose it. Approving a legacy one (approved before approvals were verified)
    confirms it. PermissionDeniedError, ConflictError, IntegrityError as the store says."""
    verb = "approve" if decision == "approve" else "reject"
    if role not in ROLES or ROLES.index(role) < ROLES.index("approver"):
        raise PermissionDeniedError(
            f"to {verb} an exclusion needs the approver role; {reviewer} has the {role} role"
        )
    return app.store.review_exclusion(
        exclusion_id, reviewer=reviewer, role=role, decision=decision, comment=comment
    )


def revoke(app: App, exclusion_id: int, *, revoked_by: str, reason: str = "") -> Exclusion:
    """Revoke a pending or approved exclusion (its events count again)."""
    return app.store.revoke_exclusion(exclusion_id, revoked_by=revoked_by, reason=reason)
