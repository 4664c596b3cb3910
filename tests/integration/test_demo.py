"""`errorbudget demo` end to end: the simulator behind the fake Genesys Cloud API on
127.0.0.1, the real collector's 30-day backfill, statuses and a gate decision; its incidents
annotated on the SLO timelines; its clock written into its config."""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli.main import main
from errorbudget.demo.world import DemoWorld
from errorbudget.web.app import create_app

AT = "2026-11-25T16:00:00Z"
MOMENT = datetime(2026, 11, 25, 16, tzinfo=UTC)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """One ``errorbudget demo --once`` for the tests of this module: (its dir, its output)."""
    directory = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--once", "--dir", str(directory), "--at", AT])
    assert result.exit_code == 0, result.output
    yield directory, result.output


def test_demo_collects_from_the_fake_api_and_shows_budgets(demo_run: tuple[Path, str]) -> None:
    directory, output = demo_run
    assert "Collected 30 days from the fake Genesys Cloud API" in output
    for slo in ("voice-sla", "digital-sla", "ivr-completion", "api-availability"):
        assert slo in output
    assert "Gate for contact-center" in output
    assert "Incident: Carrier degradation" in output

    with App.open(directory / "errorbudget.yaml") as app:
        statuses = {(s.slo, s.segment): s for s in app.evaluations.status(at=MOMENT)}
        applied = app.store.audit_log(action="config.apply")
    assert len(applied) == 1  # the demo's config, recorded once when it was applied
    # The seeded story: the Spanish billing IVR flow has burned since its payment step broke.
    billing = statuses[("ivr-completion", (("flow", "Billing ES"),))]
    assert billing.burn_rates["1d"] is not None and billing.burn_rates["1d"] > 1
    assert any(a.severity == "ticket" for a in billing.alerts)
    vip = statuses[("voice-sla", (("queue", "VIP Billing"), ("tier", "vip")))]
    assert vip.target == 0.95
    assert vip.eligible > 1_000
    assert statuses[("digital-sla", ())].target == 0.90  # seed 000
    # Every queue the scenario serves through the API shows up as a series.
    queues = {
        dict(s.segment).get("queue") for (slo, _), s in statuses.items() if slo == "voice-sla"
    }
    assert {"VIP Billing", "Sales", "Support", "Billing ES"} <= queues


def test_the_demo_config_holds_its_clock_and_validates_without_warnings(
    demo_run: tuple[Path, str],
) -> None:
    directory, output = demo_run
    config = directory / "errorbudget.yaml"
    with App.open(config) as app:
        assert app.clock() == MOMENT  # --once: held at --at, for every later command
        assert app.loaded.warnings == []
    result = CliRunner().invoke(main, ["validate", "-c", str(config)])
    assert result.exit_code == 0
    assert result.output == f"{config}: valid (17 SLOs, 3 services)\n"  # 13: the voice agent
    # The commands to explore it come with the demo, runnable as printed.
    assert f"errorbudget status -c {config}\n" in output
    assert (
        f"errorbudget exclusions propose -c {config} --slo voice-sla --start 2026-11-22T16:00Z "
        '--end 2026-11-22T18:30Z --category external-outage --reason "carrier incident INC-123"'
    ) in output


def detail(app: App, slo: str, segment: str = "") -> dict[str, object]:
    query = f"?segment={segment}" if segment else ""
    return page(app, f"/api/v1/pages/slos/{slo}{query}")


def page(app: App, path: str) -> dict[str, Any]:
    """A dashboard page's JSON twin, for ``app`` at its clock."""

    async def get() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=create_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
            response = await client.get(path)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

    return asyncio.run(get())


def incident_labels(page: dict[str, object]) -> list[str]:
    notes = page["annotations"]
    assert isinstance(notes, list)
    return [note["label"] for note in notes if note["kind"] == "incident"]


def test_scenario_incidents_are_annotated_on_their_slos(demo_run: tuple[Path, str]) -> None:
    directory, _ = demo_run
    with App.open(directory / "errorbudget.yaml") as app:
        found = {
            (a.text.split(":")[0], a.slo, tuple(a.segment.items()))
            for a in app.records.annotations(kinds=["incident"])
        }
        assert found == {
            ("Carrier degradation (voice)", "voice-sla", ()),
            ("Spanish billing IVR", "ivr-completion", (("flow", "Billing ES"),)),
            ("Analytics API errors", "api-availability", ()),
        } | {  # the voice agent's (issue #12), on its latency SLIs
            ("tts-a latency incident", slo, ())
            for slo in (
                "voice-turn-latency",
                "voice-tool-turn-latency",
                "voice-time-to-first-word",
                "voice-synthetic-critical-flows",
            )
        }
        # The SLO pages show them on their timelines, where the segment matches.
        assert incident_labels(detail(app, "voice-sla")) == [
            "Incident: Carrier degradation (voice): simulated incident, 2026-11-22 16:00–18:30 UTC"
        ]
        billing = incident_labels(detail(app, "ivr-completion", "flow=Billing ES"))
        assert billing == [
            "Incident (flow=Billing ES): Spanish billing IVR: payment step failing: "
            "simulated incident, since 2026-11-23 16:00 UTC"
        ]
        assert incident_labels(detail(app, "ivr-completion", "flow=Main Menu")) == []
        # And the changes waiting for approval, for the change-approval panel.
        pending = app.changes.find(status=["pending"])
        assert len(pending) == 3


