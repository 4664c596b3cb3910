"""Synthetic failure alerts (issue #10, seed 002): checks of a critical flow pushed through
``errorbudget ingest`` and the API with the ``synthetic`` marker, stored under the source
``synthetic``, and ``SyntheticCheckFailing`` paging on three failed checks in a row inside
the flow's business hours — through ``alerts replay`` and through the live alert service
stepped minute by minute, which agree at every instant."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from errorbudget.app import App
from errorbudget.cli.main import main
from errorbudget.model import from_minute, to_minute
from errorbudget.replay import evaluate_slo
from errorbudget.web import api
from errorbudget.web.app import create_app

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # a Friday
END = to_minute(AT)
HOUR = 60
FRIDAY = END - 12 * HOUR  # Friday 00:00 UTC
START = FRIDAY - 24 * HOUR  # Thursday 00:00: checks every 5 minutes from here to AT
OPEN = "08:00-18:00"

CONFIG = f"""\
version: 1
store: {{path: synthetic.db}}
server:
  tokens:
    - {{name: olga, token: operator-token-0001, role: operator}}
slos:
  - id: booking
    service: web
    target: 0.95
    window: {{type: rolling, length: 7d}}
    indicator: {{source: synthetic, flow: booking-critical-path}}
    segments: {{keys: [probe]}}
    schedule: {{timezone: UTC, hours: {{mon-fri: ["{OPEN}"]}}}}
    data: {{min_coverage: 0}}
    runbook_url: https://runbooks.example/booking
    alerting:
      no_data: null
      budget: {{consumed: null, floor: null, exhaustion: null}}
  - id: calls
    service: cc
    target: 0.9
    window: {{type: rolling, length: 7d}}
