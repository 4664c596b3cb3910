"""Changes and approvals, and gate decisions (the rules are in ``errorbudget.changes``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Response

from errorbudget.changes import ChangeRequest
from errorbudget.model import BudgetStatus, SegmentKey
from errorbudget.records import ChangeStatus
from errorbudget.schema.changes import ChangeOut, GateOut, GateRecordOut
from errorbudget.schema.status import StatusOut
from errorbudget.web.api_common import EB, router
from errorbudget.web.api_errors import READ, WRITE, errors
from errorbudget.web.api_inputs import RecordId, ServiceQuery
from errorbudget.web.api_models import (
    ChangeIn,
    GateIn,
    ReviewIn,
    ShipIn,
    WithdrawIn,
)
from errorbudget.web.auth import Approver, Operator, Viewer

routes = router("changes and the gate")


@routes.get("/changes", response_model=list[ChangeOut], summary="Changes", responses=errors(*READ))
def list_changes(
    app: EB,
    caller: Viewer,
    status: Annotated[
        list[ChangeStatus], Query(max_length=20, description="Only these statuses.")
    ] = [],  # noqa: B006
    service: ServiceQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChangeOut]:
    """Changes, newest first, each judged by the decision stored with it."""
    return [
        ChangeOut.of(r)
        for r in app.changes.find(status=status or None, service=service, limit=limit)
    ]


@routes.get(
    "/changes/{change_id}",
    response_model=ChangeOut,
    summary="One change",
    responses=errors(*READ, 404),
)
def get_change(app: EB, caller: Viewer, change_id: RecordId) -> ChangeOut:
    return ChangeOut.of(app.changes.get(change_id))


@routes.get(
    "/changes/{change_id}/gate",
    response_model=ChangeOut,
    summary="Re-judge a change now",
    responses=errors(*READ, 404),
)
def change_gate(app: EB, caller: Viewer, change_id: RecordId) -> ChangeOut:
    """The gate's answer for the change at this instant (its scope's budgets now, and its
    approvals): what ``errorbudget gate --change`` reports. Not recorded."""
    return ChangeOut.of(app.changes.judge(change_id, actor=caller.name, record=False))


@routes.post(
    "/changes",
    response_model=ChangeOut,
    status_code=201,
    summary="Submit a change",
    responses=errors(*WRITE, 404),
)
def submit_change(app: EB, caller: Operator, body: ChangeIn) -> ChangeOut:
    """Judge the change by the gate now (recorded with its budget snapshot), estimate its
    budget impact, and store it pending with the caller as author. Needs operator."""
    request = ChangeRequest(
        service=body.service,
        title=body.title,
        submitted_by=caller.name,
        change_type=body.change_type,
        risk=body.risk,
        slo_ids=body.slos,
        segment=body.segment,
        description=body.description,
    )
    judged = app.changes.submit(request)
    return ChangeOut.of(judged)


@routes.post(
    "/changes/{change_id}/approve",
    response_model=ChangeOut,
    summary="Approve a change",
    responses=errors(*WRITE, 404, 409),
)
def approve_change(
    app: EB, caller: Approver, change_id: RecordId, body: ReviewIn | None = None
) -> ChangeOut:
    """Needs the approver role; nobody approves their own change (403). 409 unless the
    change is pending."""
    comment = body.comment if body is not None else ""
    return ChangeOut.of(
        app.changes.review_change(
            change_id, decision="approve", approver=caller.name, role=caller.role, comment=comment
        )
    )


@routes.post(
    "/changes/{change_id}/reject",
    response_model=ChangeOut,
    summary="Reject a change",
    responses=errors(*WRITE, 404, 409),
)
def reject_change(
    app: EB, caller: Approver, change_id: RecordId, body: ReviewIn | None = None
) -> ChangeOut:
    """Needs the approver role; not the change's author (who withdraws instead)."""
    comment = body.comment if body is not None else ""
    return ChangeOut.of(
        app.changes.review_change(
            change_id, decision="reject", approver=caller.name, role=caller.role, comment=comment
        )
    )


@routes.post(
    "/changes/{change_id}/withdraw",
    response_model=ChangeOut,
    summary="Withdraw a change",
    responses=errors(*WRITE, 404, 409),
)
def withdraw_change(
    app: EB, caller: Operator, change_id: RecordId, body: WithdrawIn | None = None
) -> ChangeOut:
    """The change's author (operator or above) or an admin; 409 once rejected or shipped."""
    reason = body.reason if body is not None else ""
    return ChangeOut.of(
        app.changes.withdraw_change(change_id, actor=caller.name, role=caller.role, reason=reason)
    )


@routes.post(
    "/changes/{change_id}/ship",
    response_model=ChangeOut,
    summary="Mark shipped",
    responses=errors(*WRITE, 404, 409),
)
def ship_change(
    app: EB, caller: Operator, change_id: RecordId, body: ShipIn | None = None
) -> ChangeOut:
    """Mark the change shipped and annotate the timeline; 409 while the gate does not let
    it through (under enforcement ``enforce``). The gate is judged now, at the server's
    clock; ``at`` only dates the record, within the past 24 hours (422 otherwise). Needs
    operator."""
    at = body.at if body is not None else None
    return ChangeOut.of(app.changes.ship_change(change_id, actor=caller.name, shipped_at=at))


@routes.post(
    "/gate/decide",
    response_model=GateOut,
    summary="Decide on a change",
    responses=errors(*WRITE, 404),
)
def gate_decide(app: EB, caller: Operator, body: GateIn) -> Response:
    """``errorbudget gate`` over HTTP: judge a change to ``service`` by the budgets in its
    scope; the decision is recorded in the audit log with its snapshot. Needs operator."""
    # In the thread pool, not on the event loop: recording the decision writes to the
    # store, and a write may wait for its lock (a CLI ingest holds it for a whole file);
    # on the loop that wait froze every request, /healthz included (issue #8).
    result = app.gate.decide(
        service=body.service,
        slo_ids=body.slos or None,
        change_type=body.change_type,
        risk=body.risk,
        segment=body.segment,
        actor=caller.name,
    )

    # A pipeline-facing endpoint must stay fast under load: the rows of statuses are built
    # once per minute and store revision (one shared table, filled as services ask), and the
    # answer is encoded by pydantic's own serialiser, not validated again by the route.
    assert result.basis is not None  # decide() always says which evaluation it used
    rows: dict[tuple[str, SegmentKey], StatusOut] = app.evaluations.memo(
        "api.status-rows", result.basis, dict
    )

    def row(status: BudgetStatus) -> StatusOut:
        key = (status.slo, status.segment)
        found = rows.get(key)
        if found is None:
            found = rows[key] = StatusOut.of(status)
        return found

    return Response(GateOut.of(result, row).model_dump_json(), media_type="application/json")


@routes.get(
    "/gate/decisions",
    response_model=list[GateRecordOut],
    summary="Past decisions",
    responses=errors(*READ),
)
def gate_decisions(
    app: EB,
    caller: Viewer,
    service: ServiceQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[GateRecordOut]:
    """Gate decisions from the audit log, newest first, with the snapshot behind each."""
    return [GateRecordOut.of(e) for e in app.gate.decisions(service=service, limit=limit)]
