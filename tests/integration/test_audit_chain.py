"""Issue #8, point 8: a tamper-evident record. Triggers stop a plain UPDATE or DELETE; the
hash chain catches what gets past them — a trigger dropped, a row edited, the trigger put
back; a forged INSERT; a snapshot edited; a row deleted; entries reordered — names the
first broken entry (``errorbudget audit verify``, exit 5), and a forged approval is never
honoured by the gate."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI

from errorbudget.changes import ChangeRequest
from errorbudget.cli.main import main
from errorbudget.errors import IntegrityError
from errorbudget.exclusions import ExclusionProposal
from errorbudget.store import open_store
from errorbudget.store.shared import chain
from errorbudget.store.sqlite import schema
from errorbudget.web import api

pytestmark = pytest.mark.anyio

OLGA = {"Authorization": "Bearer operator-token-0001"}
VERA = {"Authorization": "Bearer approver-token-0001"}
ADA = {"Authorization": "Bearer admin-token-0000001"}
V1 = api.PREFIX


@pytest.fixture
def world(budget_world):  # type: ignore[no-untyped-def]
    """The seeded world with its config's clock held at its instant (for the CLI), change 1
    on billing (freeze: approval required) submitted by olga and judged."""
    text = budget_world.config.read_text()
    budget_world.config.write_text(f"clock: {{simulated_start: '{budget_world.at}'}}\n{text}")
    with budget_world.open() as app:
        app.changes.submit(ChangeRequest(service="billing", title="PSP v2", submitted_by="olga"))
    return budget_world


def db(world: Any) -> Path:
    return Path(world.config).parent / "budget.db"


def tamper(path: Path, statements: Sequence[tuple[str, tuple[Any, ...]]], triggers=()) -> None:  # type: ignore[no-untyped-def]
    """What someone with the file does: drop the triggers in the way, run ``statements``,
    put the triggers back as they were."""
    connection = sqlite3.connect(path, isolation_level=None)
    saved = [
        connection.execute(
            "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = ?", (name,)
        ).fetchone()[0]
        for name in triggers
    ]
    for name in triggers:
        connection.execute(f"DROP TRIGGER {name}")
    for sql, parameters in statements:
        connection.execute(sql, parameters)
    for sql in saved:
        connection.execute(sql)
    connection.close()


def verify(world: Any) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", "verify", "-c", str(world.config)])
    return result.exit_code, result.output


def gate_change(world: Any, change_id: int = 1) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["gate", "-c", str(world.config), "--change", str(change_id)])
    return result.exit_code, result.output


def test_an_untouched_store_verifies(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.changes.review_change(
            1, decision="approve", approver="vera", role="approver", comment="ok"
        )
        app.gate.decide(service="billing", actor="ci")
        proposed = app.records.propose_exclusion(
            ExclusionProposal(
                slo="payments",
                start=world.at.replace(hour=1),
                end=world.at.replace(hour=2),
                category="maintenance",
                reason="window",
                proposed_by="olga",
            )
        )
        app.records.review_exclusion(
            proposed.id, decision="approve", reviewer="vera", role="approver"
        )
        app.changes.ship_change(1, actor="olga")
        report = app.store.verify_chain()
    assert report.ok, report.problems
    assert report.records == {
        "changes": 1, "approvals": 1, "exclusions": 1, "gate_snapshots": 1, "annotations": 1,
    }  # fmt: skip
    code, output = verify(world)
    assert code == 0 and output.startswith("audit chain verified: ")
    assert f"head: {report.head_id}:{report.head_hash}" in output


def test_an_entry_edited_behind_dropped_triggers_is_named(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.changes.review_change(1, decision="approve", approver="vera", role="approver")
        [approval] = app.store.audit_log(action="change.approve")
    tamper(
        db(world),
        [("UPDATE audit_log SET actor = 'mallory' WHERE id = ?", (approval.id,))],
        triggers=["audit_log_no_update"],
    )
    code, output = verify(world)
    assert code == 5
    assert (
        f"first broken: audit_log {approval.id}: does not match its hash (changed after it "
        "was written)"
    ) in output
    # the change's latest entry is broken: nothing it records is honoured
    code, output = gate_change(world)
    assert code == 5 and "change 1's record fails verification" in output


def test_a_forged_approval_insert_is_not_honoured(world) -> None:  # type: ignore[no-untyped-def]
    code, _ = gate_change(world)
    assert code == 11  # waiting for an approver
    tamper(
        db(world),
        [
            (
                "INSERT INTO approvals (change_id, approver, role, decision, comment, at) "
                "VALUES (1, 'vera', 'approver', 'approve', 'lgtm', ?)",
                (world.at.isoformat(),),
            )
        ],
    )
    code, output = gate_change(world)
    assert code == 5
    assert "error: change 1's record fails verification, so it is not honoured" in output
    assert "approval 1 is not in the audit chain (written outside errorbudget)" in output
    with world.open() as app:
        judged = app.changes.get(1)  # listing still answers: blocked, saying why
        assert (judged.effective, judged.approved) == ("blocked", False)
        assert "fails verification" in judged.reasons[0]
        with pytest.raises(IntegrityError, match="approval 1 is not in the audit chain"):
            app.changes.ship_change(1, actor="olga")
        with pytest.raises(IntegrityError):
            app.changes.review_change(1, decision="approve", approver="ada", role="admin")
        assert app.changes.get(1).change.status == "pending"
    code, output = verify(world)
    assert code == 5
    assert (
        "first broken: approvals 1: is not in the audit chain (inserted outside errorbudget)"
        in (output)
    )


async def test_the_api_refuses_a_change_with_a_forged_approval(world) -> None:  # type: ignore[no-untyped-def]
    tamper(
        db(world),
        [
            ("INSERT INTO approvals (change_id, approver, role, decision, comment, at) "
             "VALUES (1, 'vera', 'approver', 'approve', '', ?)", (world.at.isoformat(),)),
            ("UPDATE changes SET status = 'approved', status_by = 'vera' WHERE id = 1", ()),
        ],
    )  # fmt: skip
    with world.open() as app:
        web = FastAPI()
        web.state.eb = app
        api.register(web)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            listed = (await http.get(f"{V1}/changes/1", headers=OLGA)).json()
            assert (listed["effective"], listed["approved"]) == ("blocked", False)
            assert listed["integrity"][0].startswith("change 1 differs from what audit entry")
            shipped = await http.post(f"{V1}/changes/1/ship", headers=OLGA)
            assert shipped.status_code == 409
            assert "fails verification, so it is not honoured" in shipped.json()["detail"]
            assert "errorbudget audit verify" in shipped.json()["detail"]
            gate = await http.get(f"{V1}/changes/1/gate", headers=OLGA)
            assert gate.status_code == 409
        assert app.store.list_changes()[0].status == "approved"  # as forged: not shipped
        assert app.store.audit_log(action="change.ship") == []


def test_an_edited_approval_row_is_named(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.changes.review_change(
            1, decision="reject", approver="vera", role="approver", comment="not in the freeze"
        )
    # the rejection turned into an approval, and the change's status with it
    tamper(
        db(world),
        [
            ("UPDATE approvals SET decision = 'approve' WHERE id = 1", ()),
            ("UPDATE changes SET status = 'approved' WHERE id = 1", ()),
        ],
        triggers=["approvals_no_update"],
    )
    code, output = verify(world)
    assert code == 5
    assert "first broken: changes 1: differs from what audit entry" in output
    assert "then: approvals 1: differs from what audit entry" in output
    code, output = gate_change(world)
    assert code == 5


def test_an_edited_snapshot_is_detected_when_read_and_by_verify(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        result = app.gate.decide(service="ivr", actor="ci")
        [entry] = app.gate.decisions(service="ivr")
        snapshot_id = entry.details["snapshot_id"]
        assert entry.details["snapshot"] == json.loads(json.dumps(result.snapshot()))
    edited = json.dumps([{**result.snapshot()[0], "state": "healthy", "decision": "allow"}])
    tamper(
        db(world),
        [("UPDATE gate_snapshots SET body = ? WHERE id = ?", (edited, snapshot_id))],
        triggers=["gate_snapshots_no_update"],
    )
    with world.open() as app:
        [entry] = app.gate.decisions(service="ivr")
        assert entry.details["snapshot"] is None
        assert "does not match its SHA-256" in str(entry.details["snapshot_problem"])
    code, output = verify(world)
    assert code == 5 and f"first broken: gate_snapshots {snapshot_id}: differs from" in output
    assert f"gate_snapshots {snapshot_id}: its body does not match its SHA-256" in output

    # edited with a matching SHA-256: the decision recorded another one
    import hashlib

    tamper(
        db(world),
        [
            ("UPDATE gate_snapshots SET sha256 = ? WHERE id = ?",
             (hashlib.sha256(edited.encode()).hexdigest(), snapshot_id)),
        ],
        triggers=["gate_snapshots_no_update"],
    )  # fmt: skip
    with world.open() as app:
        [entry] = app.gate.decisions(service="ivr")
        assert entry.details["snapshot"] is None
        assert "is not the one the decision recorded" in str(entry.details["snapshot_problem"])
    code, output = verify(world)
    assert (
        code == 5
        and "its gate snapshot" in output
        and "is not the one it was decided on" in (output)
    )


def test_deleted_rows_are_detected(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.changes.review_change(1, decision="approve", approver="vera", role="approver")
        app.gate.decide(service="billing", actor="ci")
        app.gate.decide(service="ivr", actor="ci")
        [middle, _] = app.store.audit_log(action="gate.decision", limit=2)[::-1]
    tamper(
        db(world), [("DELETE FROM approvals WHERE id = 1", ())], triggers=["approvals_no_delete"]
    )
    code, output = verify(world)
    assert code == 5
    assert "first broken: approvals 1: audit entry" in output and "missing (deleted)" in output
    with world.open() as app:
        assert any("missing (deleted" in p for p in app.store.change_problems(1))

    tamper(
        db(world),
        [("DELETE FROM audit_log WHERE id = ?", (middle.id,))],
        triggers=["audit_log_no_delete"],
    )
    code, output = verify(world)
    assert code == 5
    assert f"first broken: audit_log {middle.id + 1}: does not follow the entry before it" in output


def test_reordered_entries_are_detected(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.gate.decide(service="billing", actor="ci")
        app.gate.decide(service="ivr", actor="ci")
        second, first = app.store.audit_log(action="gate.decision", limit=2)
    columns = "at, actor, action, subject, details, records, prev_hash, hash"
    connection = sqlite3.connect(db(world))
    rows = {
        i: connection.execute(f"SELECT {columns} FROM audit_log WHERE id = ?", (i,)).fetchone()
        for i in (first.id, second.id)
    }
    connection.close()
    marks = ", ".join(f"{c} = ?" for c in columns.split(", "))
    swap = [
        (f"UPDATE audit_log SET {marks} WHERE id = ?", (*rows[second.id], first.id)),
        (f"UPDATE audit_log SET {marks} WHERE id = ?", (*rows[first.id], second.id)),
    ]
    tamper(db(world), swap, triggers=["audit_log_no_update"])
    code, output = verify(world)
    assert code == 5 and f"first broken: audit_log {first.id}: does not match its hash" in output


def test_an_exclusion_edited_into_approved_never_counts(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        proposed = app.records.propose_exclusion(
            ExclusionProposal(slo="flows", start=world.at.replace(day=13), end=world.at,
            category="exceptional-incident", reason="the whole week", proposed_by="olga")
        )  # fmt: skip
        assert app.gate.decide(service="ivr", actor="ci", record=False).decision == "blocked"
    tamper(
        db(world),
        [("UPDATE exclusions SET status = 'approved', approved_by = 'vp' WHERE id = ?",
          (proposed.id,))],
    )  # fmt: skip
    with world.open() as app:
        [found] = app.store.list_exclusions()
        assert found.status == "approved" and not found.counted
        assert "differs from what audit entry" in str(found.problem)
        [flows] = app.evaluations.status(slo_ids=["flows"])
        assert flows.excluded == 0 and flows.state == "exhausted"
        assert app.gate.decide(service="ivr", actor="ci", record=False).decision == "blocked"
        with pytest.raises(IntegrityError, match="cannot be reviewed or revoked"):
            app.records.revoke_exclusion(proposed.id, revoked_by="otto")
    code, output = verify(world)
    assert code == 5 and f"first broken: exclusions {proposed.id}: differs from" in output


def test_a_revoked_exclusion_restored_behind_the_index_never_counts(world) -> None:  # type: ignore[no-untyped-def]
    """The ``audit_records`` index is outside the chain: deleting the index rows of the
    revoke entry and restoring the row as the approval bound it made the approval look like
    the latest binding, so the exclusion counted again and the gate said allow."""
    with world.open() as app:
        proposed = app.records.propose_exclusion(
            ExclusionProposal(slo="flows", start=world.at.replace(day=13), end=world.at,
            category="exceptional-incident", reason="the whole week", proposed_by="olga")
        )  # fmt: skip
        approved = app.records.review_exclusion(
            proposed.id, decision="approve", reviewer="vera", role="approver"
        )
        assert app.gate.decide(service="ivr", actor="ci", record=False).decision != "blocked"
        app.records.revoke_exclusion(proposed.id, revoked_by="otto")
        assert app.gate.decide(service="ivr", actor="ci", record=False).decision == "blocked"
        [revoke] = [e for e in app.store.audit_log() if e.action == "exclusion.revoke"]
    tamper(
        db(world),
        [
            ("UPDATE exclusions SET status = 'approved', revoked_at = NULL, revoked_by = NULL, "
             "revoke_reason = NULL WHERE id = ?", (proposed.id,)),
            ("DELETE FROM audit_records WHERE audit_id = ?", (revoke.id,)),
        ],
        triggers=["audit_records_no_delete"],
    )  # fmt: skip
    with world.open() as app:
        [found] = app.store.list_exclusions()
        assert found.status == approved.status and found.revoked_at is None  # as approved
        assert not found.counted
        assert f"differs from what audit entry {revoke.id} recorded" in str(found.problem)
        assert app.gate.decide(service="ivr", actor="ci", record=False).decision == "blocked"
    code, _ = verify(world)
    assert code == 5


def test_a_rewritten_chain_is_caught_by_an_anchor_kept_elsewhere(world) -> None:  # type: ignore[no-untyped-def]
    """Someone who rewrites every hash after an edit leaves a chain that verifies by itself
    (a hash chain has no secret); the head printed earlier and kept elsewhere catches it."""
    with world.open() as app:
        app.gate.decide(service="ivr", actor="ci")
        head = app.store.verify_chain()
    anchor = f"{head.head_id}:{head.head_hash}"
    connection = sqlite3.connect(db(world), isolation_level=None)
    connection.execute("DROP TRIGGER audit_log_no_update")
    connection.execute('UPDATE audit_log SET details = \'{"decision": "allow"}\' WHERE id = 2')
    previous = chain.GENESIS
    for row in connection.execute(
        "SELECT id, at, actor, action, subject, details, records FROM audit_log ORDER BY id"
    ).fetchall():
        digest = chain.entry_hash(*row, previous)
        connection.execute(
            "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE id = ?", (previous, digest, row[0])
        )
        previous = digest
    connection.close()
    assert verify(world)[0] == 0  # the limit of a chain without a secret: see operations.md
    result = CliRunner().invoke(
        main, ["audit", "verify", "-c", str(world.config), "--anchor", anchor]
    )
    assert result.exit_code == 5
    assert f"first broken: audit_log {head.head_id}: its hash is" in result.output
    assert "history up to it was rewritten" in result.output
    bad = CliRunner().invoke(main, ["audit", "verify", "-c", str(world.config), "--anchor", "x"])
    assert bad.exit_code == 2 and "ENTRY_ID:HASH" in bad.output


def test_a_version_4_store_is_chained_at_migration(tmp_path: Path) -> None:
    """Rows written before v5 are bound by chain.start entries, old entries get their
    hashes; the chain then vouches for them as they were at migration."""
    path = tmp_path / "v4.db"
    connection = sqlite3.connect(path, isolation_level=None)
    for migration in schema.MIGRATIONS[:4]:
        for statement in migration.statements():
            connection.execute(statement)
    connection.execute("PRAGMA user_version = 4")
    at = "2026-11-01T00:00:00+00:00"
    connection.execute(
        "INSERT INTO changes (service, change_type, risk, title, submitted_by, submitted_at, "
        "status, status_by, status_at, estimated_impact, decision, decision_at) VALUES "
        "('billing', 'feature', 'medium', 'old', 'olga', ?, 'approved', 'vera', ?, 0.02, "
        "'approval_required', ?)",
        (at, at, at),
    )
    connection.execute(
        "INSERT INTO approvals (change_id, approver, role, decision, at) "
        "VALUES (1, 'vera', 'approver', 'approve', ?)",
        (at,),
    )
    connection.execute(
        "INSERT INTO gate_snapshots (sha256, created_at, body) VALUES (?, ?, '[]')",
        ("4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945", at),
    )
    for action in ("change.submit", "change.approve"):
        connection.execute(
            "INSERT INTO audit_log (at, actor, action, subject, details) "
            "VALUES (?, 'olga', ?, 'change:1', '{}')",
            (at, action),
        )
    connection.close()
    with open_store(path) as store:
        assert store.schema_version == schema.LATEST_VERSION
        report = store.verify_chain()
        assert report.ok, report.problems
        assert report.records["changes"] == 1 and report.records["approvals"] == 1
        starts = store.audit_log(action="chain.start")
        assert sorted(e.subject for e in starts) == ["approvals", "changes", "gate_snapshots"]
        old = store.audit_log(action="change.submit")[0]
        assert old.prev_hash == chain.GENESIS and old.hash is not None
        assert store.change_problems(1) == []  # the migrated approval is bound
    tamper(
        path, [("UPDATE approvals SET approver = 'mallory'", ())], triggers=["approvals_no_update"]
    )
    with open_store(path) as store:
        assert str(store.verify_chain().first).startswith("approvals 1: differs from")
        assert store.change_problems(1)


# --- reading the audit log ---------------------------------------------------------------------


async def test_the_audit_log_through_the_api_filters_pages_and_says_it_verifies(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        for _ in range(3):
            app.gate.decide(service="billing", actor="ci")
        app.changes.review_change(1, decision="approve", approver="vera", role="approver")
        web = FastAPI()
        web.state.eb = app
        api.register(web)
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            page = (await http.get(f"{V1}/audit?actor=ci&limit=2", headers=OLGA)).json()
            assert [e["action"] for e in page["entries"]] == ["gate.decision"] * 2
            assert page["chain"] | {"head_hash": None} == {
                "scope": "listed", "verified": True, "checked_entries": 2, "problems": [],
                "head_id": page["chain"]["head_id"], "head_hash": None, "seconds": None,
            }  # fmt: skip
            assert all(e["verified"] and e["hash"] for e in page["entries"])
            older = (
                await http.get(f"{V1}/audit?actor=ci&limit=2&before={page['next_before']}",
                               headers=OLGA)
            ).json()  # fmt: skip
            assert len(older["entries"]) == 1 and older["next_before"] is None
            approvals = (await http.get(f"{V1}/audit?action=change.*", headers=OLGA)).json()
            assert [e["action"] for e in approvals["entries"]] == [
                "change.approve",
                "change.submit",
            ]
            assert approvals["entries"][0]["records"][0][:2] == ["approvals", 1]
            # a full check reads the whole store: an admin's call, not every reader's
            refused = await http.get(f"{V1}/audit?subject=change:1&verify=full", headers=OLGA)
            assert refused.status_code == 403 and "needs the admin role" in refused.text
            subject = (
                await http.get(f"{V1}/audit?subject=change:1&verify=full", headers=ADA)
            ).json()
            assert subject["chain"]["scope"] == "full" and subject["chain"]["verified"]
            window = (await http.get(f"{V1}/audit?since=2030-01-01T00:00:00Z", headers=OLGA)).json()
            assert window["entries"] == []
            too_many = await http.get(f"{V1}/audit?limit=1001", headers=OLGA)
            assert too_many.status_code == 422
            backwards = await http.get(
                f"{V1}/audit?since=2026-11-20T00:00:00Z&until=2026-11-19T00:00:00Z", headers=OLGA
            )
            assert backwards.status_code == 422 and "until must be after since" in backwards.text
            [approve] = approvals["entries"][:1]
        tamper(
            db(world),
            [("UPDATE audit_log SET actor = 'mallory' WHERE id = ?", (approve["id"],))],
            triggers=["audit_log_no_update"],
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            broken = (await http.get(f"{V1}/audit?action=change.*", headers=VERA)).json()
            assert broken["chain"]["verified"] is False
            assert broken["entries"][0]["verified"] is False
            assert "does not match its hash" in broken["entries"][0]["problem"]
            full = (await http.get(f"{V1}/audit?verify=full&limit=1", headers=ADA)).json()
            assert full["chain"]["problems"][0].startswith(f"audit_log {approve['id']}: ")


def test_the_audit_log_through_the_cli(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.changes.review_change(1, decision="approve", approver="vera", role="approver")
    runner = CliRunner()
    config = ["-c", str(world.config)]
    table = runner.invoke(main, ["audit", "log", *config, "--action", "change.*"])
    assert table.exit_code == 0, table.output
    assert "change.approve" in table.output and "vera" in table.output
    assert "chain verified over the 2 listed entries; head " in table.output
    found = runner.invoke(
        main, ["audit", "log", *config, "--actor", "olga", "--format", "json", "--verify", "full"]
    )
    body = json.loads(found.output)
    assert {e["actor"] for e in body["entries"]} == {"olga"}
    assert body["chain"]["scope"] == "full" and body["chain"]["verified"]
    paged = runner.invoke(main, ["audit", "log", *config, "--limit", "1"])
    assert "older entries: --before" in paged.output
    tamper(
        db(world), [("UPDATE audit_log SET subject = 'x' WHERE id = 1", ())],
        triggers=["audit_log_no_update"],
    )  # fmt: skip
    broken = runner.invoke(main, ["audit", "log", *config, "--subject", "x"])
    assert broken.exit_code == 5
    assert "chain BROKEN over the 1 listed entries: first: audit entry 1 does not match" in (
        broken.output
    )
