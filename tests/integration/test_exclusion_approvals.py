"""Issue #8, point 6: the gated role cannot lift the gate. An operator's exclusion over the
whole window is a proposal — pending, counted in no budget — until someone else with the
approver role approves it through the API; nobody types an approver's name. Exclusions
from before schema v5 stay in force, marked legacy with the name that was typed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from errorbudget.app import App
from errorbudget.errors import PermissionDeniedError
from errorbudget.exclusions import ExclusionProposal
from errorbudget.store import open_store
from errorbudget.store.sqlite import schema
from errorbudget.web import api

pytestmark = pytest.mark.anyio

OLGA = {"Authorization": "Bearer operator-token-0001"}
OTTO = {"Authorization": "Bearer operator-token-0002"}
VERA = {"Authorization": "Bearer approver-token-0001"}
ADA = {"Authorization": "Bearer admin-token-0000001"}
V1 = api.PREFIX
WHOLE_WINDOW = {
    "slo": "flows",
    "start": "2026-11-13T12:00:00Z",
    "end": "2026-11-20T12:00:00Z",
    "category": "exceptional-incident",
    "reason": "the whole week was one incident",
}


def ivr_gate(app: App) -> str:
    return app.gate.decide(service="ivr", actor="ci", record=False).decision


async def test_an_operator_cannot_lift_the_gate_with_an_exclusion(
    app: App, client: httpx.AsyncClient
) -> None:
    assert ivr_gate(app) == "blocked"  # ivr is exhausted (voice-agent preset)

    # No approver field: naming one is refused, naming the field.
    forged = await client.post(
        f"{V1}/exclusions", json={**WHOLE_WINDOW, "approved_by": "vp-ops"}, headers=OLGA
    )
    assert forged.status_code == 422
    assert forged.json()["detail"][0]["loc"] == ["body", "approved_by"]

    proposed = await client.post(f"{V1}/exclusions", json=WHOLE_WINDOW, headers=OLGA)
    assert proposed.status_code == 201
    body = proposed.json()
    assert (body["status"], body["counted"], body["proposed_by"], body["approved_by"]) == (
        "pending", False, "olga", None,
    )  # fmt: skip
    assert ivr_gate(app) == "blocked"  # a proposal changes no budget
    [flows] = app.evaluations.status(slo_ids=["flows"])
    assert flows.excluded == 0 and flows.state == "exhausted"

    # Neither the proposer nor another operator may approve it.
    own = await client.post(f"{V1}/exclusions/{body['id']}/approve", headers=OLGA)
    assert own.status_code == 403 and "approver role" in own.json()["detail"]
    other = await client.post(f"{V1}/exclusions/{body['id']}/approve", headers=OTTO)
    assert other.status_code == 403
    assert ivr_gate(app) == "blocked"

    # An approver does: from then on it counts, and the record names who did what.
    approved = await client.post(
        f"{V1}/exclusions/{body['id']}/approve", json={"comment": "INC-9 confirmed"}, headers=VERA
    )
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["approved_by"]) == ("approved", "vera")
    assert approved.json()["reviewer_role"] == "approver" and approved.json()["counted"]
    [flows] = app.evaluations.status(slo_ids=["flows"])
    assert flows.state == "no_data" and flows.excluded == flows.raw_total
    assert ivr_gate(app) == "allow"
    trail = [
        (e.actor, e.action)
        for e in reversed(app.store.audit_log(subject=f"exclusion:{body['id']}"))
    ]
    assert trail == [("olga", "exclusion.propose"), ("vera", "exclusion.approve")]

    # Approving twice is a conflict; revoking it puts the budget back.
    again = await client.post(f"{V1}/exclusions/{body['id']}/approve", headers=ADA)
    assert again.status_code == 409
    revoked = await client.post(f"{V1}/exclusions/{body['id']}/revoke", headers=OTTO)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    assert ivr_gate(app) == "blocked"


async def test_a_rejected_exclusion_never_counts(app: App, client: httpx.AsyncClient) -> None:
    proposed = (await client.post(f"{V1}/exclusions", json=WHOLE_WINDOW, headers=OLGA)).json()
    rejected = await client.post(
        f"{V1}/exclusions/{proposed['id']}/reject", json={"comment": "not one incident"},
        headers=VERA,
    )  # fmt: skip
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["reviewed_by"]) == ("rejected", "vera")
    assert rejected.json()["approved_by"] is None and not rejected.json()["counted"]
    assert ivr_gate(app) == "blocked"
    late = await client.post(f"{V1}/exclusions/{proposed['id']}/approve", headers=ADA)
    assert late.status_code == 409 and "is rejected" in late.json()["detail"]
    listed = (await client.get(f"{V1}/exclusions", headers=OLGA)).json()
    assert listed == []  # pending and approved ones by default
    everything = (await client.get(f"{V1}/exclusions?include_revoked=true", headers=OLGA)).json()
    assert [e["status"] for e in everything] == ["rejected"]
    by_status = (await client.get(f"{V1}/exclusions?status=rejected", headers=OLGA)).json()
    assert [e["id"] for e in by_status] == [proposed["id"]]


def test_the_rules_refuse_a_role_below_approver_and_the_proposer(app: App) -> None:
    proposed = app.records.propose_exclusion(
        ExclusionProposal(
            slo="flows",
            start=app.clock().replace(hour=1),
            end=app.clock().replace(hour=2),
            category="maintenance",
            reason="window",
            proposed_by="ada",
        )
    )
    with pytest.raises(PermissionDeniedError, match="needs the approver role"):
        app.records.review_exclusion(
            proposed.id, decision="approve", reviewer="otto", role="operator"
        )
    with pytest.raises(PermissionDeniedError, match="nobody may approve their own exclusion"):
        app.records.review_exclusion(proposed.id, decision="approve", reviewer="ada", role="admin")
    assert app.records.review_exclusion(
        proposed.id, decision="approve", reviewer="vera", role="approver"
    ).counted


def test_exclusions_from_before_v5_stay_in_force_marked_legacy(tmp_path: Path) -> None:
    """A v4 store: one exclusion with a typed approver, one revoked, one with none. After
    the migration the in-force ones still count (budgets do not move on upgrade), each
    says it is legacy and what was typed; an approver can confirm one."""
    path = tmp_path / "v4.db"
    connection = sqlite3.connect(path, isolation_level=None)
    for migration in schema.MIGRATIONS[:4]:
        for statement in migration.statements():
            connection.execute(statement)
    connection.execute("PRAGMA user_version = 4")
    insert = (
        "INSERT INTO exclusions (slo, segment, start_minute, end_minute, category, reason, "
        "created_by, created_at, approved_by, revoked_at, revoked_by) "
        "VALUES ('flows', '{}', 10, 20, 'maintenance', ?, 'olga', '2026-11-01T00:00:00+00:00', "
        "?, ?, ?)"
    )
    connection.execute(insert, ("typed", "vp-ops", None, None))
    connection.execute(insert, ("revoked", "vp-ops", "2026-11-02T00:00:00+00:00", "otto"))
    connection.execute(insert, ("no approver", None, None, None))
    connection.close()

    with open_store(path) as store:
        typed, revoked, bare = store.list_exclusions(include_revoked=True)
        assert (typed.status, typed.legacy, typed.legacy_approver, typed.approved_by) == (
            "approved", True, "vp-ops", None,
        )  # fmt: skip
        assert typed.counted and bare.counted and bare.legacy_approver == ""
        assert (revoked.status, revoked.counted) == ("revoked", False)
        assert [e.action for e in store.audit_log(action="exclusion.legacy")] == [
            "exclusion.legacy"
        ] * 3
        assert store.verify_chain().ok
        confirmed = store.review_exclusion(
            typed.id, reviewer="vera", role="approver", decision="approve"
        )
        assert (confirmed.approved_by, confirmed.legacy, confirmed.legacy_approver) == (
            "vera", False, "vp-ops",
        )  # fmt: skip
        assert store.verify_chain().ok
