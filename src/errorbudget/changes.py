"""Changes asking to ship, their approvals, and annotations: the rules (surfaces only call).

A change names its scope (service, optionally some SLOs and a segment), type and risk. On
submission the gate judges it (``gate.decide``; the decision and its budget snapshot are
stored with the change and audited), its budget impact is estimated from history, and it
waits as ``pending``. What it then needs follows from the gate decision:

==================  ============================================  =========================
decision            needs                                         until then the gate says
==================  ============================================  =========================
allow               nothing                                       allow
review              one approval by someone else                  review
approval_required   one approval by an approver (or admin) role   approval_required
blocked             cannot ship (only exempt change types can)    blocked
==================  ============================================  =========================

Nobody approves (or rejects) their own change. A rejected or withdrawn change is blocked; a
shipped one is allowed. ``errorbudget gate --change ID`` re-judges the change now and reads
its approvals, so a pipeline can poll until it may ship. Every state change is audited.

Estimated budget impact: the share of the period budget consumed in the 24 hours after past
changes of the same service and type (shipped changes, and annotations of the matching kind
for that service), worst SLO in scope, averaged over the last 20 such changes; with no
history, a default by risk (``DEFAULT_IMPACT``). See docs/concepts.md, "The release gate".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from errorbudget.config import ROLES, Role
from errorbudget.engine.impact import historic_impact
from errorbudget.engine.policy import Decision, Risk
from errorbudget.errors import (
    ConflictError,
    GateError,
    IntegrityError,
    InvalidRequestError,
    PermissionDeniedError,
)
from errorbudget.gate import EXIT_CODES, GateDecision, GateService
from errorbudget.history import consumed_after
from errorbudget.model import SLO, from_minute, to_minute
from errorbudget.records import (
    Annotation,
    AnnotationKind,
    Approval,
    Change,
    ChangeStatus,
    ReviewDecision,
)

if TYPE_CHECKING:
    from errorbudget.clock import Clock
    from errorbudget.config import LoadedConfig
    from errorbudget.services.evaluations import EvaluationService
    from errorbudget.store import Store

__all__ = [
    "DEFAULT_IMPACT",
    "Annotation",
    "AnnotationKind",
    "Approval",
    "Change",
    "ChangeRequest",
    "ChangeReview",
    "ChangeStatus",
    "Impact",
]

DEFAULT_IMPACT: dict[str, float] = {"low": 0.01, "medium": 0.02, "high": 0.05}
"""Estimated budget impact (share of the period budget) when a service and change type have
no history: 1 %, 2 % or 5 % by risk. 2 % is the budget the fast-burn page of the Google
SRE Workbook catalog allows in an hour; a high-risk change is assumed to cost more."""

IMPACT_HORIZON = timedelta(hours=24)
IMPACT_HISTORY = 20

ANNOTATION_KIND_BY_TYPE: dict[str, AnnotationKind] = {
    "config": "config",
    "model": "model",
    "prompt": "model",
    "incident-fix": "incident",
}
"""The annotation kind a shipped change leaves (and learns from); other types: ``deploy``."""

APPROVER_ROLES: tuple[Role, ...] = ("approver", "admin")

Needs = Literal["nothing", "review", "approver", "blocked"]
NEEDS: dict[Decision, Needs] = {
    "allow": "nothing",
    "review": "review",
    "approval_required": "approver",
    "blocked": "blocked",
}


def annotation_kind(change_type: str) -> AnnotationKind:
    return ANNOTATION_KIND_BY_TYPE.get(change_type, "deploy")


def role_at_least(role: str, minimum: Role) -> bool:
    """Whether ``role`` is ``minimum`` or above (viewer < operator < approver < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(minimum)


@dataclass(frozen=True, slots=True)
class Impact:
    """An estimated budget impact: ``ratio`` of the period budget in the first 24 hours."""

    ratio: float
    method: Literal["history", "default"]
    samples: int
    per_slo: dict[str, float]

    def basis(self) -> dict[str, object]:
        return {"method": self.method, "samples": self.samples, "per_slo": self.per_slo}


@dataclass(frozen=True, slots=True)
class ChangeRequest:
    """A change asking to ship, as submitted: its scope (service, optionally some SLOs and
    a segment), type, risk and who asks."""

    service: str
    title: str
    submitted_by: str
    change_type: str = "feature"
    risk: Risk = "medium"
    slo_ids: Sequence[str] = ()
    segment: Mapping[str, str] | None = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ChangeReview:
    """A change with its approvals, and what the gate says about it.

    ``decision`` is the gate decision for the change's scope (the stored one, or a fresh
    one in ``gate`` when re-judged); ``needs`` is what that decision asks for and
    ``approved`` whether it is there; ``effective`` is the answer for this change (what
    ``gate --change`` exits with under ``enforce``).
    """

    change: Change
    approvals: tuple[Approval, ...]
    decision: Decision
    needs: Needs
    approved: bool
    effective: Decision
    reasons: tuple[str, ...]
    enforcement: str
    gate: GateDecision | None = None
    integrity: tuple[str, ...] = ()
    """What fails verification against the audit chain in the change or its approvals
    (then nothing it records is honoured: ``effective`` is blocked)."""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.effective] if self.enforcement == "enforce" else 0

    @property
    def final(self) -> bool:
        """Whether waiting longer cannot change the answer without a new decision
        (allowed, blocked by the budget, rejected, withdrawn or shipped)."""
        return self.effective in ("allow", "blocked")


