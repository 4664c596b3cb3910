"""Changes and approvals over a real store: the gate decision a change gets, who may approve
it, what it then needs, shipping, estimated impact, annotations, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from errorbudget.app import App
from errorbudget.changes import DEFAULT_IMPACT, IMPACT_HORIZON, ChangeRequest
from errorbudget.errors import (
    ConflictError,
    GateError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from errorbudget.exclusions import AnnotationRequest, ExclusionProposal
from errorbudget.model import to_minute
from errorbudget.store import open_store
from errorbudget.store.sqlite import schema


@pytest.fixture
def app(budget_world):  # type: ignore[no-untyped-def]
    with budget_world.open() as opened:
        yield opened


def actions(app: App, subject: str) -> list[str]:
    return [e.action for e in reversed(app.store.audit_log(subject=subject))]


def test_the_seeded_states(app: App) -> None:
    states = {(s.slo, s.segment): s.state for s in app.evaluations.status()}
    assert states[("answered", ())] == "healthy"
    assert states[("payments", ())] == "freeze"
    assert states[("flows", ())] == "exhausted"


def test_a_healthy_change_is_allowed_without_approval(app: App) -> None:
    judged = app.changes.submit(
        ChangeRequest(service="contact-center", title="new greeting", submitted_by="olga")
    )
    assert judged.change.status == "pending"
    assert (judged.decision, judged.needs, judged.effective) == ("allow", "nothing", "allow")
    assert judged.approved and judged.exit_code == 0
    assert judged.change.snapshot and judged.change.snapshot[0]["slo"] == "answered"
    assert actions(app, f"change:{judged.change.id}") == ["change.submit"]
    [decision] = app.gate.decisions(service="contact-center")
    assert decision.details["change_id"] == judged.change.id
    assert decision.actor == "olga"
    assert decision.details["snapshot"] == judged.change.snapshot  # stored apart, resolved


def test_below_20_percent_a_change_needs_an_approvers_approval(app: App) -> None:
    judged = app.changes.submit(
        ChangeRequest(service="billing", title="new PSP", submitted_by="olga")
    )
    assert (judged.decision, judged.needs, judged.effective) == (
        "approval_required",
        "approver",
        "approval_required",
    )
    assert judged.exit_code == 11
    assert "waiting for an approver's approval" in judged.reasons[0]
    change_id = judged.change.id
    with pytest.raises(PermissionDeniedError, match="approver role; otto has the operator"):
        app.changes.review_change(change_id, decision="approve", approver="otto", role="operator")
    approved = app.changes.review_change(
        change_id, decision="approve", approver="vera", role="approver", comment="go"
    )
    assert approved.change.status == "approved"
    assert (approved.approved, approved.effective, approved.exit_code) == (True, "allow", 0)
    assert approved.approvals[0].approver == "vera" and approved.approvals[0].comment == "go"
    assert actions(app, f"change:{change_id}") == ["change.submit", "change.approve"]


def test_a_stored_change_gives_the_reasons_it_was_judged_by(app: App) -> None:
    """Read back (lists, overview), a change states its reasons as the live gate did: no
    repeated state, no "None" for a series that simply allowed."""
    for service in ("billing", "contact-center"):
        judged = app.changes.submit(ChangeRequest(service=service, title="t", submitted_by="olga"))
        stored = app.changes.get(judged.change.id)
        assert stored.gate is None  # judged from the stored snapshot, not anew
        live = [r for r in judged.reasons if not r.startswith("waiting for")]
        kept = [r for r in stored.reasons if not r.startswith("waiting for")]
        assert kept and all("None" not in r for r in kept)
        by_series = {r.split(": ")[0]: r.partition(" (as above)")[0] for r in live}
        for reason in kept:  # the live line, its shortened "(as above)" form, or its state
            said = by_series[reason.split(": ")[0]]
            assert reason.startswith(said) or said.startswith(reason)
        for reason in kept:
            state = reason.split(": ")[1]
            assert f"{state}: {state}" not in reason


def test_nobody_approves_or_rejects_their_own_change(app: App) -> None:
    change_id = app.changes.submit(
        ChangeRequest(service="billing", title="x", submitted_by="vera")
    ).change.id
    with pytest.raises(PermissionDeniedError, match="nobody may approve their own change"):
        app.changes.review_change(change_id, decision="approve", approver="vera", role="approver")
    with pytest.raises(PermissionDeniedError, match="withdraw it instead"):
        app.changes.review_change(change_id, decision="reject", approver="vera", role="admin")
    assert app.changes.get(change_id).change.status == "pending"


def test_a_low_risk_change_in_freeze_needs_one_review(app: App) -> None:
    judged = app.changes.submit(
        ChangeRequest(service="billing", title="copy", submitted_by="olga", risk="low")
    )
    assert (judged.decision, judged.needs, judged.effective) == ("review", "review", "review")
    assert judged.exit_code == 10
    assert (
        app.changes.review_change(
            judged.change.id, decision="approve", approver="ada", role="admin"
        ).effective
        == "allow"
    )


def test_an_exhausted_budget_blocks_even_an_approved_change(app: App) -> None:
    judged = app.changes.submit(ChangeRequest(service="ivr", title="new flow", submitted_by="olga"))
    assert (judged.decision, judged.effective, judged.exit_code) == ("blocked", "blocked", 12)
    # an approval cannot let a blocked change ship, so none is taken
    with pytest.raises(ConflictError, match=r"blocked by the budget .* an approval cannot"):
        app.changes.review_change(
            judged.change.id, decision="approve", approver="vera", role="approver"
        )
    assert app.changes.get(judged.change.id).change.status == "pending"
    with pytest.raises(ConflictError, match="cannot ship yet"):
        app.changes.ship_change(judged.change.id, actor="olga")
    # a change allowed while the budget was fine is blocked once the budget is spent
    [series] = app.store.series_ids("flows", [()])
    end = to_minute(app.clock())
    minutes = np.arange(end - 3 * 1440, end, dtype=np.int64)
    hundred = np.full(minutes.size, 100)
    app.store.write_counts(np.full(minutes.size, series), minutes, hundred, hundred)
    later = app.changes.submit(ChangeRequest(service="ivr", title="later", submitted_by="olga"))
    assert later.decision == "allow"
    app.store.write_counts(
        np.full(minutes.size, series), minutes, np.zeros(minutes.size, dtype=np.int64), hundred
    )
    rejudged = app.changes.judge(later.change.id, actor="ci")
    assert rejudged.effective == "blocked"
    with pytest.raises(ConflictError, match="cannot ship yet"):
        app.changes.ship_change(later.change.id, actor="olga")
    fix = app.changes.submit(
        ChangeRequest(service="ivr", title="fix", submitted_by="olga", change_type="incident-fix")
    )
    assert fix.effective == "allow"


def test_rejected_and_withdrawn_changes_are_blocked_and_final(app: App) -> None:
    first = app.changes.submit(
        ChangeRequest(service="billing", title="a", submitted_by="olga")
    ).change.id
    second = app.changes.submit(
        ChangeRequest(service="billing", title="b", submitted_by="olga")
    ).change.id
    rejected = app.changes.review_change(
        first, decision="reject", approver="vera", role="approver", comment="not now"
    )
    assert (rejected.change.status, rejected.effective, rejected.exit_code) == (
        "rejected",
        "blocked",
        12,
    )
    assert rejected.final
    with pytest.raises(ConflictError, match="is rejected"):
        app.changes.review_change(first, decision="approve", approver="ada", role="admin")
    with pytest.raises(ConflictError):
        app.changes.withdraw_change(first, actor="olga", role="operator")
    with pytest.raises(PermissionDeniedError, match="only olga"):
        app.changes.withdraw_change(second, actor="otto", role="approver")
    withdrawn = app.changes.withdraw_change(second, actor="ada", role="admin", reason="dup")
    assert (withdrawn.change.status, withdrawn.change.status_by) == ("withdrawn", "ada")
    assert withdrawn.effective == "blocked"
    assert actions(app, f"change:{second}") == ["change.submit", "change.withdraw"]


def test_approving_twice_is_a_conflict(app: App) -> None:
    change_id = app.changes.submit(
        ChangeRequest(service="billing", title="a", submitted_by="olga")
    ).change.id
    app.changes.review_change(change_id, decision="approve", approver="vera", role="approver")
    with pytest.raises(ConflictError, match="is approved"):
        app.changes.review_change(change_id, decision="approve", approver="ada", role="admin")
    with pytest.raises(NotFoundError, match="no change with id 999"):
        app.changes.review_change(999, decision="approve", approver="ada", role="admin")


def test_shipping_needs_the_gate_and_leaves_an_annotation(app: App, budget_world) -> None:  # type: ignore[no-untyped-def]
    change_id = app.changes.submit(
        ChangeRequest(service="billing", title="PSP v2", submitted_by="olga", change_type="config")
    ).change.id
    with pytest.raises(ConflictError, match="approval required"):
        app.changes.ship_change(change_id, actor="olga")
    app.changes.review_change(change_id, decision="approve", approver="vera", role="approver")
    shipped = app.changes.ship_change(change_id, actor="olga")
    assert shipped.change.status == "shipped"
    assert shipped.change.shipped_at == budget_world.at
    assert shipped.effective == "allow" and shipped.final
    [note] = app.records.annotations(service="billing")
    assert (note.kind, note.change_id, note.at) == ("config", change_id, budget_world.at)
    assert "PSP v2" in note.text
    assert actions(app, f"change:{change_id}")[-1] == "change.ship"
    assert actions(app, f"annotation:{note.id}") == ["annotation.add"]
    with pytest.raises(ConflictError):
        app.changes.ship_change(change_id, actor="olga")


def test_change_gate_rejudges_and_records_only_a_new_decision(app: App) -> None:
    change_id = app.changes.submit(
        ChangeRequest(service="contact-center", title="x", submitted_by="olga")
    )
    change_id_ = change_id.change.id
    before = len(app.gate.decisions())
    assert app.changes.judge(change_id_, actor="ci").effective == "allow"
    assert len(app.gate.decisions()) == before  # same decision: not recorded again
    # The sales queue now fails every call: the contact center's budget is gone.
    [series] = app.store.series_ids("answered", [(("queue", "sales"),)])
    end = to_minute(app.clock())
    minutes = np.arange(end - 3 * 1440, end, dtype=np.int64)
    app.store.write_counts(
        np.full(minutes.size, series),
        minutes,
        np.zeros(minutes.size, dtype=np.int64),
        np.full(minutes.size, 100),
    )
    judged = app.changes.judge(change_id_, actor="ci")
    # contact-center preset (seed 000): a spent budget needs VP approval, no hard freeze
    assert (judged.decision, judged.effective, judged.exit_code) == (
        "approval_required",
        "approval_required",
        11,
    )
    assert app.changes.get(change_id_).change.decision == "approval_required"
    latest = app.gate.decisions()[0]
    assert (latest.actor, latest.details["change_id"]) == ("ci", change_id_)
    assert app.changes.judge(change_id_, actor="ci", record=False).decision == ("approval_required")


def test_scope_is_checked(app: App) -> None:
    with pytest.raises(InvalidRequestError, match="belongs to service 'billing'"):
        app.changes.submit(
            ChangeRequest(
                service="contact-center", title="x", submitted_by="o", slo_ids=["payments"]
            )
        )
    with pytest.raises(GateError, match="no SLO in scope"):
        app.changes.submit(ChangeRequest(service="nope", title="x", submitted_by="o"))
    with pytest.raises(InvalidRequestError, match="title"):
        app.changes.submit(ChangeRequest(service="billing", title=" ", submitted_by="o"))
    assert app.store.list_changes() == []


def test_a_segment_narrows_the_scope(app: App) -> None:
    judged = app.changes.submit(
        ChangeRequest(
            service="contact-center", title="x", submitted_by="o", segment={"queue": "sales"}
        )
    )
    assert [s["segment"] for s in judged.change.snapshot] == [{"queue": "sales"}]


def test_estimated_impact_defaults_by_risk_without_history(app: App) -> None:
    for risk in ("low", "medium", "high"):
        judged = app.changes.submit(
            ChangeRequest(service="contact-center", title=risk, submitted_by="olga", risk=risk)
        )
        assert judged.change.estimated_impact == DEFAULT_IMPACT[risk]
        assert judged.change.impact_basis["method"] == "default"


def test_estimated_impact_learns_from_past_changes(app: App) -> None:
    # Two earlier deploys of contact-center, 3 and 2 days ago. After the first, calls are
    # 2 % bad at a 90 % target (burn 0.2); after the second, the sales queue is 12 % bad
    # for 6 hours: 9,360 bad of 288,000 in the day, burn 0.325. A day of a 7-day window
    # at burn b spends b / 7 of the budget.
    now = app.clock()
    end = to_minute(now)
    [sales] = app.store.series_ids("answered", [(("queue", "sales"),)])
    minutes = np.arange(end - 2880, end - 2880 + 360, dtype=np.int64)
    app.store.write_counts(
        np.full(minutes.size, sales), minutes, np.full(minutes.size, 88), np.full(minutes.size, 100)
    )
    for days in (2, 3):
        app.records.add_annotation(
            AnnotationRequest(
                at=now - timedelta(days=days),
                kind="deploy",
                text="deploy",
                created_by="ci",
                service="contact-center",
            )
        )
    app.records.add_annotation(  # too recent: its 24 hours are not over
        AnnotationRequest(
            at=now - IMPACT_HORIZON / 2,
            kind="deploy",
            text="deploy",
            created_by="ci",
            service="contact-center",
        ),
    )
    app.records.add_annotation(  # another kind: a config change does not teach about features
        AnnotationRequest(
            at=now - timedelta(days=2, hours=1),
            kind="config",
            text="cfg",
            created_by="ci",
            service="contact-center",
        ),
    )
    judged = app.changes.submit(
        ChangeRequest(service="contact-center", title="x", submitted_by="olga")
    )
    basis = judged.change.impact_basis
    assert basis["method"] == "history" and basis["samples"] == 2
    assert judged.change.estimated_impact == pytest.approx((0.2 + 0.325) / 2 / 7)
    # A change scoped to the support queue did not see the sales incident.
    support = app.changes.submit(
        ChangeRequest(
            service="contact-center", title="y", submitted_by="olga", segment={"queue": "support"}
        )
    )
    assert support.change.estimated_impact == pytest.approx(0.2 / 7)


def test_annotations_are_validated_filtered_and_audited(app: App) -> None:
    now = app.clock()
    note = app.records.add_annotation(
        AnnotationRequest(
            at=now - timedelta(hours=1),
            kind="model",
            text="LLM v3",
            created_by="olga",
            slo="answered",
            segment={"queue": "sales"},
        )
    )
    assert note.service == "contact-center"
    app.records.add_annotation(
        AnnotationRequest(at=now, kind="incident", text="outage", created_by="olga")
    )
    assert [a.text for a in app.records.annotations(service="contact-center")] == [
        "LLM v3",
        "outage",
    ]
    assert [a.text for a in app.records.annotations(kinds=["model"])] == ["LLM v3"]
    assert [a.text for a in app.records.annotations(end=now)] == ["LLM v3"]
    assert [a.text for a in app.records.annotations(service="billing")] == ["outage"]
    with pytest.raises(NotFoundError, match=r"no SLO 'answerd'.*did you mean 'answered'"):
        app.records.add_annotation(
            AnnotationRequest(at=now, kind="deploy", text="x", created_by="o", slo="answerd")
        )
    with pytest.raises(NotFoundError, match="no service 'biling'"):
        app.records.add_annotation(
            AnnotationRequest(at=now, kind="deploy", text="x", created_by="o", service="biling")
        )
    with pytest.raises(InvalidRequestError, match="segment key 'tier'"):
        app.records.add_annotation(
            AnnotationRequest(
                at=now,
                kind="deploy",
                text="x",
                created_by="o",
                slo="answered",
                segment={"tier": "a"},
            )
        )
    assert actions(app, f"annotation:{note.id}") == ["annotation.add"]


def test_revoking_an_exclusion_twice_is_a_conflict(app: App) -> None:
    now = app.clock()
    exclusion = app.records.propose_exclusion(
        ExclusionProposal(
            slo="payments",
            start=now - timedelta(hours=2),
            end=now,
            category="maintenance",
            reason="window",
            proposed_by="olga",
        )
    )
    app.records.revoke_exclusion(exclusion.id, revoked_by="olga")
    with pytest.raises(ConflictError, match="already revoked"):
        app.records.revoke_exclusion(exclusion.id, revoked_by="olga")


def test_a_version_1_store_is_migrated(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path, isolation_level=None)
    for statement in schema.MIGRATIONS[0].statements():
        connection.execute(statement)
    connection.execute("PRAGMA user_version = 1")
    connection.close()
    with open_store(path) as store:
        assert store.schema_version == schema.LATEST_VERSION
        assert store.list_changes() == [] and store.list_annotations() == []


def test_gate_decisions_reference_one_stored_snapshot_per_scope_and_evaluation(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from errorbudget import gate

    encodes: list[int] = []
    encode_snapshot = gate.encode_snapshot

    def counting(rows):  # type: ignore[no-untyped-def]
        encodes.append(1)
        return encode_snapshot(rows)

    monkeypatch.setattr(gate, "encode_snapshot", counting)
    first = app.gate.decide(service="contact-center", actor="ci")
    app.gate.decide(service="contact-center", actor="ci")
    app.gate.decide(service="contact-center", actor="ci", risk="high")  # other scope, same rows
    assert len(encodes) == 2  # once per scope and evaluation
    entries = app.store.audit_log(action="gate.decision")
    assert len(entries) == 3
    assert {e.details["snapshot_id"] for e in entries} == {entries[0].details["snapshot_id"]}
    assert all("snapshot" not in e.details for e in entries)  # the entry stays small
    connection = app.store._connection
    assert connection is not None
    [(stored,)] = connection.execute("SELECT count(*) FROM gate_snapshots").fetchall()
    assert stored == 1
    [(longest,)] = connection.execute("SELECT max(length(details)) FROM audit_log").fetchall()
    assert longest < 400

    resolved = app.gate.decisions(service="contact-center")
    assert [e.details["snapshot"] for e in resolved] == [first.snapshot()] * 3
    assert first.snapshot()[0]["slo"] == "answered"

    # an entry written before snapshots were stored apart keeps its inline snapshot
    app.store.audit(actor="old", action="gate.decision", subject="ivr",
                    details={"decision": "blocked", "snapshot": [{"slo": "flows"}]})  # fmt: skip
    assert app.gate.decisions(service="ivr")[0].details["snapshot"] == [{"slo": "flows"}]


def test_a_snapshot_saved_in_a_rolled_back_transaction_is_not_referenced_later(
    app: App,
) -> None:

    with pytest.raises(RuntimeError), app.store.transaction():
        app.gate.decide(service="billing", actor="ci")
        raise RuntimeError("the caller's transaction fails")
    assert app.gate.decisions(service="billing") == []
    app.gate.decide(service="billing", actor="ci")
    [entry] = app.gate.decisions(service="billing")
    assert entry.details["snapshot"] and entry.details["snapshot"][0]["slo"] == "payments"


def test_a_version_2_store_keeps_its_inline_gate_snapshots(tmp_path, budget_world) -> None:  # type: ignore[no-untyped-def]
    """Decisions recorded before schema v3 carry their snapshot inline; after the
    migration they read as before, next to new ones that reference a stored snapshot."""
    import shutil
    import sqlite3

    config = tmp_path / "v2" / "errorbudget.yaml"
    config.parent.mkdir()
    shutil.copyfile(budget_world.config, config)
    connection = sqlite3.connect(config.parent / "budget.db", isolation_level=None)
    for migration in schema.MIGRATIONS[:2]:
        for statement in migration.statements():
            connection.execute(statement)
    connection.execute("PRAGMA user_version = 2")
    connection.execute(
        "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (?, ?, ?, ?, ?)",
        ("2026-11-01T00:00:00+00:00", "ci", "gate.decision", "ivr",
         '{"decision": "blocked", "snapshot": [{"slo": "flows", "state": "exhausted"}]}'),
    )  # fmt: skip
    connection.close()
    with App.open(config, clock=lambda: budget_world.at) as app:
        assert app.store.schema_version == schema.LATEST_VERSION
        [old] = app.gate.decisions(service="ivr")
        assert old.details["snapshot"] == [{"slo": "flows", "state": "exhausted"}]

        app.gate.decide(service="ivr", actor="ci")
        new, _ = app.gate.decisions(service="ivr")
        assert "snapshot_id" in new.details
        # this store has no counts: nothing to judge the budget on
        assert new.details["snapshot"][0]["state"] == "insufficient_data"
