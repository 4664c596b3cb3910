"""``alerts test``: a test notification to a receiver or a route's receivers, each outcome
printed, exit 1 when one failed (the command is attached to the ``alerts`` group at merge)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_receiver import FakeReceiver

from errorbudget.cli.alerts_test import test as alerts_test


@pytest.fixture
def slack() -> Iterator[FakeReceiver]:
    fake = FakeReceiver().start()
    yield fake
    fake.stop()


def config(tmp_path: Path, slack: FakeReceiver) -> Path:
    path = tmp_path / "eb.yaml"
    path.write_text(
        f"""version: 1
notifications:
  receivers:
    - {{name: tickets, type: slack, url_env: EB_TEST_SLACK}}
    - {{name: hook, type: webhook, url: "http://127.0.0.1:{slack.port}/hook", secret_env: EB_HOOK}}
  routes:
    - {{name: pages, match: {{severity: page}}, receivers: [hook, tickets]}}
""",
        encoding="utf-8",
    )
    return path


def test_a_receiver_and_a_route(tmp_path: Path, slack: FakeReceiver) -> None:
    env = {"EB_TEST_SLACK": slack.url + "/slack", "EB_HOOK": "k"}
    runner = CliRunner()
    path = str(config(tmp_path, slack))
    one = runner.invoke(alerts_test, ["tickets", "-c", path], env=env)
    assert one.exit_code == 0, one.output
    assert one.output == "tickets (slack): delivered\n"
    body = json.loads(slack.received[0].body)
    assert "TEST" in body["blocks"][0]["text"]["text"]
    both = runner.invoke(alerts_test, ["severity=page", "-c", path], env=env)
    assert both.output == "hook (webhook): delivered\ntickets (slack): delivered\n"
    slack.status, slack.reply = 404, b"no_service"
    failed = runner.invoke(alerts_test, ["pages", "-c", path], env=env)
    assert failed.exit_code == 1
    assert "tickets (slack): failed: HTTP 404: no_service (permanent)" in failed.output


def test_unknown_names_and_missing_secrets_are_clear(tmp_path: Path, slack: FakeReceiver) -> None:
    path = str(config(tmp_path, slack))
    runner = CliRunner()
    unknown = runner.invoke(alerts_test, ["ticket", "-c", path], env={"EB_HOOK": "k"})
    assert "no receiver or route named 'ticket' (did you mean 'tickets'?)" in str(unknown.exception)
    missing = runner.invoke(alerts_test, ["tickets", "-c", path], env={"EB_HOOK": "k"})
    assert "environment variable EB_TEST_SLACK" in str(missing.exception)
