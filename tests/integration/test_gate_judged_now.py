"""Issue #8, point 1: the gate is always judged now, at the App's clock. A caller may date a
shipped record within the past 24 hours, never choose the instant a gate is judged at:
``{"at": "2026-01-01T00:00:00Z"}`` (no data then, so the gate would allow) or a date in 2030
is a 422, the stored decision stays, and nothing ships. ``gate --at`` is a what-if that is
labelled as such and never recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.changes import SHIP_BACKDATE, ChangeRequest
from errorbudget.cli.main import main
from errorbudget.errors import GateError
from errorbudget.web import api

pytestmark = pytest.mark.anyio

OLGA = {"Authorization": "Bearer operator-token-0001"}
V1 = api.PREFIX


@pytest.fixture
def app(budget_world):  # type: ignore[no-untyped-def]
    """Change 1: billing (freeze: approval required, pending); change 2: contact-center
    (healthy: allowed). Both submitted by olga three hours before the world's instant,
    which is "now" for the rest of the test."""
    now = [budget_world.at - timedelta(hours=3)]
    with App.open(budget_world.config, clock=lambda: now[0]) as opened:
        opened.changes.submit(ChangeRequest(service="billing", title="PSP v2", submitted_by="olga"))
        opened.changes.submit(
            ChangeRequest(service="contact-center", title="greeting", submitted_by="olga")
        )
        now[0] = budget_world.at
        yield opened


def decisions(app: App) -> int:
    return len(app.store.audit_log(action="gate.decision", limit=10_000))


@pytest.mark.parametrize(
    ("at", "why"),
    [
        ("2026-01-01T00:00:00Z", "more than 24 hours ago"),  # no data then: the gate allowed
        ("2030-01-01T00:00:00Z", "in the future"),
        ("2026-11-20T12:05:00Z", "in the future"),  # five minutes ahead of the server
    ],
)
async def test_ship_at_a_chosen_instant_is_refused_and_changes_nothing(
    app: App, client: httpx.AsyncClient, at: str, why: str
) -> None:
    before = app.changes.get(1)
    recorded = decisions(app)
    response = await client.post(f"{V1}/changes/1/ship", json={"at": at}, headers=OLGA)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert why in detail and "the gate is always judged now" in detail
    assert "leave 'at' out to ship now" in detail
    after = app.changes.get(1)
    assert (after.change.status, after.change.decision, after.change.decision_at) == (
        "pending", before.change.decision, before.change.decision_at,
    )  # fmt: skip
    assert decisions(app) == recorded  # nothing judged, nothing replaced
    assert app.store.audit_log(action="change.ship") == []


async def test_a_valid_at_only_dates_the_record_the_gate_is_judged_now(
    app: App, client: httpx.AsyncClient
) -> None:
    # Within the window, on a change the budget holds (approval required): still 409 —
    # judged now, whatever the record's date.
    earlier = "2026-11-20T11:00:00Z"
    held = await client.post(f"{V1}/changes/1/ship", json={"at": earlier}, headers=OLGA)
    assert held.status_code == 409 and "approval required" in held.json()["detail"]
    # An allowed change ships, dated as asked; the entry says when it was judged.
    shipped = await client.post(f"{V1}/changes/2/ship", json={"at": earlier}, headers=OLGA)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["shipped_at"] == earlier
    [entry] = app.store.audit_log(action="change.ship")
    assert entry.details["judged_at"] == "2026-11-20T12:00:00+00:00"  # the App's clock
    assert entry.details["shipped_at"] == "2026-11-20T11:00:00+00:00"
    notes = (await client.get(f"{V1}/annotations?service=contact-center", headers=OLGA)).json()
    assert [n["at"] for n in notes] == [earlier]


def test_ship_at_the_edges_of_the_window(app: App) -> None:
    from errorbudget.errors import InvalidRequestError

    now = app.clock()
    submitted = app.changes.get(2).change.submitted_at
    assert submitted == now - timedelta(hours=3)
    # the window: from 24 hours ago, but never before the change was submitted
    assert timedelta(hours=24) == SHIP_BACKDATE
    with pytest.raises(InvalidRequestError, match="before the change was submitted"):
        app.changes.ship_change(2, actor="olga", shipped_at=submitted - timedelta(minutes=1))
    with pytest.raises(InvalidRequestError, match="in the future"):
        app.changes.ship_change(2, actor="olga", shipped_at=now + timedelta(seconds=1))
    assert app.changes.get(2).change.status == "pending"
    shipped = app.changes.ship_change(2, actor="olga", shipped_at=submitted)
    assert shipped.change.shipped_at == submitted


def test_the_gate_never_records_a_decision_at_a_chosen_instant(app: App) -> None:
    past = app.clock() - timedelta(days=300)
    with pytest.raises(GateError, match="what-if and is never recorded"):
        app.gate.decide(service="billing", actor="ci", at=past)
    with pytest.raises(GateError, match="what-if and is never recorded"):
        app.changes.judge(1, actor="ci", at=past)
    # as a what-if it answers, and nothing is written
    recorded = decisions(app)
    what_if = app.gate.decide(service="billing", actor="ci", at=past, record=False)
    assert what_if.decision == "review" and what_if.audit_id is None  # no data back then
    assert app.changes.judge(1, actor="ci", at=past, record=False).effective == "review"
    assert decisions(app) == recorded
    assert app.changes.get(1).change.decision == "approval_required"


@pytest.fixture
def frozen(budget_world):  # type: ignore[no-untyped-def]
    """The world's config with its clock held at the world's instant, and change 1."""
    text = budget_world.config.read_text()
    budget_world.config.write_text(f"clock: {{simulated_start: '{budget_world.at}'}}\n{text}")
    with budget_world.open() as opened:
        opened.changes.submit(ChangeRequest(service="billing", title="PSP v2", submitted_by="olga"))
    return budget_world


def test_gate_at_is_a_labelled_what_if_that_is_never_recorded(frozen) -> None:  # type: ignore[no-untyped-def]
    with frozen.open() as app:
        recorded = decisions(app)
        stored = app.changes.get(1).change
    runner = CliRunner()
    config = ["-c", str(frozen.config)]
    what_if = runner.invoke(main, ["gate", *config, "--change", "1", "--at", "2026-01-01T00:00Z"])
    # it shows what the gate would have said then (review: no data), but decides nothing:
    # under enforcement it exits 6, never 0, so a pipeline step given --at fails
    assert what_if.exit_code == 6
    assert "what-if at 2026-01-01 00:00 UTC: not the gate's decision now, not recorded" in (
        what_if.output
    )
    as_json = runner.invoke(
        main, ["gate", *config, "--service", "billing", "--at", "2030-01-01T00:00Z",
               "--format", "json"],
    )  # fmt: skip
    assert json.loads(as_json.output) | {"what_if": True, "recorded": False} == json.loads(
        as_json.output
    )
    assert json.loads(as_json.output)["audit_id"] is None
    assert as_json.exit_code == 6
    # a what-if the gate would allow exits 6 too (it exited 0: a pipeline step passed)
    allowed = runner.invoke(
        main, ["gate", *config, "--service", "contact-center", "--format", "json",
               "--at", (frozen.at - timedelta(hours=1)).isoformat()],
    )  # fmt: skip
    assert json.loads(allowed.output)["decision"] == "allow" and allowed.exit_code == 6
    with frozen.open() as app:
        assert decisions(app) == recorded  # neither was recorded
        after = app.changes.get(1).change
        assert (after.decision, after.decision_at) == (stored.decision, stored.decision_at)
    # Judged now (no --at): the real answer, recorded.
    now = runner.invoke(main, ["gate", *config, "--service", "billing"])
    assert now.exit_code == 11 and "what-if" not in now.output
    with frozen.open() as app:
        assert decisions(app) == recorded + 1
        [latest] = app.store.audit_log(action="gate.decision", limit=1)
        # judged at the config's clock: the record says that "now" was a simulated one
        assert (latest.details["at"], latest.details["clock"]) == (
            "2026-11-20T12:00:00+00:00", "simulated",
        )  # fmt: skip
    waiting = runner.invoke(main, ["gate", *config, "--change", "1", "--wait", "1", "--at", "-1h"])
    assert waiting.exit_code == 2 and "drop --at" in waiting.output
