"""The change-approval flow over HTTP: an operator submits while the budget is low, the
submitter cannot approve it, an approver can, and the gate's answer follows."""

from __future__ import annotations

import httpx
import pytest

from errorbudget.web import api

pytestmark = pytest.mark.anyio

OLGA = {"Authorization": "Bearer operator-token-0001"}
VERA = {"Authorization": "Bearer approver-token-0001"}
ADA = {"Authorization": "Bearer admin-token-0000001"}
VIC = {"Authorization": "Bearer viewer-token-000001"}
V1 = api.PREFIX


async def test_a_low_budget_change_waits_for_an_approver(client: httpx.AsyncClient) -> None:
    submitted = await client.post(
        f"{V1}/changes",
        json={
            "service": "billing",
            "title": "Switch payment provider",
            "change_type": "config",
            "risk": "high",
            "description": "PSP v2 behind a flag",
        },
        headers=OLGA,
    )
    assert submitted.status_code == 201
    change = submitted.json()
    assert change["status"] == "pending" and change["submitted_by"] == "olga"
    assert (change["decision"], change["needs"], change["effective"]) == (
        "approval_required",
        "approver",
        "approval_required",
    )
    assert change["exit_code"] == 11 and not change["approved"]
    assert change["estimated_impact"] == 0.05  # high risk, no history
    assert change["snapshot"][0]["state"] == "freeze"
    change_id = change["id"]

    # The submitter may not approve, nor may an operator; nothing changes.
    not_own = await client.post(f"{V1}/changes/{change_id}/approve", headers=OLGA)
    assert not_own.status_code == 403
    gate = (await client.get(f"{V1}/changes/{change_id}/gate", headers=VIC)).json()
    assert (gate["effective"], gate["exit_code"]) == ("approval_required", 11)
    early = await client.post(f"{V1}/changes/{change_id}/ship", headers=OLGA)
    assert early.status_code == 409 and "approval required" in early.json()["detail"]

    approved = await client.post(
        f"{V1}/changes/{change_id}/approve", json={"comment": "VP ok, watch it"}, headers=VERA
    )
    assert approved.status_code == 200
    body = approved.json()
    assert (body["status"], body["approved"], body["effective"], body["exit_code"]) == (
        "approved",
        True,
        "allow",
        0,
    )
    assert body["approvals"][0] | {"id": 0, "at": ""} == {
        "id": 0,
        "change_id": change_id,
        "approver": "vera",
        "role": "approver",
        "decision": "approve",
        "comment": "VP ok, watch it",
        "at": "",
    }
    gate = (await client.get(f"{V1}/changes/{change_id}/gate", headers=VIC)).json()
    assert (gate["effective"], gate["exit_code"]) == ("allow", 0)

    shipped = await client.post(f"{V1}/changes/{change_id}/ship", headers=OLGA)
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped"
    notes = (await client.get(f"{V1}/annotations?service=billing", headers=VIC)).json()
    assert [(n["kind"], n["change_id"]) for n in notes] == [("config", change_id)]


async def test_an_approver_cannot_approve_their_own_change(client: httpx.AsyncClient) -> None:
    change = (
        await client.post(f"{V1}/changes", json={"service": "billing", "title": "x"}, headers=VERA)
    ).json()
    own = await client.post(f"{V1}/changes/{change['id']}/approve", headers=VERA)
    assert own.status_code == 403
    assert own.json()["detail"] == (
        f"nobody may approve their own change: vera submitted change {change['id']}"
    )
    by_admin = await client.post(f"{V1}/changes/{change['id']}/approve", headers=ADA)
    assert by_admin.json()["effective"] == "allow"


async def test_rejection_blocks_and_lists_filter_by_status(client: httpx.AsyncClient) -> None:
    for title in ("a", "b"):
        await client.post(
            f"{V1}/changes", json={"service": "billing", "title": title}, headers=OLGA
        )
    rejected = await client.post(
        f"{V1}/changes/1/reject", json={"comment": "not during the freeze"}, headers=VERA
    )
    assert (rejected.json()["effective"], rejected.json()["exit_code"]) == ("blocked", 12)
    pending = (await client.get(f"{V1}/changes?status=pending", headers=VIC)).json()
    assert [c["title"] for c in pending] == ["b"]
    every = (await client.get(f"{V1}/changes?service=billing", headers=VIC)).json()
    assert [c["title"] for c in every] == ["b", "a"]  # newest first


async def test_gate_decisions_are_recorded_and_listed(client: httpx.AsyncClient) -> None:
    decided = await client.post(
        f"{V1}/gate/decide",
        json={"service": "contact-center", "segment": {"queue": "sales"}, "risk": "low"},
        headers=OLGA,
    )
    body = decided.json()
    assert (body["decision"], body["exit_code"], body["audit_id"] > 0) == ("allow", 0, True)
    assert [v["segment"] for v in body["snapshot"]] == [{"queue": "sales"}]
    await client.post(f"{V1}/changes", json={"service": "ivr", "title": "flow"}, headers=OLGA)
    records = (await client.get(f"{V1}/gate/decisions", headers=VIC)).json()
    assert [(r["service"], r["decision"], r["change_id"], r["actor"]) for r in records] == [
        ("ivr", "blocked", 1, "olga"),
        ("contact-center", "allow", None, "olga"),
    ]
    only = (await client.get(f"{V1}/gate/decisions?service=ivr", headers=VIC)).json()
    assert len(only) == 1 and only[0]["details"]["snapshot"][0]["state"] == "exhausted"
