"""The dashboard pages and their JSON twins, in process over a real SQLite store
(``httpx.ASGITransport``; the browser tests are in tests/e2e)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI

from errorbudget.app import App
from errorbudget.changes import ChangeRequest
from errorbudget.exclusions import AnnotationRequest, ExclusionProposal
from errorbudget.model import to_minute
from errorbudget.web.app import create_app
from errorbudget.web.pages_changes import build_changes
from errorbudget.web.pages_detail import build_detail
from errorbudget.web.pages_overview import build_exec, build_overview
from exclusion_records import approved_exclusion

AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
VIEWER = "viewer-token-0123456789"
OPERATOR = "operator-token-0123456789"
APPROVER = "approver-token-0123456789"

CONFIG = f"""\
version: 1
store: {{path: pages.db}}
server:
  anonymous_read: false
  tokens:
    - {{name: vic, token: {VIEWER}, role: viewer}}
    - {{name: olivia, token: {OPERATOR}, role: operator}}
    - {{name: victor, token: {APPROVER}, role: approver}}
services:
  - {{id: contact-center, description: Voice and chat queues, owner: cc-ops}}
  - {{id: platform, description: Platform API, owner: platform-eng}}
slos:
  - id: voice-sla
    service: contact-center
    description: Calls answered within 30 s
    target: 0.9
    window: {{type: rolling, length: 7d}}
    segments: {{keys: [tier, queue]}}
  - id: chat-sla
    service: contact-center
    description: Chats answered within 60 s
    labels: {{media: chat}}
    target: 0.9
    window: {{type: calendar, unit: month}}
    segments: {{keys: [queue]}}
  - id: api
    service: platform
    description: Platform API calls that succeed
    target: 0.9
    window: {{type: rolling, length: 7d}}
