"""The README's tour, run as printed: every ``$`` command of its console blocks, from a
directory laid out as the repo root (``demo/`` built by ``make demo``'s command with
``--once``, ``examples/`` copied), and the CLI's figures checked against the dashboard's JSON
twin (``/api/v1/pages/overview``) at the same instant."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from errorbudget.app import App, current_user
from errorbudget.cli.main import main
from errorbudget.demo.world import DEMO_AT
from errorbudget.web.app import create_app

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ".venv/bin/errorbudget"


@dataclass
class Command:
    line: str
    argv: list[str]


def tour_commands() -> list[Command]:
    """The ``$`` lines of the console blocks in the README's "A 5-minute tour" section,
    continuation lines joined and comments dropped, as a shell would."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A 5-minute tour", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.DOTALL):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:], shlex.split(line[2:], comments=True)))
    return commands


def tour_api_call() -> tuple[str, str, str]:
    """The tour's one ``curl`` (the approver approving the exclusion): method, path, token."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## A 5-minute tour", 1)[1].split("\n## ", 1)[0]
    [line] = [line for line in section.splitlines() if line.startswith("curl ")]
    argv = shlex.split(line)
    method = argv[argv.index("-X") + 1]
    [url] = [a for a in argv if a.startswith("localhost:8787")]
    header = argv[argv.index("-H") + 1]
    assert header.startswith("Authorization: Bearer ")
    return method, url.removeprefix("localhost:8787"), header.removeprefix("Authorization: Bearer ")


def call_api(config: Path, method: str, path: str, token: str) -> dict[str, Any]:
    """What ``serve`` would answer, in-process over the config's App."""

    async def send() -> dict[str, Any]:
        with App.open(config) as app:
            transport = httpx.ASGITransport(app=create_app(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                headers = {"Authorization": f"Bearer {token}"}
                response = await client.request(method, path, headers=headers)
                assert response.status_code == 200, response.text
                body: dict[str, Any] = response.json()
                return body

    return asyncio.run(send())


def make_demo_argv() -> list[str]:
    """``make demo``'s command line, from the Makefile (DEMO_AT filled in)."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    at = re.search(r"^DEMO_AT \?= (\S+)$", makefile, flags=re.MULTILINE)
    recipe = re.search(r"^demo: .*\n\t(.*)$", makefile, flags=re.MULTILINE)
    assert at is not None and recipe is not None
    return shlex.split(recipe.group(1).replace("$(DEMO_AT)", at.group(1)))


def overview(config: Path) -> dict[str, Any]:
    """The dashboard's JSON twin of the overview, for the config's App (and clock)."""

    async def get() -> dict[str, Any]:
        with App.open(config) as app:
            transport = httpx.ASGITransport(app=create_app(app))
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
                response = await client.get("/api/v1/pages/overview")
                response.raise_for_status()
                body: dict[str, Any] = response.json()
                return body

    return asyncio.run(get())


def overview_remaining(config: Path, slo: str) -> float:
    [card] = [c for c in overview(config)["cards"] if c["slo"]["id"] == slo]
    remaining: float = card["gauge"]["remaining_ratio"]
    return remaining


def assert_same_figures(cli: list[dict[str, Any]], page: dict[str, Any]) -> None:
    """The CLI's whole-SLO rows and the overview's SLO cards: same instant, same figures."""
    cards = {card["slo"]["id"]: card for card in page["cards"]}
    rows = [row for row in cli if not row["segment"]]
    assert rows
    for row in rows:
        card = cards[row["slo"]]
        assert row["at"].replace("+00:00", "Z") == page["at"]
        assert row["target"] == pytest.approx(card["target"], abs=1e-6)
        if row["sli"] is None:
            assert card["sli"] is None
            continue
        assert row["sli"] == pytest.approx(card["sli"], abs=1e-6)
        remaining = card["gauge"]["remaining_ratio"]
        assert row["budget_remaining_ratio"] == pytest.approx(remaining, abs=1e-6)
        assert row["state"] == card["state"]


def run(runner: CliRunner, argv: list[str]) -> Any:
    assert argv[0] == PROGRAM, f"the tour calls {PROGRAM}, not {argv[0]}"
    return runner.invoke(main, argv[1:])


def test_the_readme_tour_runs_as_printed_and_agrees_with_the_dashboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # laid out as the repo root
    monkeypatch.delenv("ERRORBUDGET_CONFIG", raising=False)
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    runner = CliRunner()

    demo = make_demo_argv()
    assert demo[:2] == ["$(BIN)/errorbudget", "demo"]
    assert demo[2:] == ["--dir", "demo", "--at", "2026-11-25T16:00Z"]
    built = runner.invoke(main, [*demo[1:], "--once"])  # as make demo, without serving
    assert built.exit_code == 0, built.output
    config = Path("demo/errorbudget.yaml")
    assert f"errorbudget status -c {config}" in built.output  # the printed commands: same path

    commands = tour_commands()
    assert len(commands) >= 10
    previous = None
    voice_remaining = float("nan")
    for command in commands:
        if command.argv == ["echo", "$?"]:
            assert previous is not None and previous.exit_code in (0, 10, 11, 12)
            # the exit code the README says ("# 11: billing-es is in freeze")
            said = re.search(r"#\s*(\d+):", command.line)
            if said is not None:
                expected = int(said.group(1))
                assert previous.exit_code == expected, f"{command.line}\n{previous.output}"
            continue
        result = run(runner, command.argv)
        allowed = (0, 10, 11, 12) if command.argv[1] == "gate" else (0,)
        assert result.exit_code in allowed, f"{command.line}\n{result.output}"
        previous = result
        if command.argv[1:3] == ["status", "-c"] and "--format" in command.argv:
            # What the tour's JSON status says is what the dashboard shows, at its instant.
            assert_same_figures(json.loads(result.stdout), overview(config))
        if command.argv[1] == "validate":
            # valid, then each SLO's schedule in words (the example's IVR: business hours)
            assert re.match(r"\S+: valid \(\d+ SLOs, \d services\)\n", result.output)
            assert all(line.startswith("  ") for line in result.output.splitlines()[1:])
        if command.argv[1:3] == ["exclusions", "propose"]:
            before = voice_remaining
            assert overview_remaining(config, "voice-sla") == before  # pending: not counted
            # the approver approves it, as the tour's curl line does against `serve`
            approved = call_api(config, *tour_api_call())
            assert (approved["status"], approved["approved_by"]) == ("approved", "vp-ops")
            voice_remaining = overview_remaining(config, "voice-sla")
            assert voice_remaining > before  # the carrier outage no longer counts
        if command.argv[1:3] == ["audit", "log"]:
            assert "exclusion.approve" in result.output and "vp-ops" in result.output
            assert "chain verified over the 2 listed entries" in result.output
        if command.argv[1:3] == ["audit", "verify"]:
            assert result.output.startswith("audit chain verified: ")
        if command.argv[1] == "status" and "--slo" in command.argv:
            voice_remaining = overview_remaining(config, "voice-sla")
        if command.argv[1:3] == ["status", "-c"] and "examples/" in command.line:
            # the voice agent: no counts pushed for it, so nothing to judge its budget on (the
            # table may wrap the state's words)
            assert "insufficient" in result.output and "– (0/40,320 min)" in result.output
            assert "voice-sla" in result.output and "79%" in result.output  # ingested counts

    # After the tour (an exclusion added), the CLI and the dashboard still agree, all SLOs.
    everything = runner.invoke(main, ["status", "-c", str(config), "--format", "json"])
    assert everything.exit_code == 0
    page = overview(config)
    assert page["at"] == DEMO_AT.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_same_figures(json.loads(everything.stdout), page)
    with App.open(config) as app:
        [exclusion] = app.store.list_exclusions()
        assert (exclusion.slo, exclusion.created_by, exclusion.approved_by) == (
            "voice-sla", current_user(), "vp-ops",
        )  # fmt: skip