"""


def at(day_start: int, clock: str) -> int:
    hours, minutes = clock.split(":")
    return day_start + int(hours) * HOUR + int(minutes)


FAILED: dict[str, list[int]] = {
    # three in a row in business hours (Friday 10:00, 10:05, 10:10), passing from 10:15
    "three": [at(FRIDAY, "10:00"), at(FRIDAY, "10:05"), at(FRIDAY, "10:10")],
    # two in a row, then a pass
    "two": [at(FRIDAY, "10:00"), at(FRIDAY, "10:05")],
    # three in a row after hours (Thursday 20:00-20:10): not counted, the morning passes
    "night": [
        at(FRIDAY - 24 * HOUR, "20:00"),
        at(FRIDAY - 24 * HOUR, "20:05"),
        at(FRIDAY - 24 * HOUR, "20:10"),
    ],
    # two failures, a pass (10:10), then two more: never three in a row
    "reset": [
        at(FRIDAY, "10:00"),
        at(FRIDAY, "10:05"),
        at(FRIDAY, "10:15"),
        at(FRIDAY, "10:20"),
    ],
}
FIRED = at(FRIDAY, "10:11")  # the instant after the third failed check's minute
RESOLVED = at(FRIDAY, "10:16")  # the instant after the passing check of 10:15


def checks_csv() -> str:
    lines = ["time,slo,probe,good,total,synthetic"]
    for minute in range(START, END, 5):
        when = from_minute(minute).strftime("%Y-%m-%dT%H:%M:%SZ")
        for probe, failed in FAILED.items():
            lines.append(f"{when},booking,{probe},{0 if minute in failed else 1},1,true")
        lines.append(f"{when},calls,,9,10,")
    return "\n".join(lines) + "\n"


def run(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder: Path = tmp_path_factory.mktemp("synthetic")
    path = folder / "c.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    (folder / "checks.csv").write_text(checks_csv(), encoding="utf-8")
    run("ingest", "-c", str(path), str(folder / "checks.csv"))
    return path


@pytest.fixture
def app(config: Path) -> Iterator[App]:
    with App.open(config, clock=lambda: AT) as opened:
        yield opened


def failing(incidents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in incidents if i["alertname"] == "SyntheticCheckFailing"]


def test_marked_rows_are_stored_under_the_synthetic_source(app: App, config: Path) -> None:
    [series] = app.store.series_ids("booking", [(("probe", "three"),)], create=False)
    good, total = app.store.minute_arrays([series], FRIDAY + 600, FRIDAY + 611)
    assert total[0].tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert good[0].sum() == 0
    with closing(sqlite3.connect(config.parent / "synthetic.db")) as db:
        stored = dict(
            db.execute(
                "SELECT DISTINCT s.slo, so.name FROM minute_blocks b"
                " JOIN series s ON s.id = b.series_id JOIN sources so ON so.id = b.source_id"
            ).fetchall()
        )
    assert stored == {"booking": "synthetic", "calls": "ingest"}


def test_replay_pages_on_three_failed_checks_in_business_hours_only(config: Path) -> None:
    result = run(
        "alerts", "replay", "-c", str(config), "--slo", "booking",
        "--from", from_minute(START).isoformat(), "--to", AT.isoformat(), "--format", "json",
    )  # fmt: skip
    report = json.loads(result.stdout)
    found = failing(report["incidents"])
    assert [(i["segment"], i["severity"]) for i in found] == [({"probe": "three"}, "page")]
    [page] = found
    assert to_minute(datetime.fromisoformat(page["fired_at"])) == FIRED
    assert to_minute(datetime.fromisoformat(page["resolved_at"])) == RESOLVED
    assert page["notifications"] == 2 and not page["inhibited"]


def test_the_live_service_stepped_minute_by_minute_pages_once_and_resolves(app: App) -> None:
    fired: list[tuple[int, str, str]] = []
    for minute in range(at(FRIDAY, "09:55"), at(FRIDAY, "10:30")):
        evaluation = app.evaluations.evaluation(at=from_minute(minute))
        observed = app.alerts.observe(minute, app.alerts.signals(evaluation))
        by_fingerprint = {a.fingerprint: a for a in observed.alerts}
        for fingerprint, transition in observed.transitions:
            alert = by_fingerprint[fingerprint]
            if alert.alertname == "SyntheticCheckFailing":
                fired.append((minute, dict(alert.segment)["probe"], transition))
    assert fired == [(FIRED, "three", "firing"), (RESOLVED, "three", "resolved")]
    [alert] = [a for a in app.alerts.alerts() if a.alertname == "SyntheticCheckFailing"]
    assert alert.severity == "page"
    assert alert.runbook_url == "https://runbooks.example/booking"
    assert alert.details["consecutive_failures"] == 3
    assert alert.summary == "booking probe=three: 3 synthetic checks failed in a row"


def test_outside_business_hours_the_rule_does_not_fire(app: App) -> None:
    # Friday 19:00: closed; an open-hours streak would not count either (the night probe's)
    minute = at(FRIDAY - 24 * HOUR, "20:11")
    evening = app.evaluations.evaluation(at=from_minute(minute))
    signals = [s for s in app.alerts.signals(evening) if s.alertname == "SyntheticCheckFailing"]
    assert not any(s.active for s in signals)  # inactive signals are not given (keep 0)
    decided = replay_decisions(app, minute)  # the rule was decided for every probe: not active
    assert {
        dict(k[1])["probe"] for k, (on, _) in decided.items() if k[0] == "SyntheticCheckFailing"
    } == set(FAILED)
    assert not any(on for k, (on, _) in decided.items() if k[0] == "SyntheticCheckFailing")


def replay_decisions(app: App, minute: int) -> dict[tuple[object, ...], tuple[bool, bool]]:
    slo = app.loaded.slo("booking")
    found = {}
    for evaluated in evaluate_slo(
        app.store,
        slo,
        app.loaded.catalog(slo.alerting.catalog),
        app.loaded.policy(slo.policy),
        np.array([minute], dtype=np.int64),
        app.store.list_exclusions(),
        app.loaded.eligibility(slo),
        app.store.list_data_issues(),
    ):
        for row, segment in enumerate(evaluated.segments):
            for d in evaluated.decisions:
                key = (d.alertname, segment, d.severity, d.rule)
                found[key] = (bool(d.active[row, 0]), bool(d.inhibited[row, 0]))
                keeps[key] = d.keep_minutes
    return found


def as_signals(
    decided: dict[tuple[object, ...], tuple[bool, bool]],
) -> dict[tuple[object, ...], tuple[bool, bool]]:
    """What live alerting is given of these decisions: the active ones, and inactive ones
    that keep a firing alert (keep > 0) — ``alert_signals`` leaves the rest out."""
    return {k: v for k, v in decided.items() if v[0] or keeps.get(k, 0) > 0}


keeps: dict[tuple[object, ...], int] = {}
"""Each decided rule's keep (filled by :func:`replay_decisions`)."""


