"""The release gate: may this change ship now, given the budgets it touches?

The gate is scoped (DESIGN.md "Policy states and the release gate"):

- a change that names a **segment** (``flow=billing-es``, ``queue=support``) is judged by
  the series of its SLOs (all of its service's, or the ones it names) that match it;
- a change that names no segment is judged by each SLO's whole-SLO row and by the segments
  that carry at least ``gate.min_segment_share`` of their SLO's eligible events: a segment
  below that volume cannot decide for the whole service alone (its verdict is still shown).

Each series in scope gives a verdict from its SLO's policy preset (engine.policy): the
state's gate decision for the change's risk, raised to at least ``stale_data`` (review)
when its data is stale. The decision is the worst binding verdict. Every decision is
written to the audit log with a reference to the budget snapshot that justified it (stored
once per distinct content, see ``GateService.decisions``), data age included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fractions import Fraction
from typing import TYPE_CHECKING

from errorbudget.engine.exact import decimal
from errorbudget.engine.policy import DECISION_ORDER, Decision, Risk, gate_rule, worst
from errorbudget.errors import GateError
from errorbudget.model import (
    SLO,
    BudgetStatus,
    PolicyPreset,
    change_type_key,
    from_minute,
    matches,
    segment_label,
)
from errorbudget.records import encode_snapshot
from errorbudget.yamlsource import did_you_mean

if TYPE_CHECKING:
    from errorbudget.config import LoadedConfig
    from errorbudget.services.evaluations import EvaluationKey, EvaluationService
    from errorbudget.store import AuditEntry, Store

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
    binding: bool = True
    """False for a segment below the minimum volume of an unscoped change: shown, but it
    does not decide alone."""


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
    """The evaluation (minute, store revision) the verdicts come from."""

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision] if self.enforcement == "enforce" else 0

    @property
    def reasons(self) -> list[str]:
        """One line per binding series at the decision (why it is what it is), then the
        series below the minimum volume that would have said worse. A reason already given
        is not repeated: later series with it say their state and "as above"."""
        shown: set[str] = set()

        def line(v: Verdict, tail: str = "") -> str:
            where = f"{v.status.slo} {segment_label(v.status.segment)}"
            if v.reason in shown:
                return f"{where}: {v.status.state_label or v.status.state} (as above){tail}"
            shown.add(v.reason)
            return f"{where}: {v.reason}{tail}"

        lines = [line(v) for v in self.verdicts if v.binding and v.decision == self.decision]
        lines += [
            line(v, " (below the minimum volume: does not decide for the whole service alone)")
            for v in self.verdicts
            if not v.binding and _worse(v.decision, self.decision)
        ]
        return lines

    def snapshot(self) -> list[dict[str, object]]:
        """What the audit log keeps of each series behind the decision: its state, budget,
        the burn rates the policy looks at and its data age; the reason where it did not
        simply allow (a pipeline may ask many times a minute, so the record stays lean)."""
        rows: list[dict[str, object]] = []
        for v in self.verdicts:
            coverage = v.status.coverage
            row: dict[str, object] = {
                "slo": v.status.slo,
                "segment": dict(v.status.segment),
                "state": v.status.state,
                "policy": v.status.policy,
                "budget_remaining_ratio": v.status.budget_remaining_ratio,
                "burn_1h": v.status.burn_rates.get("1h"),
                "burn_6h": v.status.burn_rates.get("6h"),
                "data_age_seconds": coverage.age_seconds if coverage else None,
                "stale": v.status.stale,
                "decision": v.decision,
            }
            if not v.binding:
                row["binding"] = False
            if v.decision != "allow":
                row["reason"] = v.reason
            rows.append(row)
        return rows


def _worse(decision: Decision, than: Decision) -> bool:
    return DECISION_ORDER[decision] > DECISION_ORDER[than]


def in_scope(
    statuses: Sequence[BudgetStatus],
    segment: Mapping[str, str] | None,
    min_segment_share: float,
) -> list[tuple[BudgetStatus, bool]]:
    """The series a change is judged by, each with whether it is binding (module
    docstring). With a ``segment``: in each SLO that segments by some of its keys, the
    series matching those pairs; an SLO that segments by none of them (a global one, such as
    connection success) is judged by its whole-SLO row — a global burn blocks broadly.
    Without: every whole-SLO row and every segment, binding when it holds at least
    ``min_segment_share`` of its SLO's eligible events in the period (decided exactly)."""
    if segment:
        by_slo: dict[str, list[BudgetStatus]] = {}
        for status in statuses:
            by_slo.setdefault(status.slo, []).append(status)
        scoped: list[tuple[BudgetStatus, bool]] = []
        for rows in by_slo.values():
            keys = {key for row in rows for key, _ in row.segment}
            named = {key: value for key, value in segment.items() if key in keys}
            if named:
                scoped += [(r, True) for r in rows if r.segment and matches(r.segment, named)]
            else:
                scoped += [(r, True) for r in rows if not r.segment]
        return scoped
    share = decimal(min_segment_share)
    whole = {s.slo: s for s in statuses if not s.segment}
    found: list[tuple[BudgetStatus, bool]] = []
    for status in statuses:
        total = whole.get(status.slo)
        if not status.segment or total is None:
            found.append((status, True))
            continue
        found.append((status, _carries(_volume(status), _volume(total), share)))
    return found


