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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from errorbudget.config import ROLES, Role
from errorbudget.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from errorbudget.limits import LATEST, time_problem
from errorbudget.model import Exclusion, matches, to_minute
from errorbudget.records import Annotation, AnnotationKind, ReviewDecision
from errorbudget.yamlsource import did_you_mean

if TYPE_CHECKING:
    from errorbudget.clock import Clock
    from errorbudget.config import LoadedConfig
    from errorbudget.services.evaluations import EvaluationService
    from errorbudget.store import SeriesInfo, Store

REVIEWER_ROLES: tuple[Role, ...] = ("approver", "admin")


@dataclass(frozen=True, slots=True)
class ExclusionProposal:
    """An exclusion as proposed: which SLO (``"*"``: every SLO, of ``service`` if given),
    which segment, the time range, why, and who proposes it."""

    slo: str
    start: datetime
    end: datetime
    category: str
    reason: str
    proposed_by: str
    segment: Mapping[str, str] | None = None
    service: str | None = None


@dataclass(frozen=True, slots=True)
class AnnotationRequest:
    """An annotation as asked for: when, what kind, its text, who writes it, and its scope
    (a service, an SLO, a segment; none: it concerns everything)."""

    at: datetime
    kind: AnnotationKind
    text: str
    created_by: str
    service: str | None = None
    slo: str | None = None
    segment: Mapping[str, str] | None = None


class RecordsService:
    """Exclusions and annotations: validated against the config, stored and audited."""

    def __init__(
        self, loaded: LoadedConfig, store: Store, clock: Clock, evaluations: EvaluationService
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.clock = clock
        self.evaluations = evaluations

    def propose_exclusion(self, proposal: ExclusionProposal) -> Exclusion:
        """Record a pending exclusion for one SLO (``"*"``: every SLO, of ``service`` if given);
        the raw counts stay. Segment keys must be ones the SLO(s) segment by."""
        slo, service, start, end = proposal.slo, proposal.service, proposal.start, proposal.end
        segment = dict(proposal.segment or {})
        if slo != "*":
            keys = set(self.loaded.slo(slo).segments.keys)
        else:
            scoped = self.evaluations.select_slos(service=service)
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
        return self.store.propose_exclusion(
            slo=slo,
            start=start_minute,
            end=end_minute,
            category=proposal.category,
            reason=proposal.reason,
            proposed_by=proposal.proposed_by,
            segment=segment,
            service=service,
        )

    def review_exclusion(
        self,
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
        return self.store.review_exclusion(
            exclusion_id, reviewer=reviewer, role=role, decision=decision, comment=comment
        )

    def revoke_exclusion(
        self, exclusion_id: int, *, revoked_by: str, reason: str = ""
    ) -> Exclusion:
        """Revoke a pending or approved exclusion (its events count again)."""
        return self.store.revoke_exclusion(exclusion_id, revoked_by=revoked_by, reason=reason)

    def matching_series(self, exclusion: Exclusion) -> list[SeriesInfo]:
        """The stored series an exclusion applies to (none yet is legal: data may follow),
        whatever its status."""
        slos = {slo.id: slo for slo in self.evaluations.slos}
        found = []
        for info in self.store.list_series(None if exclusion.slo == "*" else exclusion.slo):
            slo = slos.get(info.slo)
            if slo is None or exclusion.slo not in ("*", slo.id):
                continue
            if exclusion.service in (None, slo.service) and matches(
                info.segment, exclusion.segment
            ):
                found.append(info)
        return found

    def add_annotation(self, request: AnnotationRequest) -> Annotation:
        """Validate an annotation's scope against the config and store it (audited)."""
        slo, service, segment = request.slo, request.service, request.segment
        if slo is not None:
            definition = self.loaded.slo(slo)
            if service is not None and service != definition.service:
                raise InvalidRequestError(
                    f"SLO {slo!r} belongs to service {definition.service!r}, not {service!r}"
                )
            service = definition.service
            keys = set(definition.segments.keys)
        else:
            known = sorted(
                {s.service for s in self.evaluations.slos}
                | {s.id for s in self.loaded.config.services}
            )
            if service is not None and service not in known:
                raise NotFoundError(
                    f"no service {service!r} in the config{did_you_mean(service, known)}"
                )
            keys = {
                k for s in self.evaluations.select_slos(service=service) for k in s.segments.keys
            }
        unknown = sorted(set(segment or {}) - keys)
        if unknown:
            raise InvalidRequestError(
                f"segment key {unknown[0]!r} is not one the annotated SLOs segment by "
                f"({', '.join(sorted(keys)) or 'none'})"
            )
        return self.store.add_annotation(
            at=request.at,
            kind=request.kind,
            text=request.text,
            created_by=request.created_by,
            service=service,
            slo=slo,
            segment=segment,
            clock=self.clock,
        )

    def annotations(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        service: str | None = None,
        slo: str | None = None,
        kinds: Sequence[AnnotationKind] | None = None,
        limit: int = 1000,
    ) -> list[Annotation]:
        """Annotations in ``[start, end)``, oldest first; a service or SLO filter also
        returns annotations that name none (they concern everything)."""
        return self.store.list_annotations(
            start=start, end=end, service=service, slo=slo, kinds=kinds, limit=limit
        )