"""

DAYS = 7
# (slo, segment, bad calls per 100 a minute, and in the last 6 hours)
SERIES: tuple[tuple[str, dict[str, str], int, int], ...] = (
    ("voice-sla", {"tier": "vip", "queue": "vip-billing"}, 2, 2),
    ("voice-sla", {"tier": "standard", "queue": "support"}, 9, 9),
    ("chat-sla", {"queue": "chat-support"}, 2, 2),
    ("api", {}, 9, 15),
)
"""voice-sla: 45 % left (amber), its support queue 10 % (red); chat-sla 80 % (green); api
about 8 % left and burning 1.5× over the last 6 hours (red, freeze)."""


def seed(app: App, series: tuple[tuple[str, dict[str, str], int, int], ...] = SERIES) -> None:
    end = to_minute(AT)
    minutes = np.arange(end - DAYS * 1440, end, dtype=np.int64)
    recent = minutes >= end - 360
    for slo, segment, bad, bad_recent in series:
        [series_id] = app.store.series_ids(slo, [tuple(sorted(segment.items()))])
        total = np.full(len(minutes), 100, dtype=np.int64)
        good = total - np.where(recent, bad_recent, bad)
        app.store.write_counts(np.full(len(minutes), series_id), minutes, good, total)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with App.open(path, clock=lambda: AT) as opened:
        seed(opened)
        yield opened


def get(
    web: FastAPI, path: str, token: str | None = None, cookie: str | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    cookies = {"errorbudget_token": cookie} if cookie else {}

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=cookies
        ) as client:
            return await client.get(path, headers=headers)

    return asyncio.run(call())


def post(web: FastAPI, path: str, token: str, body: dict[str, Any]) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})

    return asyncio.run(call())


# --- overview ----------------------------------------------------------------------------------


def test_overview_shows_one_gauge_per_sli_in_its_band(web: FastAPI) -> None:
    page = get(web, "/", cookie=VIEWER)
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="gauge"') == 3
    for slo, colour in (("voice-sla", "amber"), ("chat-sla", "green"), ("api", "red")):
        assert f'data-slo="{slo}" data-band="{colour}"' in html
    # each gauge says what its state says, in its preset's words
    advice = re.findall(r'data-testid="advice"><strong>([^<]+)</strong>: ([^<]+)</p>', html)
    assert advice == [
        ("warning", "risky changes need owner review"),
        ("healthy", "ship normally"),
        ("critical", "change freeze recommended; every change needs VP-level approval"),
    ]
    assert "vic · viewer" in html  # who the page was read as


def test_overview_json_twin_is_the_page_view_model(app: App, web: FastAPI) -> None:
    twin = get(web, "/api/v1/pages/overview", token=VIEWER)
    assert twin.status_code == 200
    data = twin.json()
    assert data == build_overview(app, 60).model_dump(mode="json")
    cards = {c["slo"]["id"]: c for c in data["cards"]}
    assert cards["voice-sla"]["gauge"]["remaining_ratio"] == pytest.approx(0.45)
    assert cards["chat-sla"]["gauge"]["band"] == "green"
    assert cards["api"]["state"] == "freeze"
    assert data["answers"][0]["question"] == "Are callers affected now?"
    assert data["series_total"] == 4


def test_overview_tiers_projection_and_gate(app: App) -> None:
    page = build_overview(app, 60)
    tiers = [(t.tier, t.slo.id) for t in page.tiers]
    assert tiers == [("vip", "voice-sla"), ("standard", "voice-sla"), ("digital", "chat-sla")]
    standard = page.tiers[1].row
    assert standard.band == "red" and standard.budget_remaining_ratio == pytest.approx(0.1)
    # Only calendar windows have a period end.
    assert page.headline_projection is not None
    assert page.headline_projection.slo.id == "chat-sla"
    gates = {g.service: g for g in page.gates}
    assert gates["platform"].decisions["medium"] == "approval_required"  # critical: VP approval
    # the support queue is critical (10 % left, half the calls): seed 000 asks VP approval
    assert gates["contact-center"].decisions["low"] == "approval_required"
    assert gates["contact-center"].blocking == [
        "voice-sla (all): warning",
        "voice-sla queue=support,tier=standard: critical",
    ]


def test_overview_lists_pending_changes_and_recent_deploys(app: App) -> None:
    app.records.add_annotation(
        AnnotationRequest(
            at=AT - timedelta(hours=5),
            kind="deploy",
            text="retry tweak",
            created_by="olivia",
            slo="api",
        )
    )
    app.changes.submit(
        ChangeRequest(service="platform", title="New retry policy", submitted_by="olivia")
    )
    page = build_overview(app, 60)
    assert page.pending_total == 1
    [change] = page.pending_changes
    assert change.title == "New retry policy" and change.decision == "approval_required"
    assert change.effective == "approval_required"
    responsible = page.answers[2]
    assert any("deploy (api): retry tweak" in line for line in responsible.details)


def test_refresh_is_configurable(web: FastAPI) -> None:
    default = get(web, "/", cookie=VIEWER).text
    assert 'data-refresh="60"' in default
    assert '<meta http-equiv="refresh" content="60">' in default  # inside <noscript>
    off = get(web, "/?refresh=0", cookie=VIEWER).text
    assert 'data-refresh="0"' in off and 'http-equiv="refresh"' not in off
    assert get(web, "/?refresh=-1", cookie=VIEWER).status_code == 422


# --- who may read ---------------------------------------------------------------------------------


def test_pages_need_a_token_unless_reads_are_anonymous(tmp_path: Path, web: FastAPI) -> None:
    page = get(web, "/")
    assert page.status_code == 401
    assert 'id="api-token"' in page.text  # the sign-in form, not a stack trace
    assert get(web, "/", cookie="not-a-known-token-at-all").status_code == 401
    for path in ("/api/v1/pages/overview", "/api/v1/pages/exec", "/api/v1/pages/changes"):
        assert get(web, path).status_code == 401
        assert get(web, path, token="not-a-known-token-at-all").status_code == 401
        assert get(web, path, token=VIEWER).status_code == 200
    # Any role reads; the cookie works for the JSON twins too (reading only).
    assert get(web, "/api/v1/pages/exec", cookie=OPERATOR).status_code == 200

    open_config = CONFIG.replace("anonymous_read: false", "anonymous_read: true")
    path = tmp_path / "open.yaml"
    path.write_text(open_config.replace("pages.db", "open.db"), encoding="utf-8")
    with App.open(path, clock=lambda: AT) as open_app:
        seed(open_app)
        anonymous = get(create_app(open_app), "/")
        assert anonymous.status_code == 200 and ">anonymous<" in anonymous.text


# --- SLO detail -------------------------------------------------------------------------------


def test_detail_page_with_exclusions_annotations_and_segments(app: App, web: FastAPI) -> None:
    approved_exclusion(
        app,
        slo="voice-sla",
        start=AT - timedelta(days=2, hours=3),
        end=AT - timedelta(days=2),
        category="maintenance",
        reason="Carrier maintenance window",
        created_by="cc-ops",
        approver="vp",
        segment={"queue": "support"},
    )
    app.records.add_annotation(
        AnnotationRequest(
            at=AT - timedelta(days=1),
            kind="deploy",
            text="IVR v2",
            created_by="olivia",
            slo="voice-sla",
        )
    )
    page = get(web, "/slos/voice-sla", cookie=VIEWER)
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="chart"') == 2
    assert "annotation annotation-exclusion" in html and "annotation-deploy" in html
    assert "Carrier maintenance window" in html and "IVR v2" in html

    data = get(web, "/api/v1/pages/slos/voice-sla", token=VIEWER).json()
    assert data == build_detail(app, "voice-sla", 60).model_dump(mode="json")
    assert [a["kind"] for a in data["annotations"]] == ["exclusion", "deploy"]
    assert len(data["timeline"]) == 30 * 24 + 1  # hourly, both ends included
    failures = data["failures"]
    assert failures["excluded_total"] == 180 * 100  # 3 hours of the support queue
    assert failures["raw_bad"] - failures["bad"] == failures["excluded_bad"] == 180 * 9
    assert [g["key"] for g in data["groups"]] == ["tier", "queue"]
    assert data["segments"][0]["label"] == "queue=support,tier=standard"  # worst first


def test_detail_page_shows_each_exclusion_status_and_who(app: App, web: FastAPI) -> None:
    """Issue #8: pending, approved and revoked exclusions, with who proposed and who
    approved each; only the approved one counts and is shaded on the charts."""
    window = {
        "slo": "voice-sla", "category": "maintenance", "segment": {"queue": "support"},
        "end": AT - timedelta(days=2),
    }  # fmt: skip
    approved_exclusion(app, start=AT - timedelta(days=2, hours=3), reason="approved one",
                       created_by="cc-ops", approver="vp", **window)  # fmt: skip
    app.records.propose_exclusion(
        ExclusionProposal(
            start=AT - timedelta(days=2, hours=2),
            reason="pending one",
            proposed_by="olga",
            **window,
        )
    )
    withdrawn = app.records.propose_exclusion(
        ExclusionProposal(
            start=AT - timedelta(days=2, hours=1),
            reason="revoked one",
            proposed_by="otto",
            **window,
        )
    )
    app.records.revoke_exclusion(withdrawn.id, revoked_by="otto", reason="not needed")
    data = get(web, "/api/v1/pages/slos/voice-sla", token=VIEWER).json()
    rows = {e["reason"]: e for e in data["exclusions"]}
    assert [
        (r["status"], r["counted"], r["created_by"], r["approved_by"]) for r in rows.values()
    ] == [
        ("approved", True, "cc-ops", "vp"),
        ("pending", False, "olga", None),
        ("revoked", False, "otto", None),
    ]
    assert rows["approved one"]["status_text"] == "approved by vp (approver)"
    assert rows["pending one"]["status_text"] == (
        "pending: not counted until an approver approves it"
    )
    assert rows["revoked one"]["status_text"] == "revoked by otto"
    assert [a["kind"] for a in data["annotations"]] == ["exclusion"]  # only the counted one
    assert data["failures"]["excluded_total"] == 180 * 100  # the approved 3 hours only
    html = get(web, "/slos/voice-sla", cookie=VIEWER).text
    assert "proposed by</th>" in html and "approved by</th>" in html
    assert "pending: not counted until an approver approves it" in html
    assert 'data-status="pending" class="exclusion-pending not-counted"' in html
    # the pending one, and only it, has Approve and Reject (the API decides who may)
    assert html.count('data-api-url="/api/v1/exclusions/') == 1
    assert f'data-api-url="/api/v1/exclusions/{rows["pending one"]["id"]}/{{verdict}}"' in html
    assert "approved by vp (approver)" in html and "revoked by otto" in html


def test_detail_page_follows_one_series(app: App, web: FastAPI) -> None:
    path = "/api/v1/pages/slos/voice-sla?segment=tier%3Dstandard,queue%3Dsupport"
    data = get(web, path, token=VIEWER).json()
    assert data["segment"] == {"queue": "support", "tier": "standard"}
    assert data["card"]["gauge"]["band"] == "red"
    html = get(web, "/slos/voice-sla?segment=tier=standard,queue=support", cookie=VIEWER).text
    assert 'class="current"' in html

    assert get(web, "/slos/voice-sla?segment=tier=standard", cookie=VIEWER).status_code == 422
    assert get(web, "/slos/voice-sla?segment=tier=gold,queue=x", cookie=VIEWER).status_code == 404
    assert get(web, "/slos/voice-sla?segment=oops", cookie=VIEWER).status_code == 422


def test_unknown_slo_is_a_404_page_and_json(web: FastAPI) -> None:
    page = get(web, "/slos/voice-slaa", cookie=VIEWER)
    assert page.status_code == 404 and "voice-sla" in page.text  # did you mean
    twin = get(web, "/api/v1/pages/slos/voice-slaa", token=VIEWER)
    assert twin.status_code == 404 and "voice-slaa" in twin.json()["detail"]


# --- changes -------------------------------------------------------------------------------------


def test_changes_page_shows_approvals_and_the_gate_now(app: App, web: FastAPI) -> None:
    submitted = post(
        web,
        "/api/v1/changes",
        OPERATOR,
        {"service": "platform", "title": "Retry policy", "risk": "medium"},
    )
    assert submitted.status_code == 201, submitted.text
    change_id = submitted.json()["id"]
    before = get(web, "/api/v1/pages/changes", token=VIEWER).json()
    assert before == build_changes(app, 60).model_dump(mode="json")
    [row] = before["open"]
    assert row["decision"] == "approval_required" and row["effective"] == "approval_required"
    assert row["judged_now"] and row["needs"] == "approver"
    html = get(web, "/changes", cookie=VIEWER).text
    assert f'data-change="{change_id}" data-effective="approval_required"' in html
    assert f'data-api-url="/api/v1/changes/{change_id}/{{verdict}}"' in html

    approved = post(
        web, f"/api/v1/changes/{change_id}/approve", APPROVER, {"comment": "fix is needed"}
    )
    assert approved.status_code == 200, approved.text
    after = get(web, "/api/v1/pages/changes", token=VIEWER).json()
    [row] = after["open"]
    assert row["effective"] == "allow" and row["approved"]
    assert row["approvals"][0]["approver"] == "victor"
    assert row["approvals"][0]["comment"] == "fix is needed"


def test_a_blocked_change_shows_no_approve_button(tmp_path: Path) -> None:
    """voice-agent preset: an exhausted budget lets only exempt changes ship, so an approval
    would change nothing: the page offers Reject only, and the API refuses an approval."""
    path = tmp_path / "errorbudget.yaml"
    # the api SLO is the config's last: it follows the voice-agent preset here
    path.write_text(CONFIG + "    policy: voice-agent\n", encoding="utf-8")
    with App.open(path, clock=lambda: AT) as opened:
        seed(opened, (("api", {}, 20, 20),))  # 20 % bad at 90 %: the budget is spent twice
        web = create_app(opened)
        change_id = post(
            web, "/api/v1/changes", OPERATOR, {"service": "platform", "title": "New SDK"}
        ).json()["id"]
        [row] = get(web, "/api/v1/pages/changes", token=VIEWER).json()["open"]
        assert (row["effective"], row["needs"], row["approvable"]) == ("blocked", "blocked", False)
        html = get(web, "/changes", cookie=VIEWER).text
        cells = html.split(f'data-change="{change_id}"')[1].split("</tr>")[0]
        assert 'value="approve"' not in cells
        assert 'value="reject"' in cells
        assert "an approval cannot let it ship" in cells
        refused = post(web, f"/api/v1/changes/{change_id}/approve", APPROVER, {"comment": "go"})
        assert refused.status_code == 409
        assert "blocked by the budget" in refused.json()["detail"]


# --- exec and static ---------------------------------------------------------------------------


def test_exec_view_never_hides_a_segment_that_misses_its_target(tmp_path: Path) -> None:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with App.open(path, clock=lambda: AT) as opened:
        # a small VIP queue misses its 90 % (12 % bad) while the whole voice SLA is at 94 %
        seed(opened, (*SERIES, ("voice-sla", {"tier": "vip", "queue": "vip-es"}, 12, 12)))
        page = build_exec(opened, 60)
    rows = {r.service: r for r in page.rows}
    center = rows["contact-center"]
    assert (center.slos_meeting_target, center.slos) == (1, 2)  # chat-sla only
    assert center.missing == ["voice-sla queue=vip-es,tier=vip: 88.00% vs 90.00%"]
    assert not center.within_budget
    assert page.services_within_budget == 1  # platform
    # the lowest budget the gate acts on, not the whole SLO's
    assert (center.worst and center.worst.id, center.worst_segment) == (
        "voice-sla",
        "queue=vip-es,tier=vip",
    )
    assert center.worst_remaining_ratio is not None and center.worst_remaining_ratio < 0


def test_a_service_without_enough_data_is_not_counted_within_budget(tmp_path: Path) -> None:
    path = tmp_path / "errorbudget.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with App.open(path, clock=lambda: AT) as opened:
        seed(opened, SERIES[:3])  # the platform's api SLO has no data at all
        page = build_exec(opened, 60)
        html = get(create_app(opened), "/exec", token=VIEWER).text
    assert "1 without enough data to judge" in html
    rows = {r.service: r for r in page.rows}
    assert (rows["platform"].slos_unjudged, rows["platform"].within_budget) == (1, None)
    assert rows["contact-center"].within_budget is True
    assert (page.services_within_budget, page.services_unjudged) == (1, 1)


def test_exec_view_has_one_line_per_service(app: App, web: FastAPI) -> None:
    data = get(web, "/api/v1/pages/exec", token=VIEWER).json()
    assert data == build_exec(app, 60).model_dump(mode="json")
    rows = {r["service"]: r for r in data["rows"]}
    assert set(rows) == {"contact-center", "platform"}
    assert rows["platform"]["state"] == "freeze"
    assert (
        rows["contact-center"]["slos"] == 2 and rows["contact-center"]["worst"]["id"] == "voice-sla"
    )
    html = get(web, "/exec", cookie=VIEWER).text
    assert html.count('<tr data-service="') == 2


def test_static_assets_are_served_from_the_package(web: FastAPI) -> None:
    css = get(web, "/static/dashboard.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    js = get(web, "/static/dashboard.js")
    assert js.status_code == 200 and "localStorage" in js.text
    page = get(web, "/", cookie=VIEWER).text
    assert "http://" not in page.replace("http://testserver", "") and "https://" not in page


# --- a large overview --------------------------------------------------------------------------


def test_overview_of_200_series_renders(tmp_path: Path) -> None:
    """Ten SLOs of 20 queues each, 30 days of counts: the whole overview, server side (its
    render time is measured by ``make bench``: benchmarks/bench_pages.py)."""
    slos = "\n".join(
        f"""  - id: slo-{i}
    service: service-{i % 3}
    target: {0.8 + 0.015 * i:.3f}
    window: {"{type: calendar, unit: month}" if i % 2 else "{type: rolling, length: 30d}"}
    segments: {{keys: [tier, queue]}}"""
        for i in range(10)
    )
    path = tmp_path / "big.yaml"
    path.write_text(
        f"version: 1\nstore: {{path: big.db}}\nserver: {{anonymous_read: true}}\nslos:\n{slos}\n",
        encoding="utf-8",
    )
    end = to_minute(AT)
    minutes = np.arange(end - 30 * 1440, end, 5, dtype=np.int64)  # every 5th minute
    rng = np.random.default_rng(3)
    with App.open(path, clock=lambda: AT) as big:
        for i in range(10):
            segments = [
                (("queue", f"q{q}"), ("tier", ("vip", "standard", "digital")[q % 3]))
                for q in range(20)
            ]
            ids = big.store.series_ids(f"slo-{i}", segments)
            for series_id in ids:
                total = rng.poisson(40, len(minutes))
                good = rng.binomial(total, rng.uniform(0.8, 0.99))
                big.store.write_counts(np.full(len(minutes), series_id), minutes, good, total)
        web = create_app(big)
        first = get(web, "/")
        assert first.status_code == 200
        assert build_overview(big, 60).series_total == 200
        assert get(web, "/").status_code == 200  # and again


def test_pages_without_data_say_so(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(
        "version: 1\nstore: {path: empty.db}\nserver: {anonymous_read: true}\nslos:\n"
        "  - {id: a, service: s, target: 0.9, window: {type: rolling, length: 7d},"
        " segments: {keys: [queue]}}\n"
        "  - {id: b, service: s, target: 0.999, window: {type: calendar, unit: month},"
        " budgeting: timeslices}\n",
        encoding="utf-8",
    )
    with App.open(path, clock=lambda: AT) as empty:
        web = create_app(empty)
        for page in ("/", "/slos/a", "/slos/b", "/changes", "/exec"):
            assert get(web, page).status_code == 200, page
        data = get(web, "/api/v1/pages/overview").json()
        assert [c["gauge"]["band"] for c in data["cards"]] == ["none", "none"]
        assert data["headline_projection"] is None and data["tiers"] == []
        html = get(web, "/").text
        assert 'data-band="none"' in html and "no data" in html
        detail = get(web, "/api/v1/pages/slos/a").json()
        assert all(p["burn_1h"] is None for p in detail["timeline"])  # gaps, never zeros


def test_broken_data_is_shown_as_such(app: App, web: FastAPI) -> None:
    end = to_minute(AT)
    app.store.add_data_issue(
        source="genesys",
        slo="voice-sla",
        segment={"queue": "support"},
        start=end - 120,
        end=end - 60,
        kind="partial",
        detail="skipped: malformed answers",
    )
    page = build_overview(app, 60)
    voice = next(row for row in page.data if row.slo.id == "voice-sla")
    assert voice.data.broken_minutes == 60
    assert voice.data.note == (
        "SLI data broken: 60 minutes left out (a source reported them wrong or missing)"
    )
    html = get(web, "/slos/voice-sla", cookie=VIEWER).text
    badge = (
        'title="SLI data broken: 60 minutes left out (a source reported them wrong or '
        'missing)">data broken</span>'
    )
    # the support series, and the two groups holding it (tier=standard, queue=support)
    assert html.count(badge) == 3
