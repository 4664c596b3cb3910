"""The voice views (services/voice.py, the API, the page and its JSON twin) over a real
SQLite store's counts and changes, with the events the fold would keep served by a small
in-test fake of the store's ``EventRecords`` reads."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from errorbudget.app import App
from errorbudget.model import Minute, from_minute, to_minute
from errorbudget.services.voice import VoiceService, latency_attribution
from errorbudget.web.app import create_app

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
END = to_minute(AT)
DAY = END - 1440
RELEASE = END - 720  # prompt p2 reaches billing 12 hours before AT

CONFIG = """\
version: 1
store: {path: voice.db}
server: {anonymous_read: true}
services:
  - {id: voice-agent, description: The booking voice agent, owner: agent-team}
slos:
  - id: turn-latency
    service: voice-agent
    description: Turns answered within 1.2 s
    target: 0.95
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
  - id: task-completion
    service: voice-agent
    description: Tasks completed
    target: 0.9
    window: {type: rolling, length: 7d}
    segments: {keys: [flow]}
"""


@dataclass(frozen=True)
class Kept:
    slo: str
    segment: dict[str, str]
    minute: Minute
    event_id: str
    type: str
    verdict: str
    exclusion: str | None = None
    call_id: str | None = None
    trace_id: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    audio_url: str | None = None
    transcript_url: str | None = None
    event: dict[str, Any] = field(default_factory=dict)

    @property
    def time(self) -> datetime:
        return from_minute(self.minute)


@dataclass(frozen=True)
class Dim:
    hour: Minute
    flow: str
    dimension: str
    value: str
    eligible: int
    bad: int
    excluded: int = 0
    excluded_bad: int = 0


@dataclass(frozen=True)
class Stage:
    hour: Minute
    flow: str
    stage: str
    eligible_ms: int
    eligible_n: int
    bad_ms: int
    bad_n: int


class FakeEvents:
    """The three reads of ``EventRecords`` the voice views make, over lists."""

    def __init__(self, kept: list[Kept], dims: dict[str, list[Dim]]) -> None:
        self.kept = kept
        self.dims = dims

    def kept_events(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        verdict: str | None = None,
        segment: Mapping[str, str] | None = None,
        limit: int = 500,
    ) -> list[Kept]:
        found = [
            e
            for e in self.kept
            if e.slo == slo and start <= e.minute < end and verdict in (None, e.verdict)
        ]
        return found[:limit]

    def dimension_counts(
        self,
        slo: str,
        start: Minute,
        end: Minute,
        *,
        dimension: str | None = None,
        flow: str | None = None,
    ) -> list[Dim]:
        return [d for d in self.dims.get(slo, []) if start <= d.hour < end]

    def stage_sums(
        self, slo: str, start: Minute, end: Minute, *, flow: str | None = None
    ) -> list[Stage]:
        return []


def hour(minute: Minute) -> Minute:
    return minute - minute % 60


# turn-latency: billing 10 turns a minute, 2 bad a minute from the release on (1,440 bad);
# faq 10 a minute, 1 bad every 10th minute (144). task-completion: billing 1 task a minute.
TURN_DIMS = [
    Dim(hour(DAY), "billing", "flow", "billing", 7_200, 0, excluded=3, excluded_bad=2),
    Dim(hour(RELEASE), "billing", "flow", "billing", 7_200, 1_440),
    Dim(hour(DAY), "faq", "flow", "faq", 14_400, 144),
    Dim(hour(DAY), "billing", "prompt_version", "p1", 7_200, 0),
    Dim(hour(RELEASE), "billing", "prompt_version", "p2", 7_200, 1_440),
    Dim(hour(DAY), "faq", "prompt_version", "p1", 14_400, 144),
    Dim(hour(DAY), "billing", "intent", "book", 7_200, 0),
    Dim(hour(RELEASE), "billing", "intent", "book", 6_000, 1_400),
    Dim(hour(RELEASE), "billing", "intent", "cancel", 1_200, 40),
    Dim(hour(RELEASE), "billing", "error_stage", "llm", 0, 1_000),
    Dim(hour(RELEASE), "billing", "error_stage", "tts", 0, 440),
]
LINKS = {"audio_url": "https://rec.example/c1.wav", "transcript_url": "https://rec.example/c1"}
KEPT = [
    Kept("turn-latency", {"flow": "billing"}, END - 60, "t1", "turn", "bad", call_id="c1",
         trace_id="tr1", dimensions={"flow": "billing", "intent": "book",
                                     "prompt_version": "p2"}, **LINKS),
    Kept("task-completion", {"flow": "billing"}, END - 58, "k1", "task", "bad", call_id="c1",
         dimensions={"flow": "billing", "intent": "book"}),
    Kept("turn-latency", {"flow": "billing"}, END - 120, "t2", "turn", "bad", call_id="c2",
         dimensions={"flow": "billing"}),
    Kept("turn-latency", {"flow": "faq"}, END - 30, "t3", "turn", "bad", call_id="c3",
         dimensions={"flow": "faq"}),
    Kept("turn-latency", {"flow": "billing"}, END - 90, "x1", "turn", "excluded",
         exclusion="test-call"),
    Kept("turn-latency", {"flow": "billing"}, END - 91, "x2", "turn", "excluded",
         exclusion="test-call"),
    Kept("turn-latency", {"flow": "billing"}, END - 92, "x3", "turn", "excluded",
         exclusion="abuse"),
]  # fmt: skip


def seed(app: App) -> None:
    minutes = np.arange(DAY, END, dtype=np.int64)
    ten = np.full(minutes.size, 10, dtype=np.int64)
    billing_bad = np.where(minutes >= RELEASE, 2, 0)
    faq_bad = np.where(minutes % 10 == 0, 1, 0)
    one = np.ones(minutes.size, dtype=np.int64)
    for slo, flow, good, total in (
        ("turn-latency", "billing", ten - billing_bad, ten),
        ("turn-latency", "faq", ten - faq_bad, ten),
        ("task-completion", "billing", one - (minutes % 20 == 0), one),
    ):
        [series] = app.store.series_ids(slo, [(("flow", flow),)])
        app.store.write_counts(np.full(minutes.size, series), minutes, good, total)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with App.open(path, clock=lambda: AT) as opened:
        seed(opened)
        fake = FakeEvents(KEPT, {"turn-latency": TURN_DIMS})
        opened.__dict__["voice"] = VoiceService(
            opened.loaded, opened.store, fake, opened.evaluations
        )
        yield opened


def get(web: FastAPI, path: str) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.get(path)

    return asyncio.run(call())


def test_budget_consumed_by_flow_splits_the_evaluations_figure(app: App) -> None:
    report = app.voice.report("turn-latency")
    whole = next(s for s in app.evaluations.evaluation().select(["turn-latency"]) if not s.segment)
    assert report.budget_consumed == whole.budget_consumed == 1_584
    assert report.budget_total == pytest.approx(0.05 * 28_800)
    flows = {f.flow: f for f in report.flows}
    assert flows["billing"].bad == 1_440
    assert flows["billing"].budget_consumed == pytest.approx(1_440)
    assert flows["faq"].consumed_ratio == pytest.approx(144 / 1_440)
    assert sum(f.consumed_ratio or 0 for f in report.flows) == pytest.approx(
        whole.budget_consumed / whole.budget_total
    )
    assert flows["billing"].sli == pytest.approx(1 - 1_440 / 14_400)
    # raw failures: the excluded events that fail the good rule count too
    assert flows["billing"].raw_failures == 1_442
    assert (report.raw_failures, report.counted_failures) == (1_586, 1_584)


def test_error_attribution_by_the_stage_bad_events_name(app: App) -> None:
    attribution = app.voice.report("turn-latency").attribution
    assert attribution.method == "error_stage"
    rows = {r.stage: r for r in attribution.rows}
    assert rows["llm"].share == pytest.approx(1_000 / 1_440)
    assert rows["tts"].budget_consumed == pytest.approx(1_584 * 440 / 1_440)
    assert rows["asr"].share == 0
    assert attribution.unattributed == 1_584 - 1_440


def test_latency_attribution_weighs_slower_stages_in_bad_events() -> None:
    sums = [
        Stage(0, "billing", "asr", 30_000, 100, 9_000, 10),
        Stage(0, "billing", "llm", 50_000, 100, 4_000, 10),
        Stage(60, "faq", "asr", 30_000, 100, 9_000, 10),
    ]
    found = latency_attribution(sums, consumed=40.0)
    rows = {r.stage: r for r in found.rows}
    assert rows["asr"].share == 1.0 and rows["asr"].budget_consumed == 40.0
    assert rows["asr"].mean_bad_ms == 900 and rows["asr"].mean_eligible_ms == 300
    assert rows["llm"].share == 0.0
    assert found.note is None
    empty = latency_attribution([], consumed=40.0)
    assert all(r.share is None for r in empty.rows)
    assert empty.note == "no bad event timed a stage: nothing to attribute"


def test_release_overlay_burn_before_and_after(app: App) -> None:
    releases = app.voice.report("turn-latency").releases
    [prompt] = [r for r in releases if r.kind == "prompt_version"]
    assert (prompt.flow, prompt.value, prompt.at) == ("billing", "p2", from_minute(RELEASE))
    # billing: no bad turn in the 6 h before; 2 of 10 after at 95 % → burn (0.2 / 0.05) = 4
    assert prompt.burn_before == 0.0
    assert prompt.burn_after == pytest.approx(4.0)


def test_release_overlay_shows_shipped_changes(app: App) -> None:
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
    shipped = AT - timedelta(hours=3)
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
    # faq fails 1 turn in 100 at 95 %: burn 0.2 before and after
    assert row.burn_before == pytest.approx(0.2)
    assert row.burn_after == pytest.approx(0.2)


def test_exclusions_per_rule(app: App) -> None:
    rules = {e.rule: e.excluded for e in app.voice.report("turn-latency").exclusions}
    assert rules == {"test-call": 2, "abuse": 1}


def test_review_queue_ranks_calls_by_budget_impact(app: App) -> None:
    calls = app.voice.review_queue()
    assert [c.key for c in calls] == ["c1", "c3", "c2"]  # c3 ties c2: the later first
    c1 = calls[0]
    # turn-latency billing allows 0.05 × 14,400 = 720 bad turns; task-completion billing
    # 0.1 × 1,440 = 144 bad tasks
    assert c1.impact == pytest.approx(1 / 720 + 1 / 144)
    assert {f.slo for f in c1.failed} == {"turn-latency", "task-completion"}
    assert (c1.trace_id, c1.audio_url) == ("tr1", LINKS["audio_url"])
    assert c1.versions["prompt_version"] == "p2"
    only = app.voice.review_queue(slo_id="task-completion")
    assert [c.key for c in only] == ["c1"]


def test_too_little_data_says_so(app: App) -> None:
    report = app.voice.report("task-completion")  # no rollups kept for it
    assert report.flows == []
    assert report.notes == ["no events kept for this SLO in its window"]
    assert report.attribution.note == "no bad event names a stage: nothing to attribute"
    assert all(r.share is None for r in report.attribution.rows)


def test_api_page_and_json_twin_agree(app: App) -> None:
    web = create_app(app)
    api = get(web, "/api/v1/slos/turn-latency/voice")
    assert api.status_code == 200
    twin = get(web, "/api/v1/pages/slos/turn-latency/voice")
    assert twin.status_code == 200
    assert twin.json()["report"] == api.json()
    assert [c["key"] for c in twin.json()["review"]] == ["c1", "c3", "c2"]
    page = get(web, "/slos/turn-latency/voice")
    assert page.status_code == 200
    html = page.text
    for section in ("burn", "breakdown", "attribution", "releases", "exclusions", "review"):
        assert f'id="{section}"' in html
    assert 'data-flow="billing"' in html and 'data-stage="llm"' in html
    assert 'href="https://rec.example/c1.wav"' in html
    assert get(web, "/slos/nope/voice").status_code == 404
    assert get(web, "/api/v1/slos/nope/voice").status_code == 404


def test_review_queue_jsonl_export(app: App) -> None:
    web = create_app(app)
    answer = get(web, "/api/v1/voice/review-queue.jsonl?limit=2")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in answer.text.splitlines()]
    assert [line["call_id"] for line in lines] == ["c1", "c3"]
    first = lines[0]
    assert first["trace_id"] == "tr1"
    assert first["transcript_url"] == LINKS["transcript_url"]
    assert first["failed_slos"] == ["task-completion", "turn-latency"]
    assert first["budget_impact"] == pytest.approx(1 / 720 + 1 / 144)
    assert (first["flow"], first["intent"]) == ("billing", "book")
    listed = get(web, "/api/v1/voice/review-queue?slo=turn-latency").json()
    assert [c["key"] for c in listed] == ["c1", "c3", "c2"]
    assert get(web, "/api/v1/voice/review-queue?slo=nope").status_code == 404
