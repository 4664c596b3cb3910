"""``errorbudget backtest`` on a constructed history with known bad minutes: the SLI per day
and ISO week, the budget each candidate leaves per period and its worst point, exactly; the
alerts it replays equal what live alerting decides on the same data at that target; the
proposal and its reasoning; the CLI and the API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from errorbudget.app import App
from errorbudget.cli.main import main
from errorbudget.engine.alert_rules import alert_signals
from errorbudget.errors import InvalidRequestError
from errorbudget.model import from_minute, to_minute
from errorbudget.replay import replay
from errorbudget.schema.backtest import BacktestOut
from errorbudget.services.backtest import Backtest, BacktestService, replay_size
from errorbudget.web.app import create_app

START = datetime(2026, 10, 1, tzinfo=UTC)  # a Thursday
END = START + timedelta(days=14)
S, E = to_minute(START), to_minute(END)
DAY = 1440
RATE = 10  # events a minute in each of the two flows
OUTAGE_A = (S + 3 * DAY + 600, S + 3 * DAY + 660)  # flow=a: day 3, 10:00–11:00, all bad
OUTAGE_B = (S + 10 * DAY + 540, S + 10 * DAY + 570)  # flow=b: day 10, 09:00–09:30, all bad
EMPTY_DAY = (S + 5 * DAY, S + 6 * DAY)  # no data in either flow

CONFIG = """\
version: 1
store: {{path: bt.db}}
slos:
  - id: turns
    service: agent
    target: {target}
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [flow]}}
    policy: voice-agent
"""


def write_history(app: App) -> None:
    minutes = np.arange(S - 8 * DAY, E, dtype=np.int64)
    minutes = minutes[(minutes < EMPTY_DAY[0]) | (minutes >= EMPTY_DAY[1])]
    for flow, outage in (("a", OUTAGE_A), ("b", OUTAGE_B)):
        [series] = app.store.series_ids("turns", [(("flow", flow),)])
        total = np.full(minutes.size, RATE)
        down = (minutes >= outage[0]) & (minutes < outage[1])
        good = np.where(down, 0, total)
        app.store.write_counts(np.full(minutes.size, series), minutes, good, total)


def open_app(folder: Path, target: float) -> App:
    path = folder / "errorbudget.yaml"
    path.write_text(CONFIG.format(target=target), encoding="utf-8")
    return App.open(path, clock=lambda: END)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    found: Path = tmp_path_factory.mktemp("backtest")
    with open_app(found, 0.99) as app:
        write_history(app)
    return found


@pytest.fixture(scope="module")
def result(folder: Path) -> Backtest:
    with open_app(folder, 0.99) as app:
        return BacktestService(app.loaded, app.store).run("turns", START, END, [0.9995])


def remaining(bad: int, eligible: int, target: str) -> float:
    """``1 − bad / ((1 − T) × eligible)``, exactly, then as the float the engine gives."""
    allowed = (1 - Fraction(target)) * eligible
    return float((allowed - bad) / allowed)


def test_sli_per_day_and_iso_week(result: Backtest) -> None:
    full = 2 * RATE * DAY  # 28,800 events a day
    assert len(result.days) == 14
    assert [d.label for d in result.days[:2]] == ["2026-10-01", "2026-10-02"]
    assert [(d.eligible, d.bad) for d in result.days] == [
        (0, 0) if i == 5 else (full, 600 if i == 3 else 300 if i == 10 else 0) for i in range(14)
    ]
    assert result.days[3].sli == 1 - 600 / full
    assert result.days[5].sli is None  # no data that day
    assert [(w.label, w.eligible, w.bad) for w in result.weeks] == [
        ("2026-W40", 4 * full, 600),  # Thu 1 – Sun 4 October
        ("2026-W41", 6 * full, 300),  # Mon 5 – Sun 11: the 6th empty, the 11th's outage
        ("2026-W42", 3 * full, 0),  # Mon 12 – Wed 14 (the range ends)
    ]


def test_budget_left_per_target_at_each_period_end_and_its_worst_point(result: Backtest) -> None:
    by_target = {r.candidate.target: r.candidate for r in result.candidates}
    # the SLO's own 99 %, the given 99.95 %, and the ladder around the observed 99.76 %
    assert sorted(by_target) == [0.98, 0.99, 0.995, 0.999, 0.9995]
    assert {t: c.origin for t, c in by_target.items()} == {
        0.9995: "given", 0.999: "default", 0.995: "default", 0.99: "configured", 0.98: "default",
    }  # fmt: skip
    full = 2 * RATE * DAY
    for target in ("0.98", "0.99", "0.995", "0.999", "0.9995"):
        first, second = by_target[float(target)].periods
        assert (first.start, first.end, first.complete) == (S, S + 7 * DAY, True)
        assert (second.start, second.end, second.complete) == (S + 7 * DAY, E, True)
        # at the end of the first week the trailing 7 days hold the 1h outage and the
        # empty day; at the end of the second, the 30-minute outage and 7 full days
        assert (first.eligible, first.bad) == (6 * full, 600)
        assert first.remaining == remaining(600, 6 * full, target)
        assert (second.eligible, second.bad) == (7 * full, 300)
        assert second.remaining == remaining(300, 7 * full, target)
        # the worst points: the first week's when the empty day has fully entered the
        # window; the second's when both outages are inside it
        assert (first.worst, first.worst_at) == (remaining(600, 6 * full, target), S + 6 * DAY)
        assert (second.worst, second.worst_at) == (
            remaining(900, 6 * full, target),
            OUTAGE_B[1],
        )


def test_the_replayed_alerts_equal_live_alerting_at_that_target(
    folder: Path, result: Backtest
) -> None:
    """For a candidate that is not the configured target, the backtest's firings equal the
    alert replay — and live alerting's signals — of a config whose target is that one."""
    by_target = {r.candidate.target: r for r in result.candidates}
    for target in (0.995, 0.99):
        with open_app(folder, target) as app:
            slo = app.loaded.slo("turns")
            replayed = replay(
                app.store,
                [(slo, app.loaded.catalog(slo.alerting.catalog), app.loaded.policy(slo.policy),
                  None)],
                S,
                E,
            )  # fmt: skip
            ours = by_target[target].incidents
            key = lambda i: (i.fired_at, i.segment, i.alertname, i.severity, i.rule)  # noqa: E731
            assert sorted(ours, key=key) == sorted(replayed.incidents, key=key)
            pages = [i for i in ours if i.severity == "page"]
            assert len(pages) == 2  # one per outage
            for page in pages:
                assert page.resolved_at is not None
                for minute, active in (
                    (page.fired_at - 1, False), (page.fired_at, True),
                    (page.resolved_at - 1, True), (page.resolved_at, False),
                ):  # fmt: skip
                    statuses = app.evaluations.status(at=from_minute(minute))
                    live = {
                        s.segment
                        for s in alert_signals(statuses, {"turns": slo})
                        if s.active and s.severity == "page" and s.alertname == page.alertname
                    }
                    assert (page.segment in live) is active, (target, page, minute)
    assert by_target[0.99].candidate.alerts.pages == 2


