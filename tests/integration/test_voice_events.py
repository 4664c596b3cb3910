"""The voice views over real events: a day of a voice agent's calls, turns and tasks built
as records, parsed (``parse_records``) and ingested into a real SQLite store by the event
ingest service (the fold by the events SLOs' rules, counts, kept events, rollups), then read
back through the service, the API, the page and the JSONL export. Every expected figure is
derived from the generator's ground truth below."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from errorbudget.app import App
from errorbudget.model import from_minute, to_minute
from errorbudget.services.voice import is_latency_slo
from errorbudget.sources.events import parse_records
from errorbudget.web.app import create_app

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
START = AT - timedelta(days=1)
RELEASE_K = 720  # prompt p2 reaches billing 12 hours into the day
SLOTS = range(0, 1440, 10)  # one call per flow every 10 minutes

CONFIG = """\
version: 1
store: {path: voice.db}
server: {anonymous_read: true}
services:
  - {id: voice-agent, description: The booking voice agent, owner: agent-team}
slos:
  - id: turn-latency
    service: voice-agent
    target: 0.95
    window: {type: rolling, length: 7d}
    segments:
      keys: [flow]
      overrides: [{match: {flow: faq}, target: 0.9}]
    indicator:
      source: events
      event: turn
      good: {latency_ms: {le: 1200}}
      exclude: [{name: test-call, when: {test: true}}]
  - id: task-completion
    service: voice-agent
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
    indicator:
      source: events
      event: task
      good: {outcome: completed}
      exclude: [{name: test-call, when: {test: true}}]
  - id: turn-compliance
    service: voice-agent
    target: 0.99
    window: {type: rolling, length: 7d}
    indicator:
      source: events
      event: turn
      eligible: {compliant: {present: true}}
      good: {compliant: true}
  - id: counted
    service: voice-agent
    target: 0.9
    window: {type: rolling, length: 7d}
  - id: escalation-recall
    service: voice-agent
    target: 0.97
    window: {type: rolling, length: 7d}
    indicator:
      source: events
      event: escalation
      eligible: {required: true}
      good: {escalated: true}