def _volume(status: BudgetStatus) -> float:
    """The events a row carries in the period: its eligible events (for timeslices
    budgeting, the events in its counted minutes, not its slices)."""
    return status.eligible_events if status.eligible_events is not None else status.eligible


def _carries(eligible: float, total: float, share: Fraction) -> bool:
    """``eligible / total ≥ share`` exactly; with nothing eligible at all, no segment is
    small."""
    if total <= 0:
        return True
    return int(eligible) * share.denominator >= share.numerator * int(total)


def verdicts(
    scoped: Sequence[tuple[BudgetStatus, bool]],
    presets: Mapping[str, PolicyPreset],
    change_type: str,
    risk: Risk,
    exempt: bool,
) -> tuple[Decision, tuple[Verdict, ...]]:
    """Pure part of the gate: one verdict per series in scope (by its SLO's preset, see
    ``engine.policy.gate_rule``), and the worst binding decision."""
    found = []
    for status, binding in scoped:
        rule = gate_rule(
            presets[status.policy], status.state, change_type, risk, exempt, status.stale
        )
        found.append(Verdict(status, rule.decision, rule.reason, binding))
    return worst(v.decision for v in found if v.binding), tuple(found)


def _check_segment(
    service: str,
    slos: Sequence[SLO],
    statuses: Sequence[BudgetStatus],
    segment: Mapping[str, str] | None,
) -> None:
    """A change's segment must name keys its SLOs segment by, and match a stored series of
    the SLOs that do: a typo would otherwise leave only the global SLOs to judge it."""
    if not segment:
        return
    keys = sorted({key for slo in slos for key in slo.segments.keys})
    unknown = sorted(set(segment) - set(keys))
    if unknown:
        raise GateError(
            f"no SLO of service {service!r} segments by {unknown[0]!r} "
            f"(keys: {', '.join(keys) or 'none'}){did_you_mean(unknown[0], keys)}"
        )
    for slo in slos:
        named = {k: v for k, v in segment.items() if k in slo.segments.keys}
        if named and any(
            s.slo == slo.id and s.segment and matches(s.segment, named) for s in statuses
        ):
            return
    raise GateError(f"no series of service {service!r} matches segment {dict(segment)}")