def test_the_live_demo_annotates_incidents_as_they_begin(tmp_path: Path) -> None:
    with DemoWorld(tmp_path, MOMENT) as world:
        assert len(world.record_incidents()) == 3  # those before 16:00
        assert world.record_incidents() == []  # once each
        world.clock.set(MOMENT + timedelta(hours=1, minutes=1))  # type: ignore[union-attr]

        async def one_pass() -> None:
            stop = asyncio.Event()
            job = asyncio.create_task(world.record_incidents_job(stop, every=0.05))
            await asyncio.sleep(0.2)
            stop.set()
            await job

        asyncio.run(one_pass())
        [support] = world.app.records.annotations(kinds=["incident"], start=MOMENT)
        assert support.slo == "voice-sla" and support.segment == {"queue": "Support"}
        assert support.text.startswith("Support staffing shortfall: simulated incident, since")


def test_the_live_demos_config_carries_its_running_clock(tmp_path: Path) -> None:
    """The live demo runs 60× faster than real time; its config says so, and any process
    reading it (``errorbudget status -c``) evaluates at the dashboard's instant."""
    with DemoWorld(tmp_path, MOMENT, speed=60) as world:
        with App.open(world.config_path) as reader:  # another process's view of the config
            assert reader.loaded.config.clock == world.clock_settings()
            assert reader.loaded.config.clock is not None
            assert reader.loaded.config.clock.speed == 60
            served, read = world.app.clock(), reader.clock()
            assert abs((read - served).total_seconds()) < 60  # < 1 s of real time apart
            assert served > MOMENT  # and it runs
        assert reader.loaded.warnings == []
        stopped = world.freeze()
    with App.open(tmp_path / "errorbudget.yaml") as after:
        assert after.clock() == stopped  # held where the demo stopped


def test_the_voice_agent_runs_beside_the_contact_center(demo_run: tuple[Path, str]) -> None:
    """Issue #12: the demo's voice agent (seed 002's starter kit, a month of simulated events
    ingested through the event ingest service) is on the overview beside the contact center,
    judged by the same evaluation, and its scenario shows where seed 002 says to look."""
    directory, output = demo_run
    config = directory / "errorbudget.yaml"
    [events] = re.findall(r"Voice agent: ([\d,]+) simulated events", output)
    with App.open(config) as app:
        overview = page(app, "/api/v1/pages/overview")
        services = {card["slo"]["service"] for card in overview["cards"]}
        assert {"contact-center", "voice-agent"} <= services
        assert [g["service"] for g in overview["gates"]][-1] == "voice-agent"
        # one evaluation: the overview's cards are the status rows of both services
        rows = {s.slo: s for s in app.evaluations.status() if not s.segment}
        for card in overview["cards"]:
            assert card["state"] == rows[card["slo"]["id"]].state
        assert {"voice-task-completion", "voice-turn-latency"} <= rows.keys()
        # a month at 3 calls a minute at the peak
        assert int(events.replace(",", "")) > 100_000

        # task completion: the bad prompt release on billing-es is the release that raised
        # the burn most, and the one firing segment is billing-es
        tasks = page(app, "/api/v1/pages/slos/voice-task-completion/voice")["report"]
        worst = max(tasks["releases"], key=lambda r: r["burn_after"] - r["burn_before"])
        assert (worst["kind"], worst["flow"], worst["value"]) == (
            "prompt_version", "billing-es", "billing-es-v8",
        )  # fmt: skip
        assert worst["burn_after"] > 2 * worst["burn_before"]
        firing = [s for s in app.evaluations.status() if s.slo == "voice-task-completion"]
        assert [dict(s.segment)["flow"] for s in firing if s.segment and s.alerts] == ["billing-es"]
        # turn latency: the TTS incident's bad turns are slow at the tts stage, which the
        # pipeline attribution charges
        turns = page(app, "/api/v1/pages/slos/voice-turn-latency/voice")["report"]
        tts = next(r for r in turns["attribution"]["rows"] if r["stage"] == "tts")
        assert tts["bad_events"] > 0 and tts["mean_bad_ms"] > 2 * tts["mean_eligible_ms"]
        start = int(datetime(2026, 11, 20, 4, tzinfo=UTC).timestamp()) // 60
        during = app.store.kept_events("voice-turn-latency", start, start + 120, verdict="bad")
        before = app.store.kept_events("voice-turn-latency", start - 120, start, verdict="bad")
        assert len(during) > 5 * max(1, len(before))
        assert all((kept.stages.get("tts") or 0) > 900 for kept in during)
        # annotated: the incident on the latency SLOs, the release on task completion
        notes = {(a.slo, a.kind) for a in app.store.list_annotations()}
        assert {("voice-turn-latency", "incident"), ("voice-task-completion", "config")} <= notes


def test_the_demos_tour_shows_the_voice_agent_and_backtest(demo_run: tuple[Path, str]) -> None:
    directory, output = demo_run
    config = directory / "errorbudget.yaml"
    assert "The voice agent's error budgets at 2026-11-25 16:00 UTC" in output
    assert "http://127.0.0.1:8787/slos/voice-task-completion/voice" in output
    assert "http://127.0.0.1:8787/slos/voice-turn-latency/voice" in output
    printed = [
        line.strip().split(" ", 1)[1]
        for line in output.splitlines()
        if line.strip().startswith("errorbudget ") and str(config) in line
    ]
    tour = [line for line in printed if line.startswith(("backtest", "gate -c"))]
    assert [line.split(" ")[0] for line in tour].count("backtest") == 2
    assert any("--service voice-agent" in line for line in tour)
    for line in tour:  # runnable as printed
        result = CliRunner().invoke(main, shlex.split(line))
        allowed = (0, 10, 11, 12) if line.startswith("gate") else (0,)
        assert result.exit_code in allowed, f"{line}\n{result.output}"
        if line.startswith("backtest"):
            assert "propos" in result.output.lower()