"""


def call_events(flow: str, k: int) -> list[dict[str, Any]]:
    """One call of ``flow`` at minute ``k`` of the day: two turns and a task.

    - billing from RELEASE_K on runs prompt p2: its first turn's LLM takes 1,500 ms instead
      of 500 (latency 1,900 > 1,200: bad); its task fails when k % 30 == 0; its second
      turn is not compliant (error stage llm) when k % 20 == 0;
    - faq: ASR takes 1,000 ms instead of 200 on the first turn when k % 60 == 30 and on
      test calls (k % 240 == 0, excluded); the second turn is not compliant (error stage
      tts, except at k == 60: none) when k % 120 == 60.
    """
    call = f"{flow}-{k}"
    released = flow == "billing" and k >= RELEASE_K
    test = flow == "faq" and k % 240 == 0
    asr = 1_000 if flow == "faq" and (k % 60 == 30 or test) else 200
    llm = 1_500 if released else 500
    at = START + timedelta(minutes=k)
    common = {
        "call_id": call,
        "trace_id": f"trace-{call}",
        "flow": flow,
        "intent": "book" if k % 20 == 0 else "cancel",
        "route": "main",
        "agent_version": "a1",
        "prompt_version": "p2" if released else "p1",
        "model": "openai/gpt-4o",
        "test": test,
        "audio_url": f"https://rec.example/{call}.wav",
        "transcript_url": f"https://rec.example/{call}.txt",
    }
    compliant = not (
        (released and k % 20 == 0) or (flow == "faq" and k % 120 == 60)
    )  # fmt: skip
    # one faq failure names no stage (k == 60): unattributed
    stage = None if compliant or k == 60 else ("llm" if flow == "billing" else "tts")
    return [
        {
            **common,
            "id": f"{call}-t1",
            "type": "turn",
            "time": (at + timedelta(seconds=10)).isoformat(),
            "latency_ms": 50 + asr + llm + 150,
            "telephony_ms": 50,
            "asr_ms": asr,
            "llm_ms": llm,
            "tts_ms": 150,
        },
        {
            **common,
            "id": f"{call}-t2",
            "type": "turn",
            "time": (at + timedelta(seconds=20)).isoformat(),
            "latency_ms": 900,
            "telephony_ms": 50,
            "asr_ms": 200,
            "llm_ms": 500,
            "tts_ms": 150,
            "compliant": compliant,
            "error_stage": stage,
        },
        {
            **common,
            "id": f"{call}-task",
            "type": "task",
            "time": (at + timedelta(seconds=30)).isoformat(),
            "outcome": "failed" if released and k % 30 == 0 else "completed",
        },
    ]


RECORDS = [e for k in SLOTS for flow in ("billing", "faq") for e in call_events(flow, k)]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with App.open(path, clock=lambda: AT) as opened:
        report = opened.events.ingest(parse_records(RECORDS))
        assert report.received == len(RECORDS) and report.duplicates == 0
        yield opened


def get(web: FastAPI, path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get(path)

    return asyncio.run(call())


# --- ground truth --------------------------------------------------------------------------

RELEASED = [k for k in SLOTS if k >= RELEASE_K]  # 72 billing calls on p2
FAQ_TEST = [k for k in SLOTS if k % 240 == 0]  # 6 test calls (faq)
FAQ_SLOW = [k for k in SLOTS if k % 60 == 30]  # 24 slow-ASR faq calls


def test_budget_consumed_by_flow_and_raw_failures(app: App) -> None:
    report = app.voice.report("turn-latency")
    flows = {f.flow: f for f in report.flows}
    eligible_faq = 2 * (len(SLOTS) - len(FAQ_TEST))
    assert (flows["billing"].eligible, flows["billing"].bad) == (288, len(RELEASED))
    assert (flows["faq"].eligible, flows["faq"].bad) == (eligible_faq, len(FAQ_SLOW))
    assert flows["faq"].excluded == 2 * len(FAQ_TEST)
    assert report.budget_consumed == len(RELEASED) + len(FAQ_SLOW)
    # faq has its own target (90 %): the budget is the sum of the flows' budgets
    assert report.budget_total == pytest.approx(0.05 * 288 + 0.1 * eligible_faq)
    assert (flows["billing"].target, flows["faq"].target) == (0.95, 0.9)
    statuses = app.evaluations.evaluation().select(["turn-latency"])
    own = next(s for s in statuses if s.segment == (("flow", "faq"),))
    assert flows["faq"].budget_remaining_ratio == own.budget_remaining_ratio
    assert flows["faq"].state == own.state
    assert flows["billing"].bad_share == pytest.approx(0.75)
    assert sum(f.budget_consumed or 0 for f in report.flows) == pytest.approx(96)
    # the test calls' slow first turns are raw failures, not budget-counting ones
    assert (report.raw_failures, report.counted_failures) == (96 + len(FAQ_TEST), 96)
    [rule] = report.exclusions
    # per rule: the test calls' turns it excluded, and of those the failing ones
    assert (rule.rule, rule.excluded, rule.raw_failures) == (
        "test-call",
        2 * len(FAQ_TEST),
        len(FAQ_TEST),
    )


def test_latency_attribution_blames_the_llm_then_asr(app: App) -> None:
    slo = app.loaded.slo("turn-latency")
    assert is_latency_slo(slo) and not is_latency_slo(app.loaded.slo("task-completion"))
    attribution = app.voice.report("turn-latency").attribution
    assert attribution.method == "latency"
    rows = {r.stage: r for r in attribution.rows}
    eligible = 288 + 2 * (len(SLOTS) - len(FAQ_TEST))
    bad = len(RELEASED) + len(FAQ_SLOW)
    llm_eligible = (eligible * 500 + len(RELEASED) * 1_000) / eligible
    llm_bad = (len(RELEASED) * 1_500 + len(FAQ_SLOW) * 500) / bad
    asr_eligible = (eligible * 200 + len(FAQ_SLOW) * 800) / eligible
    asr_bad = (len(RELEASED) * 200 + len(FAQ_SLOW) * 1_000) / bad
    llm, asr = bad * (llm_bad - llm_eligible), bad * (asr_bad - asr_eligible)
    assert rows["llm"].mean_bad_ms == pytest.approx(llm_bad)
    assert rows["llm"].mean_eligible_ms == pytest.approx(llm_eligible)
    assert rows["llm"].share == pytest.approx(llm / (llm + asr))
    assert rows["asr"].share == pytest.approx(asr / (llm + asr))
    assert rows["tts"].share == rows["telephony"].share == 0.0
    assert rows["tool"].share == 0.0 and rows["tool"].mean_eligible_ms is None


def test_error_attribution_from_the_error_stage_of_bad_turns(app: App) -> None:
    attribution = app.voice.report("turn-compliance").attribution
    assert attribution.method == "error_stage"
    rows = {r.stage: r for r in attribution.rows}
    llm = len([k for k in RELEASED if k % 20 == 0])
    tts = len([k for k in SLOTS if k % 120 == 60 and k != 60])
    assert (rows["llm"].bad_events, rows["tts"].bad_events) == (llm, tts)
    # shares of every bad turn: the one naming no stage is its own row, so the rows add up
    # to the SLO's consumed budget and no stage is blamed for it
    assert rows["llm"].share == pytest.approx(llm / (llm + tts + 1))
    assert rows["llm"].budget_consumed == pytest.approx(llm)
    assert rows["unattributed"].budget_consumed == pytest.approx(1)
    assert sum(r.budget_consumed or 0 for r in attribution.rows) == pytest.approx(llm + tts + 1)
    assert attribution.unattributed == 1


def test_the_bad_prompt_release_is_found_with_its_burn(app: App) -> None:
    releases = app.voice.report("turn-latency").releases
    assert [(r.kind, r.flow, r.value) for r in releases] == [("prompt_version", "billing", "p2")]
    [release] = releases
    assert release.at == from_minute(to_minute(START) + RELEASE_K)
    assert release.burn_before == 0.0
    # 6 h after: every first turn of billing is bad, half its turns: (0.5 / 0.05) = 10
    assert release.burn_after == pytest.approx(10.0)


def test_review_queue_puts_calls_that_failed_every_slo_first(app: App) -> None:
    calls = app.voice.review_queue(limit=500)
    everything = [k for k in RELEASED if k % 60 == 0]  # failed all three SLOs
    top = calls[: len(everything)]
    assert [c.key for c in top] == [f"billing-{k}" for k in reversed(everything)]
    first = top[0]
    assert {f.slo for f in first.failed} == {"turn-latency", "task-completion", "turn-compliance"}
    # billing's series allow 0.05 × 288 and 0.1 × 144 = 14.4 bad events; compliance 0.01 × 288
    assert first.impact == pytest.approx(2 / 14.4 + 1 / 2.88)
    assert first.trace_id == f"trace-{first.key}"
    assert first.audio_url == f"https://rec.example/{first.key}.wav"
    assert first.versions["prompt_version"] == "p2"
    failed_calls = {e["call_id"] for e in RECORDS if e["call_id"].startswith("billing")} & {
        f"billing-{k}" for k in RELEASED
    }
    failed_calls |= {f"faq-{k}" for k in FAQ_SLOW} | {f"faq-{k}" for k in SLOTS if k % 120 == 60}
    assert {c.key for c in calls} == failed_calls


def test_page_api_and_export_over_real_events(app: App) -> None:
    web = create_app(app)
    twin = get(web, "/api/v1/pages/slos/turn-latency/voice").json()
    assert twin["report"] == get(web, "/api/v1/slos/turn-latency/voice").json()
    assert twin["report"]["attribution"]["method"] == "latency"
    html = get(web, "/slos/turn-latency/voice").text
    assert 'data-release="prompt_version"' in html and 'data-stage="llm"' in html
    detail = get(web, "/api/v1/pages/slos/turn-latency").json()
    assert detail["voice_url"] == "/slos/turn-latency/voice"
    lines = get(web, "/api/v1/voice/review-queue.jsonl?limit=3").text.splitlines()
    first = json.loads(lines[0])
    assert first["call_id"] == "billing-1380"
    assert first["failed_slos"] == ["task-completion", "turn-compliance", "turn-latency"]
    assert first["transcript_url"] == "https://rec.example/billing-1380.txt"
    assert len(lines) == 3


def test_release_overlay_shows_shipped_changes_with_their_burn(app: App) -> None:
    shipped_k = 1_260
    change = app.store.add_change(
        service="voice-agent",
        slos=["turn-latency"],
        segment={"flow": "faq"},
        change_type="prompt",
        risk="medium",
        title="faq prompt v7",
        description="",
        submitted_by="ana",
        estimated_impact=0.01,
        impact_basis={"method": "default"},
        decision="allow",
        snapshot=[],
    )
    shipped = START + timedelta(minutes=shipped_k)
    app.store.set_change_status(
        change.id,
        status="shipped",
        allowed_from=["pending"],
        actor="ana",
        action="change.ship",
        shipped_at=shipped,
    )
    [row] = [r for r in app.voice.report("turn-latency").releases if r.kind == "change"]
    assert (row.change_id, row.flow, row.value, row.at) == (
        change.id,
        "faq",
        "faq prompt v7",
        shipped,
    )

    def faq_burn(first: int, last: int) -> float:
        calls = [k for k in SLOTS if first <= k < last and k not in FAQ_TEST]
        bad = len([k for k in calls if k in FAQ_SLOW])
        return bad / (2 * len(calls)) / 0.1  # faq's own target

    assert row.burn_before == pytest.approx(faq_burn(shipped_k - 360, shipped_k))
    assert row.burn_after == pytest.approx(faq_burn(shipped_k, shipped_k + 360))
    assert row.burn_before != row.burn_after


def test_too_little_data_says_so(app: App) -> None:
    report = app.voice.report("escalation-recall")  # no escalation events at all
    assert report.flows == [] and report.releases == [] and report.exclusions == []
    assert report.notes == ["no events kept for this SLO in its window"]
    assert report.consumed_ratio is None
    assert report.attribution.note == "no bad event names a stage: nothing to attribute"
    assert all(r.share is None and r.budget_consumed is None for r in report.attribution.rows)
    assert app.voice.review_queue(slo_id="escalation-recall") == []
    html = get(create_app(app), "/slos/escalation-recall/voice").text
    assert "no events kept for this SLO in its window" in html
    assert "no failed calls kept in the window" in html


def test_an_slo_of_counts_has_no_voice_views(app: App) -> None:
    report = app.voice.report("counted")
    assert report.notes == ["not an events SLO (source ingest): no events to split"]
    assert report.flows == [] and report.releases == []
    assert get(create_app(app), "/api/v1/pages/slos/counted").json()["voice_url"] is None


def test_unknown_slos_are_404(app: App) -> None:
    web = create_app(app)
    for path in (
        "/slos/nope/voice",
        "/api/v1/slos/nope/voice",
        "/api/v1/pages/slos/nope/voice",
        "/api/v1/voice/review-queue?slo=nope",
        "/api/v1/voice/review-queue.jsonl?slo=nope",
    ):
        assert get(web, path).status_code == 404, path


def test_the_export_is_ndjson_with_every_candidate_field(app: App) -> None:
    answer = get(create_app(app), "/api/v1/voice/review-queue.jsonl?slo=task-completion")
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    assert "review-queue.jsonl" in answer.headers["content-disposition"]
    lines = [json.loads(line) for line in answer.text.splitlines()]
    failed_tasks = [k for k in RELEASED if k % 30 == 0]
    assert len(lines) == len(failed_tasks)
    assert set(lines[0]) == {
        "trace_id", "call_id", "time", "audio_url", "transcript_url", "flow", "intent",
        "versions", "failed_slos", "events", "budget_impact",
    }  # fmt: skip
    impacts = [line["budget_impact"] for line in lines]
    assert impacts == sorted(impacts, reverse=True)


# --- the views agree with the evaluation ------------------------------------------------------

SMALL = """\
version: 1
store: {path: voice.db}
services:
  - {id: va, description: A voice agent, owner: o}
