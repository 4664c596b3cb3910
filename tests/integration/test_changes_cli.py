"""``errorbudget gate --change ID``: the exit code follows the change's current decision and
its approvals, so a pipeline can wait (``--wait``) until an approver says yes."""

from __future__ import annotations

import json
import threading
import time

import pytest
from click.testing import CliRunner

from errorbudget.changes import ChangeRequest
from errorbudget.cli.main import main

AT = "2026-11-20T12:00Z"


@pytest.fixture
def world(budget_world):  # type: ignore[no-untyped-def]
    # The CLI judges at the config's clock: held at the world's instant (the gate is always
    # judged now; --at is only a what-if).
    text = budget_world.config.read_text()
    budget_world.config.write_text(f"clock: {{simulated_start: '{AT}'}}\n{text}")
    with budget_world.open() as app:
        app.changes.submit(
            ChangeRequest(service="billing", title="PSP v2", submitted_by="olga")
        )  # 1
        app.changes.submit(ChangeRequest(service="billing", title="copy", submitted_by="olga"))  # 2
    return budget_world


def gate(world, *args: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["gate", "-c", str(world.config), *args])
    return result.exit_code, result.output


def test_the_exit_code_follows_the_approval(world) -> None:  # type: ignore[no-untyped-def]
    code, output = gate(world, "--change", "1")
    assert code == 11
    assert "Change 1 PSP v2 (billing, feature, medium risk), pending: approval required" in output
    assert "waiting for an approver's approval (not by olga)" in output
    with world.open() as app:
        app.changes.review_change(
            1, decision="approve", approver="vera", role="approver", comment="ok"
        )
    code, output = gate(world, "--change", "1", "--format", "json")
    assert code == 0
    data = json.loads(output)
    assert (data["status"], data["effective"], data["exit_code"]) == ("approved", "allow", 0)
    assert data["approvals"][0]["approver"] == "vera"
    assert data["reasons"][0] == "approved by vera"


def test_a_rejected_change_is_blocked(world) -> None:  # type: ignore[no-untyped-def]
    with world.open() as app:
        app.changes.review_change(2, decision="reject", approver="vera", role="approver")
    code, output = gate(world, "--change", "2")
    assert code == 12 and "change 2 was rejected by vera" in output


def test_wait_polls_until_an_approval_arrives(world) -> None:  # type: ignore[no-untyped-def]
    def approve_soon() -> None:
        time.sleep(0.4)
        with world.open() as app:
            app.changes.review_change(1, decision="approve", approver="ada", role="admin")

    approver = threading.Thread(target=approve_soon)
    approver.start()
    started = time.monotonic()
    code, output = gate(world, "--change", "1", "--wait", "20", "--poll", "0.1")
    approver.join()
    assert code == 0, output
    assert 0.4 <= time.monotonic() - started < 10
    assert "waiting for change 1: approval required" in output


def test_wait_gives_up_with_the_last_answer(world) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    code, _ = gate(world, "--change", "1", "--wait", "0.3", "--poll", "0.1")
    assert code == 11 and time.monotonic() - started >= 0.3


def test_an_unknown_change_is_an_error(world) -> None:  # type: ignore[no-untyped-def]
    code, output = gate(world, "--change", "99")
    assert code == 1 and "error: there is no change with id 99" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--change", "1", "--service", "billing"], "--change reads the scope from the change"),
        ([], "give --service (or --change ID)"),
        (["--service", "billing", "--wait", "5"], "--wait needs --change"),
    ],
)
def test_usage_errors(world, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, output = gate(world, *args)
    assert code == 2 and message in output


def test_advisory_enforcement_always_exits_0(world) -> None:  # type: ignore[no-untyped-def]
    text = world.config.read_text()
    world.config.write_text(text.replace("server:", "gate: {enforcement: advisory}\nserver:", 1))
    code, output = gate(world, "--change", "1")
    assert code == 0 and "(advisory)" in output
