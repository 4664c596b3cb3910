"""The changes view-model (``/changes``) and the pending changes of the overview.

Changes, approvals and gate decisions come from the App (``App.changes``,
``app.changes.judge``); the rules live in ``errorbudget.changes``. Open changes on the changes
page are re-judged now (not recorded), so the page shows what ``errorbudget gate --change ID``
would answer at this instant; the overview shows the stored decisions (one store read).
"""

from __future__ import annotations

from errorbudget.app import App
from errorbudget.changes import ChangeReview
from errorbudget.model import segment_key, segment_label
from errorbudget.web.pages_evaluation import Evaluation
from errorbudget.web.pages_models import ApprovalView, ChangeRow, ChangesPage

OPEN = ("pending", "approved")
CLOSED = ("rejected", "withdrawn", "shipped")
OPEN_LIMIT = 50
CLOSED_LIMIT = 15
OVERVIEW_LIMIT = 8

COMMON_TYPES = ("feature", "flow", "config", "prompt", "model", "routing", "provider")
"""Change types offered in the submit form (any other may be typed in)."""


def impact_basis(review: ChangeReview) -> str:
    """How the estimate was made, in words (``changes.estimate_impact``)."""
    basis = review.change.impact_basis
    samples = basis.get("samples", 0)
    if basis.get("method") == "history":
        change = review.change
        return f"mean of the last {samples} {change.change_type} change(s) of {change.service}"
    return f"default for {review.change.risk} risk (no history)"


def change_row(review: ChangeReview, judged_now: bool) -> ChangeRow:
    change = review.change
    scope = [change.service, *change.slos]
    if change.segment:
        scope.append(segment_label(segment_key(change.segment)))
    decided_at = review.gate.at if review.gate is not None else change.decision_at
    return ChangeRow(
        id=change.id,
        title=change.title,
        description=change.description,
        service=change.service,
        slos=list(change.slos),
        segment=change.segment,
        scope=" · ".join(scope) if change.slos else f"{' · '.join(scope)} (every SLO)",
        change_type=change.change_type,
        risk=change.risk,
        estimated_impact_ratio=change.estimated_impact,
        impact_basis=impact_basis(review),
        submitted_by=change.submitted_by,
        submitted_at=change.submitted_at,
        status=change.status,
        status_by=change.status_by,
        status_at=change.status_at,
        decision=review.decision,
        decided_at=decided_at,
        judged_now=judged_now,
        needs=review.needs,
        approved=review.approved,
        effective=review.effective,
        approvable=change.status == "pending" and review.needs != "blocked",
        reasons=list(review.reasons),
        approvals=[
            ApprovalView(
                approver=a.approver,
                role=a.role,
                decision=a.decision,
                comment=a.comment,
                at=a.at,
            )
            for a in review.approvals
        ],
    )


def pending_changes(app: App) -> tuple[list[ChangeRow], int]:
    """The overview's pending changes (stored decisions), newest first, and how many there
    are in all."""
    reviews = app.changes.find(status=["pending"], limit=OPEN_LIMIT)
    return [change_row(r, judged_now=False) for r in reviews[:OVERVIEW_LIMIT]], len(reviews)


def build_changes(app: App, refresh_seconds: int) -> ChangesPage:
    """Open changes judged now, recent closed ones, and what the gate says per service."""
    evaluation = Evaluation(app)
    at = evaluation.at
    open_changes = [
        change_row(app.changes.judge(r.change.id, actor="dashboard", at=at, record=False), True)
        for r in app.changes.find(status=list(OPEN), limit=OPEN_LIMIT)
    ]
    closed = [
        change_row(r, False) for r in app.changes.find(status=list(CLOSED), limit=CLOSED_LIMIT)
    ]
    settings = app.loaded.config.gate
    services = sorted({slo.service for slo in app.evaluations.slos})
    return ChangesPage(
        title="Changes and approvals",
        at=at,
        refresh_seconds=refresh_seconds,
        enforcement=settings.enforcement,
        open=open_changes,
        closed=closed,
        gates=evaluation.gates(),
        services=services,
        change_types=[*COMMON_TYPES, *settings.exempt_types],
        exempt_types=list(settings.exempt_types),
    )