def live_signals(app: App, minute: int) -> dict[tuple[object, ...], tuple[bool, bool]]:
    evaluation = app.evaluations.evaluation(at=from_minute(minute))
    return {
        (s.alertname, s.segment, s.severity, s.rule): (s.active, s.inhibited)
        for s in app.alerts.signals(evaluation)
        if s.slo == "booking"
    }


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(minute=st.integers(min_value=START + 1, max_value=END))
@example(minute=FIRED - 1)
@example(minute=FIRED)
@example(minute=RESOLVED - 1)
@example(minute=RESOLVED)
@example(minute=at(FRIDAY, "08:00"))  # the schedule opens
def test_live_equals_replay_at_any_instant(app: App, minute: int) -> None:
    live, replayed = live_signals(app, minute), as_signals(replay_decisions(app, minute))
    assert live == replayed
    active = {k[1] for k, (on, _) in live.items() if on and k[0] == "SyntheticCheckFailing"}
    assert active == ({(("probe", "three"),)} if FIRED <= minute < RESOLVED else set())


def test_a_marked_row_for_a_slo_not_of_synthetic_checks_is_rejected(
    config: Path, tmp_path: Path
) -> None:
    rows = tmp_path / "bad.csv"
    rows.write_text(
        "time,slo,probe,good,total,synthetic\n"
        "2026-11-20T11:01:00Z,booking,three,1,1,true\n"
        "2026-11-20T11:01:00Z,calls,,1,1,true\n"
        "2026-11-20T11:02:00Z,booking,three,1,1,false\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["ingest", "-c", str(config), str(rows)])
    assert result.exit_code != 0
    assert (
        "bad.csv:3: the row is marked synthetic, but SLO 'calls' does not count synthetic "
        "checks (its indicator is source: ingest, not synthetic)"
    ) in result.output
    assert (
        "bad.csv:4: SLO 'booking' counts synthetic checks (source: synthetic): mark its rows "
        "with synthetic true"
    ) in result.output
    with App.open(config, clock=lambda: AT) as opened:  # nothing of the file was written
        [series] = opened.store.series_ids("booking", [(("probe", "three"),)], create=False)
        _, total = opened.store.minute_arrays([series], END - 59, END - 57)
        assert total.tolist() == [[0.0, 0.0]]


OLGA = {"Authorization": "Bearer operator-token-0001"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_api_accepts_the_marker(config: Path, tmp_path: Path) -> None:
    # a copy of the world, so this test's writes leave the module's store as it was
    copy = tmp_path / "c.yaml"
    copy.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "synthetic.db").write_bytes((config.parent / "synthetic.db").read_bytes())
    with App.open(copy, clock=lambda: AT) as opened:
        transport = httpx.ASGITransport(app=create_app(opened))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            url = f"{api.PREFIX}/counts"
            rows = [
                {"time": "2026-11-20T11:58:00Z", "slo": "booking", "probe": "api",
                 "good": 0, "total": 1, "synthetic": True},
                {"time": "2026-11-20T11:58:00Z", "slo": "calls", "good": 3, "total": 4},
            ]  # fmt: skip
            response = await client.post(url, json=rows, headers=OLGA)
            assert response.status_code == 200, response.text
            assert response.json()["rows_written"] == 2
            wrong = [{**rows[1], "synthetic": "true"}]
            response = await client.post(url, json=wrong, headers=OLGA)
            assert response.status_code == 422
            assert response.json()["problems"] == [
                {
                    "line": 1,
                    "message": "the row is marked synthetic, but SLO 'calls' does not count "
                    "synthetic checks (its indicator is source: ingest, not synthetic)",
                }
            ]
            response = await client.post(url, json=[{**rows[0], "synthetic": False}], headers=OLGA)
            assert response.status_code == 422
        [series] = opened.store.series_ids("booking", [(("probe", "api"),)], create=False)
        good, total = opened.store.minute_arrays([series], END - 2, END - 1)
        assert (good.tolist(), total.tolist()) == ([[0.0]], [[1.0]])