def test_the_proposal_and_its_reasoning(result: Backtest) -> None:
    # 99.5 % ends both weeks with enough budget but runs out at its worst point (900 bad
    # events against 864 allowed); 99 % keeps 65 % at the first week's end, pages twice
    # (the most 14 days allow at 2 per 30 days, at least 2)
    assert result.proposal.target == 0.99
    assert result.proposal.max_pages == 2
    text = result.proposal.reasoning
    assert text.startswith("99% is the highest candidate that keeps at least 25.0%")
    assert f"its lowest period end was {remaining(600, 6 * 28800, '0.99') * 100:.1f}% left" in text
    assert "with 2 page(s)" in text
    assert "The next higher, 99.5%, would have run out of budget (exhausted from " in text


def test_notes_say_when_history_is_shorter_than_asked(folder: Path) -> None:
    with open_app(folder, 0.99) as app:
        found = BacktestService(app.loaded, app.store).run("turns", START - timedelta(days=20), END)
    assert found.notes[0].startswith("the store holds less history than asked: data from ")
    assert "22.0 of the 34.0 days asked" in found.notes[0]
    assert [d.sli for d in found.days[:12]] == [None] * 12  # before the first stored minute
    with open_app(folder, 0.99) as app:
        service = BacktestService(app.loaded, app.store)
        # data not yet brought in for the last half hour is not short history; two days are
        late = service.run("turns", START, END + timedelta(minutes=30))
        assert not any("less history" in n for n in late.notes)
        short = service.run("turns", START, END + timedelta(days=2))
        assert "14.0 of the 16.0 days asked" in short.notes[0]


def test_bounds(folder: Path) -> None:
    with open_app(folder, 0.99) as app:
        service = BacktestService(app.loaded, app.store)
        with pytest.raises(InvalidRequestError, match="at most 400 days"):
            service.run("turns", END - timedelta(days=401), END)
        with pytest.raises(InvalidRequestError, match="at most 10 targets"):
            service.run("turns", START, END, [0.9] * 11)
        with pytest.raises(InvalidRequestError, match="between 0 and 1"):
            service.run("turns", START, END, [99.5])
        with pytest.raises(InvalidRequestError, match="--to must be after"):
            service.run("turns", END, START)


