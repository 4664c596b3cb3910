"""The release gate: may this change ship now, given the budgets it touches?

The gate is scoped: a change is judged by the SLOs of its service (optionally narrowed to
some SLO ids and to a segment such as ``flow=spanish-billing``), not by every SLO. Each
series in scope gives a verdict from the policy table (engine.policy); the decision is the
worst verdict. Every decision is written to the audit log with a reference to the budget
snapshot that justified it (stored once per distinct content, see ``App.gate_decisions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from errorbudget.engine.policy import Decision, Risk, gate_rule, worst
from errorbudget.errors import GateError
from errorbudget.model import BudgetStatus, from_minute, matches, segment_label

if TYPE_CHECKING:
    from errorbudget.app import App, EvaluationKey

EXIT_CODES: dict[Decision, int] = {
    "allow": 0,
    "review": 10,
    "approval_required": 11,
    "blocked": 12,
}
"""``errorbudget gate`` exit codes under ``enforce`` (``advisory`` always exits 0)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    status: BudgetStatus
    decision: Decision
    reason: str


@dataclass(frozen=True, slots=True)
class GateDecision:
    decision: Decision
    enforcement: str
    service: str
    change_type: str
    risk: Risk
    exempt: bool
    at: datetime
    verdicts: tuple[Verdict, ...]
    audit_id: int | None
    basis: EvaluationKey | None = None
    """The evaluation (minute, store data version) the verdicts come from."""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision] if self.enforcement == "enforce" else 0

    @property
    def reasons(self) -> list[str]:
        """One line per series that does not simply allow the change (or the allow reason)."""
        lines = [
            f"{v.status.slo} {segment_label(v.status.segment)}: {v.status.state}: {v.reason}"
            for v in self.verdicts
            if v.decision == self.decision
        ]
        return lines

    def snapshot(self) -> list[dict[str, object]]:
        """What the audit log keeps of each series behind the decision: its state, budget
        and the burn rates the policy looks at; the reason where it did not simply allow
        (a pipeline may ask many times a minute, so the record stays lean)."""
        rows: list[dict[str, object]] = []
        for v in self.verdicts:
            row: dict[str, object] = {
                "slo": v.status.slo,
                "segment": dict(v.status.segment),
                "state": v.status.state,
                "budget_remaining_ratio": v.status.budget_remaining_ratio,
                "burn_1h": v.status.burn_rates.get("1h"),
                "burn_6h": v.status.burn_rates.get("6h"),
                "decision": v.decision,
            }
            if v.decision != "allow":
                row["reason"] = v.reason
            rows.append(row)
        return rows


def verdicts(
    statuses: Sequence[BudgetStatus], change_type: str, risk: Risk, exempt: bool
) -> tuple[Decision, tuple[Verdict, ...]]:
    """Pure part of the gate: one verdict per status, and the worst decision."""
    found = []
    for status in statuses:
        rule = gate_rule(status.state, change_type, risk, exempt)
        found.append(Verdict(status, rule.decision, rule.reason))
    return worst(v.decision for v in found), tuple(found)


def decide(
    app: App,
    *,
    service: str,
    slo_ids: Sequence[str] | None = None,
    change_type: str = "feature",
    risk: Risk = "medium",
    segment: Mapping[str, str] | None = None,
    actor: str = "unknown",
    at: datetime | None = None,
    record: bool = True,
) -> GateDecision:
    """Decide on a change to ``service`` and (by default) record it in the audit log.

    Without ``at`` the decision uses the App's current statuses, which a busy server may
    serve from its last evaluation while the new minute is being evaluated; the decision
    then carries that evaluation's minute, so the record always says which budgets it saw.
    """
    slos = app.select_slos(slo_ids, service)
    if not slos:
        known = sorted({slo.service for slo in app.slos})
        raise GateError(f"no SLO in scope for service {service!r} (services: {known})")
    evaluation = app.evaluation(at)
    moment = from_minute(evaluation.minute)
    statuses = [
        s for s in evaluation.select(slo.id for slo in slos) if matches(s.segment, segment or {})
    ]
    if not statuses:
        raise GateError(f"no series of service {service!r} matches segment {dict(segment or {})}")
    settings = app.loaded.config.gate
    exempt = change_type in settings.exempt_types
    decision, found = verdicts(statuses, change_type, risk, exempt)
    result = GateDecision(
        decision=decision,
        enforcement=settings.enforcement,
        service=service,
        change_type=change_type,
        risk=risk,
        exempt=exempt,
        at=moment,
        verdicts=found,
        audit_id=None,
        basis=evaluation.key,
    )
    if not record:
        return result
    audit_id = record_decision(
        app, result, actor=actor, segment=segment or {}, slo_ids=[slo.id for slo in slos]
    )
    return replace(result, audit_id=audit_id)


def record_decision(
    app: App,
    result: GateDecision,
    *,
    actor: str,
    segment: Mapping[str, str],
    slo_ids: Sequence[str],
    change_id: int | None = None,
) -> int:
    """Append ``result`` to the audit log (``gate.decision``); return the entry's id.

    The entry references the budget snapshot behind the decision (``snapshot_id``), stored
    once per distinct content and, outside a transaction, looked up once per scope and
    evaluation: a pipeline asking many times a minute appends ~200 bytes per decision, not
    the snapshot of every series again. Inside a caller's transaction the snapshot is saved
    with it (its id may yet be rolled back, so it is not kept for later decisions).
    """

    def save() -> int:
        return app.store.save_snapshot(result.snapshot())

    if app.store.in_transaction or result.basis is None:
        snapshot_id = save()
    else:
        scope = (
            "gate.snapshot",
            result.service,
            tuple(slo_ids),
            tuple(sorted(segment.items())),
            result.change_type,
            result.risk,
        )
        snapshot_id = app.memo(scope, result.basis, save)
    details: dict[str, object] = {
        "decision": result.decision,
        "enforcement": result.enforcement,
        "change_type": result.change_type,
        "risk": result.risk,
        "segment": dict(segment),
        "at": result.at.isoformat(),
        "snapshot_id": snapshot_id,
    }
    if change_id is not None:
        details["change_id"] = change_id
    return app.store.audit(
        actor=actor, action="gate.decision", subject=result.service, details=details
    )