slos:
  - id: lat
    service: va
    target: 0.95
    window: {type: rolling, length: 1d}
    segments: {keys: [flow]}
    indicator:
      source: events
      event: turn
      good: {latency_ms: {le: 1200}}
"""


def small_app(
    tmp_path: Path, at: datetime, records: list[dict[str, Any]], config: str = SMALL
) -> App:
    (tmp_path / "eb.yaml").write_text(config, encoding="utf-8")
    opened = App.open(tmp_path / "eb.yaml", clock=lambda: at)
    opened.events.ingest(parse_records(records))
    return opened


def test_flow_figures_are_the_evaluation_s_not_the_hours_around_the_window(tmp_path: Path) -> None:
    at = datetime(2026, 11, 20, 12, 30, tzinfo=UTC)
    first = datetime(2026, 11, 19, 12, 0, tzinfo=UTC)  # half an hour before the 1d window
    records = [
        {
            "id": f"t{m}",
            "type": "turn",
            "time": (first + timedelta(minutes=m)).isoformat(),
            "flow": "billing",
            "latency_ms": 5_000 if m < 30 else 500,  # bad only before the window
        }
        for m in range(24 * 60 + 30)
    ]
    with small_app(tmp_path, at, records) as app:
        whole = next(s for s in app.evaluations.evaluation().select(["lat"]) if not s.segment)
        assert (whole.bad, whole.budget_consumed) == (0, 0)
        report = app.voice.report("lat")
        [flow] = report.flows
        assert (flow.eligible, flow.bad) == (whole.eligible, 0)
        assert (report.counted_failures, report.raw_failures) == (0, 0)
        assert any("whole hours inside the window" in n for n in report.notes)


def test_no_budget_consumed_is_shown_when_the_evaluation_has_too_little_data(
    tmp_path: Path,
) -> None:
    window = "    target: 0.95\n    window: {type: rolling, length: 7d}\n"
    config = CONFIG.replace(window, window + "    data: {min_coverage: 0.5}\n", 1)
    with small_app(tmp_path, AT, RECORDS, config) as app:
        whole = next(
            s for s in app.evaluations.evaluation().select(["turn-latency"]) if not s.segment
        )
        assert whole.budget_remaining_ratio is None  # one day of seven: coverage too low
        report = app.voice.report("turn-latency")
        assert report.consumed_ratio is None
        assert report.flows and all(
            f.consumed_ratio is None and f.budget_consumed is None for f in report.flows
        )
        assert any(n.startswith("insufficient data") for n in report.notes)


def test_a_flow_quiet_at_the_window_start_has_no_false_release(tmp_path: Path) -> None:
    records = [
        {
            "id": f"{flow}-{m}",
            "type": "turn",
            "time": (START + timedelta(minutes=m)).isoformat(),
            "flow": flow,
            "agent_version": "a1",
            "prompt_version": "p2" if flow == "faq" and m >= 720 else "p1",
            "model": "openai/gpt-4o",
            "latency_ms": 500,
        }
        for m in range(0, 24 * 60, 5)
        for flow in ("faq", "billing")
        if not (flow == "billing" and m < 120)  # billing is quiet the first two hours
    ]
    with small_app(tmp_path, AT, records) as app:
        releases = app.voice.report("lat").releases
        assert [(r.kind, r.flow, r.value) for r in releases] == [("prompt_version", "faq", "p2")]


def test_exclusions_per_rule_come_from_the_rollups_not_the_kept_events(app: App) -> None:
    app.store.prune_events(to_minute(AT) + 120)  # every kept event is gone, rollups stay
    assert app.store.kept_events("turn-latency", to_minute(START), to_minute(AT)) == []
    [rule] = app.voice.report("turn-latency").exclusions
    assert (rule.rule, rule.excluded, rule.raw_failures) == (
        "test-call",
        2 * len(FAQ_TEST),
        len(FAQ_TEST),
    )


def test_kept_events_read_the_newest_hours_only_up_to_the_limit(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow as pa

    start, end = to_minute(START), to_minute(AT)
    every = app.store.kept_events("turn-latency", start, end, limit=10_000)
    opened = 0
    open_stream = pa.ipc.open_stream

    def counting(source: Any) -> Any:
        nonlocal opened
        opened += 1
        return open_stream(source)

    monkeypatch.setattr(pa.ipc, "open_stream", counting)
    newest = app.store.kept_events("turn-latency", start, end, limit=3)
    assert [k.event_id for k in newest] == [k.event_id for k in every[:3]]
    hours = {k.minute // 60 for k in every}
    assert len(hours) > 10 and opened <= 2  # not a chunk per hour of the window


def test_an_slo_s_review_queue_reads_its_own_service_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = """\
  - {id: other-agent, description: Another agent, owner: o}