def test_cli_json_and_text(folder: Path, result: Backtest) -> None:
    config = folder / "errorbudget.yaml"
    config.write_text(CONFIG.format(target=0.99), encoding="utf-8")
    args = ["backtest", "-c", str(config), "--slo", "turns", "--from", START.isoformat(),
            "--to", END.isoformat(), "--targets", "99.95%"]  # fmt: skip
    out = CliRunner().invoke(main, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["proposal"]["target"] == 0.99
    assert [c["target"] for c in data["candidates"]] == [0.9995, 0.999, 0.995, 0.99, 0.98]
    assert data["days"][5] == {
        "label": "2026-10-06", "start": "2026-10-06T00:00:00Z", "end": "2026-10-07T00:00:00Z",
        "eligible": 0, "bad": 0, "sli": None,
    }  # fmt: skip
    own = next(c for c in data["candidates"] if c["target"] == 0.99)
    assert own["pages"] == 2
    assert [f["fired_at"][:10] for f in own["firings"] if f["severity"] == "page"] == [
        "2026-10-04", "2026-10-11",
    ]  # fmt: skip
    text = CliRunner().invoke(main, args)
    assert text.exit_code == 0, text.output
    assert "SLI per day" in text.stdout and "no data" in text.stdout
    assert "Proposed target: 99%" in text.stdout
    long = [*args[:5], "--from", "2025-01-01T00:00Z", "--to", END.isoformat()]
    refused = CliRunner().invoke(main, long)
    assert refused.exit_code == 1
    assert "at most 400 days" in refused.stderr


TOKENS = """\
server:
  tokens:
    - {name: vic, token: viewer-token-000001, role: viewer}
    - {name: olga, token: operator-token-0001, role: operator}
"""


@pytest.fixture
async def client(folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    path = folder / "api.yaml"
    path.write_text(CONFIG.format(target=0.99) + TOKENS, encoding="utf-8")
    with App.open(path, clock=lambda: END) as app:
        transport = httpx.ASGITransport(app=create_app(app))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.anyio
async def test_api_answers_what_the_cli_prints(client: httpx.AsyncClient, result: Backtest) -> None:
    url = "/api/v1/slos/turns/backtest"
    query = {"from": START.isoformat(), "to": END.isoformat(), "targets": "0.9995"}
    assert (await client.get(url, params=query)).status_code == 401
    for token in ("viewer-token-000001", "operator-token-0001"):
        answer = await client.get(url, params=query, headers=bearer(token))
        assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data == json.loads(BacktestOut.of(result).model_dump_json())
    assert data["proposal"]["target"] == 0.99


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"from": (END - timedelta(days=91)).isoformat()}, "from", "at most 90 days"),
        ({"from": START.isoformat(), "targets": ",".join(["0.9"] * 11)}, "targets", "at most 10"),
        ({"from": START.isoformat(), "targets": "1.5"}, "targets", "between 0 and 1"),
        ({"from": START.isoformat(), "targets": "0..9"}, "targets", "comma-separated ratios"),
        ({"from": END.isoformat(), "to": START.isoformat()}, "to", "after from"),
    ],
)
async def test_api_bounds(
    client: httpx.AsyncClient, query: dict[str, str], field: str, words: str
) -> None:
    answer = await client.get(
        "/api/v1/slos/turns/backtest", params=query, headers=bearer("viewer-token-000001")
    )
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["query", field] and words in problem["msg"]


@pytest.mark.anyio
async def test_api_unknown_slo(client: httpx.AsyncClient) -> None:
    answer = await client.get(
        "/api/v1/slos/nope/backtest",
        params={"from": START.isoformat()},
        headers=bearer("viewer-token-000001"),
    )
    assert answer.status_code == 404


def test_one_incident_paging_every_flow_is_one_page(tmp_path: Path) -> None:
    with open_app(tmp_path, 0.99) as app:
        minutes = np.arange(S - 8 * DAY, E, dtype=np.int64)
        down = (minutes >= OUTAGE_A[0]) & (minutes < OUTAGE_A[1])  # both flows at once
        for flow in ("a", "b"):
            [series] = app.store.series_ids("turns", [(("flow", flow),)])
            total = np.full(minutes.size, RATE)
            app.store.write_counts(
                np.full(minutes.size, series), minutes, np.where(down, 0, total), total
            )
        found = BacktestService(app.loaded, app.store).run("turns", START, END)
    own = next(r for r in found.candidates if r.candidate.origin == "configured")
    paged = [i for i in own.incidents if i.severity == "page" and not i.inhibited]
    assert {i.segment for i in paged} == {(("flow", "a"),), (("flow", "b"),)}
    assert own.candidate.alerts.pages == 1  # one incident, one page, however many series


@pytest.mark.anyio
async def test_api_bounds_series_times_targets_times_minutes(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from errorbudget.web import api_backtest

    # 2 series × (own + 1 given + 4 defaults) × 14 days of minutes
    size = 2 * 6 * 14 * DAY
    assert replay_size(2, [0.9995], START, END) == size
    url = "/api/v1/slos/turns/backtest"
    query = {"from": START.isoformat(), "to": END.isoformat(), "targets": "0.9995"}
    monkeypatch.setattr(api_backtest, "API_MAX_REPLAY", size - 1)
    answer = await client.get(url, params=query, headers=bearer("viewer-token-000001"))
    assert answer.status_code == 422
    [problem] = answer.json()["detail"]
    assert problem["loc"] == ["query", "from"]
    assert f"{size:,} series-minutes (2 series" in problem["msg"]
    monkeypatch.setattr(api_backtest, "API_MAX_REPLAY", size)
    answer = await client.get(url, params=query, headers=bearer("viewer-token-000001"))
    assert answer.status_code == 200