# --- reading -----------------------------------------------------------------------------------


def _tampered(change_id: int, problems: Sequence[str]) -> str:
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return (
        f"change {change_id}'s record fails verification, so it is not honoured: "
        f"{problems[0]}{more}; an admin must look into it (errorbudget audit verify)"
    )


def _label(segment: object) -> str:
    if isinstance(segment, Mapping) and segment:
        return ",".join(f"{k}={v}" for k, v in sorted(segment.items()))
    return "(all)"


# --- submitting and judging --------------------------------------------------------------------


_RISKS: dict[str, Risk] = {"low": "low", "medium": "medium", "high": "high"}


def _risk(value: str) -> Risk:
    if value not in _RISKS:
        raise InvalidRequestError(f"unknown risk {value!r}")
    return _RISKS[value]


# --- reviews and status changes ----------------------------------------------------------------


SHIP_BACKDATE = timedelta(hours=24)
"""How far back a shipped change may be dated (``ship``'s ``at``): a pipeline that reports
a deploy late, within a day. Never in the future."""


def ship_time(change: Change, at: datetime | None, now: datetime) -> datetime:
    """When ``change`` shipped: ``now``, or ``at`` if it lies in ``[now − SHIP_BACKDATE,
    now]`` and not before the change was submitted (InvalidRequestError otherwise). Only
    the record is dated so: the gate is judged now whatever ``at`` says."""
    if at is None:
        return now
    if at.tzinfo is None:
        raise InvalidRequestError("the ship time needs a time zone (e.g. 2026-11-20T12:00:00Z)")
    earliest = max(now - SHIP_BACKDATE, change.submitted_at)
    if not earliest <= at <= now:
        hours = int(SHIP_BACKDATE.total_seconds() // 3600)
        why = (
            "before the change was submitted"
            if at < change.submitted_at and at >= now - SHIP_BACKDATE
            else "in the future"
            if at > now
            else f"more than {hours} hours ago"
        )
        raise InvalidRequestError(
            f"'at' {at.isoformat()} is {why}: a shipped change may only be dated from "
            f"{earliest.isoformat()} to now ({now.isoformat()}); it only dates the record, "
            "the gate is always judged now (leave 'at' out to ship now)"
        )
    return at


# --- estimated budget impact -------------------------------------------------------------------


class ChangeService:
    """Changes asking to ship and their approvals (the rules above); judged by ``gate``."""

    def __init__(
        self,
        loaded: LoadedConfig,
        store: Store,
        clock: Clock,
        evaluations: EvaluationService,
        gate: GateService,
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self.evaluations = evaluations
        self.gate = gate

    def review(self, change: Change, gate: GateDecision | None = None) -> ChangeReview:
        """Judge ``change`` by its approvals and ``gate`` (default: its stored decision).

        The change and its approvals are verified against the audit chain first: when any of
        them fails (a forged approval row, an edited status), none of its approvals counts and
        the answer is blocked, saying why (the actions refuse it: :func:`verified`)."""
        approvals = tuple(self.store.list_approvals(change.id))
        integrity = tuple(self.store.change_problems(change.id))
        decision: Decision = gate.decision if gate is not None else change.decision
        needs = NEEDS[decision]
        approving = [
            a
            for a in approvals
            if a.decision == "approve" and a.approver != change.submitted_by and not integrity
        ]
        if integrity:
            approved = False
        elif needs == "review":
            approved = bool(approving)
        elif needs == "approver":
            approved = any(a.role in APPROVER_ROLES for a in approving)
        else:
            approved = needs == "nothing"
        if gate is not None:
            reasons = list(gate.reasons)
        else:
            # the stored reason names the state already; an allowed row keeps only its state
            reasons = [
                f"{s.get('slo')} {_label(s.get('segment'))}: "
                f"{s.get('reason') or str(s.get('state')).replace('_', ' ')}"
                for s in change.snapshot
                if s.get("decision") == decision and s.get("binding", True)
            ]
        effective: Decision
        if integrity:
            effective = "blocked"
            reasons.insert(0, _tampered(change.id, integrity))
        elif change.status in ("rejected", "withdrawn"):
            effective = "blocked"
            reasons.insert(0, f"change {change.id} was {change.status} by {change.status_by}")
        elif change.status == "shipped":
            effective = "allow"
            reasons.insert(0, f"change {change.id} was shipped by {change.status_by}")
        elif needs == "blocked":
            effective = "blocked"
        elif approved:
            effective = "allow"
            if needs != "nothing":
                who = ", ".join(a.approver for a in approving)
                reasons.insert(0, f"approved by {who}")
        else:
            effective = decision
            wanted = "an approver's approval" if needs == "approver" else "one approval"
            reasons.insert(0, f"waiting for {wanted} (not by {change.submitted_by})")
        return ChangeReview(
            change=change,
            approvals=approvals,
            decision=decision,
            needs=needs,
            approved=approved,
            effective=effective,
            reasons=tuple(reasons),
            enforcement=self.loaded.config.gate.enforcement,
            gate=gate,
            integrity=integrity,
        )

    def verified(self, change_id: int) -> Change:
        """The change, if it and its approvals verify against the audit chain; IntegrityError
        (nothing is done for it) otherwise."""
        change = self.store.get_change(change_id)
        problems = self.store.change_problems(change_id)
        if problems:
            raise IntegrityError(_tampered(change_id, problems))
        return change

    def submit(self, request: ChangeRequest) -> ChangeReview:
        """Judge, estimate and store a pending change (audited: ``change.submit`` and its
        ``gate.decision``)."""
        if not request.title.strip():
            raise InvalidRequestError("a change needs a title")
        scope = self._scope(request.service, request.slo_ids)
        # judged and estimated at one minute
        moment = from_minute(self.evaluations.evaluation().minute)
        result = self.gate.decide(
            service=request.service,
            slo_ids=list(request.slo_ids) or None,
            change_type=request.change_type,
            risk=request.risk,
            segment=request.segment,
            at=moment,
            record=False,
        )
        impact = self.estimate_impact(
            service=request.service, change_type=request.change_type, risk=request.risk,
            slos=scope, segment=request.segment or {}, at=moment,
        )  # fmt: skip
        with self.store.transaction():
            change = self.store.add_change(
                service=request.service,
                slos=list(request.slo_ids),
                segment=request.segment,
                change_type=request.change_type,
                risk=request.risk,
                title=request.title,
                description=request.description,
                submitted_by=request.submitted_by,
                estimated_impact=impact.ratio,
                impact_basis=impact.basis(),
                decision=result.decision,
                snapshot=result.snapshot(),
                clock=self.clock,
            )
            self.gate.record_decision(result, actor=request.submitted_by, segment=change.segment,
                                      slo_ids=change.slos, change_id=change.id)  # fmt: skip
        return self.review(change, result)

    def find(
        self,
        *,
        status: Sequence[str] | None = None,
        service: str | None = None,
        limit: int = 100,
    ) -> list[ChangeReview]:
        """Changes, newest first, each with its approvals and approval status (judged by
        the decision stored with it; :meth:`judge` re-judges one now)."""
        return [
            self.review(change)
            for change in self.store.list_changes(status=status, service=service, limit=limit)
        ]

    def get(self, change_id: int) -> ChangeReview:
        """One change with its approvals and approval status; NotFoundError if unknown."""
        return self.review(self.store.get_change(change_id))

    def judge(
        self, change_id: int, *, actor: str, at: datetime | None = None, record: bool = True
    ) -> ChangeReview:
        """Re-judge a change now (rejected, withdrawn and shipped changes are not re-judged);
        with ``record``, a decision that differs from the stored one replaces it, audited.

        ``at`` is a what-if (the gate at another instant): it is never recorded, so it needs
        ``record=False`` (GateError otherwise). IntegrityError when the change or its approvals
        fail verification against the audit chain."""
        if at is not None and record:
            raise GateError(
                "a change judged at a chosen instant is a what-if and is never recorded; the "
                "gate records only decisions judged now"
            )
        change = self.verified(change_id)
        if change.status in ("rejected", "withdrawn", "shipped"):
            return self.review(change)
        result = self.gate.decide(
            service=change.service,
            slo_ids=list(change.slos) or None,
            change_type=change.change_type,
            risk=_risk(change.risk),
            segment=change.segment,
            at=at,
            record=False,
        )
        if record and result.decision != change.decision:
            with self.store.transaction():
                change = self.store.set_change_decision(
                    change.id,
                    decision=result.decision,
                    snapshot=result.snapshot(),
                    clock=self.clock,
                )
                self.gate.record_decision(result, actor=actor, segment=change.segment,
                                slo_ids=change.slos, change_id=change.id)  # fmt: skip
        return self.review(change, result)

    def _scope(self, service: str, slo_ids: Sequence[str]) -> list[SLO]:
        """The SLOs a change of ``service`` touches; each named SLO must belong to it."""
        for slo_id in slo_ids:
            slo = self.loaded.slo(slo_id)
            if slo.service != service:
                raise InvalidRequestError(
                    f"SLO {slo_id!r} belongs to service {slo.service!r}, not {service!r}"
                )
        return self.evaluations.select_slos(list(slo_ids) or None, service)

    def review_change(
        self,
        change_id: int,
        *,
        approver: str,
        role: Role,
        decision: ReviewDecision,
        comment: str = "",
    ) -> ChangeReview:
        """Approve or reject a pending change: an approver (or admin) who did not submit it."""
        change = self.verified(change_id)
        verb = "approve" if decision == "approve" else "reject"
        if not role_at_least(role, "approver"):
            raise PermissionDeniedError(
                f"to {verb} a change needs the approver role; {approver} has the {role} role"
            )
        if approver == change.submitted_by:
            hint = "" if decision == "approve" else " (withdraw it instead)"
            raise PermissionDeniedError(
                f"nobody may {verb} their own change: {approver} submitted change {change_id}{hint}"
            )
        if decision == "approve" and change.status == "pending":
            judged = self.judge(change_id, actor=approver)
            if judged.needs == "blocked":
                raise ConflictError(
                    f"change {change_id} is blocked by the budget "
                    f"({judged.reasons[0] if judged.reasons else judged.decision}): an "
                    "approval cannot let it ship; reject it, or ship an exempt fix instead"
                )
        self.store.add_approval(
            change_id,
            approver=approver,
            role=role,
            decision=decision,
            comment=comment,
            clock=self.clock,
        )
        return self.review(self.store.get_change(change_id))

    def withdraw_change(
        self, change_id: int, *, actor: str, role: Role, reason: str = ""
    ) -> ChangeReview:
        """Withdraw a pending or approved change: its author, or an admin."""
        change = self.verified(change_id)
        if actor != change.submitted_by and role != "admin":
            raise PermissionDeniedError(
                f"only {change.submitted_by} (who submitted change {change_id}) or an admin "
                "may withdraw it"
            )
        updated = self.store.set_change_status(
            change_id,
            status="withdrawn",
            allowed_from=("pending", "approved"),
            actor=actor,
            action="change.withdraw",
            details={"reason": reason},
            clock=self.clock,
        )
        return self.review(updated)

    def ship_change(
        self, change_id: int, *, actor: str, shipped_at: datetime | None = None
    ) -> ChangeReview:
        """Mark a change shipped, if the gate lets it through now (under ``enforce``), and leave
        an annotation of its kind at the ship time.

        The gate is judged at the App's clock now, never at ``shipped_at``: that only dates the
        record and its annotation, within ``SHIP_BACKDATE`` before now (``ship_time``)."""
        change = self.verified(change_id)
        moment = ship_time(change, shipped_at, self.clock())
        judged = self.judge(change_id, actor=actor)
        change = judged.change
        if change.status not in ("pending", "approved"):
            raise ConflictError(f"change {change_id} is {change.status}, so it cannot ship")
        if judged.enforcement == "enforce" and judged.effective != "allow":
            reason = judged.reasons[0] if judged.reasons else ""
            raise ConflictError(
                f"change {change_id} cannot ship yet: the gate says "
                f"{judged.effective.replace('_', ' ')} ({reason})"
            )
        with self.store.transaction():
            shipped = self.store.set_change_status(
                change_id,
                status="shipped",
                allowed_from=("pending", "approved"),
                actor=actor,
                action="change.ship",
                details={
                    "decision": judged.decision,
                    "effective": judged.effective,
                    "judged_at": judged.gate.at.isoformat() if judged.gate else None,
                    "shipped_at": moment.isoformat(),
                },
                shipped_at=moment,
                clock=self.clock,
            )
            self.store.add_annotation(
                at=moment,
                kind=annotation_kind(change.change_type),
                text=f"{change.title} (change {change.id}, {change.change_type})",
                created_by=actor,
                service=change.service,
                slo=change.slos[0] if len(change.slos) == 1 else None,
                segment=change.segment,
                change_id=change.id,
                clock=self.clock,
            )
        return self.review(shipped)

    def estimate_impact(
        self,
        *,
        service: str,
        change_type: str,
        risk: str,
        slos: Sequence[SLO],
        segment: Mapping[str, str],
        at: datetime,
    ) -> Impact:
        """The share of the period budget consumed in the 24 hours after past changes of the
        same service and type, worst SLO in scope, averaged over the last ``IMPACT_HISTORY``
        whose 24 hours are over; ``DEFAULT_IMPACT[risk]`` without such history.

        Per SLO and past change at ``m``: ``burn over [m, m + 24h) × 24h / period length``,
        with budget-counting events (exclusions applied) of the series in scope.
        """
        latest = at - IMPACT_HORIZON
        shipped = self.store.list_changes(
            status=["shipped"], service=service, change_type=change_type, limit=IMPACT_HISTORY * 2
        )
        moments = [
            c.shipped_at for c in shipped if c.shipped_at is not None and c.shipped_at <= latest
        ]
        notes = self.store.list_annotations(
            end=latest,
            service=service,
            kinds=[annotation_kind(change_type)],
            limit=IMPACT_HISTORY * 2,
        )
        moments += [a.at for a in notes if a.change_id is None and a.service == service]
        starts = sorted({to_minute(m) for m in moments})[-IMPACT_HISTORY:]
        horizon = int(IMPACT_HORIZON.total_seconds() // 60)
        exclusions = self.store.list_exclusions()
        issues = self.store.list_data_issues()
        shares = {
            slo.id: consumed_after(
                self.store,
                slo,
                segment,
                starts,
                horizon,
                exclusions,
                self.loaded.eligibility(slo),
                issues,
            )
            for slo in slos
        }
        found = historic_impact(shares, len(starts))
        if found.ratio is None:
            return Impact(DEFAULT_IMPACT.get(risk, DEFAULT_IMPACT["medium"]), "default", 0, {})
        return Impact(found.ratio, "history", found.observed, found.per_slo)