slos:
  - id: other-latency
    service: other-agent
    target: 0.95
    window: {type: rolling, length: 7d}
    indicator: {source: events, event: turn, good: {latency_ms: {le: 1}}}
"""
    config = CONFIG.replace("slos:\n", other, 1)
    with small_app(tmp_path, AT, RECORDS, config) as app:
        read: list[str] = []
        kept_events = app.store.kept_events

        def reading(slo: str, *args: Any, **kwargs: Any) -> Any:
            read.append(slo)
            return kept_events(slo, *args, **kwargs)

        monkeypatch.setattr(app.store, "kept_events", reading)
        assert app.voice.review_queue(slo_id="task-completion")
        assert "other-latency" not in read and "task-completion" in read
        read.clear()
        assert app.voice.review_queue(service="other-agent")
        assert read == ["other-latency"]


def test_the_review_queue_is_read_once_per_evaluation(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[str] = []
    kept_events = app.store.kept_events

    def reading(slo: str, *args: Any, **kwargs: Any) -> Any:
        read.append(slo)
        return kept_events(slo, *args, **kwargs)

    monkeypatch.setattr(app.store, "kept_events", reading)
    first = app.voice.review_queue(slo_id="task-completion", limit=25)
    reads = len(read)
    assert reads and app.voice.review_queue(slo_id="task-completion", limit=25) == first
    assert len(read) == reads  # the same evaluation: memoised
    assert app.voice.review_queue(slo_id="turn-latency", limit=5)  # the same service's read
    assert len(read) == reads
    # the top call's events re-sent under new ids: new data, a new evaluation, read again
    late = [{**e, "id": f"late-{e['id']}"} for e in call_events("billing", 1_380)]
    app.events.ingest(parse_records(late))
    again = app.voice.review_queue(slo_id="task-completion", limit=25)
    assert len(read) > reads
    assert first[0].key == again[0].key == "billing-1380"
    assert len(again[0].failed) == 2 * len(first[0].failed)


TIERED = SMALL.replace(
    "    segments: {keys: [flow]}\n",
    "    segments:\n      keys: [flow, risk_tier]\n"
    "      overrides: [{match: {risk_tier: critical}, target: 0.97}]\n",
)


def test_a_flow_held_by_one_series_shows_its_own_override_target(tmp_path: Path) -> None:
    # keys [flow, risk_tier] (the starter kit's task completion): a flow's group row has the
    # SLO's configured target; a flow with one risk tier is that series, with its override
    at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    records = [
        {
            "id": f"{flow}-{m}",
            "type": "turn",
            "time": (at - timedelta(minutes=m + 1)).isoformat(),
            "flow": flow,
            "risk_tier": tier,
            "latency_ms": 5_000 if m % 25 == 0 else 500,
        }
        for flow, tier in (("fraud", "critical"), ("faq", "low"))
        for m in range(600)
    ]
    with small_app(tmp_path, at, records, TIERED) as app:
        series = {
            dict(s.segment)["flow"]: s
            for s in app.evaluations.evaluation().select(["lat"])
            if len(s.segment) == 2
        }
        flows = {f.flow: f for f in app.voice.report("lat").flows}
        assert flows["fraud"].target == 0.97 and flows["faq"].target == 0.95
        for name, row in flows.items():
            assert row.budget_remaining_ratio == series[name].budget_remaining_ratio
            assert row.state == series[name].state