class GateService:
    """The release gate over the published evaluation: decides, and records decisions."""

    def __init__(self, loaded: LoadedConfig, store: Store, evaluations: EvaluationService) -> None:
        self.loaded = loaded
        self.store = store
        self.evaluations = evaluations

    def decide(
        self,
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
        """Decide on a change to ``service`` now and (by default) record it in the audit log.

        The gate is judged at the App's clock, never at an instant a caller chooses: ``at`` is
        a what-if (what would the gate have said then?) and such a decision is never recorded —
        asking to record one is a GateError. Without ``at`` the decision uses the App's
        current statuses, which a busy server may serve from its last evaluation while the new
        minute is being evaluated; the decision then carries that evaluation's minute, so the
        record always says which budgets it saw.
        """
        if at is not None and record:
            raise GateError(
                "a gate decision at a chosen instant is a what-if and is never recorded; the "
                "gate records only decisions judged now"
            )
        slos = self.evaluations.select_slos(slo_ids, service)
        if not slos:
            known = sorted({slo.service for slo in self.evaluations.slos})
            raise GateError(f"no SLO in scope for service {service!r} (services: {known})")
        evaluation = self.evaluations.evaluation(at)
        moment = from_minute(evaluation.minute)
        settings = self.loaded.config.gate
        statuses = evaluation.select(slo.id for slo in slos)
        _check_segment(service, slos, statuses, segment)
        scoped = in_scope(statuses, segment, settings.min_segment_share)
        if not scoped:
            raise GateError(
                f"no series of service {service!r} matches segment {dict(segment or {})}"
            )
        exempt = change_type_key(change_type) in {change_type_key(t) for t in settings.exempt_types}
        decision, found = verdicts(scoped, self.loaded.policies, change_type, risk, exempt)
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
        audit_id = self.record_decision(
            result, actor=actor, segment=segment or {}, slo_ids=[slo.id for slo in slos]
        )
        return replace(result, audit_id=audit_id)

    def record_decision(
        self,
        result: GateDecision,
        *,
        actor: str,
        segment: Mapping[str, str],
        slo_ids: Sequence[str],
        change_id: int | None = None,
    ) -> int:
        """Append ``result`` to the audit log (``gate.decision``); return the entry's id.

        The entry references the budget snapshot behind the decision (``snapshot_id`` and
        ``snapshot_sha256``), stored once per distinct content; the entry that stores a new one
        binds it in the chain, in the same transaction, and so does an entry for a change (the
        change's row, whose decision the caller just replaced). The snapshot's canonical JSON
        is encoded once per scope and evaluation: a pipeline asking many times a minute
        appends ~300 bytes per decision, not the snapshot of every series again.
        """
        if result.basis is None:
            encoded = encode_snapshot(result.snapshot())
        else:
            scope = (
                "gate.snapshot",
                result.service,
                tuple(slo_ids),
                tuple(sorted(segment.items())),
                result.change_type,
                result.risk,
            )
            encoded = self.evaluations.memo(
                scope, result.basis, lambda: encode_snapshot(result.snapshot())
            )
        with self.store.transaction():
            saved = self.store.save_snapshot(encoded)
            details: dict[str, object] = {
                "decision": result.decision,
                "enforcement": result.enforcement,
                "change_type": result.change_type,
                "risk": result.risk,
                "segment": dict(segment),
                "at": result.at.isoformat(),
                "snapshot_id": saved.id,
                "snapshot_sha256": saved.sha256,
            }
            if self.loaded.config.clock is not None:
                # "now" came from the config's clock section (the demo's), not the real time:
                # the record says so (the config itself is audited as config.apply)
                details["clock"] = "simulated"
            records: list[tuple[str, int]] = []
            if saved.created:
                records.append(("gate_snapshots", saved.id))
            if change_id is not None:
                details["change_id"] = change_id
                records.append(("changes", change_id))
            return self.store.audit(
                actor=actor,
                action="gate.decision",
                subject=result.service,
                details=details,
                records=records,
            )

    def decisions(self, *, service: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Past gate decisions from the audit log, newest first, each with the budget
        snapshot behind it (``details.change_id`` names the change when there was one).

        A decision's entry references its snapshot (``details.snapshot_id``, stored once in
        ``gate_snapshots``); it is resolved into ``details.snapshot`` here, checked against
        its SHA-256: one that fails is not shown (``details.snapshot`` None) and
        ``details.snapshot_problem`` says why."""
        entries = self.store.audit_log(limit=limit, action="gate.decision", subject=service)
        refs = {e.id: i for e in entries if isinstance(i := e.details.get("snapshot_id"), int)}
        expected = {
            refs[e.id]: digest
            for e in entries
            if e.id in refs and isinstance(digest := e.details.get("snapshot_sha256"), str)
        }
        stored, broken = self.store.snapshots(refs.values(), expected) if refs else ({}, {})
        for entry in entries:
            if entry.id in refs and "snapshot" not in entry.details:
                # None (not []) if the snapshot is missing: "no series" is a real snapshot
                entry.details["snapshot"] = stored.get(refs[entry.id])
                problem = broken.get(refs[entry.id])
                if problem is not None:
                    entry.details["snapshot_problem"] = problem
        return entries
